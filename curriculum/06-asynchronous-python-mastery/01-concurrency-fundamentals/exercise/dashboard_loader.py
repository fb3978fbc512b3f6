"""The account dashboard of a B2B shop, loaded without waiting for one service at a time.

The page needs four things: the customer's profile, their recent orders, the amounts of their
open invoices, and their credit limit. Three of them come from async HTTP services; the credit
limit comes from a legacy client whose calls block. A small profiler helper decides which of
the service's steps are worth overlapping at all.
"""

import asyncio  # noqa: F401  (used once you write the TODOs)
import math  # noqa: F401  (likewise)
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, Protocol, TypeVar

T = TypeVar("T")
Workload = Literal["io-bound", "cpu-bound", "mixed"]

MAX_INVOICE_CALLS = 4  # the billing service allows four concurrent requests per client


def classify(cpu_seconds: float, blocked_seconds: float) -> Workload:
    """Name a step's workload from the CPU time it used and the time it spent blocked.

    The CPU share is cpu / (cpu + blocked): below 0.10 the step is "io-bound", above 0.90
    it is "cpu-bound", anything in between (both limits included) is "mixed". Negative
    figures, or no time at all, raise ValueError.
    """
    # TODO: validate the inputs, compute the CPU share and pick one of the three names.
    raise NotImplementedError


def max_overlap_speedup(cpu_seconds: float, blocked_seconds: float) -> float:
    """The most that overlapping many copies of a step on one thread can speed them up.

    One thread can run the CPU part of only one copy at a time, so n copies take at least
    n * cpu seconds instead of n * (cpu + blocked): the ratio is the ceiling. A step that uses
    no CPU at all has no ceiling from this thread (math.inf).
    """
    # TODO: reject negative figures; a step with no CPU time has no ceiling (math.inf).
    raise NotImplementedError


async def fetch_all(
    fetch: Callable[[str], Awaitable[T]], keys: Sequence[str], *, max_in_flight: int
) -> list[T]:
    """Call fetch(key) for every key concurrently, at most max_in_flight at a time.

    The results come back in the order of `keys`, whichever call finishes first. An empty
    `keys` returns []. max_in_flight below 1 raises ValueError.
    """
    # TODO: something must stop the (max_in_flight + 1)-th call from starting, and the
    #       results must line up with `keys` even when a later key answers first.
    raise NotImplementedError


class AccountServices(Protocol):
    """What the dashboard calls. The fakes in the tests implement exactly this."""

    async def profile(self, customer_id: str) -> str: ...

    async def recent_orders(self, customer_id: str) -> list[str]: ...

    async def open_invoice_ids(self, customer_id: str) -> list[str]: ...

    async def invoice_amount(self, invoice_id: str) -> Decimal: ...

    def credit_limit(self, customer_id: str) -> Decimal:
        """Blocking: the legacy credit client waits on its socket in the calling thread."""
        ...


@dataclass(frozen=True)
class Dashboard:
    customer_name: str
    recent_orders: list[str]
    outstanding: Decimal
    available_credit: Decimal


async def load_dashboard(services: AccountServices, customer_id: str) -> Dashboard:
    """Load everything the dashboard shows, overlapping every call that can be overlapped.

    The profile, the recent orders, the open invoices (their ids, then all their amounts,
    at most MAX_INVOICE_CALLS at a time) and the credit limit are independent of each other
    and must all be in progress at the same time. The blocking credit call must not run on
    the event loop's thread. outstanding is the sum of the open invoice amounts, and
    available_credit is the credit limit minus outstanding.
    """

    # TODO: the invoice amounts need the invoice ids first, but nothing else waits on
    #       anything. Start the four independent pieces together, keep the blocking
    #       credit call off the event loop's thread, then build the Dashboard.
    raise NotImplementedError
