"""Channel activity from the Events API: messages, replies and reactions counted, never stored.

Bolt acknowledges events before these run. Listeners only classify the event and hand it to a
per-process batcher, which counts everything that arrived in the last few milliseconds in one
transaction (bot.activity.record_many): the event ids are recorded in that same transaction,
so Slack's redeliveries change nothing, and a busy channel costs one commit per batch rather
than one per message.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot import activity
from bot.deps import Deps
from handlers.commands import Subcommand
from handlers.context import database_trouble, workspace_of

logger = logging.getLogger(__name__)

SUBCOMMANDS: list[Subcommand] = []

BATCH_DELAY = 0.02  # seconds an event may wait for companions
BATCH_MAX = 400
HOLD_MAX = 50_000  # events kept in memory while the database is away


class Batcher:
    """Collects observed events and writes them in batches; one per process and database."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
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
                    async with self.deps.sessions.begin() as session:
                        counted = await activity.record_many(
                            session,
                            workspace_id=workspace_id,
                            observed=items,
                            default_tz=self.deps.programme.timezone,
                        )
                except Exception as exc:
                    if database_trouble(exc):
                        # keep them (event ids make a retry safe), refuse new events meanwhile
                        if self.deps.database is not None:
                            self.deps.database.mark_down()
                        self._hold(workspace_id, items, exc)
                        continue
                    # not the database: something in one event. Count them one by one, so that
                    # only the culprit is lost (its transaction rolled back, the ids with it).
                    logger.exception("could not count %d activity events together", len(items))
                    await self._one_by_one(workspace_id, items)
                    continue
                self._counted(len(items), counted)

    def _counted(self, total: int, counted: int) -> None:
        if self.deps.database is not None:
            self.deps.database.mark_up()
        metrics = self.deps.metrics.slack_events
        metrics.labels(type="activity", result="handled").inc(counted)
        metrics.labels(type="activity", result="ignored").inc(total - counted)

    async def _one_by_one(self, workspace_id: str, items: list[activity.Observed]) -> None:
        """Each event in its own transaction: the batch's fallback when counting it together
        failed for a reason other than the database being away."""
        for index, observed in enumerate(items):
            try:
                async with self.deps.sessions.begin() as session:
                    counted = await activity.record_many(
                        session,
                        workspace_id=workspace_id,
                        observed=[observed],
                        default_tz=self.deps.programme.timezone,
                    )
            except Exception as exc:
                if database_trouble(exc):
                    if self.deps.database is not None:
                        self.deps.database.mark_down()
                    self._hold(workspace_id, items[index:], exc)
                    return
                logger.exception("activity event %r could not be counted", observed.event_id)
                self.deps.metrics.slack_events.labels(type="activity", result="failed").inc()
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
            self.deps.metrics.slack_events.labels(type="activity", result="failed").inc(
                len(dropped)
            )
        if self.pending and (self._retry is None or self._retry.done()):
            self._retry = self._spawn(self._retry_later())

    async def _retry_later(self) -> None:
        delay = 0.5
        while self.pending:
            await asyncio.sleep(delay)
            await self.flush()
            delay = min(delay * 2, 10.0)


_BATCHERS: dict[int, tuple[Deps, Batcher]] = {}


def batcher_for(deps: Deps) -> Batcher:
    found = _BATCHERS.get(id(deps))
    if found is None or found[0] is not deps:
        found = (deps, Batcher(deps))
        _BATCHERS[id(deps)] = found
    return found[1]


def _observe(
    deps: Deps, body: dict[str, Any], *, channel: Any, user: Any, kind: activity.Kind, ts: Any
) -> None:
    """Queue the event for the next batch, unless it is malformed (an odd timestamp, a missing
    or strange id): that one is refused here, alone, and counted as refused."""
    workspace_id = workspace_of(body)
    observed = activity.observe(
        workspace_id,
        channel_id=channel,
        slack_user_id=user,
        kind=kind,
        ts=ts,
        event_id=body.get("event_id"),
    )
    if observed is None:
        logger.info("activity event %r refused: not shaped like Slack's", body.get("event_id"))
        deps.metrics.slack_events.labels(type="activity", result="refused").inc()
        return
    batcher_for(deps).submit(workspace_id, observed)


async def handle_message(event: dict[str, Any], body: dict[str, Any], deps: Deps) -> None:
    """A message or thread reply in a channel; DMs, bots, edits, deletions and joins don't count."""
    if event.get("channel_type") == "im" or str(event.get("channel", "")).startswith("D"):
        return
    kind = activity.classify_message(event)
    if kind is None:
        return
    _observe(
        deps,
        body,
        channel=event.get("channel"),
        user=event.get("user"),
        kind=kind,
        ts=event.get("ts") or event.get("event_ts"),
    )


async def handle_reaction_added(event: dict[str, Any], body: dict[str, Any], deps: Deps) -> None:
    item = event.get("item") or {}
    if item.get("type") != "message" or not event.get("user") or not item.get("channel"):
        return
    _observe(
        deps,
        body,
        channel=item.get("channel"),
        user=event.get("user"),
        kind=activity.Kind.REACTION,
        ts=event.get("event_ts") or item.get("ts"),
    )


async def handle_ignored(body: dict[str, Any]) -> None:
    """A reaction taken back is not negative activity: nothing to do, but Bolt must ack it."""


def register(app: AsyncApp) -> None:
    app.event("message")(handle_message)
    app.event("reaction_added")(handle_reaction_added)
    app.event("reaction_removed")(handle_ignored)
