"""`cop serve --socket-mode`: the same app over a Socket Mode connection (to the emulator)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from bot.slack.emulator import SlackEmulator
from tests.perf.common import free_port


@pytest.mark.slow
async def test_socket_mode_acks_a_slash_command_and_answers_it(
    tmp_path: Path, emulator: SlackEmulator, database_url: str
) -> None:
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": emulator.workspace.bot_token,
        "SLACK_APP_TOKEN": emulator.app_token,
        "SLACK_API_URL": emulator.api_url,
        "COP_DATABASE_URL": database_url,
        "COP_LOG_LEVEL": "WARNING",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "serve",
        "--socket-mode",
        "--port",
        str(free_port()),
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        payload = {
            "token": "x",
            "team_id": "T0COP",
            "team_domain": "cop",
            "channel_id": "C0GEN",
            "channel_name": "general",
            "user_id": "U0EMILY",
            "user_name": "emily.smith",
            "command": "/cop",
            "text": "help",
            "api_app_id": "A0COPBOT",
            "response_url": emulator.response_url("socket"),
            "trigger_id": "tr-socket",
        }
        ack = await emulator.socket_send("slash_commands", payload, timeout=60)
        assert "envelope_id" in ack
        replies = await emulator.wait_for("response_url", timeout=10)
        assert "What you can do with /cop" in str(replies[-1].params)
        # a retried event envelope is accepted too (Bolt ≥ 1.29 passes the retry headers on)
        event = {
            "token": "x",
            "team_id": "T0COP",
            "api_app_id": "A0COPBOT",
            "type": "event_callback",
            "event_id": "Ev0SOCKET",
            "event_time": 1,
            "event": {
                "type": "member_joined_channel",
                "user": "U0LEA",
                "channel": "C0SEC",
                "team": "T0COP",
            },
        }
        assert "envelope_id" in await emulator.socket_send("events_api", event, retry_attempt=1)
    finally:
        if proc.returncode is None:
            proc.terminate()
        await proc.wait()
