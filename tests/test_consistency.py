"""The same figure reads the same everywhere: unique members on the Home and in /cop health
(deactivated people out, erased ones still counted), a charter's state on the Home and in
/cop health, a community created minutes ago "starting", and "Messages" in the value report's
card and its XLSX (top-level messages, replies apart)."""

from __future__ import annotations

import asyncio
import csv
import html
import io
import re
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from bot import activity, charters, cli, db, figures, kpis, periods, privacy
from bot.charters import CharterDraft
from bot.disclosure import Rule
from bot.messages import Reader
from bot.models import (
    Community,
    Person,
    Poll,
    PollResponse,
    PollStatus,
    StoryStatus,
    SuccessStory,
    utcnow,
)
from bot.slack.messages import render
from bot.slack.render import render_message
from rituals import snapshots, sponsor_digest
from tests import factories
from tests.catalogue import ANY, FR, in_json, shows
from tests.conftest import MANAGER, Bot, eventually
from tests.dashboard_programme import ask, dashboard_link, seed
from tests.factories import WORKSPACE
from tests.test_home import home_of, text_of

LEADER = "U0LUCAS"


async def answer(bot: Bot, text: str, *, user: str, channel: str) -> str:
    before = len(bot.emulator.responses)
    response = await bot.slack.command(text, user=user, channel=channel)
    assert response.status_code == 200
    replies = await eventually(lambda: bot.emulator.responses[before:])
    return render_message(replies[-1])


def home_unique_members(view: dict[str, Any]) -> int:
    found = re.search(re.escape(FR("figure.members_unique")) + r" : (\d+)", text_of(view))
    assert found, text_of(view)
    return int(found.group(1))


def health_unique_members(text: str) -> int:
    found = re.search(r"(\d+) personnes? uniques?", text)
    assert found, text
    return int(found.group(1))


async def test_home_and_health_count_the_same_people(bot: Bot) -> None:
    # Data Science: Camille, Lucas, Chloé, Hugo, Emily · Agilité: Camille, Léa, Nathan, Manon,
    # James — nine people, Camille in both
    await factories.community(bot.sessions, emulator=bot.emulator, leaders=(LEADER,), age_days=45)
    await factories.community(
        bot.sessions, emulator=bot.emulator, channel="C0AGILE", name="Agilité", age_days=45
    )
    await snapshots.run_for(bot.deps)  # the daily job ran this morning: /cop health reads it
    assert home_unique_members(await home_of(bot, MANAGER)) == 9
    # later that day Chloé's account is deactivated, and Emily asks to be erased
    await bot.slack.event(bot.emulator.deactivate("U0CHLOE"))

    async def deactivated() -> bool:
        async with bot.sessions() as session:
            return bool(
                await session.scalar(
                    sa.select(Person.deleted).where(Person.slack_user_id == "U0CHLOE")
                )
            )

    await eventually(deactivated)
    async with bot.sessions.begin() as session:
        await privacy.erase(session, workspace_id=WORKSPACE, slack_user_id="U0EMILY")
    # deactivated: out of every count; erased: still a member (docs/privacy.md), now nameless
    home = home_unique_members(await home_of(bot, MANAGER))
    programme = await answer(bot, "santé", user=MANAGER, channel="C0GEN")
    assert home == health_unique_members(programme) == 8
    assert FR("health.totals_members", unique=8, summed=9, communities=2) in programme
    community = await answer(bot, "santé", user=LEADER, channel="C0DATA")
    assert "*Ce mois-ci :* 4 membres" in community  # Camille, Lucas, Hugo and Emily's tombstone
    assert "sur 4 en 8 semaines" in programme  # the ranked row says the same


async def test_the_charter_reads_the_same_on_the_home_and_in_health(bot: Bot) -> None:
    community = await factories.community(
        bot.sessions, emulator=bot.emulator, leaders=(LEADER,), age_days=45
    )
    year = bot.deps.today().year

    async def save(draft: CharterDraft) -> None:
        async with bot.sessions.begin() as session:
            await charters.save(
                session,
                workspace_id=WORKSPACE,
                community_id=community.id,
                author_slack_user_id=LEADER,
                draft=draft,
            )

    async def both() -> tuple[str, str]:
        home = text_of(await home_of(bot, LEADER))
        return home, await answer(bot, "santé", user=LEADER, channel="C0DATA")

    to_review = in_json(FR("home.charter_to_review"))
    home, health = await both()  # no charter
    assert to_review in home and FR("health.reason.no_charter") in health
    assert "chartes à jour : 0/1" in health.lower()

    await save(CharterDraft(mission="Faire grandir la data."))  # a draft: no objectives
    home, health = await both()
    assert to_review in home and FR("health.reason.charter_draft") in health
    assert "chartes à jour : 0/1" in health.lower()

    await save(CharterDraft(mission="m", objectives=("Un guide",), objectives_year=year - 1))
    home, health = await both()
    unwrapped = " ".join(health.split())  # the rendered text wraps long lines
    assert to_review in home and shows(unwrapped, FR, "health.reason.charter_stale", day=ANY)
    assert "chartes à jour : 0/1" in health.lower()

    await save(CharterDraft(mission="m", objectives=("Un guide",), objectives_year=year))
    home, health = await both()
    assert to_review not in home and "charte" not in health.split("Pourquoi")[1].split("→")[0]
    assert "chartes à jour : 1/1" in health.lower()


async def test_a_community_created_minutes_ago_is_starting_with_a_first_step(bot: Bot) -> None:
    created = await answer(bot, "community create Data Science", user=MANAGER, channel="C0DATA")
    assert shows(
        created, FR, "community.created", name="Data Science", slug="data-science", members=ANY
    )
    # the channel's five people are members, nobody has spoken yet, there is no charter
    view = await answer(bot, "santé", user=MANAGER, channel="C0DATA")
    assert FR("health.status.starting") in view and FR("health.status.at_risk") not in view
    assert FR("health.reason.starting", days=0) in view
    assert f"→ {FR('health.action.first_charter')}" in view

    overview = await answer(bot, "santé tout", user=MANAGER, channel="C0GEN")
    assert "0 à risque" in overview and "1 en démarrage" in overview
    assert "seulement 0 membre actif" not in overview


def test_messages_mean_the_same_in_the_report_card_and_its_xlsx(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def seed() -> int:
        engine = db.make_engine(database_url)
        sessions = db.make_sessionmaker(engine)
        community = await factories.community(sessions, members=("U0LUCAS",))
        today = datetime.now(ZoneInfo("Europe/Paris")).date()  # the default programme's zone
        async with sessions.begin() as session:
            await activity.add(
                session,
                workspace_id=WORKSPACE,
                tallies=[activity.Tally(community.id, "U0LUCAS", today, messages=3, replies=2)],
            )
        await engine.dispose()
        return today.year

    year = asyncio.run(seed())
    monkeypatch.setenv("COP_DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["report", "--period", str(year), "--format", "html"]) == 0
    assert cli.main(["report", "--period", str(year), "--format", "xlsx"]) == 0
    page = (tmp_path / f"value-report-{year}.html").read_text()
    found = re.findall(r'<div class="card"><b>([^<]*)</b>([^<]*)</div>', page)
    cards = {label: value for value, label in found}
    book = load_workbook(io.BytesIO((tmp_path / f"value-report-{year}.xlsx").read_bytes()))
    sheet = {r[0]: r[1] for r in book["Programme"].iter_rows(min_row=2, values_only=True)}
    messages, replies = FR("figure.messages"), FR("figure.replies")
    assert cards[messages] == str(sheet[messages]) == "3"  # top-level messages
    assert cards[replies] == str(sheet[replies]) == "2"  # replies apart
    communities = list(book["Communautés"].iter_rows(values_only=True))
    column = communities[0].index(messages)
    assert communities[1][column] == 3


async def _closed_poll(session: Any, community: Community, answers: Any) -> None:
    """A pulse opened and closed a minute ago, with these (value, recommend) answers."""
    now = utcnow()
    poll = Poll(
        workspace_id=WORKSPACE,
        community_id=community.id,
        period_key="test",
        opens_at=now - timedelta(minutes=1),
        closes_at=now,
        status=PollStatus.CLOSED,
    )
    session.add(poll)
    await session.flush()
    for i, (value, recommend) in enumerate(answers):
        session.add_all(
            [
                PollResponse(
                    workspace_id=WORKSPACE,
                    poll_id=poll.id,
                    ballot=f"b{i}",
                    question_key=key,
                    score=score,
                )
                for key, score in (("value", value), ("recommend", recommend))
            ]
        )


def flat(text: str) -> str:
    """Text with its line wrapping undone (the rendered Slack text wraps long lines)."""
    return " ".join(text.split())


def _cards(page: str) -> dict[str, str]:
    """The HTML report's cards: name → value as written."""
    found = re.findall(r'<div class="card"><b>([^<]*)</b>([^<]*)</div>', page)
    return {html.unescape(label): html.unescape(value) for value, label in found}


def _dashboard_totals(page: str) -> dict[str, str]:
    found = re.findall(r"<li><b>([^<]+)</b>([^<(]+)", page)
    return {html.unescape(label).strip(): value for value, label in found}


def _dashboard_row(page: str, slug: str) -> dict[str, str]:
    row = page.split(f'data-slug="{slug}"', 1)[1].split("</tr>", 1)[0]
    return dict(re.findall(r'data-figure="(\w+)"[^>]*>([^<]*)<', row))


async def test_every_surface_reads_the_same_figures(
    bot: Bot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One programme, read from /cop health (programme and a community, over HTTP), the Home,
    the report's CSV, XLSX and HTML (`cop report`), `cop health --format csv`, the dashboard
    and the sponsor digest: the same figure, under the same name, has the same value; the value
    is what bot.kpis computed."""
    await seed(bot)
    async with bot.sessions.begin() as session:
        data = await session.scalar(sa.select(Community).where(Community.slug == "data-science"))
        assert data is not None
        session.add(
            SuccessStory(
                workspace_id=WORKSPACE,
                community_id=data.id,
                title="Un pipeline partagé",
                benefit="deux jours gagnés",
                status=StoryStatus.VALIDATED,
                value_amount=Decimal("16"),
                value_unit="hours",
            )
        )
        # a closed pulse: five answers in Data Science (shown), two in Agilité (withheld)
        agile = await session.scalar(sa.select(Community).where(Community.slug == "agilite"))
        assert agile is not None
        await _closed_poll(session, data, ((4, 10), (5, 9), (3, 5), (4, 8), (4, 10)))
        await _closed_poll(session, agile, ((1, 0), (2, 3)))
    deps, today = bot.deps, bot.deps.today()
    tz = deps.programme.timezone
    month = periods.to_date(periods.Period.MONTH, today, tz)
    common: dict[str, Any] = {
        "workspace_id": WORKSPACE,
        "question_kinds": {q.key: q.kind for q in deps.programme.rituals.pulse.questions},
        "rule": Rule.of(deps.programme),
    }
    async with bot.sessions() as session:
        truth = await kpis.compute(session, window=month, **common)
        # /cop health's engagement line: surveys over the year to date (polls are not monthly)
        year = await kpis.compute(
            session, window=periods.to_date(periods.Period.YEAR, today, tz), **common
        )
    p = truth.programme
    c = next(k for k in truth.communities if k.slug == "data-science")
    c_year = next(k for k in year.communities if k.slug == "data-science")
    # the n of a survey figure: five answers, from one community of the four
    pulse = FR(
        "health.with_n_programme", value=f"{FR.number(4.0)} / 5", answers=5, communities=1, of=4
    )
    assert figures.survey(FR, p, "pulse", of=p.communities) == pulse
    assert figures.survey(FR, year.programme, "pulse", of=p.communities) == pulse
    withheld = FR("health.withheld.too_few", answers=2)
    agile_year = next(k for k in year.communities if k.slug == "agilite")
    assert figures.survey(FR, agile_year, "pulse") == withheld
    assert p.communities == 4 and p.members_unique < p.members_summed and c.messages and c.replies
    n = FR.number

    def name(key: str) -> str:
        return FR(f"figure.{key}")

    # /cop health, the programme (over signed HTTP, as Slack sends it)
    programme = flat(render_message(await ask(bot, "santé", user=MANAGER)))
    assert (
        flat(
            FR(
                "health.totals_members",
                unique=n(p.members_unique),
                summed=n(p.members_summed),
                communities=n(p.communities),
            )
        )
        in programme
    )
    assert (
        flat(
            FR(
                "health.totals_activity",
                messages=n(p.messages),
                replies=n(p.replies),
                reactions=n(p.reactions),
                events=n(p.events_held),
                attendance=n(p.attendance),
            )
        )
        in programme
    )
    assert shows(programme, FR, "health.totals_value", stories=n(p.stories), values=ANY)
    assert f"{name('pulse')} : {pulse}" in programme
    # /cop health, one community, asked by its leader in its channel
    community = flat(render_message(await ask(bot, "santé", user="U0LUCAS", channel="C0DATA")))
    assert (
        flat(
            FR(
                "health.community_figures",
                members=n(c.members),
                new=n(c.new_members),
                departed=n(c.departed_members),
                active=n(c.active_members),
                rate=FR.percent(c.active_rate or 0),
                messages=n(c.messages),
                replies=n(c.replies),
                reactions=n(c.reactions),
                events=n(c.events_held),
            )
        )
        in community
    )
    assert f"{name('pulse')} : {figures.survey(FR, c_year, 'pulse')}" in community
    agile_health = flat(render_message(await ask(bot, "santé agilite", user=MANAGER)))
    assert f"{name('pulse')} : {withheld}" in agile_health
    # the Home of a programme manager
    assert home_unique_members(await home_of(bot, MANAGER)) == p.members_unique

    # the CLI on the same database: the report for this month (to date), and cop health
    monkeypatch.setenv("COP_DATABASE_URL", deps.config.settings.database_url)
    monkeypatch.chdir(tmp_path)
    for fmt in ("html", "csv", "xlsx"):
        args = ["report", "--period", month.label, "--format", fmt, "--lang", "fr"]
        assert await asyncio.to_thread(cli.main, [*args, "--out", f"r.{fmt}"]) == 0
    args = ["health", "--format", "csv", "--lang", "fr", "--output", "h.csv"]
    assert await asyncio.to_thread(cli.main, args) == 0

    book = load_workbook(io.BytesIO((tmp_path / "r.xlsx").read_bytes()))
    sheet = {r[0]: r[1] for r in book["Programme"].iter_rows(min_row=2, values_only=True)}
    rows = list(book["Communautés"].iter_rows(values_only=True))
    xlsx_row = dict(zip(rows[0], next(r for r in rows if r[0] == "Data Science"), strict=True))
    table = list(
        csv.reader(io.StringIO((tmp_path / "r.csv").read_text("utf-8-sig")), delimiter=";")
    )
    csv_row = dict(zip(table[0], next(r for r in table if r[0] == "Data Science"), strict=True))
    cards = _cards((tmp_path / "r.html").read_text(encoding="utf-8"))
    health_csv = list(
        csv.reader(io.StringIO((tmp_path / "h.csv").read_text("utf-8-sig")), delimiter=";")
    )
    health_row = dict(
        zip(health_csv[0], next(r for r in health_csv if r[0] == "Data Science"), strict=True)
    )

    for key, value in (
        ("communities", p.communities),
        ("members_unique", p.members_unique),
        ("members_summed", p.members_summed),
        ("active_members", p.active_members),
        ("messages", p.messages),
        ("replies", p.replies),
        ("reactions", p.reactions),
        ("stories", p.stories),
    ):
        assert sheet[name(key)] == value, key
        if name(key) in cards:
            assert cards[name(key)] == n(value), key
    assert {name(k) for k in ("members_unique", "messages", "replies", "stories")} <= set(cards)
    assert cards[name("pulse")] == pulse
    assert sheet[FR("report.kpi.answers", figure=name("pulse"))] == 5
    assert sheet[FR("report.kpi.answer_communities", figure=name("pulse"))] == 1
    for key, value in (
        ("members", c.members),
        ("active_members", c.active_members),
        ("messages", c.messages),
        ("replies", c.replies),
        ("stories", c.stories),
    ):
        assert xlsx_row[name(key)] == value, key
        assert csv_row[name(key)] == str(value), key
    assert health_row[name("members")] == str(c.members)

    # the dashboard, through the link /cop health gives
    async with httpx.AsyncClient() as client:
        reply = await ask(bot, "santé", user=MANAGER)
        page = (await client.get(dashboard_link(bot, reply))).text
        reply = await ask(bot, "santé", user="U0LUCAS", channel="C0DATA")
        data_page = (await client.get(dashboard_link(bot, reply))).text
    assert f'data-figure="pulse">{figures.survey(FR, c_year, "pulse")}<' in html.unescape(data_page)
    assert f'data-figure="members">{n(c.members)}<' in data_page
    totals = _dashboard_totals(html.unescape(page))
    assert totals[name("communities")] == n(p.communities)
    assert totals[name("members_unique")] == n(p.members_unique)
    assert totals[name("active_members")] == n(p.active_members)
    assert totals[name("messages")] == n(p.messages)
    assert totals[name("stories")] == n(p.stories)
    row = _dashboard_row(page, "data-science")
    assert row["members"] == n(c.members) and row["active"] == n(c.active_members)
    assert row["messages"] == n(c.messages) and row["stories"] == n(c.stories)

    # the sponsor digest, for the same window: the programme's and Data Science's
    async with bot.sessions() as session:
        digest = await sponsor_digest.for_programme(
            session, deps, workspace_id=WORKSPACE, window=month, now=utcnow()
        )
        data_digest = await sponsor_digest.for_community(
            session, deps, community=data, window=month, now=utcnow()
        )
    assert data_digest is not None
    text = flat(render_message({"blocks": render(digest, Reader("fr"))[1]}))
    for key, value in (
        ("communities", p.communities),
        ("members_unique", p.members_unique),
        ("members_summed", p.members_summed),
        ("active_members", p.active_members),
        ("stories", p.stories),
    ):
        assert f"*{name(key)} :* {n(value)}" in text, key
    assert f"{n(p.messages)} messages, {n(p.replies)} réponses" in text
    assert f"*{name('pulse')} :* {pulse}" in text
    text = flat(render_message({"blocks": render(data_digest, Reader("fr"))[1]}))
    assert f"*{name('members')} :* {n(c.members)}" in text
    assert f"*{name('active_members')} :* {n(c.active_members)}" in text
    assert f"*{name('stories')} :* {n(c.stories)}" in text
