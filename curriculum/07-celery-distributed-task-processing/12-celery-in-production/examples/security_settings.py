"""Security settings checked for real: a refused pickle message, TLS options, message signing.

Part 1 runs a worker (Redis broker and backend) that accepts only JSON and sends it a pickle
message. Parts 2 and 3 build TLS settings for RabbitMQ and a Redis result backend without
connecting anywhere: part 2 hands the broker options to py-amqp's own socket-wrapping code,
part 3 builds Celery's Redis backend. Part 4 tries to switch on message signing.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import ssl
import sys
import tempfile
from typing import Any

import redis
from amqp.transport import SSLTransport
from celery import Celery
from celery.signals import worker_ready

REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
RUN = f"s7_12_security_{os.getpid()}"

app = Celery("billing", broker=REDIS_URL, backend=REDIS_URL)
app.conf.update(
    task_default_queue=f"{RUN}.billing",
    broker_transport_options={"global_keyprefix": f"{RUN}:"},
    result_backend_transport_options={"global_keyprefix": f"{RUN}:"},
    accept_content=["json"],  # the default, written down on purpose
    worker_enable_remote_control=False,
    broker_connection_retry_on_startup=True,
)
log = logging.getLogger("billing.security")


@app.task(name="billing.apply_credit")
def apply_credit(tenant: str, cents: int) -> str:
    return f"credited {cents} to {tenant}"


def keep_loop_awake(sender: Any, **_: Any) -> None:
    """Section 7.4's workaround: lets an idle worker notice SIGTERM promptly."""
    sender.timer.call_repeatedly(0.25, lambda: None)


def run_worker(log_path: str) -> None:
    os.setsid()
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    worker_ready.connect(keep_loop_awake, weak=False)
    worker = app.Worker(
        hostname=f"billing@{RUN}", pool="solo", loglevel="INFO", quiet=True,
        without_gossip=True, without_mingle=True, without_heartbeat=True,
    )  # fmt: skip
    worker.start()
    sys.exit(worker.exitcode or 0)


def refused_pickle(store: redis.Redis) -> None:
    print("1. a worker with accept_content=['json'] receives a pickle message")
    with tempfile.TemporaryDirectory() as tmp:
        log_path = os.path.join(tmp, "worker.log")
        sys.stdout.flush()
        worker = multiprocessing.get_context("fork").Process(target=run_worker, args=(log_path,))
        worker.start()
        try:
            pickled = apply_credit.apply_async(("acme", 500), serializer="pickle")
            # A JSON task sent after it: once it has run, the pickle message has been handled.
            print(f"   next JSON task: {apply_credit.delay('globex', 700).get(timeout=20)}")
        finally:
            assert worker.pid is not None
            os.kill(worker.pid, signal.SIGTERM)
            worker.join(20)
            if worker.is_alive():
                os.killpg(worker.pid, signal.SIGKILL)
                worker.join()
        with open(log_path) as handle:
            text = handle.read()
    start = text.index("Received invalid task message")
    for line in text[start:].splitlines()[:2]:
        print(f"   worker log: {line}")
    print(f"   the log also holds the raw body: {'The full contents of the message' in text}")
    queued = store.llen(f"{RUN}:{RUN}.billing")
    unacked = store.hlen(f"{RUN}:unacked")
    print(f"   left in the queue: {queued}, unacknowledged: {unacked}")
    print(f"   state seen by the caller: {pickled.state}")


def amqp_tls_context(options: dict[str, Any]) -> ssl.SSLContext:
    """Wrap an unconnected socket exactly as py-amqp will when it connects with these options."""
    transport = SSLTransport.__new__(SSLTransport)  # only its socket-wrapping method is used
    with socket.socket() as raw:
        wrapped = transport._wrap_socket_sni(raw, **options)  # type: ignore[attr-defined]
        context: ssl.SSLContext = wrapped.context
        wrapped.close()
    return context


def broker_tls() -> None:
    print("2. RabbitMQ over TLS: what py-amqp's context checks")
    base = {"cert_reqs": ssl.CERT_REQUIRED}  # add "ca_certs": "/etc/ssl/private-ca.pem" in prod
    for label, options in (
        ("cert_reqs only", base),
        ("cert_reqs + server_hostname", base | {"server_hostname": "rabbitmq.internal"}),
    ):
        context = amqp_tls_context(options)
        print(
            f"   {label:<28} verify_mode={context.verify_mode.name} "
            f"check_hostname={context.check_hostname}"
        )
    tls_app = Celery("billing", broker="amqps://billing:s3cret@rabbitmq.internal:5671/billing")
    tls_app.conf.broker_use_ssl = base | {"server_hostname": "rabbitmq.internal"}
    connection = tls_app.connection_for_write()  # built, never connected
    print(f"   broker connection: {connection.as_uri()} ssl={connection.ssl}")


def backend_tls() -> None:
    print("3. a Redis result backend over TLS")
    url = "rediss://:s3cret@redis.internal:6380/1"
    try:
        _ = Celery("billing", backend=url).backend
    except ValueError as exc:
        print(f"   {url.split('@')[1]} without ssl_cert_reqs: ValueError: {str(exc).strip()}")
    secured = Celery("billing", backend=url + "?ssl_cert_reqs=CERT_REQUIRED").backend
    params = {k: v for k, v in getattr(secured, "connparams", {}).items() if "ssl" in k}
    connection_class = getattr(secured, "connparams", {})["connection_class"].__name__
    print(f"   with ?ssl_cert_reqs=CERT_REQUIRED: {connection_class}, {params}")


def message_signing() -> None:
    print("4. message signing (the 'auth' serializer)")
    signed = Celery("billing")
    signed.conf.update(
        task_serializer="auth",
        accept_content=["auth"],
        security_key="/etc/billing/worker.key",
        security_certificate="/etc/billing/worker.pem",
        security_cert_store="/etc/billing/certs/*.pem",
    )
    try:
        signed.setup_security()
        print("   signing is on")
    except ImportError as exc:
        print(f"   setup_security() raised {type(exc).__name__}: {exc}")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    store = redis.Redis.from_url(REDIS_URL)
    try:
        refused_pickle(store)
        broker_tls()
        backend_tls()
        message_signing()
    finally:
        keys = list(store.scan_iter(f"{RUN}:*"))
        if keys:
            store.delete(*keys)


if __name__ == "__main__":
    main()
