"""The pace of a Slack method: a token bucket, and a pause when Slack answers 429.

Slack's Retry-After is read in one place, `bot.slack.client.delivery_error`, which turns a 429
into `DeliveryError(retry_after=…)`; the drain hands that wait to `Pacer.pause`. (The outbox's
Web API client is a background one, without slack_sdk's own 429 retry, so nothing else waits.)

The clock and the sleep are injectable so tests can run the bucket on a clock of their own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


def _loop_time() -> float:
    return asyncio.get_running_loop().time()


class Pacer:
    """A token bucket per Slack method, slightly stricter than Slack's: no catch-up bursts.

    Waiters queue on a lock, so after a stall (GC, a slow commit) at most `burst` calls go out
    together instead of every overdue slot at once, which is what earns 429s. A 429 pauses
    every sender of the method for Slack's Retry-After.

    Args:
        per_minute: calls allowed per minute; 0 or less means unpaced.
        burst: how many calls may go out together after an idle spell.
        clock: seconds on a monotonic clock (the running event loop's by default).
        sleep: how to wait that many seconds (`asyncio.sleep` by default).
    """

    def __init__(
        self,
        per_minute: float,
        *,
        burst: int = 2,
        clock: Callable[[], float] = _loop_time,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.rate = per_minute / 60.0 if per_minute > 0 else 0.0
        self.capacity = float(burst)
        self._clock = clock
        self._sleep = sleep
        self._tokens = 1.0
        self._last: float | None = None
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    @property
    def paused_until(self) -> float:
        """On the pacer's clock, when the current Retry-After ends (in the past when none)."""
        return self._paused_until

    async def slot(self) -> None:
        """Wait for this call's turn: a token, and no Retry-After pause in force."""
        if self.rate <= 0:
            return
        async with self._lock:
            while True:
                now = self._clock()
                if now < self._paused_until:
                    await self._sleep(self._paused_until - now)
                    continue
                if self._last is not None:
                    self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
                self._last = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                await self._sleep((1 - self._tokens) / self.rate)

    def pause(self, seconds: float) -> None:
        """Slack said Retry-After: nobody sends this method before then."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)
        self._tokens = 0.0
