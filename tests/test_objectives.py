"""Charter objectives that are tracked, end to end against the emulator: the charter's new
sections, objectives synced on each save (statuses kept), `/cop charte objectifs` with its
status buttons and indicator modal, the leaders' quarterly DM, and "objectives achieved" at
level 3 in /cop health, the value report and the sponsor digest."""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa

from bot import figures, objectives, periods, report
from bot.config import ConfigError, HealthThresholds, load_programme
from bot.disclosure import Rule
from bot.errors import InvalidInput
from bot.kpis import CommunityKpis, ProgrammeKpis
from bot.models import AuditLog, CharterObjective, CharterVersion, ObjectiveStatus, Ritual, utcnow
from bot.slack.emulator import SlackEmulator
from bot.slack.render import render_message
from rituals import cadence, scheduler
from rituals.outbox import Drain
from tests import factories
from tests.catalogue import EN, FR, in_json
from tests.conftest import MANAGER, Bot, command_answer, eventually, make_config, running_bot
from tests.dashboard_programme import dashboard_link
from tests.factories import WORKSPACE

LEADER = "U0LUCAS"
CORE = "U0CHLOE"
MEMBER = "U0HUGO"
YEAR = datetime.now(UTC).year

CHARTER = {
    "charter_mission": "Partager les pratiques de data science entre les équipes.",
    "charter_objectives": "Lancer 4 webinaires\nPublier un guide MLOps\nAccueillir 30 membres",
    "charter_year": str(YEAR),
    "charter_member_benefits": "Apprendre, trouver de l'aide.",
    "charter_collective_benefits": "Un savoir commun, une voix dans le groupe.",
    "charter_stakeholders": "Direction data, équipes produit.",
    "charter_resource_needs": "Une demi-journée par mois, un espace de partage.",
    "charter_animation_plan": "Un webinaire par trimestre, un café data par mois.",
}


async def open_charter(bot: Bot, text: str, *, user: str, channel: str = "C0DATA") -> Any:
    before = len(bot.emulator.calls_to("views.open"))
    await bot.slack.command(text, user=user, channel=channel)
    calls = await bot.emulator.wait_for("views.open", count=before + 1)
    return calls[-1].response["view"]


async def save_charter(bot: Bot, values: dict[str, str], *, user: str = LEADER) -> None:
    before = len(bot.emulator.ephemerals)
    view = await open_charter(bot, "charte", user=user)
    response = await bot.slack.submit_view(view["id"], user=user, values=values)
    assert response.status_code == 200 and not response.content, response.text
    await eventually(lambda: [e for e in bot.emulator.ephemerals[before:] if e["user"] == user])


async def rows(bot: Bot) -> list[CharterObjective]:
    async with bot.sessions() as session:
        return list(
            await session.scalars(
                sa.select(CharterObjective).order_by(
                    CharterObjective.year, CharterObjective.position
                )
            )
        )


async def audited(bot: Bot, action: str) -> int:
    async with bot.sessions() as session:
        return int(
            await session.scalar(
                sa.select(sa.func.count()).select_from(AuditLog).where(AuditLog.action == action)
            )
            or 0
        )


async def ask(bot: Bot, text: str, *, user: str, channel: str = "C0DATA") -> dict[str, Any]:
    return await command_answer(bot, text, user=user, channel=channel)


def shown(message: dict[str, Any]) -> str:
    """The message as a person reads it, lines joined (the renderer wraps long paragraphs)."""
    return flat(render_message(message))


def flat(text: str) -> str:
    return " ".join(text.split())


def button_value(blocks: list[dict[str, Any]], action_id: str, text: str) -> str:
    """The value of the `action_id` button under the objective whose line reads `text`."""
    for i, block in enumerate(blocks):
        if text in json.dumps(block, ensure_ascii=False) and block["type"] == "section":
            for element in blocks[i + 1]["elements"]:
                if element["action_id"] == action_id:
                    return str(element["value"])
    raise AssertionError(f"no {action_id} under {text!r}")


def as_ephemeral(bot: Bot, reply: dict[str, Any], *, user: str) -> None:
    """What Slack shows the person: the command's answer, privately, in the channel."""
    bot.emulator.ephemerals.append(
        {
            "user": user,
            "channel": "C0DATA",
            "ts": bot.emulator.next_ts(),
            "text": reply["text"],
            "blocks": reply["blocks"],
        }
    )


ACHIEVED = f"objective_status:{ObjectiveStatus.ACHIEVED.value}"
DROPPED = f"objective_status:{ObjectiveStatus.DROPPED.value}"


# --- the charter's sections ----------------------------------------------------------------------


async def test_the_new_sections_are_saved_and_shown_in_both_languages(bot: Bot) -> None:
    await factories.community(bot.sessions, emulator=bot.emulator, leaders=(LEADER,))
    view = await open_charter(bot, "charte", user=LEADER)
    labels = [b.get("label", {}).get("text") for b in view["blocks"] if b["type"] == "input"]
    for key in ("member_benefits", "collective_benefits", "stakeholders", "resource_needs"):
        assert FR(f"charter.field.{key}") in labels
    assert FR("charter.field.animation_plan") in labels
    await save_charter(bot, CHARTER)
    async with bot.sessions() as session:
        version = await session.scalar(sa.select(CharterVersion))
    assert version is not None
    assert version.stakeholders == CHARTER["charter_stakeholders"]
    assert version.collective_benefits == CHARTER["charter_collective_benefits"]
    assert version.resource_needs == CHARTER["charter_resource_needs"]
    assert version.animation_plan == CHARTER["charter_animation_plan"]
    shown = json.dumps((await ask(bot, "charte voir", user=MEMBER))["blocks"], ensure_ascii=False)
    assert in_json(FR("charter.field.member_benefits")) in shown  # « chaque membre »
    assert in_json(FR("charter.field.collective_benefits")) in shown
    assert in_json(CHARTER["charter_animation_plan"]) in shown
    assert in_json(CHARTER["charter_resource_needs"]) in shown
    # reopened, the modal is pre-filled with them; an over-long one is refused with the others
    view = await open_charter(bot, "charter", user=LEADER)
    plan = next(b for b in view["blocks"] if b.get("block_id") == "charter_animation_plan")
    assert plan["element"]["initial_value"] == CHARTER["charter_animation_plan"]
    response = await bot.slack.submit_view(
        view["id"],
        user=LEADER,
        values={"charter_mission": "", "charter_stakeholders": "x" * 1501},
    )
    errors = response.json()["errors"]
    assert set(errors) == {"charter_mission", "charter_stakeholders"}
    # an English reader reads English labels
    await bot.slack.command("charter show", user="U0EMILY", channel="C0DATA")
    english = await eventually(
        lambda: [r for r in bot.emulator.responses if "What members gain together" in str(r)]
    )
    assert in_json(EN("charter.field.stakeholders")) in json.dumps(english[-1], ensure_ascii=False)


# --- sync on save ----------------------------------------------------------------------------------


async def test_saving_the_charter_syncs_objectives_and_keeps_their_status(bot: Bot) -> None:
    await factories.community(bot.sessions, emulator=bot.emulator, leaders=(LEADER,))
    await save_charter(bot, CHARTER)
    first = await rows(bot)
    assert [(r.text, r.status) for r in first] == [
        ("Lancer 4 webinaires", ObjectiveStatus.IN_PROGRESS),
        ("Publier un guide MLOps", ObjectiveStatus.IN_PROGRESS),
        ("Accueillir 30 membres", ObjectiveStatus.IN_PROGRESS),
    ]
    async with bot.sessions.begin() as session:
        guide = await session.get(CharterObjective, first[1].id)
        assert guide is not None
        guide.status, guide.indicator = ObjectiveStatus.ACHIEVED, "stories"
    async with bot.sessions.begin() as session:
        webinars = await session.get(CharterObjective, first[0].id)
        assert webinars is not None
        webinars.indicator = "events_held"
    # the guide kept (spaces and case aside), the webinars reworded (their indicator stays),
    # the newcomers taken out and a new objective in their place
    await save_charter(
        bot,
        {
            **CHARTER,
            "charter_objectives": "publier un guide  MLOps\nLancer 6 webinaires\nOuvrir un wiki",
        },
    )
    second = await rows(bot)
    assert [(r.text, r.status, r.indicator) for r in second] == [
        ("publier un guide  MLOps", ObjectiveStatus.ACHIEVED, "stories"),
        ("Lancer 6 webinaires", ObjectiveStatus.IN_PROGRESS, "events_held"),
        ("Ouvrir un wiki", ObjectiveStatus.IN_PROGRESS, None),
    ]
    assert second[0].id == first[1].id and second[1].id == first[0].id
    assert second[2].id not in {r.id for r in first}
    # next year's objectives leave this year's as they were
    await save_charter(
        bot,
        {
            **CHARTER,
            "charter_objectives": "Ouvrir un canal d'entraide",
            "charter_year": str(YEAR + 1),
        },
    )
    third = await rows(bot)
    assert [r.year for r in third] == [YEAR, YEAR, YEAR, YEAR + 1]
    assert [r.text for r in third][:3] == [r.text for r in second]


# --- /cop charte objectifs and its buttons ----------------------------------------------------------


async def test_leaders_set_statuses_members_are_refused(bot: Bot) -> None:
    await factories.community(bot.sessions, emulator=bot.emulator, leaders=(LEADER,), core=(CORE,))
    await save_charter(bot, CHARTER)
    # a member: the standard refusal, no buttons
    refused = await ask(bot, "charte objectifs", user=MEMBER)
    assert FR("permission.track_objectives") in refused["text"]
    assert "objective_status" not in str(refused.get("blocks"))
    # the core team sees the year's objectives, each with its status and buttons
    reply = await ask(bot, "charte objectifs", user=CORE)
    text = shown(reply)
    assert FR("objectives.title", community="Data Science", year=str(YEAR)) in text
    assert text.count(flat(FR("objectives.status.in_progress"))) == 3
    as_ephemeral(bot, reply, user=CORE)
    webinars = button_value(reply["blocks"], ACHIEVED, "Lancer 4 webinaires")
    before = len(bot.emulator.responses)
    await bot.slack.click(user=CORE, action_id=ACHIEVED, value=webinars)
    redrawn = (await eventually(lambda: bot.emulator.responses[before:]))[-1]
    assert redrawn["replace_original"] is True
    assert flat(FR("objectives.status.achieved")) in shown(redrawn)
    summary = FR("objectives.achieved_of", achieved="1", counted="3", rate=FR.percent(1 / 3))
    assert flat(summary) in shown(redrawn)
    assert next(r.status for r in await rows(bot)) == ObjectiveStatus.ACHIEVED
    # a double click: nothing changes, the same list again, no error
    first_update = (await rows(bot))[0].updated_at
    before = len(bot.emulator.responses)
    await bot.slack.click(user=CORE, action_id=ACHIEVED, value=webinars)
    again = (await eventually(lambda: bot.emulator.responses[before:]))[-1]
    assert again["replace_original"] is True and flat(summary) in shown(again)
    assert (await rows(bot))[0].updated_at == first_update
    assert await audited(bot, "objective.status") == 1  # one change, recorded once
    # the core team picks the active rate as its indicator from the private answer: the answer
    # is drawn again with it (through its response_url)
    members = button_value(reply["blocks"], "objective_indicator", "Accueillir 30 membres")
    opened = len(bot.emulator.calls_to("views.open"))
    await bot.slack.click(user=CORE, action_id="objective_indicator", value=members)
    (call,) = (await bot.emulator.wait_for("views.open", count=opened + 1))[opened:]
    before = len(bot.emulator.responses)
    await bot.slack.submit_view(
        call.response["view"]["id"],
        user=CORE,
        values={"objective_indicator": "active_rate", "objective_target": "60 %"},
    )
    redrawn = await eventually(
        lambda: [r for r in bot.emulator.responses[before:] if r.get("replace_original")]
    )
    assert flat(FR("objectives.status.achieved")) in shown(redrawn[-1])
    assert f"{FR('figure.active_rate')} sur l'année" in shown(redrawn[-1])
    assert f"(cible : {flat(FR.percent(0.6))})" in shown(redrawn[-1])
    assert (await rows(bot))[2].indicator == "active_rate"
    # a member clicking such a button (a forwarded message): refused, the objective unchanged
    bot.emulator.add_message("C0DATA", user="UBOT", text=reply["text"], blocks=reply["blocks"])
    ts = bot.emulator.messages["C0DATA"][-1]["ts"]
    before = len(bot.emulator.responses)
    await bot.slack.click(user=MEMBER, action_id=DROPPED, value=webinars, message=("C0DATA", ts))
    answer = (await eventually(lambda: bot.emulator.responses[before:]))[-1]
    assert FR("permission.track_objectives") in answer["text"]
    assert answer["replace_original"] is False
    assert next(r.status for r in await rows(bot)) == ObjectiveStatus.ACHIEVED


async def test_an_objective_taken_out_meanwhile_is_said_gone(bot: Bot) -> None:
    await factories.community(bot.sessions, emulator=bot.emulator, leaders=(LEADER,))
    await save_charter(bot, CHARTER)
    reply = await ask(bot, "charter objectives", user=LEADER)
    as_ephemeral(bot, reply, user=LEADER)
    guide = button_value(reply["blocks"], ACHIEVED, "Publier un guide MLOps")
    await save_charter(bot, {**CHARTER, "charter_objectives": "Lancer 4 webinaires"})
    before = len(bot.emulator.responses)
    await bot.slack.click(user=LEADER, action_id=ACHIEVED, value=guide)
    answers = await eventually(
        lambda: len(bot.emulator.responses[before:]) >= 2 and bot.emulator.responses[before:]
    )
    redrawn = next(r for r in answers if r.get("replace_original"))
    assert "Publier un guide MLOps" not in shown(redrawn)
    assert any(FR("objectives.gone") in r["text"] for r in answers)


# --- the quarterly DM ---------------------------------------------------------------------------------


def _due() -> datetime:
    due = cadence.next_run("quarterly", after=utcnow(), zone=ZoneInfo("Europe/Paris"), hour=10)
    assert due is not None
    return due


def _dm(bot: Bot, user: str) -> list[dict[str, Any]]:
    return list(bot.emulator.messages.get(bot.emulator.dm_channel_for(user), []))


async def test_the_quarterly_dm_lists_objectives_and_its_buttons_update_it(bot: Bot) -> None:
    data = await factories.community(
        bot.sessions, emulator=bot.emulator, leaders=(LEADER, "U0EMILY")
    )
    agile = await factories.community(
        bot.sessions, emulator=bot.emulator, channel="C0AGILE", name="Agilité", leaders=("U0LEA",)
    )
    await save_charter(bot, CHARTER)
    due = _due()
    for community in (data, agile):
        await scheduler.run_now(
            bot.deps, ritual=Ritual.OBJECTIVES, community_id=community.id, now=due
        )
        # run twice (a retry, a second replica): still one DM each
        await scheduler.run_now(
            bot.deps, ritual=Ritual.OBJECTIVES, community_id=community.id, now=due
        )
    await Drain(bot.deps, rate_per_minute=60000).run_once(now=due)
    (lucas,) = _dm(bot, LEADER)
    (emily,) = _dm(bot, "U0EMILY")
    assert flat(FR("objectives.review_intro", year=str(YEAR))) in shown(lucas)
    assert flat(EN("objectives.review_intro", year=str(YEAR))) in shown(emily)
    assert EN("objectives.button.achieved") in json.dumps(emily["blocks"])
    # Agilité wrote no objectives: its leader is nudged to write them, with the charter's button
    # — for the year the run falls in (a January run asks for the new year's, never the last's)
    (lea,) = _dm(bot, "U0LEA")
    nudged = due.astimezone(ZoneInfo("Europe/Paris")).year
    assert flat(FR("objectives.nudge", community="Agilité", year=str(nudged))) in shown(lea)
    assert "objectives_write" in json.dumps(lea["blocks"])
    before = len(bot.emulator.calls_to("views.open"))
    await bot.slack.click(
        user="U0LEA",
        action_id="objectives_write",
        message=(bot.emulator.dm_channel_for("U0LEA"), lea["ts"]),
    )
    (opened,) = (await bot.emulator.wait_for("views.open", count=before + 1))[before:]
    assert opened.response["view"]["callback_id"] == "charter_modal"

    # Emily marks the webinars achieved from her DM: the DM itself is updated in place
    channel = bot.emulator.dm_channel_for("U0EMILY")
    webinars = button_value(emily["blocks"], ACHIEVED, "Lancer 4 webinaires")
    await bot.slack.click(
        user="U0EMILY", action_id=ACHIEVED, value=webinars, message=(channel, emily["ts"])
    )
    updated = await eventually(
        lambda: (m := bot.emulator.find_message(channel, emily["ts"])) and "edited" in m and m
    )
    assert flat(EN("objectives.status.achieved")) in shown(updated)
    assert next(r.status for r in await rows(bot)) == ObjectiveStatus.ACHIEVED

    # the indicator: a target that is not a number is refused in the modal; then it is saved
    before = len(bot.emulator.calls_to("views.open"))
    await bot.slack.click(
        user="U0EMILY",
        action_id="objective_indicator",
        value=webinars,
        message=(channel, emily["ts"]),
    )
    (call,) = (await bot.emulator.wait_for("views.open", count=before + 1))[before:]
    modal = call.response["view"]
    response = await bot.slack.submit_view(
        modal["id"],
        user="U0EMILY",
        values={"objective_indicator": "events_held", "objective_target": "lots"},
    )
    assert response.json()["errors"] == {"objective_target": EN("objectives.bad_target")}
    response = await bot.slack.submit_view(
        modal["id"], user="U0EMILY", values={"objective_indicator": "none", "objective_target": "4"}
    )
    assert response.json()["errors"] == {
        "objective_target": EN("objectives.target_without_indicator")
    }
    await bot.slack.submit_view(
        modal["id"],
        user="U0EMILY",
        values={"objective_indicator": "events_held", "objective_target": "4"},
    )
    line = EN("objectives.indicator_target", name=EN("figure.events_held"), value="0", target="4")
    await eventually(
        lambda: flat(line) in shown(bot.emulator.find_message(channel, emily["ts"]) or {})
    )
    (webinar_row, *_) = await rows(bot)
    assert webinar_row.indicator == "events_held" and webinar_row.target == 4


async def test_no_dm_when_the_ritual_is_off(database_url: str, emulator: SlackEmulator) -> None:
    config = make_config(database_url, emulator, rituals={"objectives": {"enabled": False}})
    async with running_bot(config, emulator) as bot:
        data = await factories.community(bot.sessions, emulator=bot.emulator, leaders=(LEADER,))
        await save_charter(bot, CHARTER)
        async with bot.sessions.begin() as session:
            await cadence.settings_of(
                session, community=data, programme=bot.deps.programme, now=utcnow()
            )
        due = _due()
        await scheduler.tick(bot.deps, now=due)
        await Drain(bot.deps, rate_per_minute=60000).run_once(now=due)
        assert not [m for m in _dm(bot, LEADER) if "objective_status" in json.dumps(m)]


# --- level 3: "objectives achieved" -----------------------------------------------------------------


async def _statuses(bot: Bot, *statuses: ObjectiveStatus) -> None:
    for row, status in zip(await rows(bot), statuses, strict=True):
        async with bot.sessions.begin() as session:
            found = await session.get(CharterObjective, row.id)
            assert found is not None
            found.status = status


async def test_objectives_achieved_counts_at_level_three_everywhere(bot: Bot) -> None:
    data = await factories.community(
        bot.sessions, emulator=bot.emulator, leaders=(LEADER,), sponsor=MEMBER, age_days=45
    )
    await save_charter(bot, {**CHARTER, "charter_objectives": "Un\nDeux\nTrois\nQuatre"})
    await _statuses(
        bot,
        ObjectiveStatus.ACHIEVED,
        ObjectiveStatus.ACHIEVED,
        ObjectiveStatus.IN_PROGRESS,
        ObjectiveStatus.DROPPED,
    )
    figure = FR("objectives.achieved_of", achieved="2", counted="3", rate=FR.percent(2 / 3))
    said = FR("objectives.health_line", name=FR("figure.objectives_achieved"), figure=figure)
    # /cop santé: the programme, and the community
    answer = await ask(bot, "santé", user=MANAGER, channel="C0GEN")
    programme = shown(answer)
    assert flat(said) in programme
    # the dashboard the answer links to: the programme's share, the community's figure
    async with httpx.AsyncClient() as web:
        page = (await web.get(dashboard_link(bot, answer))).text
        assert FR("figure.objectives_achieved") in page and FR.percent(2 / 3) in page
        community_page = (
            await web.get(
                dashboard_link(bot, answer).replace("/dashboard?", f"/dashboard/c/{data.id}?")
            )
        ).text
        assert html.escape(figure) in community_page
    community = shown(await ask(bot, "santé", user=LEADER))
    assert flat(said) in community
    # the value report: the programme's table and level 3's cards
    async with bot.sessions() as session:
        built = await report.build(
            session,
            workspace_id=WORKSPACE,
            window=periods.to_date(periods.Period.YEAR, bot.deps.today()),
            programme_name="Programme test",
            thresholds=HealthThresholds(),
            rule=Rule(min_answers=5),
        )
    _headers, table = report.programme_table(EN, built)
    assert [EN("figure.objectives_achieved"), round(2 / 3, 4)] in table
    page = report.to_html(FR, built)
    assert FR("figure.objectives_achieved") in page and figure in page
    # the sponsor digest (the leader's preview, in French): the closed quarter's year counts
    # the same objectives
    due = _due()
    await scheduler.run_now(bot.deps, ritual=Ritual.SPONSOR_DIGEST, community_id=data.id, now=due)
    await Drain(bot.deps, rate_per_minute=60000).run_once(now=due)
    preview = await eventually(lambda: [m for m in _dm(bot, LEADER) if "Data Science" in shown(m)])
    assert flat(said) in shown(preview[-1])


# --- the vocabulary ----------------------------------------------------------------------------------


def test_the_figure_reads_achieved_over_all_but_dropped_and_indicators_are_community_figures() -> (
    None
):
    community = CommunityKpis(objectives_achieved=2, objectives_counted=3)
    assert figures.read("objectives_achieved", community) == 2 / 3
    assert figures.read("objectives_achieved", ProgrammeKpis()) is None  # none: "n/a", not 0 %
    assert figures.objectives(FR, community) == FR(
        "objectives.achieved_of", achieved="2", counted="3", rate=FR.percent(2 / 3)
    )
    assert figures.objectives(EN, ProgrammeKpis()) == EN("objectives.none_counted")
    for key in objectives.INDICATORS:  # every indicator a leader may pick reads per community
        assert figures.BY_KEY[key].scope == figures.Scope.BOTH, key


def test_targets_as_people_type_them() -> None:
    assert objectives.parse_target(" 1 000 ", indicator="members") == Decimal(1000)
    assert objectives.parse_target("12,5", indicator="events_held") == Decimal("12.5")
    assert objectives.parse_target("60 %", indicator="active_rate") == Decimal("0.6")
    assert objectives.parse_target("60", indicator="active_rate") == Decimal("0.6")
    assert objectives.parse_target("", indicator="active_rate") is None
    for bad, indicator in (("beaucoup", "members"), ("-3", "members"), ("150 %", "active_rate")):
        with pytest.raises(InvalidInput):
            objectives.parse_target(bad, indicator=indicator)


def test_app_yaml_configures_the_review_and_names_a_bad_cadence(tmp_path: Path) -> None:
    shipped = load_programme(Path(__file__).resolve().parent.parent / "app.yaml")
    assert shipped.rituals.objectives.enabled and shipped.rituals.objectives.cadence == "quarterly"
    path = tmp_path / "app.yaml"
    path.write_text("name: X\nrituals:\n  objectives:\n    cadence: monthly\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_programme(path)
    assert "rituals.objectives.cadence: Input should be 'quarterly' or 'off', got 'monthly'" in str(
        caught.value
    )


async def test_a_leader_turns_the_review_off_in_cop_rituels(bot: Bot) -> None:
    await factories.community(bot.sessions, emulator=bot.emulator, leaders=(LEADER,))
    await save_charter(bot, CHARTER)
    screen = await ask(bot, "rituels", user=LEADER)
    assert flat(FR("rituals.name.objectives")) in shown(screen)
    bot.emulator.add_message("C0DATA", user="UBOT", text=screen["text"], blocks=screen["blocks"])
    ts = bot.emulator.messages["C0DATA"][-1]["ts"]
    before = len(bot.emulator.responses)
    await bot.slack.click(
        user=LEADER, action_id="rituals_toggle:objectives", message=("C0DATA", ts)
    )
    await eventually(lambda: bot.emulator.responses[before:])
    due = _due()
    await scheduler.tick(bot.deps, now=due)
    await Drain(bot.deps, rate_per_minute=60000).run_once(now=due)
    assert not [m for m in _dm(bot, LEADER) if "objective_status" in json.dumps(m)]
    # turned back on, the next quarter's run sends it
    before = len(bot.emulator.responses)
    await bot.slack.click(
        user=LEADER, action_id="rituals_toggle:objectives", message=("C0DATA", ts)
    )
    await eventually(lambda: bot.emulator.responses[before:])
    await scheduler.tick(bot.deps, now=due)
    await Drain(bot.deps, rate_per_minute=60000).run_once(now=due)
    assert [m for m in _dm(bot, LEADER) if "objective_status" in json.dumps(m)]


def test_the_charter_modal_never_files_new_objectives_under_a_year_that_is_over() -> None:
    """A charter whose objectives are last year's opens on this year (the quarterly nudge's
    button leads there): a leader rewriting them cannot overwrite last year's statuses by
    mistake; next year's stays next year."""
    from bot.charters import CharterDraft, Roles
    from bot.slack.blocks import charter as blocks

    def chosen(stored: int | None) -> str:
        view = blocks.build_modal(
            FR,
            community_id=1,
            community_name="Data Science",
            current=CharterDraft(objectives=("Un guide",), objectives_year=stored),
            roles=Roles(leaders=(), core_team=(), sponsors=()),
            year=YEAR,
        ).to_dict()
        select = next(b["element"] for b in view["blocks"] if b.get("block_id") == "charter_year")
        return str(select["initial_option"]["value"])

    assert chosen(YEAR - 1) == str(YEAR)
    assert chosen(None) == str(YEAR)
    assert chosen(YEAR + 1) == str(YEAR + 1)


async def test_the_home_shows_runners_their_objectives_of_the_year(bot: Bot) -> None:
    """The leader's Home says how far this year's objectives are, with where to follow them up;
    a plain member's Home says nothing of them."""
    await factories.community(bot.sessions, emulator=bot.emulator, leaders=(LEADER,))
    await save_charter(bot, CHARTER)
    first = (await rows(bot))[0]
    async with bot.sessions.begin() as session:
        row = await session.get(CharterObjective, first.id)
        assert row is not None
        row.status = ObjectiveStatus.ACHIEVED

    async def home(user: str, expected: str | None = None) -> str:
        """The user's Home once they open it (after any refresh still on its way)."""
        await bot.slack.open_home(user=user)

        def shown() -> str | None:
            view = bot.emulator.home_views.get(user)
            text = json.dumps(view, ensure_ascii=False) if view else None
            return text if text and (expected is None or expected in text) else None

        return str(await eventually(shown))

    done = FR("objectives.achieved_of", achieved="1", counted="3", rate=FR.percent(1 / 3))
    line = FR("home.objectives_line", year=str(YEAR), done=done)
    assert line in await home(LEADER, line)
    member = await home(MEMBER)
    assert "objectives" not in member and "Objectifs" not in member
