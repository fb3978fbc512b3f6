"""Settle a batch of merchant payouts concurrently and report every outcome precisely.

A payout job is a plain dict, for example {"id": "PAY-1", "outcome": "paid", "delay": 0.01}.
`execute_payout` (given) simulates the payment gateway for one job. You write `settle_one` and
`settle_all`; `settle_batch` is the synchronous entry point the tests call.

The report `settle_batch` returns:

    {
        "status": "ok" | "gateway_down" | "bug" | "timeout",
        "paid": [...],        # ids whose payout went through
        "declined": [...],    # ids the bank declined
        "failed": [...],      # ids whose task ended with an exception
        "cancelled": [...],   # ids cancelled because the batch was aborted or ran out of time
        "errors": [...],      # one "ID: ExceptionType: message" line per failed id
    }

Every list is sorted, and every job id appears in exactly one of paid, declined, failed and
cancelled.
"""

import asyncio
from typing import Any

Job = dict[str, Any]
Report = dict[str, Any]


class PaymentDeclined(Exception):
    """The bank declined this payout: the card's problem, not the batch's."""


class GatewayUnavailable(Exception):
    """The payment gateway is down: every other payout in the batch would fail too."""


async def execute_payout(job: Job) -> str:
    """Given: one call to the payment gateway. Do not change it.

    outcome "paid" returns "paid" after `delay` seconds; "declined" raises PaymentDeclined,
    "gateway_down" raises GatewayUnavailable and "bug" raises KeyError('iban'), each after
    `delay` seconds. "hang" never answers. "hang_dirty" never answers either, and when it is
    cancelled, releasing its card hold fails with RuntimeError instead of CancelledError.
    """
    outcome = job["outcome"]
    if outcome in ("hang", "hang_dirty"):
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            if outcome == "hang_dirty":
                raise RuntimeError(f"could not release the card hold for {job['id']}") from None
            raise
    await asyncio.sleep(job.get("delay", 0.0))
    if outcome == "paid":
        return "paid"
    if outcome == "declined":
        raise PaymentDeclined(f"{job['id']}: insufficient funds")
    if outcome == "gateway_down":
        raise GatewayUnavailable("gateway answered 503")
    if outcome == "bug":
        raise KeyError("iban")
    raise ValueError(f"unknown outcome {outcome!r}")


async def settle_one(job: Job) -> str:
    """Run one payout and return "paid" or "declined".

    A decline is an expected business outcome: it must not fail this task, so it must not
    cancel the rest of the batch. Every other exception propagates.
    """
    # TODO: await execute_payout(job); turn PaymentDeclined into the result "declined".
    raise NotImplementedError


async def settle_all(jobs: list[Job], deadline: float) -> Report:
    """Run every job at once, each in a task named after its id, and build the report.

    - A GatewayUnavailable aborts the batch: payouts still running are cancelled.
      status "gateway_down".
    - Any other exception aborts it the same way: status "bug" (it outranks "gateway_down").
    - The whole batch has `deadline` seconds. If the deadline fires, status is "timeout",
      even when a payout's cleanup raised while it was being cancelled; that error is still
      listed in "failed" and "errors".
    - Otherwise status "ok".

    Nothing may raise out of this function except a cancellation of the caller.
    """
    # TODO: asyncio.timeout around an asyncio.TaskGroup; keep the Timeout object and the tasks.
    # TODO: sort the failures with except* clauses; decide "timeout" with the Timeout object.
    # TODO: after the block every task is done: classify each one by how it ended.
    raise NotImplementedError


def settle_batch(jobs: list[Job], deadline: float) -> Report:
    """The synchronous entry point: plain values in, plain values out."""
    return asyncio.run(settle_all(jobs, deadline))
