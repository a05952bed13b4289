"""kill -9 of a real `cop rituals run pulse --drain` halfway through a 5,000-member pulse poll.

The emulator runs in this test process and serves over HTTP; the bot runs in a subprocess. After
the kill the same command is started again: every member ends with exactly one DM, and every
failure (deactivated accounts) has a reason.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot import communities, people
from bot.models import Outbox, OutboxStatus
from bot.slack.emulator import SlackEmulator, large_workspace
from tests.conftest import eventually

MEMBERS = 5000
CHANNEL = "CL000000"
WORKSPACE = "T0LOAD"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
async def big_emulator() -> AsyncIterator[SlackEmulator]:
    emu = SlackEmulator(large_workspace(MEMBERS, 1, seed=7), validate_blocks=False)
    await emu.start()
    yield emu
    await emu.stop()


def _env(database_url: str, emulator: SlackEmulator, config: Path) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("COP_", "SLACK_"))},
        "COP_DATABASE_URL": database_url,
        "SLACK_API_URL": emulator.api_url,
        "SLACK_BOT_TOKEN": emulator.workspace.bot_token,
        "COP_QUIET_HOURS": "off",
        "COP_CONFIG": str(config),
        "COP_OUTBOX_RATE": "30000",  # faster than the emulator allows: 429s are part of the run
        "COP_OUTBOX_LEASE": "2",
        "COP_LOG_LEVEL": "WARNING",
    }


def _delivered(emulator: SlackEmulator) -> int:
    return sum(
        1
        for c in emulator.calls
        if c.method == "chat.postMessage" and c.status == 200 and c.response.get("ok")
    )


@pytest.mark.slow
async def test_kill_9_halfway_through_a_pulse_then_restart_gives_everyone_exactly_one_dm(
    database_url: str,
    big_emulator: SlackEmulator,
    sessions,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    emu = big_emulator
    emu.set_rate_limit("chat.postMessage", per_minute=24000, burst=50)
    member_ids = [u for u in emu.workspace.channels[CHANNEL].members if u != "UBOT"]
    async with sessions.begin() as session:
        await people.ensure_workspace(session, WORKSPACE)
        community = await communities.create(
            session, workspace_id=WORKSPACE, name="Tout le monde", channel_id=CHANNEL, language="fr"
        )
        await communities.sync_members(session, community=community, member_ids=member_ids)
        slug = community.slug
    config = tmp_path / "app.yaml"
    config.write_text("name: Crash test\nlanguage: fr\n", encoding="utf-8")
    command = [
        sys.executable, "-m", "bot.cli", "rituals", "run", "pulse",
        "--community", slug, "--workspace", WORKSPACE, "--drain",
    ]  # fmt: skip
    env = _env(database_url, emu, config)

    first = await asyncio.create_subprocess_exec(*command, env=env, cwd=ROOT)
    await eventually(lambda: _delivered(emu) >= MEMBERS // 2, timeout=60, interval=0.01)
    os.kill(first.pid, signal.SIGKILL)
    assert await first.wait() == -signal.SIGKILL
    at_kill = _delivered(emu)
    assert at_kill < MEMBERS * 0.98  # really halfway through

    second = await asyncio.create_subprocess_exec(
        *command, env=env, cwd=ROOT, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(second.communicate(), timeout=120)
    assert second.returncode == 0, out

    deleted = {u for u in member_ids if emu.workspace.users[u].deleted}
    counts: dict[str, int] = {}
    for channel, messages in emu.messages.items():
        for message in messages:
            key = ((message.get("metadata") or {}).get("event_payload") or {}).get("key", "")
            if key.startswith("pulse:"):
                counts[channel] = counts.get(channel, 0) + 1
    expected = {"D" + u[1:] for u in member_ids if u not in deleted}
    assert set(counts) == expected
    assert set(counts.values()) == {1}, "a member got the poll twice"
    async with sessions() as session:
        rows = (
            await session.execute(
                sa.select(Outbox.status, Outbox.last_error, sa.func.count()).group_by(
                    Outbox.status, Outbox.last_error
                )
            )
        ).all()
    by_status: dict[str, int] = {}
    for status, reason, count in rows:
        by_status[status] = by_status.get(status, 0) + count
        if status == OutboxStatus.FAILED:
            assert reason == "user_disabled"
    assert by_status == {OutboxStatus.SENT: len(expected), OutboxStatus.FAILED: len(deleted)}
    # rows the dead process had claimed were looked for in Slack before any resend
    assert emu.calls_to("conversations.history"), "no recovery lookup happened"
    print(f"\nkilled at {at_kill} delivered; restart output: {out.decode().strip()}")
