"""One sending beat out of two: a Redis lease decides, and `inspect ping` shows who is alive.

TEACHING IMPLEMENTATION. `SingleBeatScheduler` adds a leader lease to the default
PersistentScheduler: a beat sends only while it holds a Redis key that expires unless renewed,
so a second beat waits as a hot standby and takes over when the first one dies. RedBeat
(celery-redbeat) ships the same idea with its schedule in Redis; use it, or run one beat under a
supervisor that restarts it, rather than this code. No worker runs here: beat only publishes,
and its log says what it sent.
"""

import logging
import multiprocessing
import os
import re
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import redis
from celery import Celery
from celery.beat import PersistentScheduler

REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
NS = f"s7_5_leader_{os.getpid()}"
LOCK_KEY = f"{NS}:beat-leader"
LOCK_TTL_MS = 1500  # a crashed leader is replaced after at most this long
log = logging.getLogger("billing.beat_leader")

app = Celery("beat_leader_lock", broker=REDIS_URL)
app.conf.update(
    task_default_queue=NS,
    broker_transport_options={"global_keyprefix": f"{NS}:"},
    control_exchange=f"{NS}_control",  # remote-control traffic of this run only
    beat_enable_remote_control=True,  # beat answers `celery inspect ping` (Celery 5.7)
    beat_schedule={
        "refresh-exchange-rates": {"task": "billing.refresh_exchange_rates", "schedule": 0.5},
    },
)

# Renew or release only if the key still holds our token: never touch another beat's lease.
IF_OURS = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call("
RENEW = IF_OURS + "'pexpire', KEYS[1], ARGV[2]) end return 0"
RELEASE = IF_OURS + "'del', KEYS[1]) end return 0"


class SingleBeatScheduler(PersistentScheduler):
    """PersistentScheduler that sends only while it holds a Redis lease (teaching code)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._redis = redis.Redis.from_url(REDIS_URL)
        self._token = f"{os.environ.get('BEAT_NAME', 'beat')}:{os.getpid()}"
        self._leader = False
        self._standby_logged = False
        super().__init__(*args, **kwargs)

    def _hold_lease(self) -> bool:
        if self._leader:
            if self._redis.eval(RENEW, 1, LOCK_KEY, self._token, LOCK_TTL_MS):
                return True
            log.warning("%s lost the lease (stalled longer than its TTL)", self._token)
            self._leader = False
        if self._redis.set(LOCK_KEY, self._token, nx=True, px=LOCK_TTL_MS):
            log.info("leader: %s took the lease", self._token.split(":")[0])
            self._leader = True
            self._heap = None  # rebuild: entries may have been due while we waited
            return True
        if not self._standby_logged:
            log.info("standby: %s waits for the lease", self._token.split(":")[0])
            self._standby_logged = True
        return False

    def tick(self, *args: Any, **kwargs: Any) -> float:
        renew_every = LOCK_TTL_MS / 1000 / 4
        if not self._hold_lease():
            return renew_every
        return min(super().tick(*args, **kwargs), renew_every)  # wake up in time to renew

    def close(self) -> None:
        try:
            if self._leader:
                self._redis.eval(RELEASE, 1, LOCK_KEY, self._token)
        finally:
            self._redis.close()
            super().close()


def run_beat(name: str, folder: Path) -> None:
    os.environ["BEAT_NAME"] = name
    app.Beat(
        scheduler=f"{__name__}:SingleBeatScheduler",  # as `-S module:Class` would name it
        schedule=str(folder / f"{name}-schedule"),
        hostname=f"celerybeat@{name}",  # the remote-control node name, instead of the host's
        loglevel="INFO",
        quiet=True,
    ).run()


def run_logged(log_path: Path, body: Callable[[], None]) -> None:
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    body()


@contextmanager
def child(log_path: Path, body: Callable[[], None]) -> Iterator[BaseProcess]:
    process = multiprocessing.get_context("fork").Process(target=run_logged, args=(log_path, body))
    process.start()
    try:
        yield process
    finally:
        if process.is_alive():
            process.terminate()
            process.join(15)
        if process.is_alive():
            log.error("child %s ignored SIGTERM; killing it", process.pid)
            process.kill()
            process.join()


def events(beat_log: Path) -> list[tuple[float, str]]:
    """(time, message) for lease changes and sends in one beat's log."""
    found = re.findall(
        r"\[(\S+ \S+): \w+/[^\]]+\] (leader: .*|standby: .*|Scheduler: Sending due task \S+)",
        beat_log.read_text() if beat_log.exists() else "",
    )
    return [(parse_stamp(stamp), message) for stamp, message in found]


def parse_stamp(stamp: str) -> float:
    """'2026-11-27 18:26:34,486' (local time, as the log writes it) -> seconds since the epoch."""
    return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()


def wait_for(beat_log: Path, prefix: str, count: int = 1, seconds: float = 15) -> float:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        matching = [at for at, message in events(beat_log) if message.startswith(prefix)]
        if len(matching) >= count:
            return matching[count - 1]
        time.sleep(0.05)
    raise SystemExit(f"no {prefix!r} x{count} in {beat_log.name} after {seconds:.0f} s")


def ping(*names: str, timeout: float = 1.0) -> dict[str, Any]:
    nodes = [f"celerybeat@{name}" for name in names]
    replies = app.control.ping(destination=nodes, timeout=timeout) or []
    return {node: reply for answer in replies for node, reply in answer.items()}


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    with tempfile.TemporaryDirectory() as tmp, redis.Redis.from_url(REDIS_URL) as client:
        folder = Path(tmp)
        logs = {name: folder / f"{name}.log" for name in ("beat-a", "beat-b")}
        try:
            with ExitStack() as stack:
                print("1. beat-a starts alone, then beat-b starts with the same schedule")
                beat_a = stack.enter_context(
                    child(logs["beat-a"], lambda: run_beat("beat-a", folder))
                )
                wait_for(logs["beat-a"], "Scheduler: Sending", count=2)
                stack.enter_context(child(logs["beat-b"], lambda: run_beat("beat-b", folder)))
                wait_for(logs["beat-b"], "standby")
                for name, path in logs.items():
                    print(f"   {name}: {events(path)[0][1]}")

                print("\n2. Both beats answer `inspect ping`: it proves liveness, not leadership")
                deadline = time.monotonic() + 10
                while len(answers := ping("beat-a", "beat-b")) < 2 and time.monotonic() < deadline:
                    time.sleep(0.2)
                print(f"   {dict(sorted(answers.items()))}")

                print("\n3. beat-a is killed with SIGKILL: no shutdown, no lease release")
                killed_at = time.time()
                os.kill(beat_a.pid or 0, signal.SIGKILL)
                beat_a.join()
                took_over = wait_for(logs["beat-b"], "leader")
                waited = took_over - killed_at
                print(f"   beat-b took the lease {waited:.1f} s later (TTL {LOCK_TTL_MS} ms)")
                wait_for(logs["beat-b"], "Scheduler: Sending")
                print(f"   ping both: {ping('beat-a', 'beat-b', timeout=0.5)}")

            a_sends = [at for at, m in events(logs["beat-a"]) if m.startswith("Scheduler: Sending")]
            b_sends = [at for at, m in events(logs["beat-b"]) if m.startswith("Scheduler: Sending")]
            print("\n4. Who sent what, from the two logs")
            print(f"   beat-a sent only before it was killed: {max(a_sends) < killed_at}")
            print(f"   beat-b sent only after it took the lease: {min(b_sends) >= took_over}")
        finally:
            keys = list(client.scan_iter(match=f"{NS}*"))
            if keys:
                client.delete(*keys)


if __name__ == "__main__":
    main()
