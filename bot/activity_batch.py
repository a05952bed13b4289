"""The process's writer of channel activity: events observed by the listeners are counted in
batches, everything that arrived in the last few milliseconds in one transaction
(bot.activity.record_many). The event ids are recorded in that same transaction, so Slack's
redeliveries change nothing, and a busy channel costs one commit per batch rather than one per
message. While the database is away the events are held in memory (bounded) and tried again.

One per process and database, built by the composition root (bot/app.py) and reached through
Deps.activity_batcher.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import activity, db, retry
from bot.metrics import Metrics

logger = logging.getLogger(__name__)

BATCH_DELAY = 0.02  # seconds an event may wait for companions
BATCH_MAX = 400
HOLD_MAX = 50_000  # events kept in memory while the database is away


class ActivityBatcher:
    """Collects observed events and writes them in batches; one per process and database."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        metrics: Metrics,
        default_tz: str | None,
        availability: db.Availability | None = None,
    ) -> None:
        self.sessions = sessions
        self.metrics = metrics
        self.default_tz = default_tz
        self.availability = availability
        self.pending: list[tuple[str, activity.Observed]] = []
        self._timer: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()  # strong refs until done
        self._retry: asyncio.Task[None] | None = None

    def _spawn(self, coro: Any) -> asyncio.Task[None]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def submit(self, workspace_id: str, observed: activity.Observed) -> None:
        self.pending.append((workspace_id, observed))
        if len(self.pending) >= BATCH_MAX:
            self._spawn(self.flush())
        elif self._timer is None or self._timer.done():
            self._timer = self._spawn(self._after_delay())

    async def _after_delay(self) -> None:
        # Events submitted while a flush runs wait for the next round of this same timer.
        while True:
            await asyncio.sleep(BATCH_DELAY)
            await self.flush()
            if not self.pending or (self._retry is not None and not self._retry.done()):
                return  # done, or events are held and the retry loop owns them

    async def flush(self) -> None:
        async with self._lock:  # one writer at a time: SQLite has one anyway
            batch, self.pending = self.pending, []
            if not batch:
                return
            by_workspace: dict[str, list[activity.Observed]] = defaultdict(list)
            for workspace_id, observed in batch:
                by_workspace[workspace_id].append(observed)
            for workspace_id, items in by_workspace.items():
                try:
                    async with self.sessions.begin() as session:
                        counted = await activity.record_many(
                            session,
                            workspace_id=workspace_id,
                            observed=items,
                            default_tz=self.default_tz,
                        )
                except Exception as exc:
                    if db.unavailable(exc):
                        # keep them (event ids make a retry safe), refuse new events meanwhile
                        if self.availability is not None:
                            self.availability.mark_down()
                        self._hold(workspace_id, items, exc)
                        continue
                    # not the database: something in one event. Count them one by one, so that
                    # only the culprit is lost (its transaction rolled back, the ids with it).
                    logger.exception("could not count %d activity events together", len(items))
                    await self._one_by_one(workspace_id, items)
                    continue
                self._counted(len(items), counted)

    def _counted(self, total: int, counted: int) -> None:
        if self.availability is not None:
            self.availability.mark_up()
        metrics = self.metrics.slack_events
        metrics.labels(type="activity", result="handled").inc(counted)
        metrics.labels(type="activity", result="ignored").inc(total - counted)

    async def _one_by_one(self, workspace_id: str, items: list[activity.Observed]) -> None:
        """Each event in its own transaction: the batch's fallback when counting it together
        failed for a reason other than the database being away."""
        for index, observed in enumerate(items):
            try:
                async with self.sessions.begin() as session:
                    counted = await activity.record_many(
                        session,
                        workspace_id=workspace_id,
                        observed=[observed],
                        default_tz=self.default_tz,
                    )
            except Exception as exc:
                if db.unavailable(exc):
                    if self.availability is not None:
                        self.availability.mark_down()
                    self._hold(workspace_id, items[index:], exc)
                    return
                logger.exception("activity event %r could not be counted", observed.event_id)
                self.metrics.slack_events.labels(type="activity", result="failed").inc()
                continue
            self._counted(1, counted)

    def _hold(self, workspace_id: str, items: list[activity.Observed], exc: BaseException) -> None:
        """Put events back for a later try, within a bounded memory; count what must be dropped."""
        room = HOLD_MAX - len(self.pending)
        kept, dropped = items[:room], items[room:] if room > 0 else items
        if room <= 0:
            kept = []
        self.pending[:0] = [(workspace_id, o) for o in kept]
        logger.warning(
            "database unavailable (%r): %d activity events held for a retry", exc, len(kept)
        )
        if dropped:
            logger.error("activity buffer full: %d events dropped", len(dropped))
            self.metrics.slack_events.labels(type="activity", result="failed").inc(len(dropped))
        if self.pending and (self._retry is None or self._retry.done()):
            self._retry = self._spawn(self._retry_later())

    async def _retry_later(self) -> None:
        """Flush the held events again, 0.5 s, 1 s, 2 s… up to 10 s apart, until none is left."""
        await retry.while_pending(self.flush, lambda: bool(self.pending), first=0.5, most=10.0)
