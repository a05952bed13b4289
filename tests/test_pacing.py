"""The outbox's pacer on a clock of its own: the configured rate, no catch-up burst after a
stall, and Slack's Retry-After honoured by every sender before sending resumes.

Time here is virtual: it moves only when every task is waiting on it, straight to the next
wake-up, so nothing really waits and no assertion depends on how fast the machine is.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
from collections.abc import Awaitable

import pytest

from bot.ports import DeliveryError
from rituals.outbox import failures
from rituals.outbox.pacing import Pacer


class VirtualClock:
    """A monotonic clock and a sleep for the pacer; `run` drives tasks through virtual time."""

    def __init__(self) -> None:
        self.now = 0.0
        self._timers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        wake: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # a real clock always moves on: a wait too short to show in a float still passes
        when = max(self.now + seconds, math.nextafter(self.now, math.inf))
        heapq.heappush(self._timers, (when, next(self._order), wake))
        await wake

    async def run(self, *work: Awaitable[object]) -> None:
        """Run `work` to the end; whenever all of it is waiting, jump to the next wake-up."""
        tasks = [asyncio.ensure_future(w) for w in work]
        for _ in range(100_000):
            if all(t.done() for t in tasks):
                break
            for _ in range(50):  # let every runnable task reach its next wait
                await asyncio.sleep(0)
            if all(t.done() for t in tasks):
                break
            assert self._timers, "every task waits on something that never comes"
            when, _, wake = heapq.heappop(self._timers)
            self.now = max(self.now, when)
            wake.set_result(None)
        else:
            raise AssertionError("still waiting after 100,000 wake-ups")
        for t in tasks:
            t.result()


def _pacer(clock: VirtualClock, per_minute: float, burst: int = 2) -> Pacer:
    return Pacer(per_minute, burst=burst, clock=clock, sleep=clock.sleep)


async def test_one_sender_spends_a_token_every_tick_of_the_configured_rate() -> None:
    clock = VirtualClock()
    pacer = _pacer(clock, per_minute=120)  # two a second
    sent: list[float] = []

    async def sender() -> None:
        for _ in range(10):
            await pacer.slot()
            sent.append(clock.now)

    await clock.run(sender())
    assert sent == pytest.approx([i * 0.5 for i in range(10)])


async def test_more_senders_do_not_raise_the_rate() -> None:
    clock = VirtualClock()
    pacer = _pacer(clock, per_minute=600)  # ten a second
    sent: list[float] = []

    async def sender() -> None:
        for _ in range(5):
            await pacer.slot()
            sent.append(clock.now)

    await clock.run(*(sender() for _ in range(8)))
    assert sorted(sent) == pytest.approx([i * 0.1 for i in range(40)])


async def test_after_an_idle_minute_only_the_burst_goes_out_together() -> None:
    clock = VirtualClock()
    pacer = _pacer(clock, per_minute=120, burst=2)
    sent: list[float] = []

    async def sender() -> None:
        await pacer.slot()
        await clock.sleep(60)  # nothing to send for a minute: 120 slots' worth of tokens unused
        for _ in range(5):
            await pacer.slot()
            sent.append(clock.now)

    await clock.run(sender())
    assert sent == pytest.approx([60.0, 60.0, 60.5, 61.0, 61.5])


async def test_unpaced_when_the_rate_is_zero() -> None:
    clock = VirtualClock()
    pacer = _pacer(clock, per_minute=0)

    async def sender() -> None:
        for _ in range(100):
            await pacer.slot()

    await clock.run(sender())
    assert clock.now == 0.0


async def test_retry_after_stops_every_sender_for_the_wait_then_sending_resumes() -> None:
    """Like the drain: three workers share a queue; Slack answers the third post with a 429
    and Retry-After 30; the refused message goes out again after the wait, once."""
    clock = VirtualClock()
    pacer = _pacer(clock, per_minute=60)  # one a second
    owed: asyncio.Queue[str] = asyncio.Queue()
    for i in range(8):
        owed.put_nowait(f"m{i}")
    posted: list[tuple[float, str]] = []
    refused: list[float] = []

    async def slack_post(message: str) -> None:
        await asyncio.sleep(0)  # the request is on the wire: other senders run meanwhile
        if len(posted) == 2 and not refused:
            refused.append(clock.now)
            raise DeliveryError("ratelimited", permanent=False, retry_after=30)
        posted.append((clock.now, message))

    async def worker() -> None:
        while not owed.empty():
            message = owed.get_nowait()
            while True:
                await pacer.slot()
                try:
                    await slack_post(message)
                except DeliveryError as exc:
                    wait = failures.pause_for(exc)
                    assert wait is not None
                    pacer.pause(wait)
                    continue
                break

    await clock.run(*(worker() for _ in range(3)))
    assert refused == [2.0]
    times = [t for t, _ in posted]
    assert not [t for t in times if 2.0 < t < 32.0], "a post went out inside Retry-After"
    assert min(t for t in times if t > 2.0) == 32.0
    # after the wait: at most the burst together, then the configured rate again
    assert times == pytest.approx([0.0, 1.0, 32.0, 32.0, 33.0, 34.0, 35.0, 36.0])
    assert sorted(m for _, m in posted) == [f"m{i}" for i in range(8)]


async def test_a_429_forfeits_the_tokens_saved_before_it() -> None:
    """Slack's bucket is empty when it answers 429: the burst saved while idle is not spent
    the moment the wait ends, or the next call earns another 429."""
    clock = VirtualClock()
    pacer = _pacer(clock, per_minute=60, burst=2)
    sent: list[float] = []

    async def sender() -> None:
        await pacer.slot()
        await clock.sleep(10)  # idle: the bucket fills to its burst
        await pacer.slot()
        pacer.pause(1)  # that call was refused: Retry-After 1
        for _ in range(3):
            await pacer.slot()
            sent.append(clock.now)

    await clock.run(sender())
    assert sent == pytest.approx([11.0, 12.0, 13.0])


async def test_a_longer_retry_after_wins_over_a_shorter_one() -> None:
    clock = VirtualClock()
    pacer = _pacer(clock, per_minute=60)
    sent: list[float] = []

    async def sender() -> None:
        await pacer.slot()
        pacer.pause(20)
        pacer.pause(5)  # a second 429 naming a shorter wait does not cut the first one short
        await pacer.slot()
        sent.append(clock.now)

    await clock.run(sender())
    assert sent == [20.0]
