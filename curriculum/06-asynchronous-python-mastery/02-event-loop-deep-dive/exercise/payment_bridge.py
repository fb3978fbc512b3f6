"""Event-loop plumbing for the billing service's payment worker.

The card provider ships a callback SDK: `charge()` returns a request id at once and calls
`on_done(reference, error)` later, on one of the SDK's own threads. The worker is asyncio, so
it needs that call as a coroutine. It also needs to notice when something blocks its loop.
"""

import asyncio
import logging
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger("payments.loop")

OnDone = Callable[[str | None, Exception | None], None]


class CallbackPaymentClient(Protocol):
    """The vendor SDK's interface (the tests provide a fake one)."""

    def charge(self, invoice_id: str, amount_cents: int, on_done: OnDone) -> int:
        """Start a charge and return its request id.

        `on_done(reference, None)` reports success and `on_done(None, error)` a failure.
        It is usually called on an SDK thread, sometimes before `charge()` has returned,
        and a flaky SDK may call it twice, or after the charge was cancelled.
        """
        ...

    def cancel(self, request_id: int) -> None:
        """Ask the provider to void a charge that is still in flight."""
        ...


async def charge(client: CallbackPaymentClient, invoice_id: str, amount_cents: int) -> str:
    """Charge an invoice through the callback SDK and return the payment reference.

    - Return the reference the SDK reports, or raise the exception it reports.
    - Resume promptly when `on_done` runs on another thread: the loop must be woken up.
    - Work when `on_done` runs inside `client.charge()`, before the request id is returned.
    - Ignore a second answer, and an answer that arrives after cancellation, without
      any error reaching the loop's exception handler.
    - If the awaiting task is cancelled (for example by `asyncio.timeout`), call
      `client.cancel(request_id)` and let the cancellation propagate.
    """
    # TODO: create a future on the running loop; hand the SDK an on_done that passes the
    #       answer to the loop thread-safely; settle the future only if it is not done yet;
    #       await it, and void the charge when the wait is cancelled.
    raise NotImplementedError


class LoopLagMonitor:
    """Measure how late the event loop runs a timer that should fire every `interval` s.

    Each sample is a `loop.call_at()` callback planned `interval` seconds ahead; its lag is
    how much later than planned it actually ran. A lag above `warn_after` is logged with
    `log.warning`, mentioning "event loop lag" and the lag in milliseconds.
    """

    def __init__(self, interval: float = 0.05, warn_after: float = 0.1) -> None:
        self.interval = interval
        self.warn_after = warn_after
        self.samples = 0
        self.last_lag = 0.0
        self.max_lag = 0.0
        self._handle: asyncio.TimerHandle | None = None  # the sample that is scheduled next

    @property
    def running(self) -> bool:
        """Whether a sample is currently scheduled."""
        # TODO
        raise NotImplementedError

    def start(self) -> None:
        """Start sampling on the running loop.

        Raise RuntimeError when no loop is running, or when the monitor already runs.
        """
        # TODO: asyncio.get_running_loop() raises the first RuntimeError for you.
        raise NotImplementedError

    def stop(self) -> None:
        """Stop sampling: no sample runs after stop() returns. Calling it twice is harmless."""
        # TODO: cancel the pending timer handle.
        raise NotImplementedError
