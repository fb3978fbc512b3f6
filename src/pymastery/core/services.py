"""The local services that examples and exercises talk to, and how to reach them."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from pymastery.core.model import Service

EXAMPLES_DATABASE = "pymastery_examples"


@dataclass(frozen=True)
class ServiceInfo:
    variable: str
    default: str
    start_hint: str


SERVICES: dict[Service, ServiceInfo] = {
    Service.POSTGRES: ServiceInfo(
        "PYMASTERY_POSTGRES_URL",
        f"postgresql+psycopg://postgres@127.0.0.1:5432/{EXAMPLES_DATABASE}",
        "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    ),
    Service.MYSQL: ServiceInfo(
        "PYMASTERY_MYSQL_URL",
        f"mysql+pymysql://root@127.0.0.1:3306/{EXAMPLES_DATABASE}",
        "start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd",
    ),
    Service.REDIS: ServiceInfo(
        "PYMASTERY_REDIS_URL",
        "redis://127.0.0.1:6379/0",
        "redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save ''",
    ),
    Service.RABBITMQ: ServiceInfo(
        "PYMASTERY_RABBITMQ_URL",
        "amqp://guest:guest@127.0.0.1:5672//",
        "rabbitmq-server -detached",
    ),
}


def url_for(service: Service, worker: int | None = None) -> str:
    """The service address an example gets; a worker gets its own database or Redis index."""
    configured = os.environ.get(SERVICES[service].variable, SERVICES[service].default)
    if worker is None:
        return configured
    parts = urlsplit(configured)
    if service in (Service.POSTGRES, Service.MYSQL):
        return urlunsplit(parts._replace(path=f"{parts.path}_w{worker}"))
    if service is Service.REDIS:
        return urlunsplit(parts._replace(path=f"/{worker + 1}"))
    return configured


def environment(worker: int | None = None) -> dict[str, str]:
    return {SERVICES[service].variable: url_for(service, worker) for service in Service}


def unreachable(services: Iterable[Service]) -> list[str]:
    """A plain-words message for each service that does not accept connections."""
    messages = []
    for service in sorted(set(services)):
        parts = urlsplit(url_for(service))
        host, port = parts.hostname or "127.0.0.1", parts.port
        default_ports = {"postgres": 5432, "mysql": 3306, "redis": 6379, "rabbitmq": 5672}
        port = port or default_ports[service.value]
        try:
            with socket.create_connection((host, port), timeout=1):
                pass
        except OSError as error:
            messages.append(
                f"{service.value} is not reachable at {host}:{port} ({error.strerror}"
                f"); start it with: {SERVICES[service].start_hint}"
            )
    return messages


def prepare(wanted: Iterable[Service], worker: int | None = None) -> list[str]:
    """Everything an example, exercise or project needs before it runs: reachable services and
    existing databases. Empty when ready; otherwise one plain-words message per problem."""
    needed = set(wanted)
    return unreachable(needed) or ensure_databases(needed, worker)


def ensure_databases(services: Iterable[Service], worker: int | None = None) -> list[str]:
    """Create the examples' database on PostgreSQL/MariaDB if missing; messages for failures."""
    messages = []
    wanted = set(services)
    if Service.POSTGRES in wanted:
        messages += ensure_postgres(url_for(Service.POSTGRES, worker))
    if Service.MYSQL in wanted:
        messages += ensure_mysql(url_for(Service.MYSQL, worker))
    return messages


def ensure_postgres(url: str) -> list[str]:
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as connection:
            exists = connection.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
            if not exists:
                connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.errors.DuplicateDatabase:
        pass
    except psycopg.Error as error:
        return [f"cannot prepare PostgreSQL database {name!r}: {error}"]
    return []


def ensure_mysql(url: str) -> list[str]:
    import pymysql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    try:
        connection = pymysql.connect(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 3306,
            user=parts.username or "root",
            password=parts.password or "",
            connect_timeout=3,
        )
        with connection, connection.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE IF NOT EXISTS `{name}`")
    except pymysql.MySQLError as error:
        return [f"cannot prepare MariaDB database {name!r}: {error}"]
    return []
