"""One programme on Slack and Microsoft Teams at once (app.yaml `workspaces`, bot/programme.py):
the programme's views — the KPIs, `/cop health`, the dashboard, `cop report` — list the
communities of both, count someone with an account on each once (same e-mail, any case), and a
leader's view of their own community shows nothing of the other platform."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import activity, cli, db, disclosure, kpis, people, periods, privacy, programme
from bot.config import ConfigError, Programme
from bot.models import Person, utcnow
from bot.ports import UserInfo
from bot.slack.blocks import health as blocks
from bot.slack.emulator import SlackEmulator
from bot.slack.render import render_message
from tests import factories
from tests.conftest import MANAGER, eventually, make_config, running_bot
from tests.dashboard_programme import ask, dashboard_link, health_figures
from tests.factories import WORKSPACE
from tests.test_handlers_health import click, rows, shown

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"  # a Teams workspace is its tenant's GUID
LINKED = [WORKSPACE, TENANT]
TEAMS_CHANNEL = "19:cloud@thread.tacv2"
RULE = disclosure.Rule(min_answers=5)

# Slack: Data Science (Lucas, Chloé) · Teams: Cloud (Lucas again, with his Teams account and
# his e-mail in capitals, Nadia, Omar whose e-mail Teams did not give)
SLACK_PEOPLE = {"U0LUCAS": "lucas.martin@contoso.example", "U0CHLOE": "chloe@contoso.example"}
TEAMS_PEOPLE = {
    "29:1lucas": "Lucas.Martin@Contoso.example",
    "29:1nadia": "nadia@contoso.example",
    "29:1omar": None,
}


async def seed(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    for workspace_id, who in ((WORKSPACE, SLACK_PEOPLE), (TENANT, TEAMS_PEOPLE)):
        async with sessions.begin() as session:
            await people.ensure_workspace(session, workspace_id)
            for uid, email in who.items():
                name = uid.removeprefix("29:1").removeprefix("U0").lower()
                await people.upsert(
                    session,
                    workspace_id=workspace_id,
                    info=UserInfo(
                        uid, name, name.title(), "Europe/Paris", "fr-FR", False, False, email
                    ),
                )
    data = await factories.community(
        sessions, channel="C0DATA", members=tuple(SLACK_PEOPLE), leaders=("U0LUCAS",), age_days=60
    )
    cloud = await factories.community(
        sessions,
        channel=TEAMS_CHANNEL,
        name="Cloud Teams",
        members=tuple(TEAMS_PEOPLE),
        leaders=("29:1nadia",),
        age_days=60,
        workspace_id=TENANT,
    )
    today = utcnow().date()
    async with sessions.begin() as session:
        for workspace_id, community, who in (
            (WORKSPACE, data, SLACK_PEOPLE),
            (TENANT, cloud, TEAMS_PEOPLE),
        ):
            await activity.add(
                session,
                workspace_id=workspace_id,
                tallies=[
                    activity.Tally(community.id, uid, today - timedelta(days=d), messages=1)
                    for uid in who
                    for d in (0, 1)
                ],
            )
    return data.id, cloud.id


async def month(sessions: async_sessionmaker[AsyncSession], workspaces: object) -> kpis.WindowKpis:
    async with sessions() as session:
        return await kpis.compute(
            session,
            workspace_id=workspaces,  # type: ignore[arg-type]
            window=periods.to_date(periods.Period.MONTH, utcnow().date(), "UTC"),
            rule=RULE,
        )


async def test_a_person_on_slack_and_teams_is_one_unique_member(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await seed(sessions)
    both = await month(sessions, programme.linked(WORKSPACE, LINKED))
    assert [c.name for c in both.communities] == ["Cloud Teams", "Data Science"]
    assert both.programme.members_summed == 5
    # Lucas is on both platforms under one e-mail (different case): counted once; Omar, whose
    # e-mail Teams did not give, counts as himself
    assert both.programme.members_unique == 4
    assert both.programme.active_members == 4
    assert both.programme.overlap == {"1": 3, "2": 1, "3+": 0}
    # the same programme seen from the Teams side
    assert (await month(sessions, programme.linked(TENANT, LINKED))).programme.members_unique == 4
    # a workspace not linked is a programme of its own
    alone = await month(sessions, programme.linked(WORKSPACE, []))
    assert [c.name for c in alone.communities] == ["Data Science"]
    assert alone.programme.members_unique == 2


def test_app_yaml_workspaces_must_be_slack_team_ids_or_tenant_guids() -> None:
    assert Programme.model_validate({"name": "P", "workspaces": LINKED}).workspaces == LINKED
    for wrong in (["U0LUCAS"], ["not-a-guid"], [WORKSPACE, WORKSPACE]):
        with pytest.raises(ValueError, match="workspace"):
            Programme.model_validate({"name": "P", "workspaces": wrong})


async def test_the_health_overview_and_dashboard_list_both_platforms_communities(
    database_url: str, emulator: SlackEmulator
) -> None:
    config = make_config(database_url, emulator, workspaces=LINKED)
    async with running_bot(config, emulator) as bot:
        await seed(bot.sessions)
        reply = await ask(bot, "santé", user=MANAGER)
        text = render_message(reply)
        assert "Data Science" in text and "Cloud Teams" in text, text
        # the Teams community is tagged in Slack
        assert any("Cloud Teams" in line and "`Teams`" in line for line in text.splitlines()), text
        # Lucas, on both platforms under one e-mail, is one person
        assert "4 personnes uniques, 5 inscriptions cumulées dans 2 communautés" in text, text
        async with httpx.AsyncClient() as http:
            page = await http.get(dashboard_link(bot, reply))
        assert page.status_code == 200
        assert ">Data Science</a>" in page.text and ">Cloud Teams</a>" in page.text
        # each community says where it lives
        assert 'data-platform="teams">Teams<' in page.text
        assert 'data-platform="slack">Slack<' in page.text


async def test_a_manager_opens_a_teams_community_from_slacks_overview(
    database_url: str, emulator: SlackEmulator
) -> None:
    config = make_config(database_url, emulator, workspaces=LINKED)
    async with running_bot(config, emulator) as bot:
        await seed(bot.sessions)
        first = await ask(bot, "santé", user=MANAGER)
        listed = rows(first)
        assert set(listed) == {"Data Science", "Cloud Teams"}
        view = await click(
            bot, shown(bot, first), blocks.OPEN_COMMUNITY, value=listed["Cloud Teams"]
        )
        text = render_message(view)
        assert "Santé de la communauté « Cloud Teams »" in text
        assert health_figures(view)["members"] == "3"
        # Chloé, a member on Slack, may not
        refused = await click(
            bot,
            shown(bot, first),
            blocks.OPEN_COMMUNITY,
            user="U0CHLOE",
            value=listed["Cloud Teams"],
        )
        assert "Cloud Teams" not in render_message(refused) and not refused.get("blocks")


async def test_a_leaders_own_view_shows_nothing_of_the_other_platform(
    database_url: str, emulator: SlackEmulator
) -> None:
    config = make_config(database_url, emulator, workspaces=LINKED)
    async with running_bot(config, emulator) as bot:
        _, cloud_id = await seed(bot.sessions)
        reply = await ask(bot, "santé", user="U0LUCAS", channel="C0DATA")
        text = render_message(reply)
        assert "Data Science" in text and "Cloud Teams" not in text, text
        # nor by naming it: the Teams community is not one of this workspace's
        other = render_message(await ask(bot, "santé cloud-teams", user="U0LUCAS"))
        assert "Cloud Teams" not in other
        async with httpx.AsyncClient() as http:
            link = dashboard_link(bot, reply)
            page = await http.get(link)
            assert page.status_code == 200 and "Cloud Teams" not in page.text
            token = link.split("?", 1)[1]
            refused = await http.get(f"{bot.url}/dashboard/c/{cloud_id}?{token}")
            assert refused.status_code == 403 and "Cloud Teams" not in refused.text


async def seed_at(database_url: str) -> None:
    engine = db.make_engine(database_url)
    try:
        await db.upgrade(engine)
        await seed(db.make_sessionmaker(engine))
    finally:
        await engine.dispose()


def test_cop_report_covers_the_linked_workspaces(
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    asyncio.run(seed_at(database_url))  # `cop` runs its own event loop
    monkeypatch.setenv("COP_DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "linked.yaml").write_text(
        f"name: Programme test\nworkspaces: [{WORKSPACE}, {TENANT}]\n", encoding="utf-8"
    )
    (tmp_path / "alone.yaml").write_text("name: Programme test\n", encoding="utf-8")
    monkeypatch.setenv("COP_CONFIG", str(tmp_path / "linked.yaml"))
    period = f"{utcnow().year}"
    assert cli.main(["report", "--period", period, "--format", "csv", "--out", "r.csv"]) == 0
    table = (tmp_path / "r.csv").read_text(encoding="utf-8-sig")
    assert "Data Science" in table and "Cloud Teams" in table
    # each community's platform, in a column of its own
    lines = table.splitlines()
    assert lines[0].split(";")[:2] == ["Communauté", "Plateforme"], lines[0]
    assert any(line.startswith("Cloud Teams;Teams;") for line in lines), table
    assert any(line.startswith("Data Science;Slack;") for line in lines), table
    capsys.readouterr()
    assert cli.main(["health"]) == 0
    shown = capsys.readouterr().out
    assert "Data Science" in shown and "Cloud Teams" in shown
    assert "4 personnes uniques" in shown
    # the filtered table of the programme (every status) covers both too
    assert cli.main(["health", "--kind", "spontaneous", "--format", "csv", "--out", "h.csv"]) == 0
    listed = (tmp_path / "h.csv").read_text(encoding="utf-8-sig")
    assert "Data Science" in listed and "Cloud Teams" in listed
    # not linked: two unrelated workspaces, the operator must choose one (never both mixed)
    monkeypatch.setenv("COP_CONFIG", str(tmp_path / "alone.yaml"))
    capsys.readouterr()
    assert cli.main(["report", "--period", period, "--format", "csv", "--out", "a.csv"]) == 2
    assert "choose one with --workspace" in capsys.readouterr().err
    assert (
        cli.main(
            [
                "report",
                "--period",
                period,
                "--format",
                "csv",
                "--out",
                "a.csv",
                "--workspace",
                TENANT,
            ]
        )
        == 0
    )
    table = (tmp_path / "a.csv").read_text(encoding="utf-8-sig")
    assert "Cloud Teams" in table and "Data Science" not in table


async def test_slack_gives_the_e_mail_of_the_people_the_bot_meets(
    database_url: str, emulator: SlackEmulator
) -> None:
    async with running_bot(make_config(database_url, emulator), emulator) as bot:
        await ask(bot, "aide", user="U0LEA")

        async def email() -> str | None:
            async with bot.sessions() as session:
                return await session.scalar(
                    sa.select(Person.email).where(Person.slack_user_id == "U0LEA")
                )

        name = emulator.workspace.users["U0LEA"].name
        assert await eventually(email) == f"{name}@example.com"


def test_a_bad_workspace_list_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "app.yaml").write_text("name: P\nworkspaces: [nope]\n", encoding="utf-8")
    from bot.config import load_programme

    with pytest.raises(ConfigError, match="workspaces"):
        load_programme(tmp_path / "app.yaml")


async def test_an_erased_person_keeps_no_e_mail(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await seed(sessions)
    async with sessions.begin() as session:
        await privacy.erase(session, workspace_id=WORKSPACE, slack_user_id="U0LUCAS")
    async with sessions() as session:
        emails = set(await session.scalars(sa.select(Person.email)))
    assert "lucas.martin@contoso.example" not in emails
    # his tombstone still counts (erasure removes who he was, not that he was a member); it can
    # no longer be matched with his Teams account
    both = await month(sessions, programme.linked(WORKSPACE, LINKED))
    assert both.programme.members_unique == 5
