"""The maturity compass (« la boussole ») end to end: the questionnaire modal for leaders and
core team, medians and spreads, the weakest dimensions and their actions, the radar chart, the
comparison with the previous round, the survey's extra voice, and the manager's heatmap."""

from __future__ import annotations

import json
import struct
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from bot import compass, people, report
from bot.models import CompassAssessment, CompassResponse, utcnow
from bot.slack.blocks import compass as screens
from bot.slack.blocks import health as health_blocks
from tests import factories
from tests.catalogue import EN, FR
from tests.conftest import MANAGER, Bot, eventually
from tests.factories import WORKSPACE

LEADER, CORE, SPONSOR, MEMBER = "U0LUCAS", "U0CHLOE", "U0HUGO", "U0EMILY"
ROOT = Path(__file__).resolve().parents[1]


async def setup(bot: Bot) -> int:
    data = await factories.community(
        bot.sessions, emulator=bot.emulator, leaders=(LEADER,), core=(CORE,), sponsor=SPONSOR
    )
    return data.id


async def open_modal(bot: Bot, text: str, *, user: str, channel: str = "C0DATA") -> dict[str, Any]:
    before = len(bot.emulator.calls_to("views.open"))
    await bot.slack.command(text, user=user, channel=channel)
    calls = await bot.emulator.wait_for("views.open", count=before + 1)
    return dict(calls[-1].response["view"])


def everything(level: int, **overrides: int) -> dict[str, str]:
    """Every statement answered at `level` (or as overridden: "purpose" for a dimension)."""
    values = {}
    for dim in compass.DIMENSIONS:
        for statement in dim.statements:
            values[screens.block_of(statement)] = str(overrides.get(dim.key, level))
    return values


async def answer(bot: Bot, user: str, values: dict[str, str], *, channel: str = "C0DATA") -> str:
    """Take the compass; the private answer it gets (ephemeral in the channel) as one text."""
    view = await open_modal(bot, "boussole", user=user, channel=channel)
    before = len([e for e in bot.emulator.ephemerals if e["user"] == user])
    uploads = len(bot.emulator.uploads)
    response = await bot.slack.submit_view(view["id"], user=user, values=values)
    assert response.status_code == 200 and not response.content
    found = await eventually(
        lambda: [e for e in bot.emulator.ephemerals if e["user"] == user][before:]
    )
    await eventually(lambda: len(bot.emulator.uploads) > uploads)
    return json.dumps(found[-1].get("blocks", []), ensure_ascii=False) + found[-1]["text"]


def line(t: Any, key: str, median: str, low: str | None = None, high: str | None = None) -> str:
    emoji = compass.LEVEL_EMOJI[compass.level_of(float(median.replace(",", ".")))]
    name = t(f"compass.dim.{key}")
    if low is None:
        return t("compass.dim_line_one", emoji=emoji, dimension=name, median=median)
    return t("compass.dim_line", emoji=emoji, dimension=name, median=median, low=low, high=high)


async def rows(bot: Bot) -> list[CompassResponse]:
    async with bot.sessions() as session:
        return list(await session.scalars(sa.select(CompassResponse)))


def paris(moment: datetime) -> date:
    """The day a French reader sees (their Slack zone)."""
    return moment.astimezone(ZoneInfo("Europe/Paris")).date()


def png_size(content: bytes) -> tuple[int, int]:
    assert content[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", content[16:24])
    return width, height


async def test_core_team_takes_the_compass_and_a_second_voice_moves_the_median(bot: Bot) -> None:
    await setup(bot)
    view = await open_modal(bot, "boussole", user=CORE)
    assert view["title"]["text"] == FR("compass.modal_title")
    selects = [b for b in view["blocks"] if b["type"] == "input"]
    assert len(selects) == len(compass.STATEMENTS) and len(view["blocks"]) <= 100
    labels = {b["label"]["text"] for b in selects}
    assert FR("compass.stmt.members.core") in labels
    options = [o["text"]["text"] for o in selects[0]["element"]["options"]]
    assert options == [f"{n} · {FR(f'compass.level.{n}')}" for n in (1, 2, 3, 4)]
    # Chloé: everything « en construction », the value dimension « pas encore »
    text = await answer(bot, CORE, everything(2, value=1))
    assert FR("compass.saved", name="Data Science") in text
    assert line(FR, "purpose", "2") in text and line(FR, "value", "1") in text
    assert FR("compass.first_round") in text
    # the weakest dimension comes first with its actions, naming the bot's commands
    assert FR("compass.weakest_dim", dimension=FR("compass.dim.value"), median="1") in text
    assert FR("compass.action.value.stories") in text
    # the radar chart reaches her DM as a real PNG of a sensible size
    upload = bot.emulator.uploads[-1]
    assert upload["filename"] == "compass-radar.png"
    assert upload["channel_id"] == bot.emulator.dm_channel_for(CORE)
    width, height = png_size(upload["content"])
    assert 500 <= width <= 1500 and 500 <= height <= 1500
    assert 20_000 < len(upload["content"]) < 600_000
    # Lucas, the leader, sees purpose as exemplary: the median moves to 3, the spread shows
    text = await answer(bot, LEADER, everything(3, purpose=4))
    assert line(FR, "purpose", "3", "2", "4") in text
    assert line(FR, "members", "2,5", "2", "3") in text
    assert (
        FR(
            "compass.round_line",
            opened=FR.date(paris(utcnow())),
            closes=FR.date(paris(utcnow() + timedelta(days=compass.ROUND_DAYS))),
            n=2,
        )
        in text
    )


async def test_answering_again_changes_the_answers_never_counts_twice(bot: Bot) -> None:
    await setup(bot)
    await answer(bot, CORE, everything(2))
    await answer(bot, LEADER, everything(2))
    view = await open_modal(bot, "compass", user=CORE)
    first = next(
        b for b in view["blocks"] if b.get("block_id") == screens.block_of("purpose.mission")
    )
    assert first["element"]["initial_option"]["value"] == "2"  # her answers, pre-filled
    assert any(
        FR("compass.modal_yours", day=FR.date(paris(utcnow()))) in json.dumps(b, ensure_ascii=False)
        for b in view["blocks"]
    )
    before = len(bot.emulator.ephemerals)
    await bot.slack.submit_view(view["id"], user=CORE, values=everything(4))
    found = await eventually(
        lambda: [e for e in bot.emulator.ephemerals[before:] if e["user"] == CORE]
    )
    text = json.dumps(found[-1]["blocks"], ensure_ascii=False)
    assert FR("compass.changed", name="Data Science") in text
    assert line(FR, "purpose", "3", "2", "4") in text  # Lucas 2, Chloé now 4: two voices
    assert "2 réponses" in text
    assert len(await rows(bot)) == 2


async def test_a_member_or_a_sponsor_is_refused(bot: Bot) -> None:
    await setup(bot)
    for user, t in ((SPONSOR, FR), (MEMBER, EN)):
        before = len(bot.emulator.responses)
        await bot.slack.command("boussole", user=user, channel="C0DATA")
        replies = await eventually(lambda before=before: bot.emulator.responses[before:])
        assert t("permission.take_compass") in replies[-1]["text"]
    assert bot.emulator.calls_to("views.open") == []
    async with bot.sessions() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(CompassAssessment)) == 0


async def test_no_answers_yet_invites_the_core_team(bot: Bot) -> None:
    await setup(bot)
    before = len(bot.emulator.ephemerals)
    await bot.slack.command("boussole résultats", user=LEADER, channel="C0DATA")
    found = await eventually(lambda: bot.emulator.ephemerals[before:])
    assert FR("compass.empty", name="Data Science") in found[-1]["text"]


async def test_the_new_round_compares_with_the_previous_one(bot: Bot) -> None:
    community_id = await setup(bot)
    long_ago = utcnow() - timedelta(days=120)
    async with bot.sessions.begin() as session:
        chloe = await people.find(session, workspace_id=WORKSPACE, slack_user_id=CORE)
        assert chloe is not None
        await compass.record_answers(
            session,
            workspace_id=WORKSPACE,
            community_id=community_id,
            person_id=chloe.id,
            scores=dict.fromkeys(compass.STATEMENTS, 2),
            now=long_ago,
        )
    # the old round expired: this answer opens a new round and closes the old one
    text = await answer(bot, CORE, everything(3, value=1))
    assert FR("compass.compared", day=FR.date(paris(long_ago))) in text
    assert line(FR, "purpose", "3") + "  " + FR("compass.change.up", delta="1") in text
    assert line(FR, "value", "1") + "  " + FR("compass.change.down", delta="1") in text
    async with bot.sessions() as session:
        rounds = list(
            await session.scalars(
                sa.select(CompassAssessment).order_by(CompassAssessment.opened_at)
            )
        )
    assert len(rounds) == 2 and rounds[0].closed_at is not None and rounds[1].closed_at is None
    # the radar shows both rounds: still a real PNG
    png_size(bot.emulator.uploads[-1]["content"])


async def test_in_english_for_an_english_community(bot: Bot) -> None:
    await factories.community(
        bot.sessions,
        emulator=bot.emulator,
        channel="C0AGILE",
        name="Agile",
        language="en",
        leaders=("U0LEA",),
        core=("U0JAMES",),
    )
    view = await open_modal(bot, "compass", user="U0JAMES", channel="C0AGILE")
    assert view["title"]["text"] == EN("compass.modal_title")
    text = await answer(bot, "U0JAMES", everything(4, governance=2), channel="C0AGILE")
    assert EN("compass.saved", name="Agile") in text
    assert line(EN, "governance", "2") in text
    assert EN("compass.action.governance.sponsor") in text
    # only one dimension below « exemplary »: it alone is named
    assert EN("compass.dim.purpose") + "* (" not in text


async def test_the_manager_sees_the_heatmap_in_health_a_member_does_not(bot: Bot) -> None:
    await setup(bot)
    await answer(bot, CORE, everything(2, value=1))
    await answer(bot, LEADER, everything(4))
    before = len(bot.emulator.responses)
    await bot.slack.command("santé", user=MANAGER, channel="C0GEN")
    reply = (await eventually(lambda: bot.emulator.responses[before:]))[-1]
    assert screens.HEATMAP in json.dumps(reply["blocks"])
    shown = bot.emulator.add_message("D0CAMILLE", user="UBOT", blocks=reply["blocks"])
    before = len(bot.emulator.responses)
    await bot.slack.click(
        user=MANAGER, action_id=screens.HEATMAP, message=("D0CAMILLE", shown["ts"])
    )
    grid = (await eventually(lambda: bot.emulator.responses[before:]))[-1]
    text = json.dumps(grid["blocks"], ensure_ascii=False)
    assert FR("compass.heatmap_title") in text
    # purpose: median of 2 and 4 = 3 (🟨); value: of 1 and 4 = 2,5 → 3 (🟨); members 3 (🟨)
    cells = "🟨" * 6
    assert (
        FR(
            "compass.heatmap_row",
            cells=cells,
            name="Data Science",
            n=2,
            survey="",
            day=FR.date(utcnow().date()),
        )
        in text
    )
    # a plain member: no programme view, and the button refuses too
    before = len(bot.emulator.responses)
    await bot.slack.command("santé programme", user=MEMBER, channel="C0GEN")
    refused = (await eventually(lambda: bot.emulator.responses[before:]))[-1]
    assert screens.HEATMAP not in json.dumps(refused.get("blocks") or [])
    before = len(bot.emulator.responses)
    await bot.slack.click(
        user=MEMBER, action_id=screens.HEATMAP, message=("D0CAMILLE", shown["ts"])
    )
    refused = (await eventually(lambda: bot.emulator.responses[before:]))[-1]
    assert EN("permission.view_programme") in refused["text"]
    assert FR("compass.heatmap_title") not in json.dumps(refused, ensure_ascii=False)
    assert health_blocks.EXPORT_CSV  # the heatmap button sits beside the exports


async def test_the_survey_is_one_more_voice_for_the_dimensions_it_informs(bot: Bot) -> None:
    community_id = await setup(bot)
    now = utcnow()
    async with bot.sessions.begin() as session:
        for user, level in ((CORE, 2), (LEADER, 4)):
            person = await people.find(session, workspace_id=WORKSPACE, slack_user_id=user)
            assert person is not None
            await compass.record_answers(
                session,
                workspace_id=WORKSPACE,
                community_id=community_id,
                person_id=person.id,
                scores=dict.fromkeys(compass.STATEMENTS, level),
                now=now,
            )
        await compass.record_survey_input(
            session,
            workspace_id=WORKSPACE,
            community_id=community_id,
            dimension_scores={"value": 1.5, "members": 3.5, "nonsense": 9},
            now=now,
        )
        # the survey's figures arrive again: replaced, not added
        await compass.record_survey_input(
            session,
            workspace_id=WORKSPACE,
            community_id=community_id,
            dimension_scores={"value": 1.0, "members": 3.5},
            now=now,
        )
    async with bot.sessions() as session:
        found = await compass.result(session, community_id=community_id, now=now)
        grid = await compass.heatmap(session, workspace_id=WORKSPACE)
    assert found is not None and found.respondents == 2 and found.survey
    scores = {d.key: d for d in found.dimensions}
    assert scores["purpose"].voices == 2 and scores["purpose"].median == 3
    assert scores["value"].voices == 3 and scores["value"].median == 2  # 2, 4 and the survey's 1
    assert scores["members"].median == 3.5
    assert found.weakest == ("value", "purpose", "practice")  # tied at 3: up to three named
    (row,) = grid.rows
    assert row.respondents == 2 and row.survey and row.medians[-1] == 2


async def test_the_report_shows_the_heatmap_with_coloured_cells(bot: Bot) -> None:
    await setup(bot)
    await answer(bot, CORE, everything(1))
    from bot import periods
    from bot.disclosure import Rule

    now = utcnow()
    window = periods.to_date(periods.Period.QUARTER, now.date(), "Europe/Paris")
    async with bot.sessions() as session:
        built = await report.build(
            session,
            workspace_id=WORKSPACE,
            window=window,
            programme_name="Programme test",
            thresholds=bot.deps.programme.health,
            now=now,
            rule=bot.deps.disclosure,
        )
    assert isinstance(bot.deps.disclosure, Rule)
    html = report.to_html(FR, built)
    assert FR("compass.report_heading") in html
    assert compass.LEVEL_COLOURS[1] in html and "Data Science" in html
    csv_text = report.report_csv(FR, built).decode("utf-8-sig")
    assert FR("compass.col.median", dimension=FR("compass.dim_short.value")) in csv_text


def test_the_docs_list_every_statement_from_the_catalogues() -> None:
    from bot.cli_compass import statements_markdown

    assert (ROOT / "docs" / "compass.md").read_text(encoding="utf-8") == statements_markdown()


async def test_the_dashboard_shows_the_heatmap_to_a_manager(bot: Bot) -> None:
    import httpx

    from bot.dashboard import links

    await setup(bot)
    await answer(bot, CORE, everything(1, purpose=4))
    key = bot.deps.config.settings.dashboard_key
    assert key is not None
    token = links.token_for(links.Scope(WORKSPACE), MANAGER, utcnow(), key=key)
    async with httpx.AsyncClient(base_url=bot.url) as http:
        page = await http.get(f"/dashboard?t={token}")
    assert page.status_code == 200
    assert FR("compass.report_heading") in page.text
    assert f"background: {compass.LEVEL_COLOURS[4]}" in page.text  # purpose, exemplary
    assert f"background: {compass.LEVEL_COLOURS[1]}" in page.text  # the rest, not yet


async def test_the_large_demo_fills_a_year_of_rounds(sessions: Any) -> None:
    from bot.demo import large

    await large.generate(sessions, workspace_id=WORKSPACE, communities=8, people_count=400)
    async with sessions() as session:
        grid = await compass.heatmap(session, workspace_id=WORKSPACE)
        rounds = await session.scalar(sa.select(sa.func.count()).select_from(CompassAssessment))
    assert len(grid.rows) >= 4 and rounds == 4 * len(grid.rows)
    assert all(row.respondents >= 1 for row in grid.rows)
    async with sessions() as session:
        found = await compass.result(session, community_id=grid.rows[0].community_id, now=utcnow())
    assert found is not None and found.previous is not None and found.changes


async def test_help_offers_the_compass_to_runners_and_the_map_to_managers(bot: Bot) -> None:
    await setup(bot)
    await answer(bot, CORE, everything(2))
    shown = {}
    for user, channel in ((CORE, "C0DATA"), (SPONSOR, "C0DATA"), (MANAGER, "C0GEN")):
        before = len(bot.emulator.responses)
        await bot.slack.command("aide", user=user, channel=channel)
        reply = (await eventually(lambda before=before: bot.emulator.responses[before:]))[-1]
        shown[user] = json.dumps(reply.get("blocks") or [], ensure_ascii=False)
    assert FR("compass.usage") in shown[CORE] and FR("compass.usage") not in shown[SPONSOR]
    assert FR("compass.usage_programme") in shown[MANAGER]
    before = len(bot.emulator.responses)
    await bot.slack.command("boussole programme", user=MANAGER, channel="C0GEN")
    grid = (await eventually(lambda: bot.emulator.responses[before:]))[-1]
    assert "*Data Science* · 1 réponse" in json.dumps(grid["blocks"], ensure_ascii=False)


async def test_an_erased_person_still_counts_but_is_attached_to_nothing(bot: Bot) -> None:
    from bot import privacy

    community_id = await setup(bot)
    await answer(bot, CORE, everything(1))
    await answer(bot, LEADER, everything(3))
    async with bot.sessions.begin() as session:
        exported = await privacy.export(session, workspace_id=WORKSPACE, slack_user_id=CORE)
        assert exported["compass_answers"][0]["scores"]["purpose.mission"] == 1
        await privacy.erase(session, workspace_id=WORKSPACE, slack_user_id=CORE)
    async with bot.sessions() as session:
        found = await compass.result(session, community_id=community_id, now=utcnow())
    assert found is not None and found.respondents == 2
    assert found.dimensions[0].median == 2
    assert sorted(r.person_id is None for r in await rows(bot)) == [False, True]


async def test_forged_answers_or_community_change_nothing(bot: Bot) -> None:
    await setup(bot)
    agile = await factories.community(
        bot.sessions, emulator=bot.emulator, channel="C0AGILE", name="Agilité", leaders=("U0LEA",)
    )
    view = await open_modal(bot, "boussole", user=CORE)
    # a level the modal does not offer (a payload rewritten on the way): a field error
    stored = bot.emulator.views[view["id"]]
    kpis = next(b for b in stored["blocks"] if b.get("block_id") == screens.block_of("value.kpis"))
    kpis["element"]["options"].append({"text": {"type": "plain_text", "text": "9"}, "value": "9"})
    forged = {**everything(2), screens.block_of("value.kpis"): "9"}
    response = await bot.slack.submit_view(view["id"], user=CORE, values=forged)
    assert response.json()["response_action"] == "errors"
    assert response.json()["errors"] == {screens.block_of("value.kpis"): FR("error.invalid")}
    # nothing answered at all
    response = await bot.slack.submit_view(view["id"], user=CORE, values={})
    assert FR("compass.answer_one") in json.dumps(response.json(), ensure_ascii=False)
    # the modal rewritten to name a community where Chloé holds no role
    stamp = json.loads(bot.emulator.views[view["id"]]["private_metadata"])
    stamp["meta"] = json.dumps({"c": agile.id})
    bot.emulator.views[view["id"]]["private_metadata"] = json.dumps(stamp)
    before = len(bot.emulator.calls_to("chat.postMessage"))
    await bot.slack.submit_view(view["id"], user=CORE, values=everything(3))
    refused = await bot.emulator.wait_for("chat.postMessage", count=before + 1)
    assert FR("permission.take_compass") in refused[-1].params["text"]
    assert await rows(bot) == []
