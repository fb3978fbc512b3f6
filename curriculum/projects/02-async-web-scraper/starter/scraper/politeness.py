"""Per-host politeness: a concurrency cap, a minimum interval between request starts, and a
pause that a 429 or 503 with Retry-After imposes on the whole host.

Every request to a host, robots.txt and retries included, goes through that host's gate:

    await gate.acquire()      # waits for a slot, then for the host's turn
    try:
        ...                   # send the request and read the body
    finally:
        gate.release()
"""

import asyncio


class HostGate:
    """At most `concurrency` requests in flight, starts at least 1/rate seconds apart.

    rate == 0 means no interval. Not a token bucket: a bucket lets a burst of `rate`
    requests out at once, and the acceptance suite counts the requests in every second.
    """

    def __init__(self, concurrency: int, rate: float) -> None:
        self._slots = asyncio.Semaphore(concurrency)
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._next_start = 0.0  # loop time before which no request may start
        self._paused_until = 0.0

    async def acquire(self) -> None:
        """Wait for a free slot, then for this host's turn; the caller must release().

        If the wait is cancelled (a shutdown), give the slot back before re-raising.
        """
        # TODO: the semaphore, then a loop: compute the turn from _next_start and
        # _paused_until; if it has come, reserve it (set _next_start) before any await and
        # return; otherwise sleep until it and look again (someone else may have taken it).
        raise NotImplementedError("TODO: HostGate.acquire")

    def release(self) -> None:
        raise NotImplementedError("TODO: HostGate.release")

    def pause(self, seconds: float) -> None:
        """No request to this host starts for `seconds` (a Retry-After from the host)."""
        raise NotImplementedError("TODO: HostGate.pause")


class RobotsRules:
    """The robots.txt rules of one host, for one User-Agent.

    urllib.robotparser.RobotFileParser does the parsing: parse(lines), then
    can_fetch(user_agent, url). It picks the group whose User-agent token appears in our
    User-Agent (falling back to '*') and applies the first rule that matches the path. It
    does not understand the '*' and '$' wildcards of RFC 9309, and it takes the first
    matching rule rather than the longest; files that list Allow before Disallow, as most
    do (and as the suite's does), read the same either way.
    """

    def __init__(self, user_agent: str, text: str) -> None:
        raise NotImplementedError("TODO: RobotsRules.__init__")

    @classmethod
    def allowing_everything(cls, user_agent: str) -> "RobotsRules":
        """A 4xx for robots.txt: there are no rules (RFC 9309, section 2.3.1.3)."""
        return cls(user_agent, "")

    def allows(self, url: str) -> bool:
        raise NotImplementedError("TODO: RobotsRules.allows")
