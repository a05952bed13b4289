"""The `cop` command as an operator runs it: real subprocesses, real HTTP."""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from bot import cli, db
from bot.models import Community, Membership
from bot.slack.emulator import SlackEmulator
from tests.catalogue import FR
from tests.conftest import SIGNING_SECRET
from tests.perf.common import free_port, signed_command


def run_cop(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("COP_WORKSPACE")}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env={**clean, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
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


@pytest.mark.slow
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
    assert again.stdout.strip() == "0 created, 0 updated, 2 unchanged, 0 line(s) skipped"
    csv_path.write_text(
        "name;channel_id;kind;language;leaders;sponsor\n"
        "Data Science;C0DATA;piloted;en;U0LUCAS U0CHLOE;U0HUGO\n"
        "Agilité;C0AGILE;;;U0LEA U0NATHAN;\n",  # a second leader
        encoding="utf-8",
    )
    changed = await asyncio.to_thread(
        run_cop, "communities", "import", str(csv_path), env=env, cwd=tmp_path
    )  # no --workspace: the only one in the database
    assert changed.stdout.strip() == "0 created, 1 updated, 1 unchanged, 0 line(s) skipped"
    engine = db.make_engine(database_url)
    async with engine.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(Community)) == 2
        assert await conn.scalar(sa.select(sa.func.count()).select_from(Membership)) == 5
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


# --- the CLI speaks for itself -----------------------------------------------------------------


def test_every_option_says_what_it_is_for() -> None:
    """`cop X --help` explains every option and argument (the demo's own are the demo's)."""
    silent = []

    def walk(parser: argparse.ArgumentParser, path: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    if name != "demo":
                        walk(child, f"{path} {name}")
            elif not action.help:
                silent.append(f"{path} {'/'.join(action.option_strings) or action.dest}")

    walk(cli.build_parser(), "cop")
    assert silent == []


def test_version(tmp_path: Path) -> None:
    result = run_cop("--version", env={}, cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip() == f"cop {version('cop-bot')}"


PROGRAMME = "name;channel_id;leaders\nData Science;C0DATA;U0LUCAS\nAgilité;C0AGILE;\n"


def _import(tmp_path: Path, env: dict[str, str], workspace: str, text: str = PROGRAMME) -> None:
    path = tmp_path / f"{workspace}.csv"
    path.write_text(text, encoding="utf-8")
    result = run_cop(
        "communities", "import", str(path), "--workspace", workspace, env=env, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
async def test_communities_list_health_of_one_and_by_status(
    tmp_path: Path, database_url: str
) -> None:
    env = {"COP_DATABASE_URL": database_url}
    await asyncio.to_thread(_import, tmp_path, env, "T0COP")
    listed = await asyncio.to_thread(run_cop, "communities", "list", env=env, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["slug", "name", "channel", "kind", "stage", "status", "members"]
    assert lines[1].split() == [
        "agilite",
        "Agilité",
        "C0AGILE",
        "spontaneous",
        "launch",
        "active",
        "0",
    ]
    assert lines[2].split() == [
        "data-science",
        "Data",
        "Science",
        "C0DATA",
        "spontaneous",
        "launch",
        "active",
        "1",
    ]

    one = await asyncio.to_thread(
        run_cop, "health", "agilite", "--lang", "en", env=env, cwd=tmp_path
    )
    assert one.returncode == 0, one.stderr
    assert "Agilité" in one.stdout and "Data Science" not in one.stdout
    unknown = await asyncio.to_thread(run_cop, "health", "nope", env=env, cwd=tmp_path)
    assert unknown.returncode == 2
    assert unknown.stderr.strip() == (
        "cop: health: no community 'nope'; the communities are: agilite, data-science"
    )

    # both were created minutes ago: starting, each with its first step, not at risk yet
    starting = await asyncio.to_thread(
        run_cop, "health", "--status", "starting", "--lang", "en", env=env, cwd=tmp_path
    )
    assert starting.returncode == 0, starting.stderr
    lines = starting.stdout.splitlines()
    assert lines[0].endswith("starting: 2")
    assert sorted(line.split()[0] for line in lines[1:]) == ["agilite", "data-science"]
    at_risk = await asyncio.to_thread(
        run_cop, "health", "--status", "at-risk", "--lang", "en", env=env, cwd=tmp_path
    )
    assert at_risk.returncode == 0, at_risk.stderr
    assert at_risk.stdout.splitlines() == ["🟠 at risk: 0"]


@pytest.mark.slow
async def test_rituals_run_without_a_community_names_them(
    tmp_path: Path, database_url: str
) -> None:
    env = {"COP_DATABASE_URL": database_url}
    await asyncio.to_thread(_import, tmp_path, env, "T0COP")
    result = await asyncio.to_thread(run_cop, "rituals", "run", "welcome", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "cop: rituals run: --community: missing; the communities are: agilite, data-science"
    )


async def test_rituals_run_sponsor_digest_for_a_community_without_a_sponsor_sends_nothing(
    tmp_path: Path, database_url: str
) -> None:
    env = {"COP_DATABASE_URL": database_url}
    await asyncio.to_thread(_import, tmp_path, env, "T0COP")
    result = await asyncio.to_thread(
        run_cop, "rituals", "run", "sponsor_digest", "--community", "agilite", env=env, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "sponsor_digest for agilite: no sponsor"
    status = await asyncio.to_thread(run_cop, "rituals", "status", env=env, cwd=tmp_path)
    assert status.stdout.strip() == "outbox empty"


@pytest.mark.slow
async def test_the_workspace_is_found_or_the_known_ones_named(
    tmp_path: Path, database_url: str
) -> None:
    env = {"COP_DATABASE_URL": database_url}
    await asyncio.to_thread(_import, tmp_path, env, "T0ALPHA")
    alone = await asyncio.to_thread(run_cop, "communities", "list", env=env, cwd=tmp_path)
    assert alone.returncode == 0, alone.stderr
    assert "agilite" in alone.stdout  # the only workspace: no --workspace needed

    await asyncio.to_thread(_import, tmp_path, env, "T0BETA", "name;channel_id\nDevOps;C0OPS\n")
    which = await asyncio.to_thread(run_cop, "communities", "list", env=env, cwd=tmp_path)
    assert which.returncode == 2
    assert which.stderr.strip() == (
        "cop: the database holds 2 workspaces, T0ALPHA, T0BETA; "
        "choose one with --workspace or COP_WORKSPACE_ID"
    )
    chosen = await asyncio.to_thread(
        run_cop, "communities", "list", env={**env, "COP_WORKSPACE_ID": "T0BETA"}, cwd=tmp_path
    )
    assert chosen.returncode == 0, chosen.stderr
    assert "devops" in chosen.stdout and "agilite" not in chosen.stdout
    wrong = await asyncio.to_thread(
        run_cop, "health", "--workspace", "T0COP", env=env, cwd=tmp_path
    )
    assert wrong.returncode == 2
    assert wrong.stderr.strip() == (
        "cop: --workspace: no workspace 'T0COP' in the database; it knows T0ALPHA, T0BETA"
    )


async def test_health_filters_every_community_into_a_table_csv_or_xlsx(
    tmp_path: Path, database_url: str
) -> None:
    """`cop health --sponsor … --format csv`: a French CSV opens as columns in a French Excel
    (semicolons, decimal comma); --dialect en or --lang en gives commas and points."""
    import csv
    import io
    from datetime import timedelta

    from openpyxl import load_workbook

    from bot import activity, communities, people
    from bot.models import Role, utcnow
    from bot.ports import UserInfo

    env = {"COP_DATABASE_URL": database_url}
    await asyncio.to_thread(_import, tmp_path, env, "T0COP")
    engine = db.make_engine(database_url)
    try:
        async with db.make_sessionmaker(engine).begin() as session:
            data = await communities.by_slug(session, workspace_id="T0COP", slug="data-science")
            assert data is not None
            for uid, name in (("U0HUGO", "Hugo Thomas"), ("U0CHLOE", "Chloé Dubois")):
                await people.upsert(
                    session,
                    workspace_id="T0COP",
                    info=UserInfo(uid, uid.lower(), name, None, None, False, False),
                )
            await communities.sync_members(
                session, community=data, member_ids=("U0LUCAS", "U0HUGO", "U0CHLOE")
            )
            await communities.set_role(
                session, community=data, slack_user_id="U0HUGO", role=Role.SPONSOR
            )
            await activity.add(
                session,
                workspace_id="T0COP",
                tallies=[activity.Tally(data.id, "U0LUCAS", utcnow().date() - timedelta(days=1))],
            )
    finally:
        await engine.dispose()

    def cop(*args: str) -> subprocess.CompletedProcess[str]:
        return run_cop("health", *args, env=env, cwd=tmp_path)

    table = await asyncio.to_thread(cop, "--sponsor", "hugo", "--lang", "en")
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[0] == "1 matching community, most worrying first:"
    assert table.stdout.splitlines()[1].startswith("data-science  Data Science: ")

    french = await asyncio.to_thread(cop, "--sponsor", "U0HUGO", "--format", "csv", "--lang", "fr")
    assert french.returncode == 0, french.stderr
    rows = list(csv.reader(io.StringIO(french.stdout.lstrip("\ufeff")), delimiter=";"))
    assert rows[0][:2] == ["Communauté", "État"]
    assert [r[0] for r in rows[1:]] == ["Data Science"]
    rate = rows[1][rows[0].index(FR("health.col.active_rate"))]
    assert rate == "0,3333"  # 1 active out of 3 members, with a decimal comma

    out = tmp_path / "all.csv"
    english = await asyncio.to_thread(
        cop, "--format", "csv", "--dialect", "en", "--lang", "fr", "--output", str(out)
    )
    assert english.returncode == 0, english.stderr
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert sorted(r[0] for r in rows[1:]) == ["Agilité", "Data Science"]
    assert "0.3333" in rows[[r[0] for r in rows].index("Data Science")]

    xlsx = tmp_path / "piloted.xlsx"
    none = await asyncio.to_thread(
        cop, "--kind", "piloted", "--format", "xlsx", "--output", str(xlsx)
    )
    assert none.returncode == 0, none.stderr
    sheet = load_workbook(xlsx).active
    assert sheet is not None and sheet.max_row == 1  # the headers, no community is piloted

    unknown = await asyncio.to_thread(cop, "--sponsor", "nobody")
    assert unknown.returncode == 2
    assert unknown.stderr.strip() == "cop: health: no sponsor matches 'nobody'"
    both = await asyncio.to_thread(cop, "agilite", "--format", "csv")
    assert both.returncode == 2 and "not both" in both.stderr
