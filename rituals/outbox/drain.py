"""The drain: sends what the outbox owes, once, at the pace Slack allows; safe on every replica.

Rows are claimed in a short transaction (PostgreSQL `FOR UPDATE SKIP LOCKED`, SQLite a
conditional `UPDATE … WHERE status='pending'`), sent outside any transaction at the pace the
Slack method allows (`pacing`), and each result is recorded in its own short transaction: sent,
failed for good, held (our token is dead), put back for a retry (`failures`) or deferred to the
reader's working hours (`quiet_hours`). Every post carries the idempotency key in Slack message
metadata; a row found still `sending` after its lease (its sender died between "Slack accepted
it" and "we recorded it") is looked for in the channel before it is sent again, so the crash
window is closed, not just small. On Microsoft Teams it is only small: Teams cannot be asked
whether a message is there (bot/teams/messenger.py `find_sent`), so such a row is sent again.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import random
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot import db, installation, messages, series, stories
from bot.deps import Deps
from bot.messages import Reader
from bot.models import Community, Outbox, OutboxStatus, Person, utcnow
from bot.ports import DeliveryError, Sent
from rituals.outbox import failures
from rituals.outbox.pacing import TEAMS_METHOD, TEAMS_PER_MINUTE, SharedPacer
from rituals.outbox.quiet_hours import WORKING_HOURS_KINDS, next_allowed

logger = logging.getLogger(__name__)

# What a kind of message records where it belongs once Slack has posted it (key, ts), in the
# same transaction as the row's `sent`: a story keeps its post's real ts.
ON_SENT: dict[str, Callable[..., Awaitable[None]]] = {stories.POST_KIND: stories.record_posted}
ON_SENT[series.ANNOUNCE_KIND] = series.record_announced  # an occurrence's announcement (its ts)


@dataclass
class _Claimed:
    id: int
    key: str
    kind: str
    workspace_id: str
    community_id: int | None
    channel_id: str | None
    person_id: int | None
    slack_user_id: str | None
    dm_channel_id: str | None
    tz: str | None
    payload: dict[str, Any]
    attempts: int
    suspect_since: datetime | None
    claimed_at: datetime | None = None


@dataclass
class _Sent:
    """A row Slack accepted, waiting to be recorded (`Drain._persist_together`)."""

    row: _Claimed
    channel: str
    ts: str
    recovered: bool


_MARK_SENT = (
    sa.update(Outbox)
    .where(Outbox.id == sa.bindparam("b_id"))
    .values(
        status=OutboxStatus.SENT,
        sent_at=sa.bindparam("b_sent_at"),
        message_channel=sa.bindparam("b_channel"),
        message_ts=sa.bindparam("b_ts"),
        last_error=sa.bindparam("b_error"),
        attempts=sa.bindparam("b_attempts"),
    )
)
_NOTE_DM = (
    sa.update(Person)
    .where(Person.id == sa.bindparam("b_id"))
    .values(dm_channel_id=sa.bindparam("b_dm"))
)


async def _write_sent(session: AsyncSession, batch: list[_Sent]) -> None:
    """Rows sent: each marked `sent` with where Slack put it (one statement for them all), what
    its kind records once posted (`ON_SENT`), and a person's DM channel when it is new."""
    now = utcnow()
    conn = await session.connection()
    await conn.execute(
        _MARK_SENT,
        [
            {
                "b_id": s.row.id,
                "b_sent_at": now,
                "b_channel": s.channel,
                "b_ts": s.ts,
                "b_error": "recovered" if s.recovered else None,
                "b_attempts": s.row.attempts + 1,
            }
            for s in batch
        ],
    )
    for s in batch:
        if (on_sent := ON_SENT.get(s.row.kind)) is not None:
            await on_sent(session, key=s.row.key, ts=s.ts)
    dms = [
        {"b_id": s.row.person_id, "b_dm": s.channel}
        for s in batch
        if s.row.person_id is not None
        and s.row.channel_id is None
        and s.row.dm_channel_id != s.channel
    ]
    if dms:
        await conn.execute(_NOTE_DM, dms)


@dataclass
class DrainStats:
    sent: int = 0
    recovered: int = 0
    failed: int = 0
    retried: int = 0
    deferred: int = 0
    held: int = 0  # put back to wait: the workspace's token is dead


class Drain:
    """Sends what the outbox owes, concurrently, within the rate limit; safe to run on every replica.

    Args:
        rate_per_minute: chat.postMessage pace (Slack's workspace cap is "several hundred a
            minute"; 600 by default).
        teams_rate_per_minute: a Teams tenant's pace (pacing.TEAMS_PER_MINUTE by default).
        lease_seconds: how long a claimed row may stay `sending` before another sender treats
            its sender as dead and checks Slack for it.
        ambiguous_wait_seconds: after a send with no answer (timeout), how long to wait before
            looking for it in the channel and, if absent, sending it again.
        db_patience_seconds: how long a result waits for the database to come back (a restart,
            a fail-over) before the row is left to the lease.
    """

    def __init__(
        self,
        deps: Deps,
        *,
        rate_per_minute: float = 600,
        teams_rate_per_minute: float = TEAMS_PER_MINUTE,
        concurrency: int = 16,
        lease_seconds: float = 120,
        instance_id: str | None = None,
        ambiguous_wait_seconds: float = 30,
        db_patience_seconds: float = 60,
    ) -> None:
        self.deps = deps
        # one chat.postMessage pace per workspace, shared with every other process (pacing)
        self._pacers: dict[str, SharedPacer] = {}
        self.rate_per_minute = rate_per_minute
        self.teams_rate_per_minute = teams_rate_per_minute
        self.concurrency = concurrency
        self.lease = timedelta(seconds=lease_seconds)
        self.ambiguous_wait = ambiguous_wait_seconds
        self.db_patience = db_patience_seconds
        self.instance_id = instance_id or (
            deps.config.settings.instance_id
            or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        )
        self.stats = DrainStats()
        self._run_lock = asyncio.Lock()
        # workspaces whose token Slack just said is dead: the rest of their batch waits untried
        self._dead: set[str] = set()
        # results waiting for the next shared transaction (`_persist_together`)
        self._together: list[tuple[_Sent, asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None
        # SQLite has one writer: queueing our own writes beats its busy-wait back-off by far
        sqlite = deps.engine.dialect.name == "sqlite"
        self._write_lock: asyncio.Lock | contextlib.nullcontext[None] = (
            asyncio.Lock() if sqlite else contextlib.nullcontext()
        )

    def pacer(self, workspace_id: str) -> SharedPacer:
        """The workspace's sending pace, shared through the database: Slack's chat.postMessage,
        or a Teams tenant's Bot Connector sends (pacing.TEAMS_METHOD; each conversation's own
        windows are kept by the Teams messenger)."""
        found = self._pacers.get(workspace_id)
        if found is None:
            teams = installation.platform_of(workspace_id) == "teams"
            found = self._pacers[workspace_id] = SharedPacer(
                self.deps.engine,
                workspace_id=workspace_id,
                method=TEAMS_METHOD if teams else "chat.postMessage",
                per_minute=self.teams_rate_per_minute if teams else self.rate_per_minute,
                write_lock=self._write_lock,
            )
        return found

    @contextlib.asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncSession]:
        """One short transaction recording one result."""
        async with self._write_lock, self.deps.sessions.begin() as session:
            yield session

    async def _persist(self, work: Callable[[AsyncSession], Awaitable[None]]) -> None:
        """Record a result, waiting out a database restart: Slack already has the message, so
        giving up here would leave the row to the lease (and a history lookup) for nothing."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.db_patience
        pause = 0.1
        while True:
            try:
                async with self._write() as session:
                    await work(session)
                return
            except Exception as exc:
                if not db.unreachable(exc) or loop.time() > deadline:
                    raise
                logger.warning("outbox: database unreachable (%s), retrying", type(exc).__name__)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 2.0)

    async def _persist_together(self, sent: _Sent) -> None:
        """Record a send in a transaction shared with the sends that came in meanwhile: while
        one commit is under way the next ones gather, so at 250 DMs a second the database sees
        a few dozen commits of one executemany each, not 250 (one writer on SQLite). Returns
        once it is committed. Should the shared one fail, each is recorded alone, so one bad
        row costs only itself. (A crash before the commit leaves the row `sending`: the lease
        and the look in the channel cover it, as for a crash right after Slack's answer.)"""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._together.append((sent, done))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_together())
        await done

    async def _flush_together(self) -> None:
        while self._together:
            batch, self._together = self._together, []
            try:
                await self._persist(functools.partial(_write_sent, batch=[s for s, _ in batch]))
            except Exception:
                for sent, done in batch:
                    try:
                        await self._persist(functools.partial(_write_sent, batch=[sent]))
                    except Exception as exc:
                        if not done.done():  # its sender may have been cancelled meanwhile
                            done.set_exception(exc)
                    else:
                        if not done.done():
                            done.set_result(None)
                continue
            for _, done in batch:
                if not done.done():
                    done.set_result(None)

    @property
    def batch(self) -> int:
        """Claim about half a second of work at a time (the next claim is made while it goes
        out): a dead sender strands little, and loading a claim never holds the event loop
        long enough for the senders to miss their slots."""
        return max(self.concurrency, min(500, int(self.rate_per_minute / 120)))

    async def run_once(self, *, now: datetime | None = None) -> int:
        """Claim and send until nothing is due; returns how many rows were handled.

        The next batch is claimed while the current one is still going out (when a few
        seconds' work is left in the queue), so the senders never stand idle between batches."""
        if self._run_lock.locked():
            return 0
        async with self._run_lock:
            queue: asyncio.Queue[_Claimed | None] = asyncio.Queue()
            running_low = asyncio.Event()
            low_water = max(2 * self.concurrency, self.batch // 2)
            handled = 0
            workers: list[asyncio.Task[None]] = []
            try:
                while True:
                    try:
                        rows = await self.claim(now=now)
                    except Exception as exc:
                        if not db.unreachable(exc):
                            raise
                        logger.warning("outbox: database unreachable (%s)", type(exc).__name__)
                        break
                    if not rows:
                        break
                    if queue.empty():
                        self._dead.clear()  # claim() already left out the workspaces known dead
                    for row in rows:
                        queue.put_nowait(row)
                    handled += len(rows)
                    for _ in range(min(self.concurrency, queue.qsize()) - len(workers)):
                        workers.append(asyncio.create_task(self._worker(queue, running_low)))
                    while queue.qsize() > low_water:
                        running_low.clear()
                        await running_low.wait()
                for _ in workers:
                    queue.put_nowait(None)
                await asyncio.gather(*workers)
            finally:
                for worker in workers:
                    worker.cancel()
            for pacer in self._pacers.values():
                await pacer.give_back()
            return handled

    async def run_until_empty(self, *, poll: float = 0.5, idle_rounds: int = 1) -> DrainStats:
        """Drain until no row is pending or sending (CLI runs, demos, tests)."""
        while True:
            await self.run_once()
            try:
                async with self.deps.sessions() as session:
                    left = await session.scalar(
                        sa.select(sa.func.count())
                        .select_from(Outbox)
                        .where(Outbox.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]))
                        .where(Outbox.next_attempt_at <= utcnow() + timedelta(seconds=poll))
                        .where(Outbox.workspace_id.not_in(installation.revoked_ids()))
                    )
            except Exception as exc:
                if not db.unreachable(exc):
                    raise
                left = 1
            if not left:
                idle_rounds -= 1
                if idle_rounds <= 0:
                    return self.stats
            await asyncio.sleep(poll)

    async def claim(self, *, now: datetime | None = None) -> list[_Claimed]:
        """Take due rows (and rows whose sender died) in one short transaction."""
        now = now or utcnow()
        async with self.deps.sessions.begin() as session:
            # an uninstalled workspace's messages wait, untouched (bot.installation)
            dead_workspaces = installation.revoked_ids()
            due = sa.or_(
                sa.and_(Outbox.status == OutboxStatus.PENDING, Outbox.next_attempt_at <= now),
                sa.and_(
                    Outbox.status == OutboxStatus.SENDING, Outbox.claimed_at < now - self.lease
                ),
            )
            pick = (
                sa.select(Outbox.id)
                .where(due, Outbox.workspace_id.not_in(dead_workspaces))
                .order_by(Outbox.next_attempt_at, Outbox.id)
                .limit(self.batch)
            )
            postgres = session.get_bind().dialect.name == "postgresql"
            if postgres:
                pick = pick.with_for_update(skip_locked=True)
            ids = list(await session.scalars(pick))
            if not ids:
                return []
            previous = {
                r.id: (r.status, r.claimed_at)
                for r in await session.execute(
                    sa.select(Outbox.id, Outbox.status, Outbox.claimed_at).where(Outbox.id.in_(ids))
                )
            }
            # The WHERE repeats `due`: on SQLite another process may have claimed a row since.
            claimed = list(
                await session.scalars(
                    sa.update(Outbox)
                    .where(Outbox.id.in_(ids), due)
                    .values(
                        status=OutboxStatus.SENDING, claimed_by=self.instance_id, claimed_at=now
                    )
                    .returning(Outbox.id)
                )
            )
            if not claimed:
                return []
            rows = await session.execute(
                sa.select(Outbox, Person.slack_user_id, Person.dm_channel_id, Person.tz)
                .outerjoin(Person, Person.id == Outbox.person_id)
                .where(Outbox.id.in_(claimed))
                .execution_options(populate_existing=True)
            )
            out = []
            for row, uid, dm, tz in rows:
                _, claimed_at = previous[row.id]
                out.append(
                    _Claimed(
                        id=row.id,
                        key=row.idempotency_key,
                        kind=row.kind,
                        workspace_id=row.workspace_id,
                        community_id=row.community_id,
                        channel_id=row.channel_id,
                        person_id=row.person_id,
                        slack_user_id=uid,
                        dm_channel_id=dm,
                        tz=tz,
                        payload=row.payload,
                        attempts=row.attempts,
                        # left `sending` by a dead sender, or retried after a send with no answer
                        suspect_since=claimed_at,
                        claimed_at=now,
                    )
                )
            return out

    async def _worker(
        self, queue: asyncio.Queue[_Claimed | None], running_low: asyncio.Event
    ) -> None:
        while True:
            row = await queue.get()
            if row is None:  # nothing more will be claimed this round
                return
            if queue.qsize() <= max(2 * self.concurrency, self.batch // 2):
                running_low.set()
            try:
                with installation.speaking_in(row.workspace_id):  # many workspaces: its token
                    await self.deliver(row)
            except Exception:
                logger.exception("outbox row %s: unexpected error", row.id)
                try:  # it may have been posted before the error: look before sending again
                    await self._retry(row, "internal_error", suspect_since=row.claimed_at)
                except Exception:  # the database is gone for longer: the lease brings it back
                    logger.warning("outbox row %s left to its lease", row.id)

    async def deliver(self, row: _Claimed) -> None:
        settings = self.deps.config.settings
        programme = self.deps.programme
        if row.workspace_id in self._dead:
            await self._hold(row, "token_revoked")
            return
        expires = row.payload.get("expires_at")
        if expires and datetime.fromisoformat(expires) <= utcnow():
            await self._finish(row, OutboxStatus.CANCELLED, "expired")
            return
        if row.person_id is not None and row.kind in WORKING_HOURS_KINDS and settings.quiet_hours:
            # the moment of the claim (the drain's clock: `run_once(now=…)` in tests and
            # `cop rituals drain`), a few seconds at most before this row's turn
            now = row.claimed_at or utcnow()
            allowed = next_allowed(
                now, tz=row.tz, quiet=programme.quiet_hours, default_tz=programme.timezone
            )
            if allowed > now:
                await self._defer(row, allowed)
                return
        messenger = self.deps.messenger
        if row.person_id is not None and row.slack_user_id is None:
            await self._fail(row, "person_erased")
            return
        target = row.channel_id or row.dm_channel_id or row.slack_user_id
        assert target is not None
        if row.suspect_since is not None:
            try:
                channel = target
                if channel == row.slack_user_id:
                    channel = await messenger.open_dm(channel)
                found = await messenger.find_sent(
                    channel=channel,
                    idempotency_key=row.key,
                    oldest=(row.suspect_since - timedelta(seconds=5)).timestamp(),
                )
            except DeliveryError as exc:
                if exc.permanent:
                    await self._fail(row, exc.reason)
                else:  # still unknown: the next attempt looks again, as far back
                    await self._retry(row, exc.reason, suspect_since=row.suspect_since)
                return
            if found is not None:
                await self._record_sent(row, found.channel, found.ts, recovered=True)
                return
        pacer = self.pacer(row.workspace_id)
        while True:
            await pacer.slot()
            try:
                sent = await self._send(row, target)
            except DeliveryError as exc:
                if (wait := failures.pause_for(exc)) is not None:
                    await pacer.pause(wait)
                    self.deps.metrics.outbox.labels(result="ratelimited").inc()
                    continue  # same row, after Slack's Retry-After
                await self._handle_error(row, exc)
                return
            await self._record_sent(row, sent.channel, sent.ts)
            return

    async def _send(self, row: _Claimed, target: str) -> Sent:
        """Render the row's message for its reader now, in the platform's form, and post it."""
        messenger = self.deps.messenger
        stored = row.payload.get("message")
        if stored is None:  # rendered when it was queued (an older producer)
            return await messenger.post(
                channel=target,
                text=row.payload.get("text", ""),
                blocks=row.payload.get("blocks") or None,
                metadata={"key": row.key},
            )
        chosen = row.payload.get("reader") or {}
        programme = self.deps.programme
        reader = Reader(
            language=chosen.get("language") or programme.language,
            # a DM is shown in the person's own zone as Slack knows it now
            tz=(row.tz if row.person_id is not None else None)
            or chosen.get("tz")
            or programme.timezone,
        )
        return await messenger.send(
            channel=target, message=messages.load(stored), reader=reader, metadata={"key": row.key}
        )

    async def _handle_error(self, row: _Claimed, exc: DeliveryError) -> None:
        if exc.permanent:
            await self._fail(row, exc.reason)
        else:
            await self._retry(row, exc.reason)

    async def _record_sent(
        self, row: _Claimed, channel: str, ts: str, *, recovered: bool = False
    ) -> None:
        await self._persist_together(_Sent(row, channel, ts, recovered))
        if recovered:
            self.stats.recovered += 1
        else:
            self.stats.sent += 1
        self.deps.metrics.outbox.labels(result="recovered" if recovered else "sent").inc()

    async def _fail(self, row: _Claimed, reason: str) -> None:
        """A permanent failure: recorded with its reason, the person or channel marked, never retried.

        Our own token dead is not the message's failure: the workspace is marked and the row
        goes back to wait, its attempts untouched, until the bot is reinstalled (bot.installation)."""
        if reason in installation.TOKEN_DEAD:
            await self._hold(row, reason)
            return

        async def work(session: AsyncSession) -> None:
            await session.execute(
                sa.update(Outbox)
                .where(Outbox.id == row.id)
                .values(
                    status=OutboxStatus.FAILED, last_error=reason[:200], attempts=row.attempts + 1
                )
            )
            if (
                row.channel_id is None
                and row.person_id is not None
                and (reason not in failures.NOT_THE_READER)
            ):
                await session.execute(
                    sa.update(Person)
                    .where(Person.id == row.person_id)
                    .values(unreachable_reason=reason[:64])
                )
            elif row.community_id is not None and reason in failures.CHANNEL_GONE:
                await session.execute(
                    sa.update(Community)
                    .where(Community.id == row.community_id, Community.channel_id == row.channel_id)
                    .values(channel_status=failures.CHANNEL_GONE[reason], archived_at=utcnow())
                )

        await self._persist(work)
        self.stats.failed += 1
        self.deps.metrics.outbox.labels(result="failed").inc()
        logger.info("outbox row %s failed for good: %s", row.id, reason)

    async def _hold(self, row: _Claimed, reason: str) -> None:
        if row.workspace_id not in self._dead:
            logger.warning(
                "workspace %s: Slack says our token is dead (%s)", row.workspace_id, reason
            )
        self._dead.add(row.workspace_id)

        async def work(session: AsyncSession) -> None:
            await installation.mark_revoked(session, workspace_id=row.workspace_id, reason=reason)
            await session.execute(
                sa.update(Outbox)
                .where(Outbox.id == row.id)
                .values(
                    status=OutboxStatus.PENDING,
                    last_error=reason[:200],
                    next_attempt_at=utcnow(),
                    claimed_by=None,
                    # a send with no answer before this one: still looked for before resending
                    claimed_at=row.suspect_since,
                )
            )

        await self._persist(work)
        self.stats.held += 1
        self.deps.metrics.outbox.labels(result="held").inc()

    async def _finish(self, row: _Claimed, status: OutboxStatus, reason: str) -> None:
        async def work(session: AsyncSession) -> None:
            await session.execute(
                sa.update(Outbox)
                .where(Outbox.id == row.id)
                .values(status=status, last_error=reason)
            )

        await self._persist(work)

    async def _retry(
        self, row: _Claimed, reason: str, *, suspect_since: datetime | None = None
    ) -> None:
        attempts = row.attempts + 1
        if attempts >= failures.MAX_ATTEMPTS:
            await self._fail(row, f"gave_up:{reason}")
            return
        wait = failures.retry_delay(
            attempts, reason, ambiguous_wait=self.ambiguous_wait, jitter=random.random()
        )
        if reason in failures.AMBIGUOUS:  # Slack may still be posting it: look for it first
            suspect_since = suspect_since or row.claimed_at or utcnow()

        async def work(session: AsyncSession) -> None:
            await session.execute(
                sa.update(Outbox)
                .where(Outbox.id == row.id)
                .values(
                    status=OutboxStatus.PENDING,
                    attempts=attempts,
                    last_error=reason[:200],
                    next_attempt_at=utcnow() + timedelta(seconds=wait),
                    claimed_by=None,
                    # set after a send with no answer: the next claim checks the channel first
                    claimed_at=suspect_since,
                )
            )

        await self._persist(work)
        self.stats.retried += 1
        self.deps.metrics.outbox.labels(result="retried").inc()

    async def _defer(self, row: _Claimed, until: datetime) -> None:
        async def work(session: AsyncSession) -> None:
            await session.execute(
                sa.update(Outbox)
                .where(Outbox.id == row.id)
                .values(
                    status=OutboxStatus.PENDING,
                    next_attempt_at=until,
                    claimed_by=None,
                    claimed_at=None,
                )
            )

        await self._persist(work)
        self.stats.deferred += 1
