"""A request-scoped AsyncSession in FastAPI: a yield dependency, its scope, and commit timing.

The app runs in-process under TestClient against the real PostgreSQL. The engine and the
session factory are built in the lifespan, once per process, never per request.
"""

import logging
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import Numeric, String, event, exc, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
log = logging.getLogger("billing.api")


class Base(DeclarativeBase):
    pass


class Invoice(Base):
    __tablename__ = "s5_7_api_invoices"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    total: Mapped[Decimal] = mapped_column(Numeric(10, 2))


class InvoiceIn(BaseModel):
    number: str
    total: Decimal


def log_commit(conn: Connection) -> None:
    log.info("      sql: COMMIT")


def log_rollback(conn: Connection) -> None:
    log.info("      sql: ROLLBACK")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    engine = create_async_engine(POSTGRES_URL, pool_size=5, max_overflow=5, pool_pre_ping=True)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.run_sync(Base.metadata.create_all)
    event.listen(engine.sync_engine, "commit", log_commit)
    event.listen(engine.sync_engine, "rollback", log_rollback)
    app.state.sessions = async_sessionmaker(engine, expire_on_commit=False)
    yield
    event.remove(engine.sync_engine, "commit", log_commit)
    event.remove(engine.sync_engine, "rollback", log_rollback)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
    await engine.dispose()


async def request_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request: commit if the handler returned, roll back if it raised."""
    factory: async_sessionmaker[AsyncSession] = request.app.state.sessions
    try:
        async with factory.begin() as session:
            log.info("   session opened for %s %s", request.method, request.url.path)
            yield session
            log.info("   handler returned: committing")
    except exc.IntegrityError as error:
        log.error("   commit failed: %s", str(error.orig).splitlines()[0])
        raise


# scope="function": the code after `yield` runs before the response is sent.
SessionDep = Annotated[AsyncSession, Depends(request_session, scope="function")]
# The default for a yield dependency is scope="request": after the response is sent.
LateCommitSessionDep = Annotated[AsyncSession, Depends(request_session)]


class InvoiceService:
    def __init__(self, session: SessionDep) -> None:
        self.session = session

    async def create(self, data: InvoiceIn) -> Invoice:
        invoice = Invoice(number=data.number, total=data.total)
        self.session.add(invoice)
        return invoice


ServiceDep = Annotated[InvoiceService, Depends()]
app = FastAPI(lifespan=lifespan)


@app.exception_handler(exc.IntegrityError)
async def conflict(request: Request, error: exc.IntegrityError) -> JSONResponse:
    return JSONResponse({"detail": "invoice number already exists"}, status_code=409)


@app.post("/invoices", status_code=status.HTTP_201_CREATED)
async def create_invoice(
    data: InvoiceIn, service: ServiceDep, session: SessionDep
) -> dict[str, str]:
    invoice = await service.create(data)
    log.info("   service and handler share one session: %s", service.session is session)
    return {"number": invoice.number}


@app.post("/late-commit/invoices", status_code=status.HTTP_201_CREATED)
async def create_invoice_late(data: InvoiceIn, session: LateCommitSessionDep) -> dict[str, str]:
    session.add(Invoice(number=data.number, total=data.total))
    return {"number": data.number}


@app.post("/invoices/{number}/void")
async def void_invoice(number: str, session: SessionDep) -> dict[str, str]:
    invoice = await session.scalar(select(Invoice).where(Invoice.number == number))
    session.add(Invoice(number=f"{number}-CN", total=Decimal("0.00")))  # the credit note
    if invoice is None:
        raise HTTPException(status_code=404, detail=f"no invoice {number}")
    return {"voided": number}


@app.get("/invoices/count")
async def count_invoices(session: SessionDep) -> dict[str, int]:
    return {"count": await session.scalar(select(func.count()).select_from(Invoice)) or 0}


def call(client: TestClient, method: str, path: str, body: dict[str, str] | None = None) -> None:
    log.info("%s %s", method, path)
    response = client.request(method, path, json=body)
    log.info("   -> %d %s", response.status_code, response.json())


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    # TestClient sends requests through httpx2, which logs "HTTP Request: ..." as soon as the
    # status line reaches the client, before the body is read: the moment the client knows.
    with TestClient(app, raise_server_exceptions=False) as client:
        call(client, "POST", "/invoices", {"number": "INV-4001", "total": "250.00"})
        call(client, "POST", "/invoices", {"number": "INV-4001", "total": "250.00"})
        call(client, "POST", "/invoices/INV-9999/void")
        call(client, "POST", "/late-commit/invoices", {"number": "INV-4001", "total": "1.00"})
        call(client, "GET", "/invoices/count")


if __name__ == "__main__":
    main()
