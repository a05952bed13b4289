"""`cop serve --platform slack|teams|both`, as an operator runs it: a real subprocess, real HTTP.
The platform chosen answers, the other's routes are not there, and a platform whose settings
are missing is refused in one line (never a traceback)."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import httpx
import pytest

from bot.teams.emulator import TeamsEmulator
from bot.teams.emulator.server import PERSONAL
from tests.conftest import SIGNING_SECRET, eventually, teams_env
from tests.perf.common import free_port
from tests.test_cli import run_cop

NO_CHAT = dict.fromkeys(
    (
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "SLACK_APP_TOKEN",
        "SLACK_CLIENT_ID",
        "SLACK_CLIENT_SECRET",
        "TEAMS_APP_ID",
        "TEAMS_APP_PASSWORD",
    ),
    "",
)


def one_line_refusal(result: object, *words: str) -> None:
    assert result.returncode == 2, result.stderr  # type: ignore[attr-defined]
    err = result.stderr.strip()  # type: ignore[attr-defined]
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    for word in words:
        assert word in err, err


def test_a_platform_without_its_settings_is_refused_in_one_line(
    tmp_path: Path, database_url: str
) -> None:
    env = {**NO_CHAT, "COP_DATABASE_URL": database_url}
    one_line_refusal(
        run_cop("serve", "--platform", "teams", env=env, cwd=tmp_path),
        "--platform teams",
        "TEAMS_APP_ID",
    )
    slack_only = {**env, "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": SIGNING_SECRET}
    one_line_refusal(
        run_cop("serve", "--platform", "both", env=slack_only, cwd=tmp_path),
        "--platform both",
        "TEAMS_APP_PASSWORD",
    )
    teams_only = {**env, "TEAMS_APP_ID": "00000000-0000-4000-8000-00000000c0b0"}
    teams_only["TEAMS_APP_PASSWORD"] = "secret"
    one_line_refusal(
        run_cop("serve", "--platform", "slack", env=teams_only, cwd=tmp_path),
        "--platform slack",
        "SLACK_BOT_TOKEN",
    )
    one_line_refusal(
        run_cop("serve", "--platform", "teams", "--socket-mode", env=teams_only, cwd=tmp_path),
        "--socket-mode",
    )
    one_line_refusal(run_cop("serve", "--platform", "skype", env=env, cwd=tmp_path), "skype")


async def serving(env: dict[str, str], cwd: Path, *args: str) -> tuple[object, str]:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "serve",
        "--port",
        str(port),
        *args,
        env={**os.environ, **env, "COP_LOG_LEVEL": "WARNING"},
        cwd=cwd,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(timeout=5) as http:
        while True:
            try:
                if (await http.get(f"{base}/healthz")).status_code == 200:
                    return proc, base
            except httpx.HTTPError:
                pass
            if proc.returncode is not None:
                raise AssertionError(f"cop serve exited: {await proc.stderr.read()!r}")  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "cop serve did not come up"
            await asyncio.sleep(0.1)


@pytest.mark.slow
async def test_teams_alone_answers_at_api_messages_and_serves_no_slack_route(
    tmp_path: Path, database_url: str, teams: TeamsEmulator
) -> None:
    env = {**NO_CHAT, **teams_env(teams), "COP_DATABASE_URL": database_url}
    # nothing said: Teams is what is configured
    proc, base = await serving(env, tmp_path)
    try:
        assert await teams.deliver(f"{base}/api/messages", teams.message("aide")) == 200
        cards = await eventually(lambda: teams.cards(PERSONAL))
        assert "Ce que vous pouvez faire avec @cop" in str(cards[0])
        async with httpx.AsyncClient() as http:
            assert (await http.post(f"{base}/slack/events", content=b"{}")).status_code == 404
    finally:
        proc.terminate()  # type: ignore[attr-defined]
        await proc.wait()  # type: ignore[attr-defined]


@pytest.mark.slow
async def test_slack_chosen_leaves_teams_out_even_when_configured(
    tmp_path: Path, database_url: str, teams: TeamsEmulator
) -> None:
    env = {
        **NO_CHAT,
        **teams_env(teams),
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": teams.url + "/slack-not-called/",
        "COP_DATABASE_URL": database_url,
    }
    proc, base = await serving(env, tmp_path, "--platform", "slack")
    try:
        async with httpx.AsyncClient() as http:
            # no /api/messages at all (mounted, an unsigned activity would be a 401)
            teams_side = await http.post(f"{base}/api/messages", json=teams.message("aide"))
            assert teams_side.status_code == 404
            # Slack's endpoint is there (an unsigned request: refused, not missing)
            assert (await http.post(f"{base}/slack/events", content=b"{}")).status_code == 401
    finally:
        proc.terminate()  # type: ignore[attr-defined]
        await proc.wait()  # type: ignore[attr-defined]
