"""Web app speed: `pymastery serve` readiness, and a section page under wrk against nginx.

Goals (issue 4): ready within 2 s; a section page at >= 0.25 of nginx's requests/s serving the
same HTML as a static file, p99 under 50 ms, at 50 connections.
Needs nginx and wrk (`bash tools/system-packages.sh --bench`).

Run: .venv/bin/python benchmarks/web_serving.py [--seconds 10] [--section 5.1]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

CLI = str(Path(sys.executable).with_name("pymastery"))
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_ready(url: str, timeout: float) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return time.perf_counter() - started
        except OSError:
            time.sleep(0.02)
    raise SystemExit(f"{url} did not answer within {timeout} s")


def wrk(url: str, seconds: int) -> tuple[float, str, str]:
    output = subprocess.run(
        ["wrk", "-t2", "-c50", f"-d{seconds}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1])  # type: ignore[index]
    p50 = re.search(r"50%\s+(\S+)", output)[1]  # type: ignore[index]
    p99 = re.search(r"99%\s+(\S+)", output)[1]  # type: ignore[index]
    return rate, p50, p99


def nginx_config(root: Path, port: int) -> str:
    return f"""
worker_processes 2;
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location / {{ default_type text/html; }}
    }}
}}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--section", default="5.1")
    args = parser.parse_args()
    for tool in ("wrk", NGINX):
        if not shutil.which(tool) and not Path(tool).exists():
            raise SystemExit(f"{tool} is missing: bash tools/system-packages.sh --bench")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        folder.chmod(0o755)  # nginx's workers run as an unprivileged user and must read it
        env = {**os.environ, "PYMASTERY_DATA_DIR": str(folder / "data")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        app_port, static_port = free_port(), free_port()
        subprocess.run([CLI, "validate"], capture_output=True, env=env, check=False)
        started = time.perf_counter()
        app = subprocess.Popen(
            [CLI, "serve", "--port", str(app_port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            base = f"http://127.0.0.1:{app_port}"
            wait_until_ready(base + "/", 30)
            ready = time.perf_counter() - started
            page = f"{base}/sections/{args.section}/"
            with urllib.request.urlopen(page) as response:
                html = response.read()
            (folder / "section.html").write_bytes(html)
            (folder / "nginx.conf").write_text(nginx_config(folder, static_port))
            nginx = subprocess.Popen(
                [NGINX, "-c", str(folder / "nginx.conf"), "-g", "daemon off;"],
                stderr=subprocess.DEVNULL,
            )
            try:
                wait_until_ready(f"http://127.0.0.1:{static_port}/section.html", 10)
                static_rate, static_p50, static_p99 = wrk(
                    f"http://127.0.0.1:{static_port}/section.html", args.seconds
                )
                app_rate, app_p50, app_p99 = wrk(page, args.seconds)
            finally:
                nginx.terminate()
                nginx.wait()
        finally:
            os.killpg(app.pid, signal.SIGTERM)
            app.wait()
    print(f"pymastery serve ready in {ready:.2f} s (goal < 2 s)")
    print(
        f"section {args.section}: {len(html) / 1024:.0f} KiB of HTML, wrk -t2 -c50 "
        f"-d{args.seconds}s"
    )
    print(f"{'server':<22} {'req/s':>10} {'p50':>10} {'p99':>10}")
    print(f"{'nginx (static file)':<22} {static_rate:>10.0f} {static_p50:>10} {static_p99:>10}")
    print(f"{'pymastery serve':<22} {app_rate:>10.0f} {app_p50:>10} {app_p99:>10}")
    print(f"ratio to nginx: {app_rate / static_rate:.3f} (goal >= 0.25)")


if __name__ == "__main__":
    main()
