"""The clock: APScheduler drives a few fixed jobs; the durable schedule lives in our own tables.

Why not APScheduler's SQLAlchemy job store: it is synchronous, and with several replicas each
would run every job. Instead `ritual_setting.next_run_at` is the schedule, `ritual_run` records
each due run (done, or skipped when missed beyond `rituals.grace_hours`), and one replica — the
holder of a PostgreSQL advisory lock — runs the tick. Any replica drains the outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from apscheduler.events import EVENT_JOB_ERROR, JobExecutionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from bot import installation
from bot.deps import Deps
from bot.models import (
    Community,
    CommunityStatus,
    Ritual,
    RitualRun,
    RitualSetting,
    RunStatus,
    utcnow,
)
from bot.redelivery import upsert_for
from rituals import (
    digest,
    event_feedback,
    event_starts,
    leaders_digest,
    objectives,
    pulse,
    reminders,
    series,
    snapshots,
    sponsor_digest,
    stories,
    survey,
)
from rituals.cadence import LeadershipLost, next_run, period_key, settings_of, zone_of
from rituals.outbox import Drain

logger = logging.getLogger(__name__)

LOCK_KEY = 0x636F70  # "cop": the advisory lock that elects the scheduler replica
RunFn = Callable[..., Awaitable[str]]
RUNNERS: dict[Ritual, RunFn] = {
    Ritual.PULSE: pulse.run,
    Ritual.STORIES: stories.run,
    Ritual.DIGEST: digest.run,
    Ritual.SPONSOR_DIGEST: sponsor_digest.run,
    Ritual.OBJECTIVES: objectives.run,
}


# --- the tick ---------------------------------------------------------------------------------


async def tick(deps: Deps, *, now: datetime | None = None, community_id: int | None = None) -> int:
    """Run every cadenced ritual that is due, then the continuous ones (reminders, poll closing).

    Communities of a workspace that uninstalled the bot are skipped: their rituals come back due
    when it is reinstalled, and a run missed beyond the grace period is recorded as skipped.
    Reminders and poll closing still run for them: closing a poll wipes its ballot secret (an
    anonymity promise that does not wait), and what they owe waits in the outbox, which drops
    it if it is stale by the time the bot is back (bot.installation)."""
    now = now or utcnow()
    grace = timedelta(hours=deps.programme.rituals.grace_hours)
    ran = 0
    await reconnect(deps, now=now)
    async with deps.sessions() as session:
        stmt = sa.select(Community.id, Community.workspace_id).where(
            Community.archived_at.is_(None),
            Community.status != CommunityStatus.CLOSED,  # people closed it: no more rituals
            Community.workspace_id.not_in(installation.revoked_ids()),
        )
        if community_id is not None:
            stmt = stmt.where(Community.id == community_id)
        ids = [(cid, ws) for cid, ws in await session.execute(stmt.order_by(Community.id))]
    for cid, workspace_id in ids:
        try:
            # many workspaces: what a ritual says to Slack, it says in its community's workspace
            with installation.speaking_in(workspace_id):
                ran += await _tick_community(deps, community_id=cid, now=now, grace=grace)
        except LeadershipLost:
            raise  # not this community's fault: the rest of the tick belongs to the new leader
        except Exception:
            logger.exception("rituals tick failed for community %s", cid)
            deps.metrics.errors.labels(where="rituals.tick").inc()
    await series.maintain(deps, now=now)  # recurring events: the horizon, a week's notice
    await reminders.plan(deps, now=now)
    await event_starts.close(deps, now=now)  # answers close once an event has started
    await pulse.maintain(deps, now=now)
    await survey.maintain(deps, now=now)  # the annual member survey: open, remind, close
    await leaders_digest.maintain(deps, now=now)  # the leaders' channel: invitations, digest
    await event_feedback.maintain(deps, now=now)  # organisers' checklists after events
    return ran


async def reconnect(deps: Deps, *, now: datetime | None = None) -> list[str]:
    """While a workspace is marked uninstalled, ask Slack at each tick whether our token works
    again (auth.test); when it answers for that workspace, sending resumes there. Returns the
    workspaces resumed."""
    async with deps.sessions() as session:
        waiting = await installation.revoked(session)
    if not waiting:
        return []
    if deps.installations is not None:
        return await _reconnect_each(deps, waiting, now=now)
    try:
        team = await deps.directory.token_workspace()
    except Exception as exc:  # Slack unreachable: we do not know yet, ask again next tick
        logger.warning("could not check the Slack token: %s", type(exc).__name__)
        return []
    if team not in waiting:
        return []
    resumed = await _resume(deps, team, now=now)
    if resumed is not None:
        logger.info(
            "workspace %s: the bot is back (away since %s); %d stale message(s) dropped, %d to send",
            team,
            resumed.away_since.isoformat(),
            resumed.dropped,
            resumed.kept,
        )
    return [team]


async def _resume(
    deps: Deps, workspace_id: str, *, now: datetime | None
) -> installation.Resumed | None:
    """Speak again in a workspace whose token Slack accepts again (bot.installation.resume)."""
    async with deps.sessions.begin() as session:
        return await installation.resume(
            session,
            workspace_id=workspace_id,
            now=now,
            stale_after=timedelta(hours=deps.programme.rituals.grace_hours),
        )


async def _reconnect_each(deps: Deps, waiting: list[str], *, now: datetime | None) -> list[str]:
    """OAuth mode: each workspace has its own token (reinstalling saves a new one and resumes
    at once, bot.installation.save_installation); a workspace still marked is asked with its
    own token, when it still has one, whether Slack accepts it again."""
    async with deps.sessions() as session:
        installed = set(await installation.installed_workspaces(session))
    back: list[str] = []
    for workspace_id in waiting:
        if workspace_id not in installed:
            continue  # uninstalled: it comes back through /slack/install
        try:
            with installation.speaking_in(workspace_id):
                team = await deps.directory.token_workspace()
        except Exception as exc:
            logger.warning("could not check the Slack token: %s", type(exc).__name__)
            continue
        if team != workspace_id:
            continue
        if await _resume(deps, workspace_id, now=now) is not None:
            logger.info("workspace %s: the bot is back", workspace_id)
            back.append(workspace_id)
    return back


async def _tick_community(deps: Deps, *, community_id: int, now: datetime, grace: timedelta) -> int:
    programme = deps.programme
    async with deps.sessions.begin() as session:
        community = await session.get(Community, community_id)
        assert community is not None
        settings = await settings_of(session, community=community, programme=programme, now=now)
        due = [
            s
            for s in settings.values()
            if s.ritual in RUNNERS
            and s.cadence
            and s.next_run_at is not None
            and s.next_run_at <= now
        ]
    ran = 0
    for setting in due:
        assert setting.next_run_at is not None and setting.cadence is not None
        zone = zone_of(community, programme)
        key = period_key(setting.cadence, setting.next_run_at, zone)
        late = now - setting.next_run_at
        if not setting.enabled:
            status, detail = None, ""
        elif late > grace:
            status, detail = RunStatus.SKIPPED, f"missed by {int(late.total_seconds() // 3600)} h"
        else:
            if not await _claim_run(deps, community=community, setting=setting, key=key):
                status = None
                detail = ""
            else:
                try:
                    detail = await RUNNERS[setting.ritual](
                        deps, community=community, setting=setting, period_key=key, now=now
                    )
                    status = RunStatus.DONE
                    ran += 1
                except LeadershipLost:
                    raise
                except Exception as exc:
                    logger.exception("ritual %s failed for %s", setting.ritual, community.slug)
                    status, detail = RunStatus.FAILED, type(exc).__name__
        await _advance(
            deps,
            community=community,
            setting=setting,
            key=key,
            now=now,
            status=status,
            detail=detail,
        )
    return ran


async def _claim_run(deps: Deps, *, community: Community, setting: RitualSetting, key: str) -> bool:
    """True the first time this (community, ritual, period) is run; a second runner backs off."""
    async with deps.sessions() as session:
        found = await session.scalar(
            sa.select(RitualRun.status).where(
                RitualRun.community_id == community.id,
                RitualRun.ritual == setting.ritual,
                RitualRun.period_key == key,
            )
        )
    return found is None or found == RunStatus.FAILED


async def _advance(
    deps: Deps,
    *,
    community: Community,
    setting: RitualSetting,
    key: str,
    now: datetime,
    status: RunStatus | None,
    detail: str,
) -> None:
    programme = deps.programme
    zone = zone_of(community, programme)
    async with deps.sessions.begin() as session:
        row = await session.get(RitualSetting, setting.id)
        assert row is not None and row.cadence is not None
        if status is not None:
            await record_run(
                session,
                setting=row,
                key=key,
                due_at=setting.next_run_at or now,
                status=status,
                detail=detail,
                now=now,
            )
        row.next_run_at = next_run(
            row.cadence, after=now, zone=zone, hour=programme.rituals.run_hour
        )


async def record_run(
    session: AsyncSession,
    *,
    setting: RitualSetting,
    key: str,
    due_at: datetime,
    status: RunStatus,
    detail: str,
    now: datetime,
) -> None:
    insert = upsert_for(session)
    await session.execute(
        insert(RitualRun)
        .values(
            workspace_id=setting.workspace_id,
            community_id=setting.community_id,
            ritual=setting.ritual,
            period_key=key,
            due_at=due_at,
            ran_at=now,
            status=status,
            detail=detail[:500],
        )
        .on_conflict_do_update(
            index_elements=["community_id", "ritual", "period_key"],
            set_={"status": status, "detail": detail[:500], "ran_at": now},
        )
    )
    setting.last_run_at = now
    setting.last_result = f"{status.value}: {detail}"[:200]


async def run_now(
    deps: Deps, *, ritual: Ritual, community_id: int, now: datetime | None = None
) -> str:
    """`cop rituals run`: run one ritual for one community now, for the current period."""
    now = now or utcnow()
    programme = deps.programme
    async with deps.sessions.begin() as session:
        community = await session.get(Community, community_id)
        assert community is not None
        settings = await settings_of(session, community=community, programme=programme, now=now)
        setting = settings[ritual]
    if ritual == Ritual.REMINDERS:
        await reminders.plan(deps, now=now, community_id=community_id)
        return "reminders planned"
    if ritual not in RUNNERS:
        return "event-driven"
    key = period_key(setting.cadence or "monthly", now, zone_of(community, programme))
    with installation.speaking_in(community.workspace_id):
        detail = await RUNNERS[ritual](
            deps, community=community, setting=setting, period_key=key, now=now
        )
    async with deps.sessions.begin() as session:
        row = await session.get(RitualSetting, setting.id)
        assert row is not None
        await record_run(
            session, setting=row, key=key, due_at=now, status=RunStatus.DONE, detail=detail, now=now
        )
    return detail


# --- leadership -------------------------------------------------------------------------------


class _Fenced(Session):
    """A session of the leader's work: each transaction first confirms the lock (below)."""


@sa.event.listens_for(_Fenced, "after_begin")
def _confirm_lock(session: Session, _transaction: Any, connection: sa.Connection) -> None:
    """First statement of every transaction the leader's work opens: is this still the session
    that took the lock (a connection that died and was silently replaced is not), and can it take
    the same key for the transaction? The holder's session gets it at once (advisory locks are
    re-entrant); another session holding the key makes it false. Once taken, no replica can
    become the leader before this transaction ends, so what it writes is written by the one
    leader, whatever happens to the connection meanwhile."""
    pid, held = connection.execute(
        sa.text("SELECT pg_backend_pid(), pg_try_advisory_xact_lock(:k)"), {"k": LOCK_KEY}
    ).one()
    if pid != session.info.get("leader_pid") or not held:
        raise LeadershipLost("this session no longer holds the scheduler lock")


class Leadership:
    """Exactly one replica leads: it holds `pg_try_advisory_lock` on a connection kept for life,
    and runs the leader's work (the tick, the snapshots) in transactions on that very connection
    (`fenced`), each confirming the lock before anything else.

    When the holder dies its connection closes, PostgreSQL releases the lock, and another replica
    (retrying every few seconds) takes over. A transaction of the old leader still in flight dies
    with the connection; it cannot commit after the lock has moved, so two replicas never act as
    the leader at once, not even for the second before the old one notices. SQLite means a
    single process: always the leader.
    """

    def __init__(self, deps: Deps, *, retry_seconds: float = 3.0) -> None:
        self.deps = deps
        self.retry_seconds = retry_seconds
        self.postgres = deps.engine.dialect.name == "postgresql"
        self._conn: AsyncConnection | None = None
        self._pid: int | None = None  # the backend that took the lock
        self._busy = asyncio.Lock()  # one user of the lock's connection at a time
        self.is_leader = not self.postgres

    async def try_acquire(self) -> bool:
        if not self.postgres:
            return True
        if self._busy.locked():
            # the leader's work is using the connection; its transactions confirm the lock
            return self.is_leader
        async with self._busy:
            if self._conn is not None:
                try:
                    if await self._holds():
                        return True
                    logger.warning("this replica no longer holds the scheduler lock")
                except Exception:
                    logger.warning("lost the scheduler lock connection")
                await self._drop()
            conn = await self.deps.engine.connect()
            try:
                got, pid = (
                    await conn.execute(
                        sa.text("SELECT pg_try_advisory_lock(:k), pg_backend_pid()"),
                        {"k": LOCK_KEY},
                    )
                ).one()
                await conn.commit()
            except Exception:
                await conn.close()
                raise
            if got:
                self._conn, self._pid = conn, pid
                self.is_leader = True
                logger.info("this replica now runs the scheduler")
                return True
            await conn.close()
            self.is_leader = False
            return False

    async def _holds(self) -> bool:
        """Whether this connection's session still holds the lock (it could lose it only by
        ending, but a pooler in front of PostgreSQL could also have swapped the session)."""
        assert self._conn is not None
        try:
            return bool(
                await self._conn.scalar(
                    sa.text(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                        " AND granted AND pid = pg_backend_pid()"
                        " AND classid = 0 AND objid = :k AND objsubid = 1"
                    ),
                    {"k": LOCK_KEY},
                )
            )
        finally:
            await self._conn.rollback()

    @contextlib.asynccontextmanager
    async def fenced(self) -> AsyncIterator[Deps | None]:
        """The dependencies for the leader's work, their sessions bound to the lock's connection
        (and confirming the lock in each transaction); None when this replica does not lead."""
        if not self.postgres:
            yield self.deps
            return
        async with self._busy:
            conn = self._conn
            if conn is None or not self.is_leader:
                yield None
                return
            if conn.in_transaction():  # a session must begin (and commit) its own transaction
                await conn.rollback()
            sessions = async_sessionmaker(
                bind=conn,
                expire_on_commit=False,
                sync_session_class=_Fenced,
                info={"leader_pid": self._pid},
            )
            try:
                yield dataclasses.replace(self.deps, sessions=sessions)
            finally:
                with contextlib.suppress(Exception):
                    if conn.in_transaction():
                        await conn.rollback()

    async def _drop(self) -> None:
        self.is_leader = False
        self._pid = None
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.invalidate()
            self._conn = None

    async def release(self) -> None:
        if self._conn is not None:
            if self._busy.locked():  # the leader's work is running on it: end the session
                await self._drop()
            else:
                with contextlib.suppress(Exception):
                    await self._conn.execute(
                        sa.text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY}
                    )
                    await self._conn.close()
                self._conn = None
        self.is_leader = not self.postgres


# --- wiring -----------------------------------------------------------------------------------


class Scheduler:
    """The fixed jobs: leadership check, rituals tick (leader), outbox drain (all), daily snapshots."""

    def __init__(
        self,
        deps: Deps,
        *,
        drain: Drain | None = None,
        tick_seconds: float = 60,
        drain_seconds: float = 2,
        leader_retry_seconds: float = 3,
    ) -> None:
        self.deps = deps
        self.drain = drain or Drain(deps)
        self.leadership = Leadership(deps, retry_seconds=leader_retry_seconds)
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self.tick_seconds = tick_seconds
        self.drain_seconds = drain_seconds
        self._led = False

    async def _leader_job(self) -> None:
        was, self._led = self._led, False
        try:
            await self.leadership.try_acquire()
        except Exception as exc:  # the database is restarting: try again at the next round
            logger.warning("scheduler election: database unreachable (%s)", type(exc).__name__)
            await self.leadership._drop()
        self._led = self.leadership.is_leader
        self.deps.metrics.scheduler_leader.set(1 if self._led else 0)
        if self.leadership.is_leader and not was and self.scheduler.running:
            # a new leader (at start, or taking over from a dead one) ticks at once
            self.scheduler.modify_job("rituals.tick", next_run_time=utcnow())

    async def _tick_job(self) -> None:
        await self._as_leader(tick)

    async def _as_leader(self, work: Callable[[Deps], Awaitable[Any]]) -> None:
        """Run the leader's work on the lock's connection; stop (and stand down) when the lock
        turns out to be lost mid-way, the election then runs again at its next round."""
        if not self.leadership.is_leader:
            return
        async with self.leadership.fenced() as deps:
            if deps is None:
                return
            try:
                await work(deps)
            except LeadershipLost:
                logger.warning("scheduler lock lost during the leader's work: standing down")
                await self.leadership._drop()
                self.deps.metrics.scheduler_leader.set(0)

    async def _drain_job(self) -> None:
        await self.drain.run_once()

    async def _snapshots_job(self) -> None:
        await self._as_leader(snapshots.run)

    def _on_error(self, event: JobExecutionEvent) -> None:
        logger.error("job %s failed", event.job_id, exc_info=event.exception)
        self.deps.metrics.errors.labels(where=f"job.{event.job_id}").inc()

    def start(self) -> None:
        common: dict[str, Any] = {"replace_existing": True, "coalesce": True, "max_instances": 1}
        s = self.scheduler
        # a line every two seconds per job drowns the log; errors still come through the listener
        logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
        s.add_listener(self._on_error, EVENT_JOB_ERROR)
        s.add_job(
            self._leader_job,
            "interval",
            seconds=self.leadership.retry_seconds,
            id="scheduler.leader",
            misfire_grace_time=5,
            next_run_time=utcnow(),
            **common,
        )
        s.add_job(
            self._tick_job,
            "interval",
            seconds=self.tick_seconds,
            id="rituals.tick",
            misfire_grace_time=30,
            next_run_time=utcnow() + timedelta(seconds=1),
            **common,
        )
        s.add_job(
            self._drain_job,
            "interval",
            seconds=self.drain_seconds,
            id="outbox.drain",
            misfire_grace_time=10,
            **common,
        )
        s.add_job(
            self._snapshots_job,
            "cron",
            hour=2,
            minute=15,
            id="snapshots.daily",
            misfire_grace_time=3600,
            **common,
        )
        s.start()

    async def stop(self) -> None:
        self.scheduler.shutdown(wait=False)
        await self.leadership.release()


@contextlib.asynccontextmanager
async def running(deps: Deps, **kwargs: Any) -> AsyncIterator[Scheduler]:
    """For `build_asgi(..., lifespan_hooks=[running(deps)])`: the clock runs while the app serves."""
    scheduler = Scheduler(deps, **kwargs)
    scheduler.start()
    try:
        yield scheduler
    finally:
        await scheduler.stop()
        await asyncio.sleep(0)
