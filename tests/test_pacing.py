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
from collections.abc import AsyncIterator, Awaitable

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import db
from bot.app import build_deps
from bot.models import SendPace
from bot.ports import DeliveryError
from handlers import home
from rituals.outbox import failures
from rituals.outbox.pacing import Pacer, SharedPacer
from tests.conftest import Bot, eventually, make_config
from tests.test_home import home_of


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


# --- one pace per workspace, shared through the database ---------------------------------------


class WallClock:
    """Wall-clock seconds that move only when a pacer sleeps (several pacers share it)."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 1e-6)
        await asyncio.sleep(0)


def _shared(
    engine: AsyncEngine, clock: WallClock, per_minute: float, method: str = "chat.postMessage"
) -> SharedPacer:
    return SharedPacer(
        engine,
        workspace_id="T0001",
        method=method,
        per_minute=per_minute,
        burst=2,
        clock=clock,
        sleep=clock.sleep,
    )


def _most_in_window(times: list[float], window: float) -> int:
    times = sorted(times)
    return max(sum(1 for u in times[i:] if u < t + window - 1e-9) for i, t in enumerate(times))


@pytest.fixture
async def two_engines(database_url: str) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    """Two engines on one database: two processes sending for the same workspace."""
    first, second = db.make_engine(database_url), db.make_engine(database_url)
    yield first, second
    await first.dispose()
    await second.dispose()


async def test_two_processes_share_one_rate(two_engines: tuple[AsyncEngine, AsyncEngine]) -> None:
    clock = WallClock()
    serve, cli = (_shared(e, clock, per_minute=60) for e in two_engines)  # one a second in all
    start = clock.now
    times = []
    for _ in range(6):
        for pacer in (serve, cli):
            await pacer.slot()
            times.append(clock.now - start)
    # twelve calls between them take eleven seconds less the burst, as one sender's would
    assert times[-1] >= 10
    assert _most_in_window(times, 1.0) <= 2


async def test_batches_of_slots_interleave_under_the_rate(
    two_engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    clock = WallClock()
    serve, cli = (_shared(e, clock, per_minute=6000) for e in two_engines)  # 100 a second
    assert serve.batch > 1  # a few slots per round trip, not one
    times = []
    for _ in range(10):
        for pacer in (serve, serve, serve, cli, cli):
            await pacer.slot()
            times.append(clock.now)
    assert _most_in_window(times, 0.1) <= 2 + 10  # the burst, and 0.1 s at 100 a second
    assert (max(times) - min(times)) >= (50 - 2) * 0.01
    assert serve.reservations + cli.reservations < 50


async def test_a_429_seen_by_one_process_pauses_the_other(
    two_engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    clock = WallClock()
    serve, cli = (_shared(e, clock, per_minute=6000) for e in two_engines)
    await serve.slot()
    await cli.slot()  # it holds slots reserved before the 429
    told = clock.now
    await serve.pause(30)  # Slack answered serve 429, Retry-After 30
    clock.now += cli.recheck * 1.01  # the bound: past `recheck` the other has looked again
    await cli.slot()
    assert clock.now >= told + 30
    await serve.slot()
    assert clock.now >= told + 30
    # a process started later learns of the wait before its first call
    late = _shared(two_engines[1], clock, per_minute=6000)
    clock.now = told + 1
    await late.slot()
    assert clock.now >= told + 30
    # a shorter Retry-After does not cut the longer one short
    await cli.pause(1)
    assert cli.paused_until >= told + 30


async def test_each_method_and_workspace_has_its_own_pace(
    two_engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    clock = WallClock()
    posts = _shared(two_engines[0], clock, per_minute=60)
    homes = _shared(two_engines[1], clock, per_minute=60, method="views.publish")
    await posts.pause(60)
    start = clock.now
    await homes.slot()
    await homes.slot()
    assert clock.now - start < 1  # views.publish is not held by chat.postMessage's 429


async def test_unpaced_never_touches_the_database(
    two_engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    clock = WallClock()
    pacer = _shared(two_engines[0], clock, per_minute=0)
    for _ in range(100):
        await pacer.slot()
    assert pacer.reservations == 0 and clock.now == WallClock().now


async def test_views_publish_shares_its_pace_and_retry_after_between_processes(
    bot: Bot, database_url: str
) -> None:
    """`cop serve` is told to wait by a 429 on views.publish; a second process publishing a Home
    for the same workspace does not call Slack before the wait is over."""
    await home_of(bot, "U0EMILY")  # known, and the first Home published
    other = build_deps(make_config(database_url, bot.emulator))
    workspace = bot.emulator.workspace.team_id
    try:
        bot.emulator.inject_failure("views.publish", status=429)  # Retry-After: 1
        since = len(bot.emulator.calls)
        await bot.slack.open_home(user="U0EMILY")
        await bot.emulator.wait_for("views.publish", lambda c: c.status == 429)

        async def recorded() -> bool:
            async with other.sessions() as session:
                until = await session.scalar(
                    sa.select(SendPace.paused_until).where(
                        SendPace.workspace_id == workspace, SendPace.method == "views.publish"
                    )
                )
            return bool(until)

        await eventually(recorded)
        await home.publish(other, other.web_client, workspace_id=workspace, user_id="U0CHLOE")
        calls = [c for c in bot.emulator.calls[since:] if c.method == "views.publish"]
        refused = next(c for c in calls if c.status == 429)
        theirs = [c for c in calls if c.params.get("user_id") == "U0CHLOE"]
        assert theirs and all(c.at - refused.at >= 1.0 for c in theirs)
        assert bot.emulator.calls_inside_retry_after("views.publish") == 0
        assert "U0CHLOE" in bot.emulator.home_views
        assert home.publisher(other, workspace).pacer.method == "views.publish"
    finally:
        await other.engine.dispose()
