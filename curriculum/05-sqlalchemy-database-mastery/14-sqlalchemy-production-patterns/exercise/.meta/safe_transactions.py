"""Units of work that survive transient PostgreSQL errors, and a slow-query log.

`run_in_transaction` is what every handler and job of a billing service calls instead of
committing by hand; `SlowQueryLog` is installed on the engine at start-up and feeds a log line
(and, in a real service, a metric) for every statement slower than a threshold.
"""

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected


class CommitOutcomeUnknown(Exception):
    """The connection was lost while COMMIT was in flight; the work may or may not be saved."""


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4  # total attempts, the first one included
    base_delay: float = 0.05  # seconds
    max_delay: float = 1.0  # seconds

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based).

        Full jitter: uniformly random between 0 and a cap that starts at base_delay and
        doubles after every failed attempt, never above max_delay.
        """
        cap = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return rng.uniform(0, cap)


def is_retryable(exc: BaseException) -> bool:
    """True for a serialization failure, a deadlock, or a connection the server dropped."""
    if not isinstance(exc, DBAPIError):
        return False
    code = getattr(exc.orig, "sqlstate", None)
    return exc.connection_invalidated or code in RETRYABLE_SQLSTATES


def run_in_transaction(
    factory: sessionmaker[Session],
    work: Callable[[Session], T],
    policy: RetryPolicy = RetryPolicy(),
    *,
    sleep: Callable[[float], object] = time.sleep,
    rng: random.Random | None = None,
) -> T:
    """Run work(session) in a new session per attempt and commit; return what work returned.

    - A retryable error raised by work or by flushing its changes: roll back, sleep
      policy.delay(attempt, rng), and run work again in a new session, at most policy.attempts
      times in total; after the last attempt, re-raise the error.
    - Any other error: re-raise it at once.
    - The connection lost during COMMIT itself: raise CommitOutcomeUnknown from the error,
      without retrying (the transaction may have committed).
    Every session is closed, so no connection stays checked out.
    """
    rng = rng or random.Random()
    for attempt in range(1, policy.attempts + 1):
        with factory() as session:
            try:
                result = work(session)
                session.flush()
            except DBAPIError as exc:
                if not is_retryable(exc) or attempt == policy.attempts:
                    raise
                session.rollback()
                sleep(policy.delay(attempt, rng))
                continue
            try:
                session.commit()
            except DBAPIError as exc:
                if exc.connection_invalidated:
                    raise CommitOutcomeUnknown(str(exc.orig)) from exc
                raise
            return result
    raise AssertionError("unreachable: the last attempt returns or raises")


@dataclass(frozen=True)
class SlowQuery:
    statement: str  # the SQL on one line (whitespace collapsed), placeholders, never values
    elapsed_ms: float


@dataclass
class SlowQueryLog:
    """Times every statement the engine executes; keeps those taking threshold_ms or more."""

    engine: Engine
    threshold_ms: float
    entries: list[SlowQuery] = field(default_factory=list)
    statements: int = 0  # statements that completed, slow or not

    def __post_init__(self) -> None:
        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)
        event.listen(self.engine, "handle_error", self._failed)

    def _before(self, conn: Connection, *_: Any) -> None:
        conn.info.setdefault("s5_14_started", []).append(time.perf_counter())

    def _after(self, conn: Connection, cursor: Any, statement: str, *_: Any) -> None:
        elapsed_ms = (time.perf_counter() - conn.info["s5_14_started"].pop()) * 1000
        self.statements += 1
        if elapsed_ms >= self.threshold_ms:
            self.entries.append(SlowQuery(" ".join(statement.split()), elapsed_ms))

    def _failed(self, context: ExceptionContext) -> None:
        if context.connection is not None and context.connection.info.get("s5_14_started"):
            context.connection.info["s5_14_started"].pop()

    def remove(self) -> None:
        """Stop timing: remove every listener this log installed."""
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)
        event.remove(self.engine, "handle_error", self._failed)
