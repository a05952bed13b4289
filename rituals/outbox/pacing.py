"""The pace of a Slack method: a token bucket, and a pause when Slack answers 429.

`SharedPacer` is the one every sender uses: one pace per workspace and method, kept in the
database (`send_pace`), so every process sending for a workspace (`cop serve`, a CLI drain,
another replica) shares the rate and Slack's Retry-After. `Pacer` is the same bucket kept in
memory, for one process alone.

Slack's Retry-After is read in one place, `bot.slack.client.delivery_error`, which turns a 429
into `DeliveryError(retry_after=…)`; the drain hands that wait to `Pacer.pause`. (The outbox's
Web API client is a background one, without slack_sdk's own 429 retry, so nothing else waits.)

The clock and the sleep are injectable so tests can run the bucket on a clock of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.models import SendPace

logger = logging.getLogger(__name__)

# Microsoft Teams: one pace per tenant for the Bot Connector's sends (and the 1:1 chats opened
# for them). Microsoft allows an app 50 requests a second per tenant (an older revision said 30);
# we keep to 30, the lower figure, which leaves room for the edge's replies and the roster
# reads. Each conversation's own limits (7 a second, 8 per 2 s, 60 per 30 s, 1800 an hour) are
# kept by the Teams messenger (bot/teams/connector.py Windows). learn.microsoft.com, Teams
# platform, bots/how-to/rate-limit.
TEAMS_METHOD = "teams.send"
TEAMS_PER_MINUTE = 30 * 60


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


# A slot may be used this late (a sender busy for a moment), then it is let go: at most about
# `LATE_TOLERANCE × rate + burst` calls bunch together after a stall (8 at 250 a second).
LATE_TOLERANCE = 0.025


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and (exc := task.exception()) is not None:
        logger.warning("pacing: could not reserve slots (%s)", type(exc).__name__)


class SharedPacer:
    """One workspace's pace for one Slack method, shared through the database by every process.

    Each process reserves its call slots a few at a time with one atomic
    `UPDATE send_pace … RETURNING` (SQLite 3.35+, PostgreSQL): the row's `next_at` moves on by
    `n` intervals, so the slots of all the processes interleave at the configured rate, whoever
    takes them. A batch covers about `recheck` seconds of sending (one slot at Slack's own pace,
    a dozen at 250 calls a second), so the database sees a few writes a second, not one per
    message; the next batch is reserved in the background while the current one goes out, so a
    sender never waits on the database for its turn.

    A 429 is recorded in the same row (`paused_until`, only ever pushed later) and the next
    reservation of every process starts after it. The bound, honestly: before each call a
    process makes sure it has read the row within the last `recheck` seconds (each reservation
    reads it; otherwise it reads it again, and drops the slots it holds if a pause appeared),
    so it may still call Slack during the first `recheck` seconds (plus one round trip to the
    database) after another process recorded a Retry-After — at most `recheck × rate` calls
    plus the burst, never later in the window. The process that got the 429 itself never
    calls inside its window.

    Times are wall-clock seconds since the epoch, so replicas on several hosts rely on their
    clocks agreeing (NTP) to well under an interval.

    Args:
        engine: the database every sender of the workspace shares.
        workspace_id, method: whose pace, for which Slack method.
        per_minute: calls allowed per minute, by all the processes together; 0 or less: unpaced.
        burst: how many calls may go out together after an idle spell (a slot more than
            `burst` intervals or `LATE_TOLERANCE` late is dropped, not sent late in a bunch).
        recheck: seconds a process may go without reading the row (see the bound above).
        write_lock: held around each reservation (SQLite: the caller's queue for its single
            writer).
        clock: wall-clock seconds (`time.time` by default); sleep: how to wait.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        workspace_id: str,
        method: str,
        per_minute: float,
        burst: int = 2,
        recheck: float = 0.05,
        max_batch: int = 16,
        write_lock: Any = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.engine = engine
        self.workspace_id = workspace_id
        self.method = method
        self.per_minute = per_minute
        self.interval = 60.0 / per_minute if per_minute > 0 else 0.0
        self.burst = max(1, burst)
        self.recheck = recheck
        self.batch = max(1, min(max_batch, int(recheck / self.interval))) if self.interval else 0
        self._write_lock = write_lock if write_lock is not None else contextlib.nullcontext()
        self._clock = clock
        self._sleep = sleep
        self._slots: deque[float] = deque()
        self._end = 0.0  # the row's next_at after our latest reservation
        self._paused_until = 0.0
        self._checked = -math.inf
        self._ready = False
        self._lock = asyncio.Lock()
        self._refill: asyncio.Task[None] | None = None
        self._looking: asyncio.Task[None] | None = None
        postgres = engine.dialect.name == "postgresql"
        self._greatest = sa.func.greatest if postgres else sa.func.max
        self._insert = pg_insert if postgres else sqlite_insert
        self._row = sa.and_(SendPace.workspace_id == workspace_id, SendPace.method == method)
        self.reservations = 0  # round trips that reserved slots (for benchmarks)
        self.rechecks = 0  # reads of the row between reservations
        self.dropped = 0  # slots let go because they came too late
        self.waited = 0  # times a sender waited for a reservation

    @property
    def paused_until(self) -> float:
        """When the latest Retry-After this process knows of ends (epoch seconds)."""
        return self._paused_until

    async def _ensure_row(self) -> None:
        if self._ready:
            return
        async with self._write_lock, self.engine.begin() as conn:
            await conn.execute(
                self._insert(SendPace)
                .values(
                    workspace_id=self.workspace_id,
                    method=self.method,
                    next_at=0.0,
                    paused_until=0.0,
                )
                .on_conflict_do_nothing(index_elements=["workspace_id", "method"])
            )
        self._ready = True

    async def _reserve(self) -> None:
        """Take the next `batch` slots of the workspace, and learn its pause, in one UPDATE."""
        await self._ensure_row()
        n = self.batch
        async with self._write_lock:
            asked = self._clock()
            start = self._greatest(
                SendPace.next_at, asked - (self.burst - 1) * self.interval, SendPace.paused_until
            )
            async with self.engine.begin() as conn:
                row = (
                    await conn.execute(
                        sa.update(SendPace)
                        .where(self._row)
                        .values(next_at=start + n * self.interval)
                        .returning(SendPace.next_at, SendPace.paused_until)
                    )
                ).one()
        self.reservations += 1
        self._checked = asked
        if row.paused_until > self._paused_until:
            self._paused_until = row.paused_until
            self._slots = deque(s for s in self._slots if s >= row.paused_until)
        self._end = row.next_at
        first = row.next_at - n * self.interval
        self._slots.extend(first + i * self.interval for i in range(n))

    def _refill_soon(self) -> asyncio.Task[None]:
        """The next batch, reserved in the background (one at a time)."""
        if self._refill is None or self._refill.done():
            self._refill = asyncio.create_task(self._reserve())
            self._refill.add_done_callback(_log_failure)
        return self._refill

    def _look_soon(self) -> None:
        """Read the row again in the background (one read at a time)."""
        if self._looking is None or self._looking.done():
            self._looking = asyncio.create_task(self._look())
            self._looking.add_done_callback(_log_failure)

    async def _look(self) -> None:
        """Read the workspace's pause again (another process may have been told to wait)."""
        asked = self._clock()
        async with self.engine.connect() as conn:
            until = await conn.scalar(sa.select(SendPace.paused_until).where(self._row))
        self.rechecks += 1
        self._checked = asked
        if until is not None and until > self._paused_until:
            self._paused_until = until
            self._slots.clear()  # reserved before the pause: the next ones start after it

    async def slot(self) -> None:
        """Wait for this call's turn: a reserved slot, and no Retry-After known in force."""
        if self.interval <= 0:
            return
        async with self._lock:
            while True:
                now = self._clock()
                if now < self._paused_until:
                    self._slots.clear()
                    await self._sleep(self._paused_until - now)
                    continue
                # a slot too late (a stall) is dropped: no catch-up bunch Slack would refuse
                late = now - max(self.burst * self.interval, LATE_TOLERANCE)
                while self._slots and self._slots[0] < late:
                    self._slots.popleft()
                    self.dropped += 1
                if len(self._slots) < 2 * self.batch:  # the next batch while this one goes
                    refill = self._refill_soon()
                    if not self._slots:
                        self.waited += 1
                        await refill
                        refill.result()  # a database error reaches the caller
                        continue
                when = self._slots[0]
                if when > now:
                    await self._sleep(when - now)
                    continue
                refilling = self._refill is not None and not self._refill.done()
                if now - self._checked > self.recheck * 0.75 and not refilling:
                    self._look_soon()  # ahead of time, so a sender seldom waits for it
                if now - self._checked > self.recheck:
                    self._look_soon()
                    assert self._looking is not None
                    await self._looking
                    self._looking.result()
                    continue
                self._slots.popleft()
                return

    async def pause(self, seconds: float) -> None:
        """Slack said Retry-After: no process sends this method for the workspace before then."""
        until = self._clock() + seconds
        self._paused_until = max(self._paused_until, until)
        self._slots.clear()
        await self._ensure_row()
        # urgent: not queued behind the caller's other writes (SQLite's busy wait is short)
        async with self.engine.begin() as conn:
            await conn.execute(
                sa.update(SendPace)
                .where(self._row)
                .values(paused_until=self._greatest(SendPace.paused_until, until))
            )

    async def give_back(self) -> None:
        """Return the slots reserved but not used (a sender stopping), when still the last ones."""
        if self._refill is not None:
            with contextlib.suppress(Exception):
                await self._refill
        if not self._slots or self.interval <= 0:
            return
        # only the tail of the latest batch: slots before it may border another process's
        end, first = self._end, self._end - self.batch * self.interval
        unused = sum(1 for s in self._slots if s > first - self.interval / 2)
        self._slots.clear()
        async with self._write_lock, self.engine.begin() as conn:
            await conn.execute(
                sa.update(SendPace)
                .where(self._row, SendPace.next_at == end)
                .values(next_at=end - unused * self.interval)
            )
