"""Units of work that survive transient PostgreSQL errors, and a slow-query log.

`run_in_transaction` is what every handler and job of a billing service calls instead of
committing by hand; `SlowQueryLog` is installed on the engine at start-up and feeds a log line
(and, in a real service, a metric) for every statement slower than a threshold.
"""

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import Engine
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
        # TODO: compute the cap for this attempt, then draw from rng.
        raise NotImplementedError


def is_retryable(exc: BaseException) -> bool:
    """True for a serialization failure, a deadlock, or a connection the server dropped."""
    # TODO: only a DBAPIError can be retryable; look at its SQLSTATE and at whether
    # SQLAlchemy invalidated the connection.
    raise NotImplementedError


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
    # TODO: one loop over the attempts; a fresh session from factory in each.
    # TODO: separate "work + flush" from "commit": they fail for different reasons.
    raise NotImplementedError


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
        # TODO: listen to the engine's cursor events. Several connections (threads) run
        # statements at the same time: keep each start time with its connection.
        raise NotImplementedError

    def remove(self) -> None:
        """Stop timing: remove every listener this log installed."""
        # TODO
        raise NotImplementedError
