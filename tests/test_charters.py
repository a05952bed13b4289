"""/cop charter end to end: the pre-filled modal, versions, show (ephemeral or public), history."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa

from bot import charters, people
from bot.charters import CharterState
from bot.models import AuditLog, CharterVersion
from tests import factories
from tests.catalogue import ANY, EN, FR, in_json, shows_in_json
from tests.conftest import MANAGER, Bot, eventually

LEADER = "U0LUCAS"
CORE = "U0CHLOE"
MEMBER = "U0HUGO"
YEAR = datetime.now(UTC).year


async def setup(bot: Bot, **kwargs: Any) -> None:
    await factories.community(
        bot.sessions, emulator=bot.emulator, leaders=(LEADER,), core=(CORE,), **kwargs
    )


async def open_modal(bot: Bot, text: str, *, user: str, channel: str = "C0DATA") -> dict[str, Any]:
    before = len(bot.emulator.calls_to("views.open"))
    await bot.slack.command(text, user=user, channel=channel)
    calls = await bot.emulator.wait_for("views.open", count=before + 1)
    return calls[-1].response["view"]


CHARTER = {
    "charter_mission": "Partager les pratiques de data science entre les équipes.",
    "charter_ambition": "Être la référence data du groupe d'ici 2028.",
    "charter_objectives": "• Lancer 4 webinaires\n- Publier un guide MLOps\n\nAccueillir 30 membres",
    "charter_year": str(YEAR),
    "charter_values": "Bienveillance, partage, curiosité.",
    "charter_member_benefits": "Apprendre, trouver de l'aide.",
    "charter_org_benefits": "Moins de doublons, des modèles en production plus vite.",
    "charter_indicators": "Membres actifs\nWebinaires tenus",
}


async def versions(bot: Bot) -> list[CharterVersion]:
    async with bot.sessions() as session:
        return list(
            await session.scalars(sa.select(CharterVersion).order_by(CharterVersion.version))
        )


async def last_ephemeral(bot: Bot, user: str, before: int = 0) -> dict[str, Any]:
    found = await eventually(
        lambda: [e for e in bot.emulator.ephemerals[before:] if e["user"] == user]
    )
    return found[-1]


async def test_leader_writes_the_charter_and_each_save_is_a_version(bot: Bot) -> None:
    await setup(bot)
    view = await open_modal(bot, "charte", user=LEADER)
    assert view["title"]["text"] == "Charte de la communauté"
    roles = json.dumps(view["blocks"], ensure_ascii=False)
    assert "<@U0LUCAS>" in roles and "<@U0CHLOE>" in roles  # roles from memberships
    response = await bot.slack.submit_view(view["id"], user=LEADER, values=CHARTER)
    assert response.status_code == 200 and not response.content
    reply = await last_ephemeral(bot, LEADER)
    assert FR("charter.saved", name="Data Science", version=1) in reply["text"]
    (first,) = await versions(bot)
    assert first.objectives == [
        "Lancer 4 webinaires",
        "Publier un guide MLOps",
        "Accueillir 30 membres",
    ]
    assert first.objectives_year == YEAR and first.indicators == [
        "Membres actifs",
        "Webinaires tenus",
    ]
    # who held the roles, by person number (never a Slack id: erasure must find none)
    async with bot.sessions() as session:
        lucas = await people.find(session, workspace_id="T0COP", slack_user_id=LEADER)
    assert lucas is not None and f"leader: person:{lucas.id}" in first.roles
    assert "U0" not in first.roles
    # the core team edits: the modal is pre-filled, the first version stays
    view = await open_modal(bot, "charter edit", user=CORE)
    mission = next(b for b in view["blocks"] if b.get("block_id") == "charter_mission")
    assert mission["element"]["initial_value"] == CHARTER["charter_mission"]
    objectives = next(b for b in view["blocks"] if b.get("block_id") == "charter_objectives")
    assert objectives["element"]["initial_value"].splitlines()[0] == "Lancer 4 webinaires"
    before = len(bot.emulator.ephemerals)
    await bot.slack.submit_view(
        view["id"], user=CORE, values={"charter_ambition": "Devenir la référence data en Europe."}
    )
    await last_ephemeral(bot, CORE, before)
    first, second = await versions(bot)
    assert first.ambition == CHARTER["charter_ambition"]
    assert second.ambition == "Devenir la référence data en Europe." and second.version == 2
    assert second.mission == first.mission
    async with bot.sessions() as session:
        assert (
            await session.scalar(
                sa.select(sa.func.count())
                .select_from(AuditLog)
                .where(AuditLog.action == "charter.saved")
            )
            == 2
        )


async def test_a_member_cannot_edit_but_anyone_can_read(bot: Bot) -> None:
    await setup(bot)
    await bot.slack.command("charte", user=MEMBER, channel="C0DATA")
    replies = await eventually(lambda: bot.emulator.responses)
    assert FR("permission.edit_charter") in replies[-1]["text"]
    assert bot.emulator.calls_to("views.open") == []
    before = len(bot.emulator.responses)
    await bot.slack.command("charte voir", user=MEMBER, channel="C0DATA")
    replies = await eventually(lambda: bot.emulator.responses[before:])
    none_yet = in_json(FR("charter.none_yet"))
    assert none_yet in json.dumps(replies[-1]["blocks"], ensure_ascii=False)


async def test_a_member_forging_a_submission_writes_nothing(bot: Bot) -> None:
    await setup(bot)
    view = await open_modal(bot, "charte", user=LEADER)
    await bot.slack.submit_view(view["id"], user=MEMBER, values=CHARTER)
    await eventually(
        lambda: any(
            c.params.get("channel") == MEMBER for c in bot.emulator.calls_to("chat.postMessage")
        )
    )
    assert await versions(bot) == []


async def test_bad_input_gets_field_errors(bot: Bot) -> None:
    await setup(bot)
    view = await open_modal(bot, "charter", user=LEADER)
    response = await bot.slack.submit_view(
        view["id"],
        user=LEADER,
        values={
            **CHARTER,
            "charter_mission": "  ",
            "charter_values": "v" * 1600,
            "charter_objectives": "\n".join(f"objectif {i}" for i in range(15)),
        },
    )
    errors = response.json()["errors"]
    assert set(errors) == {"charter_mission", "charter_values", "charter_objectives"}
    assert errors["charter_values"] == FR("charter.too_long", length=1600, max=charters.TEXT_MAX)
    assert await versions(bot) == []


async def test_the_same_submission_twice_adds_one_version(bot: Bot) -> None:
    await setup(bot)
    view = await open_modal(bot, "charte", user=LEADER)
    await bot.slack.submit_view(view["id"], user=LEADER, values=CHARTER)
    await last_ephemeral(bot, LEADER)
    before = len(bot.emulator.ephemerals)
    await bot.slack.submit_view(view["id"], user=LEADER, values=CHARTER)
    reply = await last_ephemeral(bot, LEADER, before)
    assert FR("charter.unchanged", name="Data Science", version=1) in reply["text"]
    assert len(await versions(bot)) == 1


async def test_show_public_posts_in_the_community_language_and_history_lists_versions(
    bot: Bot,
) -> None:
    await setup(bot, language="en")
    view = await open_modal(bot, "charte", user=LEADER)
    await bot.slack.submit_view(
        view["id"], user=LEADER, values={**CHARTER, "charter_year": str(YEAR - 1)}
    )
    await last_ephemeral(bot, LEADER)
    await bot.slack.command("charte voir --public", user=LEADER, channel="C0DATA")
    posted = await eventually(lambda: bot.emulator.messages["C0DATA"])
    text = json.dumps(posted[-1]["blocks"], ensure_ascii=False)
    assert EN("charter.title", name="Data Science") in text and "*Mission*" in text
    assert in_json(EN("charter.to_review", year=YEAR)) in text  # objectives of last year
    assert shows_in_json(text, EN, "charter.version_line", version=1, author="<@U0LUCAS>", date=ANY)
    before = len(bot.emulator.responses)
    await bot.slack.command("charte historique", user=MEMBER, channel="C0DATA")
    # (the public post's own confirmation may land after `before`: look for the screen)
    replies = await eventually(
        lambda: [r for r in bot.emulator.responses[before:] if r.get("blocks")]
    )
    history = json.dumps(replies[-1]["blocks"], ensure_ascii=False)
    assert FR("charter.history_title", name="Data Science") in history
    assert shows_in_json(
        history, FR, "charter.history_line", version=1, author="<@U0LUCAS>", date=ANY
    )


async def test_english_user_reads_the_charter_in_english(bot: Bot) -> None:
    await setup(bot)
    view = await open_modal(bot, "charter", user=MANAGER)
    await bot.slack.submit_view(view["id"], user=MANAGER, values=CHARTER)
    await eventually(lambda: bot.emulator.calls_to("chat.postEphemeral"))
    await bot.slack.command("charter show", user="U0EMILY", channel="C0DATA")
    replies = await eventually(lambda: bot.emulator.responses)
    text = json.dumps(replies[-1]["blocks"], ensure_ascii=False)
    assert EN("charter.title", name="Data Science") in text
    assert EN("charter.objectives_of", year=YEAR) in text
    assert not shows_in_json(text, EN, "charter.to_review", year=ANY)


def test_to_review_when_objectives_are_missing_or_old() -> None:
    today = date(2026, 6, 1)

    def state(saved_on: date | None, objectives: bool, year: int | None) -> CharterState:
        return charters.state_of(
            saved_on=saved_on, objectives=objectives, objectives_year=year, today=today
        )

    assert state(None, False, None) == CharterState.MISSING
    assert state(date(2026, 5, 1), False, 2026) == CharterState.DRAFT  # a mission, no objectives
    assert state(date(2026, 5, 1), True, 2025) == CharterState.STALE  # last year's objectives
    assert state(date(2025, 5, 1), True, 2026) == CharterState.STALE  # not saved for a year
    assert state(date(2026, 5, 1), True, 2026) == CharterState.CURRENT
    assert state(date(2026, 5, 1), True, 2027) == CharterState.CURRENT  # next year's, early
    assert all(s.to_review for s in CharterState if s != CharterState.CURRENT)
    assert charters.lines("• a\n\n - b \n* c") == ("a", "b", "c")
