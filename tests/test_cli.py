"""The `cop` command as an operator runs it: real subprocesses, real HTTP."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import sqlalchemy as sa

from bot import db
from bot.models import Community, Membership
from bot.slack.emulator import SlackEmulator
from tests.conftest import SIGNING_SECRET
from tests.perf.common import free_port, signed_command


def run_cop(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env={**os.environ, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_cop_serve_answers_signed_help_and_refuses_bad_signatures(
    tmp_path: Path, emulator: SlackEmulator, database_url: str
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": emulator.workspace.bot_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": emulator.api_url,
        "COP_DATABASE_URL": database_url,
        "COP_LOG_LEVEL": "WARNING",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "serve",
        "--port",
        str(port),
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(timeout=5) as http:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if (await http.get(f"{base}/healthz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert proc.returncode is None, "cop serve exited"
                assert time.monotonic() < deadline, "cop serve did not come up"
                await asyncio.sleep(0.1)
            body, headers = signed_command(
                "help",
                user="U0LUCAS",
                channel="C0GEN",
                response_url=emulator.response_url(),
                secret=SIGNING_SECRET,
            )
            started = time.perf_counter()
            ok = await http.post(f"{base}/slack/events", content=body, headers=headers)
            elapsed = time.perf_counter() - started
            headers["X-Slack-Signature"] = "v0=" + "f" * 64
            bad = await http.post(f"{base}/slack/events", content=body, headers=headers)
        assert ok.status_code == 200
        assert elapsed < 1.0
        assert bad.status_code == 401
        reply = await emulator.wait_for("response_url")
        assert "Ce que vous pouvez faire avec /cop" in str(reply[-1].params)
    finally:
        proc.terminate()
        await proc.wait()


async def test_communities_import_from_csv(tmp_path: Path, database_url: str) -> None:
    csv_path = tmp_path / "programme.csv"
    csv_path.write_text(
        "\ufeffname;channel_id;kind;language;leaders;sponsor\n"
        "Data Science;C0DATA;piloted;en;U0LUCAS U0CHLOE;U0HUGO\n"
        "Agilité;C0AGILE;;;U0LEA;\n",
        encoding="utf-8",
    )
    env = {"COP_DATABASE_URL": database_url}
    result = await asyncio.to_thread(
        run_cop,
        "communities",
        "import",
        str(csv_path),
        "--workspace",
        "T0COP",
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "2 created, 0 updated, 0 line(s) skipped"
    again = await asyncio.to_thread(
        run_cop,
        "communities",
        "import",
        str(csv_path),
        "--workspace",
        "T0COP",
        env=env,
        cwd=tmp_path,
    )
    assert again.stdout.strip() == "0 created, 2 updated, 0 line(s) skipped"
    engine = db.make_engine(database_url)
    async with engine.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(Community)) == 2
        assert await conn.scalar(sa.select(sa.func.count()).select_from(Membership)) == 4
    await engine.dispose()


async def test_a_bad_csv_imports_nothing_and_names_each_line(
    tmp_path: Path, database_url: str
) -> None:
    csv_path = tmp_path / "bad.csv"
    csv_path.write_text("name,channel_id\nOK,C0DATA\n,C0AGILE\n", encoding="utf-8")
    result = await asyncio.to_thread(
        run_cop,
        "communities",
        "import",
        str(csv_path),
        env={"COP_DATABASE_URL": database_url},
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert f"{csv_path}: line 3: name is empty" in result.stderr
    assert "nothing imported" in result.stderr
