"""Faults, against the emulator over real HTTP: rate-limit storms, 5xx bursts, answers slower than
the client's timeout, Slack unreachable, PostgreSQL restarted under a fan-out and under a burst of
events, a backfill killed with -9 and started again.

At the end of each: every owed message sent exactly once (counted per DM channel in the
emulator), every permanent failure recorded with its reason, every event counted once, and the
bot serving again without anyone stepping in.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from bot import communities, people
from bot.app import build_deps
from bot.deps import Deps
from bot.models import (
    ActivityDaily,
    BackfillState,
    Membership,
    Outbox,
    OutboxStatus,
    Person,
    ProcessedEvent,
)
from bot.slack.client import SlackMessenger, make_web_client
from bot.slack.emulator import SlackEmulator, large_workspace
from rituals.outbox import Drain, Owed, enqueue_many
from tests import factories
from tests.conftest import PG_URL, Bot, eventually, make_config

MEMBERS = 240
CHANNEL = "CL000000"
WORKSPACE = "T0LOAD"
POST = "chat.postMessage"
CLIENT_TIMEOUT = 1  # seconds: the background client gives up on Slack after this
ROOT = Path(__file__).resolve().parent.parent
postgres_only = pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (COP_TEST_POSTGRES_URL)")


# --- PostgreSQL restarts ----------------------------------------------------------------------


def _cluster() -> list[str]:
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    return ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main"]


async def restart_postgres() -> None:
    """A real restart of the server (fast shutdown: every connection is cut)."""
    proc = await asyncio.create_subprocess_exec(*_cluster(), "restart")
    assert await proc.wait() == 0


@pytest.fixture
def postgres_back_up() -> Iterator[None]:
    """Whatever happens in the test, PostgreSQL is running when it ends."""
    yield
    status = subprocess.run([*_cluster(), "status"], capture_output=True, check=False)
    if status.returncode != 0:
        subprocess.run([*_cluster(), "start"], check=True)


# --- a fan-out of DMs under faults ------------------------------------------------------------


@pytest.fixture
async def big_emulator() -> AsyncIterator[SlackEmulator]:
    emu = SlackEmulator(large_workspace(MEMBERS, 1, seed=11), validate_blocks=False)
    await emu.start()
    yield emu
    await emu.stop()


@pytest.fixture
async def deps(database_url: str, big_emulator: SlackEmulator) -> AsyncIterator[Deps]:
    built = build_deps(make_config(database_url, big_emulator))
    # the outbox's client, with a short timeout so "slower than the timeout" stays quick
    client = make_web_client(
        token=big_emulator.workspace.bot_token,
        base_url=big_emulator.api_url,
        background=True,
        timeout=CLIENT_TIMEOUT,
    )
    yield dataclasses.replace(built, messenger=SlackMessenger(client))
    await built.engine.dispose()


async def _owe_everyone(deps: Deps, emulator: SlackEmulator, prefix: str) -> list[str]:
    """One DM owed to each member of the channel; returns the member ids."""
    members = [u for u in emulator.workspace.channels[CHANNEL].members if u != "UBOT"]
    async with deps.sessions.begin() as session:
        await people.ensure_workspace(session, WORKSPACE)
        community = await communities.create(
            session, workspace_id=WORKSPACE, name="Tout le monde", channel_id=CHANNEL
        )
        await communities.sync_members(session, community=community, member_ids=members)
        ids = dict(
            (
                await session.execute(
                    sa.select(Person.slack_user_id, Person.id).where(
                        Person.slack_user_id.in_(members)
                    )
                )
            ).all()
        )
        await enqueue_many(
            session,
            workspace_id=WORKSPACE,
            community_id=community.id,
            messages=[
                Owed(key=f"{prefix}:{u}", kind="pulse", text=f"Sondage {u}", person_id=ids[u])
                for u in members
            ],
        )
    return members


def _delivered(emulator: SlackEmulator) -> int:
    return sum(1 for c in emulator.calls_to(POST) if c.status == 200 and c.response.get("ok"))


def _per_channel(emulator: SlackEmulator, prefix: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for channel, messages in emulator.messages.items():
        for message in messages:
            key = ((message.get("metadata") or {}).get("event_payload") or {}).get("key", "")
            if key.startswith(f"{prefix}:"):
                counts[channel] += 1
    return counts


async def _by_status(deps: Deps, prefix: str = "") -> dict[tuple[str, str | None], int]:
    async with deps.sessions() as session:
        rows = await session.execute(
            sa.select(Outbox.status, Outbox.last_error, sa.func.count())
            .where(Outbox.idempotency_key.startswith(prefix))
            .group_by(Outbox.status, Outbox.last_error)
        )
        return {(str(s), e): n for s, e, n in rows}


async def _settled(deps: Deps) -> bool:
    async with deps.sessions() as session:
        left = await session.scalar(
            sa.select(sa.func.count())
            .select_from(Outbox)
            .where(Outbox.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]))
        )
    return left == 0


@contextlib.asynccontextmanager
async def draining(drain: Drain, every: float = 0.05) -> AsyncIterator[asyncio.Task[None]]:
    """The drain as the scheduler runs it: a round every `every` seconds, errors logged."""

    async def loop() -> None:
        while True:
            with contextlib.suppress(Exception):
                await drain.run_once()
            await asyncio.sleep(every)

    task = asyncio.create_task(loop())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_fan_out_through_429_storms_5xx_bursts_timeouts_and_refused_connections_sends_each_dm_once(
    deps: Deps, big_emulator: SlackEmulator
) -> None:
    emu = big_emulator
    members = await _owe_everyone(deps, emu, "storm")
    deleted = {u for u in members if emu.workspace.users[u].deleted}
    drain = Drain(
        deps,
        rate_per_minute=12000,
        concurrency=8,
        lease_seconds=10,
        ambiguous_wait_seconds=2.5,  # answers come 1.5 s late below: look after they landed
    )
    # 1. a rate-limit storm: Slack allows a fifth of the pace the drain would like
    emu.set_rate_limit(POST, per_minute=2400, burst=5)
    async with draining(drain):
        await eventually(lambda: _delivered(emu) >= 40, timeout=20, interval=0.05)
        emu.clear_rate_limit(POST)
        # 2. a burst of server errors
        emu.inject_failure(POST, status=500, times=8)
        emu.inject_failure(POST, status=503, times=8)
        await eventually(lambda: _delivered(emu) >= 80, timeout=20, interval=0.05)
        # 3. an answer that will never succeed, whatever the retries (before the slow answers
        # below: a request still asleep in the emulator, one the bot gave up on, must not take it)
        emu.inject_failure(POST, error="msg_too_long", times=1)
        await eventually(
            lambda: any(c.response.get("error") == "msg_too_long" for c in emu.calls_to(POST)),
            timeout=20,
            interval=0.05,
        )
        # 4. answers slower than the client waits: Slack posts them, the bot never hears back
        emu.set_latency(POST, CLIENT_TIMEOUT + 0.5)
        slow_from = len(emu.calls)
        await eventually(
            lambda: sum(1 for c in emu.calls[slow_from:] if c.method == POST) >= 6,
            timeout=20,
            interval=0.05,
        )
        emu.set_latency(POST, 0)
        await eventually(lambda: _delivered(emu) >= 140, timeout=20, interval=0.05)
        # 5. Slack unreachable: connection refused for a while, then back on the same address
        port = int(emu.url.rsplit(":", 1)[1])
        await emu.stop()

        async def refused_seen() -> bool:
            return any(e == "ClientConnectorError" for _, e in await _by_status(deps))

        await eventually(refused_seen, timeout=20, interval=0.05)
        await emu.start(port=port)
        # nobody steps in: the same drain finishes the fan-out
        await eventually(lambda: _settled(deps), timeout=60, interval=0.2)
        # and keeps working for what is owed next
        async with deps.sessions.begin() as session:
            await enqueue_many(
                session,
                workspace_id=WORKSPACE,
                community_id=None,
                messages=[Owed(key="after:1", kind="test", text="encore", channel_id=CHANNEL)],
            )
        await eventually(lambda: _per_channel(emu, "after") == {CHANNEL: 1}, timeout=10)

    counts = _per_channel(emu, "storm")
    assert set(counts.values()) == {1}, "a member got the DM twice"
    statuses = await _by_status(deps, "storm:")
    sent = sum(n for (s, _), n in statuses.items() if s == OutboxStatus.SENT)
    failed = {e: n for (s, e), n in statuses.items() if s == OutboxStatus.FAILED}
    assert failed == {"user_disabled": len(deleted), "msg_too_long": 1}
    assert sent == len(counts) == len(members) - len(deleted) - 1
    # every fault really happened, and the timeouts were found in Slack rather than resent
    seen = Counter(c.status for c in emu.calls_to(POST))
    assert seen[429] and seen[500] == 8 and seen[503] == 8
    assert drain.stats.recovered >= 1 and emu.calls_to("conversations.history")
    metrics = deps.metrics.render().decode()
    assert 'cop_outbox_messages_total{result="ratelimited"}' in metrics
    print(
        f"\nfaults fan-out: {sent} sent once, {drain.stats.recovered} found after a timeout, "
        f"{drain.stats.retried} retries, 429s {seen[429]}, failed {failed}"
    )


@postgres_only
async def test_a_fan_out_across_a_postgresql_restart_loses_nothing_and_doubles_nothing(
    deps: Deps, big_emulator: SlackEmulator, postgres_back_up: None
) -> None:
    if deps.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    emu = big_emulator
    emu.set_rate_limit(POST, per_minute=3000, burst=5)  # ~50/s: the restart lands mid-way
    members = await _owe_everyone(deps, emu, "restart")
    deleted = {u for u in members if emu.workspace.users[u].deleted}
    drain = Drain(deps, rate_per_minute=3000, concurrency=8, lease_seconds=5)
    async with draining(drain, every=0.2):
        await eventually(lambda: _delivered(emu) >= 40, timeout=20, interval=0.05)
        await restart_postgres()
        at_restart = _delivered(emu)
        await eventually(lambda: _settled(deps), timeout=60, interval=0.3)
    assert at_restart < len(members) - len(deleted)  # the restart really was mid-fan-out
    counts = _per_channel(emu, "restart")
    assert set(counts.values()) == {1}, "a member got the DM twice"
    assert len(counts) == len(members) - len(deleted)
    statuses = await _by_status(deps)
    assert {e for (s, e) in statuses if s == OutboxStatus.FAILED} == {"user_disabled"}
    print(f"\nPostgreSQL restarted after {at_restart} posts; stats {drain.stats}")


# --- a burst of events across a PostgreSQL restart ------------------------------------------


@postgres_only
async def test_events_during_a_postgresql_restart_are_counted_once_after_slack_redelivers(
    bot: Bot, postgres_back_up: None
) -> None:
    if bot.deps.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    await factories.community(bot.sessions, emulator=bot.emulator)
    users = bot.emulator.workspace.users
    members = [u for u in bot.emulator.workspace.channels["C0DATA"].members if not users[u].is_bot]
    joiners = ["U0LEA", "U0NATHAN", "U0MANON", "U0JAMES"]
    sent: list[tuple[str, dict[str, Any]]] = []
    statuses: list[int] = []

    async def deliver(event: dict[str, Any]) -> None:
        event_id = f"Ev{uuid.uuid4().hex[:10].upper()}"
        sent.append((event_id, event))
        statuses.append((await bot.slack.event(event, event_id=event_id)).status_code)

    async def burst(n: int) -> None:
        for i in range(n):
            if i % 12 == 0 and joiners:
                user = joiners.pop()
                bot.emulator.workspace.channels["C0DATA"].members.append(user)
                await deliver(
                    {
                        "type": "member_joined_channel",
                        "user": user,
                        "channel": "C0DATA",
                        "channel_type": "C",
                        "team": factories.WORKSPACE,
                        "event_ts": bot.emulator.next_ts(),
                    }
                )
            message = bot.emulator.add_message("C0DATA", user=members[i % len(members)], text="…")
            await deliver(
                {
                    **message,
                    "channel": "C0DATA",
                    "event_ts": message["ts"],
                    "channel_type": "channel",
                }
            )
            await asyncio.sleep(0.01)  # a steady stream, not one instant

    await burst(20)  # before
    restart = asyncio.create_task(restart_postgres())
    while not restart.done():  # during
        await burst(5)
    await restart
    await burst(10)  # right after, while pools reconnect
    async with httpx.AsyncClient() as http:

        async def healthy() -> bool:
            return (await http.get(f"{bot.url}/healthz")).status_code == 200

        await eventually(healthy, timeout=20, interval=0.2)
    # every delivery is answered: 200, or 503 while the database is known to be away (Slack then
    # redelivers it later with the same event id, as done below)
    assert set(statuses) <= {200, 503}, "every delivery is answered, outage or not"
    # Slack redelivers what it is not sure about: here, everything, with the same event ids
    for event_id, event in sent:
        retry = 1
        while (await bot.slack.event(event, event_id=event_id, retry_num=retry)).status_code == 503:
            assert retry < 20, "still refused long after the database came back"
            retry += (
                1  # Slack waits ~1 then ~5 minutes; the bot re-checks the database every second
            )
            await asyncio.sleep(0.25)
    messages = sum(1 for _, e in sent if e["type"] == "message")

    async def counted() -> int:
        async with bot.sessions() as session:
            return int(
                await session.scalar(
                    sa.select(sa.func.coalesce(sa.func.sum(ActivityDaily.messages), 0))
                )
                or 0
            )

    with contextlib.suppress(AssertionError):
        await eventually(lambda: _equals(counted, messages), timeout=15, interval=0.1)
    async with bot.sessions() as session:
        seen_ids = set(await session.scalars(sa.select(ProcessedEvent.event_id)))
    missing = [(i, eid, e["type"]) for i, (eid, e) in enumerate(sent) if eid not in seen_ids]
    assert await counted() == messages, missing
    async with bot.sessions() as session:
        handled = await session.scalar(sa.select(sa.func.count()).select_from(ProcessedEvent))
        joined = Counter(
            await session.scalars(
                sa.select(Person.slack_user_id)
                .join(Membership, Membership.person_id == Person.id)
                .where(Membership.left_at.is_(None))
            )
        )
    assert handled == len(sent)
    assert {u: joined[u] for u in ["U0LEA", "U0NATHAN", "U0MANON", "U0JAMES"]} == dict.fromkeys(
        ["U0LEA", "U0NATHAN", "U0MANON", "U0JAMES"], 1
    )
    # and it serves commands again
    before = len(bot.emulator.responses)
    await bot.slack.command("help", user="U0LUCAS", channel="C0DATA")
    await eventually(lambda: bot.emulator.responses[before:], timeout=5)
    async with bot.sessions() as session:
        seen_ids = set(await session.scalars(sa.select(ProcessedEvent.event_id)))
    missing = [(i, eid, e["type"]) for i, (eid, e) in enumerate(sent) if eid not in seen_ids]
    assert await counted() == messages, missing  # nothing counted twice once everything settled
    print(
        f"\nevents across the restart: {len(sent)} delivered twice, {messages} messages counted once"
    )


async def _equals(check: Any, expected: int) -> bool:
    return await check() == expected


# --- a backfill killed and started again ------------------------------------------------------


@pytest.mark.slow
async def test_a_backfill_killed_with_9_then_started_again_counts_each_message_once(
    database_url: str, tmp_path: Path
) -> None:
    emu = SlackEmulator(large_workspace(20, 1, seed=3), validate_blocks=False)
    await emu.start()
    try:
        await _backfill_killed_and_resumed(database_url, emu, tmp_path)
    finally:
        await emu.stop()


async def _backfill_killed_and_resumed(database_url: str, emu: SlackEmulator, tmp: Path) -> None:
    import time

    members = [u for u in emu.workspace.channels[CHANNEL].members if u != "UBOT"]
    now = time.time()
    for i in range(1200):  # six pages of history over the last days
        emu.add_message(CHANNEL, user=members[i % len(members)], text="…")
        emu.messages[CHANNEL][-1]["ts"] = f"{now - 3 * 86400 + i * 60:.6f}"
    deps = build_deps(make_config(database_url, emu))
    try:
        async with deps.sessions.begin() as session:
            await people.ensure_workspace(session, WORKSPACE)
            community = await communities.create(
                session, workspace_id=WORKSPACE, name="Historique", channel_id=CHANNEL
            )
            await communities.sync_members(session, community=community, member_ids=members)
            slug = community.slug
    finally:
        await deps.engine.dispose()
    config = tmp / "app.yaml"
    config.write_text("name: Backfill\nlanguage: fr\n", encoding="utf-8")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("COP_", "SLACK_"))},
        "COP_DATABASE_URL": database_url,
        "SLACK_API_URL": emu.api_url,
        "SLACK_BOT_TOKEN": emu.workspace.bot_token,
        "COP_CONFIG": str(config),
        "COP_LOG_LEVEL": "WARNING",
    }
    command = [
        sys.executable, "-m", "bot.cli", "backfill", "--days", "7",
        "--community", slug, "--workspace", WORKSPACE,
    ]  # fmt: skip
    emu.set_latency("conversations.history", 0.3)  # slow enough to be killed between pages
    first = await asyncio.create_subprocess_exec(*command, env=env, cwd=ROOT)
    await eventually(lambda: len(emu.calls_to("conversations.history")) >= 3, timeout=30)
    os.kill(first.pid, signal.SIGKILL)
    assert await first.wait() == -signal.SIGKILL
    pages_at_kill = len(emu.calls_to("conversations.history"))
    deps = build_deps(make_config(database_url, emu))
    try:
        async with deps.sessions() as session:
            state = await session.scalar(sa.select(BackfillState))
            partial = await session.scalar(sa.select(sa.func.sum(ActivityDaily.messages)))
    finally:
        await deps.engine.dispose()
    assert state is not None and state.finished_at is None  # killed mid-way, really
    emu.set_latency("conversations.history", 0)
    second = await asyncio.create_subprocess_exec(
        *command, env=env, cwd=ROOT, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(second.communicate(), timeout=60)
    assert second.returncode == 0, out
    deps = build_deps(make_config(database_url, emu))
    try:
        async with deps.sessions() as session:
            total = await session.scalar(sa.select(sa.func.sum(ActivityDaily.messages)))
    finally:
        await deps.engine.dispose()
    assert total == 1200
    print(
        f"\nbackfill killed after {pages_at_kill} pages ({partial} messages counted); "
        f"resumed: {out.decode().strip()}"
    )
