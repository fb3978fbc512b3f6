"""A SQLAlchemy session per request in Flask (teardown) and in Django (middleware).

Both apps run in-process through their own test clients against the real PostgreSQL.
Django keeps its own ORM out of it: DATABASES is empty, and a middleware owns the session.
"""

import json
import logging
import os
import sys
from collections.abc import Callable
from contextvars import ContextVar
from decimal import Decimal

import django
import flask
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.test import Client, override_settings
from django.urls import path
from sqlalchemy import Engine, Numeric, String, create_engine, event, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    scoped_session,
    sessionmaker,
)

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
log = logging.getLogger("billing.web")


class Base(DeclarativeBase):
    pass


class Invoice(Base):
    __tablename__ = "s5_7_web_invoices"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    total: Mapped[Decimal] = mapped_column(Numeric(10, 2))


ENGINE: Engine = create_engine(POSTGRES_URL, pool_size=5, max_overflow=5, pool_pre_ping=True)
FACTORY = sessionmaker(ENGINE, expire_on_commit=False)


def stored_numbers() -> list[str]:
    with FACTORY() as session:
        return list(session.scalars(select(Invoice.number).order_by(Invoice.number)))


# --- Flask: a thread-local scoped_session, committed by the view, removed at teardown -------

db_session = scoped_session(FACTORY)
flask_app = flask.Flask("billing")


@flask_app.post("/invoices")
def flask_create_invoice() -> tuple[dict[str, str], int]:
    payload = flask.request.get_json()
    db_session.add(Invoice(number=payload["number"], total=Decimal(payload["total"])))
    db_session.commit()  # explicit: the view decides what is a success
    return {"number": payload["number"]}, 201


@flask_app.errorhandler(IntegrityError)
def conflict(error: IntegrityError) -> tuple[dict[str, str], int]:
    return {"detail": "invoice number already exists"}, 409


@flask_app.teardown_appcontext
def remove_session(error: BaseException | None) -> None:
    # Runs after every request, whatever happened: close() rolls back anything uncommitted.
    log.info("   teardown: removing this thread's session")
    db_session.remove()


def run_flask() -> None:
    log.info("Flask: scoped_session + teardown_appcontext")
    client = flask_app.test_client()
    for number in ("INV-5001", "INV-5001", "INV-5002"):
        response = client.post("/invoices", json={"number": number, "total": "40.00"})
        log.info(
            "   POST %s -> %d; session left in registry: %s",
            number,
            response.status_code,
            db_session.registry.has(),
        )


# --- Django: a middleware opens one session per request ---------------------------------

current_session: ContextVar[Session] = ContextVar("current_session")


class CommitUnlessExceptionMiddleware:
    """The naive version: it never sees the view's exception, Django already made a 500."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with FACTORY() as session:
            token = current_session.set(session)
            try:
                response = self.get_response(request)
                session.commit()
                return response
            finally:
                current_session.reset(token)


class SQLAlchemySessionMiddleware(CommitUnlessExceptionMiddleware):
    """Commit only a successful response; everything else rolls back when the session closes."""

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with FACTORY() as session:
            token = current_session.set(session)
            try:
                response = self.get_response(request)
                if response.status_code < 400:
                    session.commit()
                return response
            finally:
                current_session.reset(token)


def django_create_invoice(request: HttpRequest) -> JsonResponse:
    payload = json.loads(request.body)
    session = current_session.get()
    session.add(Invoice(number=payload["number"], total=Decimal(payload["total"])))
    session.flush()
    if Decimal(payload["total"]) > Decimal("10000"):
        raise RuntimeError("fraud check service unreachable")  # an unhandled bug
    return JsonResponse({"number": payload["number"]}, status=201)


urlpatterns = [path("invoices", django_create_invoice)]


def run_django() -> None:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="example-only-not-secret",
        ROOT_URLCONF=__name__,
        ALLOWED_HOSTS=["testserver"],
        DATABASES={},  # Django's ORM is not used; SQLAlchemy owns the database access
        LOGGING_CONFIG=None,
        MIDDLEWARE=[],
    )
    django.setup()
    logging.getLogger("django.request").setLevel(logging.CRITICAL)
    for middleware in (CommitUnlessExceptionMiddleware, SQLAlchemySessionMiddleware):
        log.info("Django: %s", middleware.__name__)
        with override_settings(MIDDLEWARE=[f"{__name__}.{middleware.__name__}"]):
            client = Client(raise_request_exception=False)
            number = f"INV-6{middleware is SQLAlchemySessionMiddleware:d}01"
            body = {"number": number, "total": "25000.00"}
            response = client.post("/invoices", body, content_type="application/json")
            log.info("   POST %s -> %d", number, response.status_code)


def log_commit(conn: Connection) -> None:
    log.info("      sql: COMMIT")


def log_rollback(conn: Connection) -> None:
    log.info("      sql: ROLLBACK")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    Base.metadata.drop_all(ENGINE)
    Base.metadata.create_all(ENGINE)
    event.listen(ENGINE, "commit", log_commit)
    event.listen(ENGINE, "rollback", log_rollback)
    try:
        run_flask()
        run_django()
    finally:
        event.remove(ENGINE, "commit", log_commit)
        event.remove(ENGINE, "rollback", log_rollback)
        log.info("stored invoices: %s", ", ".join(stored_numbers()))
        Base.metadata.drop_all(ENGINE)
        ENGINE.dispose()


if __name__ == "__main__":
    main()
