"""Two scheduler replicas on one PostgreSQL database: the leader's work is done only while it holds
the advisory lock, checked in the very transactions that write, so losing the lock mid-tick (its
connection killed, or the lock gone from its session) leaves nothing written by the old leader
and every due ritual done once, by the new one.

The two replicas run the real `Scheduler` with their own engines (and their own app.yaml: A opens
pulse polls for 7 days, B for 8, so a poll says which replica wrote it).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot import db
from bot.app import build_deps
from bot.deps import Deps
from bot.models import Community, Outbox, Poll, Ritual, RitualRun, RitualSetting, RunStatus, utcnow
from bot.slack.emulator import SlackEmulator
from rituals import scheduler
from rituals.cadence import settings_of
from tests import factories
from tests.conftest import PG_URL, eventually, make_config

pytestmark = [
    pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (COP_TEST_POSTGRES_URL)"),
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]


@pytest.fixture
async def replicas(database_url: str, emulator: SlackEmulator) -> AsyncIterator[tuple[Deps, Deps]]:
    made = [
        build_deps(make_config(database_url, emulator, rituals={"pulse": {"open_days": days}}))
        for days in (7, 8)
    ]
    yield made[0], made[1]
    for deps in made:
        await deps.engine.dispose()


async def due_pulse(deps: Deps, emulator: SlackEmulator) -> int:
    """A community whose weekly pulse poll (by DM) is due now; every other ritual off."""
    community = await factories.community(deps.sessions, emulator=emulator, channel="C0DATA")
    now = utcnow()
    async with deps.sessions.begin() as session:
        row = await session.get(Community, community.id)
        assert row is not None
        await settings_of(session, community=row, programme=deps.programme, now=now)
        await session.execute(sa.update(RitualSetting).values(enabled=False))
        await session.execute(
            sa.update(RitualSetting)
            .where(RitualSetting.ritual == Ritual.PULSE)
            .values(enabled=True, cadence="weekly", next_run_at=now - timedelta(minutes=1))
        )
    return community.id


THIS_DATABASE = " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"


async def lock_holder(conn: AsyncConnection) -> int | None:
    """The backend that holds the scheduler's advisory lock in this test's database, as
    PostgreSQL sees it (pg_locks lists every database's locks: another xdist worker's scheduler
    holds the same key in its own database)."""
    return await conn.scalar(
        sa.text(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND classid = 0 AND objid = :k AND objsubid = 1" + THIS_DATABASE
        ),
        {"k": scheduler.LOCK_KEY},
    )


async def waiting_on_poll(conn: AsyncConnection) -> set[int]:
    """Backends whose statement waits for the `poll` table (held by the test)."""
    rows = await conn.scalars(
        sa.text(
            "SELECT pid FROM pg_locks WHERE NOT granted AND relation = 'poll'::regclass"
            + THIS_DATABASE
        )
    )
    return set(rows)


async def written(deps: Deps) -> tuple[list[Poll], Counter[str], list[RunStatus]]:
    """Polls, pulse DMs owed per person, and pulse runs recorded."""
    async with deps.sessions() as session:
        polls = list(await session.scalars(sa.select(Poll)))
        owed = Counter(
            str(person)
            for person in await session.scalars(
                sa.select(Outbox.person_id).where(Outbox.idempotency_key.startswith("pulse:"))
            )
        )
        runs = list(await session.scalars(sa.select(RitualRun.status)))
    return polls, owed, runs


async def test_a_leader_killed_mid_tick_writes_nothing_and_the_new_one_runs_the_ritual_once(
    replicas: tuple[Deps, Deps], emulator: SlackEmulator, database_url: str
) -> None:
    a, b = replicas
    await due_pulse(a, emulator)
    admin: AsyncEngine = db.make_engine(database_url)
    table = await admin.connect()
    watch = await admin.connect()
    await watch.execution_options(isolation_level="AUTOCOMMIT")
    # the test holds the poll table: a tick that gets to writing the poll waits, mid-tick
    await table.execute(sa.text("LOCK TABLE poll IN ACCESS EXCLUSIVE MODE"))
    first = scheduler.Scheduler(a, tick_seconds=3600, drain_seconds=3600, leader_retry_seconds=0.2)
    second = scheduler.Scheduler(b, tick_seconds=3600, drain_seconds=3600, leader_retry_seconds=0.2)
    try:
        first.start()
        await eventually(lambda: first.leadership.is_leader, timeout=10)
        old = await eventually(lambda: lock_holder(watch), timeout=10)
        # A's tick waits for the poll table, on the very session that holds the lock
        assert await eventually(lambda: waiting_on_poll(watch), timeout=10) == {old}
        second.start()
        assert await second.leadership.try_acquire() is False  # A leads: B stands by
        # A's lock connection dies (a network cut, a killed backend) in the middle of its tick;
        # A stays cut off from the election, its tick still in flight
        first.scheduler.pause_job("scheduler.leader")
        await watch.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": old})
        await eventually(lambda: second.leadership.is_leader, timeout=10)
        new = await eventually(lambda: lock_holder(watch), timeout=10)
        assert new != old
        # B ticks at once, and it too waits for the poll table on its own lock session: nobody
        # else (A's tick on some other connection, say) is about to write a poll
        assert await eventually(lambda: waiting_on_poll(watch), timeout=10) == {new}
        await table.rollback()  # the table is free again

        async def done() -> bool:
            polls, owed, runs = await written(b)
            return bool(polls and owed and runs)

        await eventually(done, timeout=15)
        await eventually(lambda: not first.leadership.is_leader, timeout=10)
        polls, owed, runs = await written(b)
        (poll,) = polls  # one poll, written by B (8 days), none by A
        assert poll.closes_at - poll.opens_at == timedelta(days=8)
        assert set(owed.values()) == {1}  # each member is owed the poll once
        assert runs == [RunStatus.DONE]
    finally:
        await first.stop()
        await second.stop()
        await table.close()
        await watch.close()
        await admin.dispose()


async def test_a_leader_whose_lock_is_gone_stands_down_before_writing_anything(
    replicas: tuple[Deps, Deps], emulator: SlackEmulator
) -> None:
    """The lock leaves A's session while its connection lives on (an unlock by mistake, a pooler
    that swapped the session): B takes it, and A's next tick, still believing it leads, is
    refused by its first transaction — the lock is confirmed inside it — and writes nothing."""
    a, b = replicas
    await due_pulse(a, emulator)
    first, second = scheduler.Scheduler(a), scheduler.Scheduler(b)
    try:
        await first._leader_job()
        await second._leader_job()
        assert first.leadership.is_leader and not second.leadership.is_leader
        conn = first.leadership._conn
        assert conn is not None
        await conn.execute(sa.text("SELECT pg_advisory_unlock_all()"))
        await conn.commit()
        await second._leader_job()
        assert second.leadership.is_leader
        assert first.leadership.is_leader  # A has not noticed yet
        async with a.sessions() as session:
            settings_before = list(
                await session.execute(sa.select(RitualSetting.ritual, RitualSetting.next_run_at))
            )
        await first._tick_job()
        assert not first.leadership.is_leader  # it stood down
        assert await written(a) == ([], Counter(), [])
        async with a.sessions() as session:
            settings_after = list(
                await session.execute(sa.select(RitualSetting.ritual, RitualSetting.next_run_at))
            )
        assert settings_after == settings_before  # not even the next run moved
        await second._tick_job()
        polls, owed, runs = await written(b)
        (poll,) = polls
        assert poll.closes_at - poll.opens_at == timedelta(days=8)
        assert owed and set(owed.values()) == {1}
        assert runs == [RunStatus.DONE]
    finally:
        await first.leadership.release()
        await second.leadership.release()


async def test_the_daily_snapshots_stand_down_too(
    replicas: tuple[Deps, Deps], emulator: SlackEmulator
) -> None:
    """A replica that lost the lock writes no snapshot and stands down; the new leader writes
    them. (A loss in the middle of the job is re-raised past its per-workspace error handler:
    rituals/snapshots.py.)"""
    from bot.models import KpiSnapshot

    a, b = replicas
    await due_pulse(a, emulator)
    first, second = scheduler.Scheduler(a), scheduler.Scheduler(b)
    try:
        await first._leader_job()
        conn = first.leadership._conn
        assert conn is not None
        await conn.execute(sa.text("SELECT pg_advisory_unlock_all()"))
        await conn.commit()
        await second._leader_job()
        assert second.leadership.is_leader and first.leadership.is_leader
        await first._snapshots_job()
        assert not first.leadership.is_leader
        async with a.sessions() as session:
            assert await session.scalar(sa.select(sa.func.count()).select_from(KpiSnapshot)) == 0
        await second._snapshots_job()
        async with b.sessions() as session:
            assert await session.scalar(sa.select(sa.func.count()).select_from(KpiSnapshot)) > 0
    finally:
        await first.leadership.release()
        await second.leadership.release()
