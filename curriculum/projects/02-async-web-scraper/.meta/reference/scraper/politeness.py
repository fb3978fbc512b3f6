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
import urllib.robotparser


class HostGate:
    """At most `concurrency` requests in flight, starts at least 1/rate seconds apart."""

    def __init__(self, concurrency: int, rate: float) -> None:
        self._slots = asyncio.Semaphore(concurrency)
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._next_start = 0.0  # loop time before which no request may start
        self._paused_until = 0.0

    async def acquire(self) -> None:
        """Wait for a free slot, then for this host's turn; the caller must release()."""
        await self._slots.acquire()
        try:
            await self._wait_for_turn()
        except BaseException:
            self._slots.release()
            raise

    def release(self) -> None:
        self._slots.release()

    async def _wait_for_turn(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            turn = max(self._next_start, self._paused_until)
            if turn <= now:
                # Reserve the start now, before any await, so no other task can take it.
                self._next_start = now + self._interval
                return
            await asyncio.sleep(turn - now)

    def pause(self, seconds: float) -> None:
        """No request to this host starts for `seconds` (a Retry-After from the host)."""
        until = asyncio.get_running_loop().time() + seconds
        self._paused_until = max(self._paused_until, until)


class RobotsRules:
    """The robots.txt rules of one host, for one User-Agent.

    The standard library's parser picks the group whose User-agent token appears in our
    User-Agent (falling back to '*') and applies the first rule that matches the path. It
    does not understand the '*' and '$' wildcards of RFC 9309, and it takes the first
    matching rule rather than the longest; files that list Allow before Disallow, as most
    do, read the same either way.
    """

    def __init__(self, user_agent: str, text: str) -> None:
        self.user_agent = user_agent
        self._parser = urllib.robotparser.RobotFileParser()
        self._parser.parse(text.splitlines())  # also marks the rules as read: can_fetch works

    @classmethod
    def allowing_everything(cls, user_agent: str) -> "RobotsRules":
        """A 4xx for robots.txt: there are no rules (RFC 9309, section 2.3.1.3)."""
        return cls(user_agent, "")

    def allows(self, url: str) -> bool:
        return self._parser.can_fetch(self.user_agent, url)
