"""Two replicas: two real `cop serve` processes on one PostgreSQL database, nothing else shared.

Slack (the emulator) runs in this test process and talks to both over HTTP. Slash commands work
on either; both drain the outbox and no DM is sent twice; exactly one runs the scheduler, and
when it is killed with -9 the other takes over and runs the next due ritual.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from bot import communities, db, people
from bot.models import Person, Poll, Ritual, RitualSetting, utcnow
from bot.slack.driver import SlackDriver
from bot.slack.emulator import Channel, SlackEmulator, large_workspace
from rituals.outbox import Owed, enqueue_many
from tests.conftest import PG_URL, SIGNING_SECRET, eventually

pytestmark = [
    pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (COP_TEST_POSTGRES_URL)"),
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]

MEMBERS = 2000
BIG, SMALL = "CL000000", "C0SMALL"
WORKSPACE = "T0LOAD"
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Replica:
    name: str
    url: str
    process: asyncio.subprocess.Process
    slack: SlackDriver

    async def metric(self, http: httpx.AsyncClient, name: str, labels: str = "") -> float:
        text = (await http.get(f"{self.url}/metrics")).text
        pattern = rf"^{re.escape(name)}{re.escape(labels)} ([0-9.e+]+)$"
        found = re.search(pattern, text, re.MULTILINE)
        return float(found.group(1)) if found else 0.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def emulator_big() -> AsyncIterator[SlackEmulator]:
    workspace = large_workspace(MEMBERS, 1, seed=5)
    small = list(workspace.users)[1:6]
    workspace.channels[SMALL] = Channel(SMALL, "petit-groupe", [*small, "UBOT"])
    emu = SlackEmulator(workspace, validate_blocks=False)
    await emu.start()
    yield emu
    await emu.stop()


@pytest.fixture
async def replicas(
    database_url: str, emulator_big: SlackEmulator, tmp_path: Path
) -> AsyncIterator[list[Replica]]:
    engine = db.make_engine(database_url)
    sessions = db.make_sessionmaker(engine)
    async with sessions.begin() as session:
        await people.ensure_workspace(session, WORKSPACE)
        for channel, name in ((BIG, "Tout le monde"), (SMALL, "Petit groupe")):
            community = await communities.create(
                session, workspace_id=WORKSPACE, name=name, channel_id=channel, language="fr"
            )
            members = [u for u in emulator_big.workspace.channels[channel].members if u != "UBOT"]
            await communities.sync_members(session, community=community, member_ids=members)
    await engine.dispose()
    config = tmp_path / "app.yaml"
    config.write_text("name: Deux répliques\nlanguage: fr\n", encoding="utf-8")
    started: list[Replica] = []
    for name in ("replica-a", "replica-b"):
        port = _free_port()
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("COP_", "SLACK_"))},
            "COP_DATABASE_URL": database_url,
            "SLACK_API_URL": emulator_big.api_url,
            "SLACK_BOT_TOKEN": emulator_big.workspace.bot_token,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "COP_CONFIG": str(config),
            "COP_QUIET_HOURS": "off",
            "COP_INSTANCE_ID": name,
            "COP_OUTBOX_RATE": "60000",
            "COP_OUTBOX_CONCURRENCY": "8",
            "COP_TICK_SECONDS": "2",
            "COP_LEADER_RETRY_SECONDS": "1",
            "COP_LOG_LEVEL": "WARNING",
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "serve", "--port", str(port), env=env, cwd=ROOT
        )
        url = f"http://127.0.0.1:{port}"
        driver = SlackDriver(
            emulator_big, bot_url=f"{url}/slack/events", signing_secret=SIGNING_SECRET
        )
        started.append(Replica(name, url, process, driver))
    try:
        async with httpx.AsyncClient() as http:
            for replica in started:

                async def up(r: Replica = replica) -> bool:
                    try:
                        return (await http.get(f"{r.url}/healthz")).status_code == 200
                    except httpx.TransportError:
                        return False

                await eventually(up, timeout=30, interval=0.1)
        yield started
    finally:
        for replica in started:
            await replica.slack.aclose()
            if replica.process.returncode is None:
                replica.process.terminate()
                try:
                    await asyncio.wait_for(replica.process.wait(), timeout=10)
                except TimeoutError:
                    replica.process.kill()
                    await replica.process.wait()


def _per_channel(emulator: SlackEmulator, prefix: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for channel, messages in emulator.messages.items():
        for message in messages:
            key = ((message.get("metadata") or {}).get("event_payload") or {}).get("key", "")
            if key.startswith(prefix):
                counts[channel] += 1
    return counts


async def test_two_replicas_share_commands_the_outbox_and_the_scheduler(
    replicas: list[Replica], emulator_big: SlackEmulator, database_url: str
) -> None:
    emu = emulator_big
    engine = db.make_engine(database_url)
    sessions = db.make_sessionmaker(engine)
    http = httpx.AsyncClient()
    try:
        # (a) a slash command works on either replica
        for replica in replicas:
            before = len(emu.responses)
            response = await replica.slack.command("help", user="UL0000001", channel=BIG)
            assert response.status_code == 200
            answer = (await eventually(lambda b=before: emu.responses[b:], timeout=5))[-1]
            assert answer.get("blocks") or answer.get("text")

        # (c) 2,000 DMs owed at once: both replicas drain, nobody gets one twice
        async with sessions.begin() as session:
            ids = dict(
                (
                    await session.execute(
                        sa.select(Person.slack_user_id, Person.id).where(
                            Person.slack_user_id.in_(emu.workspace.channels[BIG].members)
                        )
                    )
                ).all()
            )
            await enqueue_many(
                session,
                workspace_id=WORKSPACE,
                community_id=None,
                messages=[
                    Owed(key=f"both:{u}", kind="test", text=f"Bonjour {u}", person_id=pid)
                    for u, pid in ids.items()
                ],
            )
        owed = len(ids)
        deleted = {u for u in ids if emu.workspace.users[u].deleted}
        started = time.perf_counter()

        async def all_sent() -> bool:
            total = 0.0
            for r in replicas:
                total += await r.metric(http, "cop_outbox_messages_total", '{result="sent"}')
                total += await r.metric(http, "cop_outbox_messages_total", '{result="failed"}')
            return total >= owed

        await eventually(all_sent, timeout=40, interval=0.2)
        drained = time.perf_counter() - started
        counts = _per_channel(emu, "both:")
        assert set(counts.values()) == {1}, "a member got the DM twice"
        assert len(counts) == owed - len(deleted)
        per_replica = {
            r.name: await r.metric(http, "cop_outbox_messages_total", '{result="sent"}')
            for r in replicas
        }
        assert all(n > 0 for n in per_replica.values()), per_replica
        assert sum(per_replica.values()) == owed - len(deleted)

        # (b) exactly one replica runs the scheduler
        async def one_leader() -> list[Replica]:
            flags = [await r.metric(http, "cop_scheduler_leader") for r in replicas]
            return (
                [r for r, f in zip(replicas, flags, strict=True) if f == 1]
                if sum(flags) == 1
                else []
            )

        leader = (await eventually(one_leader, timeout=10, interval=0.2))[0]
        survivor = next(r for r in replicas if r is not leader)

        async def settings_ready() -> bool:  # the leader's first tick wrote the ritual settings
            async with sessions() as session:
                return bool(
                    await session.scalar(sa.select(sa.func.count()).select_from(RitualSetting))
                )

        await eventually(settings_ready, timeout=10, interval=0.2)
        os.kill(leader.process.pid, signal.SIGKILL)
        assert await leader.process.wait() == -signal.SIGKILL
        killed_at = time.perf_counter()
        # a pulse poll falls due for the small community right after the kill
        async with sessions.begin() as session:
            small = await communities.by_channel(session, workspace_id=WORKSPACE, channel_id=SMALL)
            assert small is not None
            await session.execute(
                sa.update(RitualSetting)
                .where(RitualSetting.community_id == small.id, RitualSetting.ritual == Ritual.PULSE)
                .values(enabled=True, cadence="weekly", next_run_at=utcnow() - timedelta(minutes=1))
            )

        async def survivor_leads() -> bool:
            return await survivor.metric(http, "cop_scheduler_leader") == 1

        await eventually(survivor_leads, timeout=15, interval=0.1)
        takeover = time.perf_counter() - killed_at

        async def poll_planned() -> bool:
            async with sessions() as session:
                return bool(
                    await session.scalar(
                        sa.select(sa.func.count())
                        .select_from(Poll)
                        .where(Poll.community_id == small.id)
                    )
                )

        await eventually(poll_planned, timeout=15, interval=0.1)
        ticked = time.perf_counter() - killed_at
        # and the survivor alone delivers that poll to the small community
        small_members = [u for u in emu.workspace.channels[SMALL].members if u != "UBOT"]
        reachable = {"D" + u[1:] for u in small_members if not emu.workspace.users[u].deleted}

        def polled() -> bool:
            counts = {c: n for c, n in _per_channel(emu, "pulse:").items() if c.startswith("D")}
            return set(counts) == reachable and set(counts.values()) == {1}

        await eventually(polled, timeout=15, interval=0.1)
        # the survivor still answers commands
        before = len(emu.responses)
        await survivor.slack.command("aide", user="UL0000002", channel=BIG)
        await eventually(lambda: emu.responses[before:], timeout=5)
        print(
            f"\nreplicas: {owed} DMs drained in {drained:.1f} s, per replica {per_replica}; "
            f"takeover {takeover:.1f} s after kill -9, due pulse planned {ticked:.1f} s after"
        )
    finally:
        await http.aclose()
        await engine.dispose()
