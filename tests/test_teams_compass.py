"""`@cop boussole` in Microsoft Teams: the compass's questionnaire as a dialog (task/fetch →
task/submit) through the same domain (bot.compass) and the same guard (Action.TAKE_COMPASS) as
Slack's `/cop boussole`, its result (with the radar chart) in the dialog — over real HTTP,
through the Teams emulator, which checks every card against the Adaptive Card 1.5 schema."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot import compass, people
from bot.config import load_settings
from bot.i18n import translate
from bot.models import utcnow
from bot.slack.emulator import SlackEmulator
from bot.teams.cards.compass import FIELD
from bot.teams.emulator import CHANNEL, PERSONAL, TeamsEmulator, card_errors
from tests.conftest import TeamsBot, eventually, make_config, running_bot, teams_env
from tests.teams_data import teams_community

Json = dict[str, Any]


def texts(card: Json) -> str:
    return "\n".join(b.get("text", "") for b in card["body"] if b.get("type") == "TextBlock")


def inputs(card: Json) -> dict[str, Any]:
    return {b["id"]: b.get("value") for b in card["body"] if b.get("type", "").startswith("Input.")}


def dialog_card(answer: Json) -> Json:
    assert answer["task"]["type"] == "continue", answer
    content: Json = answer["task"]["value"]["card"]["content"]
    assert card_errors(content) == []
    return content


def said(answer: Json) -> str:
    assert answer["task"]["type"] == "message", answer
    return str(answer["task"]["value"])


@pytest.mark.parametrize("locale", ["fr-FR", "en-US"])
async def test_a_leader_fills_the_compass_in_the_dialog_and_sees_the_result(
    teams_bot: TeamsBot, locale: str
) -> None:
    teams = teams_bot.teams
    t = translate(locale[:2])
    leader = teams.members[0]
    community = await teams_community(teams_bot.bot.sessions, teams, leaders=(leader.id,))

    word = t("teams.help.word.compass")
    assert await teams_bot.send(teams.message(word, conversation=CHANNEL, locale=locale)) == 200
    [card] = await eventually(lambda: teams.cards(CHANNEL))
    assert t("compass.title", name="Data Science") in texts(card)
    fill, see = card["actions"]
    assert fill["title"] == t("teams.compass.fill") and see["title"] == t("teams.compass.see")
    assert fill["data"]["msteams"] == {"type": "task/fetch"}

    # before anyone answered, the result says so
    answer = await teams_bot.ask(
        teams.invoke("task/fetch", {"data": see["data"]}, conversation=CHANNEL, locale=locale)
    )
    assert "Data Science" in said(answer)

    # the questionnaire: every statement of Slack's modal, the 1–4 scale, nothing picked yet
    answer = await teams_bot.ask(
        teams.invoke("task/fetch", {"data": fill["data"]}, conversation=CHANNEL, locale=locale)
    )
    assert answer["task"]["value"]["title"] == t("compass.modal_title")
    form = dialog_card(answer)
    fields = inputs(form)
    assert set(fields) == {FIELD + s for s in compass.STATEMENTS}
    assert all(value is None for value in fields.values())
    labels = [b["label"] for b in form["body"] if b.get("type") == "Input.ChoiceSet"]
    assert t("compass.stmt.purpose.mission") in labels
    choices = next(b for b in form["body"] if b.get("type") == "Input.ChoiceSet")["choices"]
    assert [c["value"] for c in choices] == ["1", "2", "3", "4"]
    [submit] = form["actions"]

    # sent empty: the domain's error, in the dialog, nothing recorded
    sent = teams.invoke(
        "task/submit", {"data": dict(submit["data"])}, conversation=CHANNEL, locale=locale
    )
    again = dialog_card(await teams_bot.ask(sent))
    assert t("compass.answer_one") in texts(again)
    # a forged level is refused under its statement, the levels picked kept
    picked = {FIELD + "purpose.mission": "3", FIELD + "members.core": "9"}
    sent = teams.invoke(
        "task/submit", {"data": {**submit["data"], **picked}}, conversation=CHANNEL, locale=locale
    )
    again = dialog_card(await teams_bot.ask(sent))
    assert t("error.invalid") in texts(again)
    assert inputs(again)[FIELD + "purpose.mission"] == "3"
    async with teams_bot.bot.sessions() as session:
        found = await compass.result(session, community_id=community.id, now=utcnow())
    assert found is None or found.empty

    # right: recorded, and the result shows in the dialog, with its radar chart
    levels = {FIELD + s: "2" for s in compass.dimension("purpose").statements}
    levels |= {FIELD + s: "4" for s in compass.dimension("value").statements}
    sent = teams.invoke(
        "task/submit", {"data": {**submit["data"], **levels}}, conversation=CHANNEL, locale=locale
    )
    result = dialog_card(await teams_bot.ask(sent))
    shown = texts(result)
    assert t("compass.saved", name="Data Science").replace("*", "") in shown.replace("*", "")
    assert t("compass.dim.purpose") in shown and t("compass.weakest_title").strip("*") in shown
    [image] = [b for b in result["body"] if b.get("type") == "Image"]
    assert image["url"].startswith("data:image/png;base64,")
    assert image["altText"] == t("compass.chart_title", name="Data Science")
    async with teams_bot.bot.sessions() as session:
        found = await compass.result(session, community_id=community.id, now=utcnow())
    assert found is not None and found.respondents == 1
    assert found.medians()["purpose"] == 2 and found.medians()["value"] == 4

    # opened again: their answers are back; sent again, they replace the first ones
    form = dialog_card(
        await teams_bot.ask(
            teams.invoke("task/fetch", {"data": fill["data"]}, conversation=CHANNEL, locale=locale)
        )
    )
    assert inputs(form)[FIELD + "purpose.mission"] == "2"
    sent = teams.invoke(
        "task/submit",
        {"data": {**submit["data"], **levels, FIELD + "purpose.mission": "4"}},
        conversation=CHANNEL,
        locale=locale,
    )
    result = dialog_card(await teams_bot.ask(sent))
    assert t("compass.changed", name="Data Science").replace("*", "") in texts(result).replace(
        "*", ""
    )
    async with teams_bot.bot.sessions() as session:
        found = await compass.result(session, community_id=community.id, now=utcnow())
    assert found is not None and found.respondents == 1
    assert teams.card_problems == []


async def test_a_member_is_refused_as_on_slack(teams_bot: TeamsBot) -> None:
    teams = teams_bot.teams
    fr = translate("fr")
    leader, member = teams.members[0], teams.members[2]
    community = await teams_community(teams_bot.bot.sessions, teams, leaders=(leader.id,))
    refusal = fr("permission.take_compass")

    assert await teams_bot.send(teams.message("boussole", conversation=CHANNEL, member=member))
    [reply] = await eventually(lambda: teams.activities.get(CHANNEL) or [])
    assert refusal in reply["text"]
    assert teams.cards(CHANNEL) == []

    # the dialogs refuse too (a button clicked by someone else), and a forged submit writes
    # nothing
    for key in ("compass", "compass_result"):
        data = {"msteams": {"type": "task/fetch"}, "cop": key, "community": community.id}
        answer = await teams_bot.ask(
            teams.invoke("task/fetch", {"data": data}, conversation=CHANNEL, member=member)
        )
        assert said(answer) == refusal
    sent = teams.invoke(
        "task/submit",
        {"data": {"cop": "compass", "community": community.id, FIELD + "purpose.mission": "4"}},
        conversation=CHANNEL,
        member=member,
    )
    assert said(await teams_bot.ask(sent)) == refusal
    async with teams_bot.bot.sessions() as session:
        found = await compass.result(session, community_id=community.id, now=utcnow())
    assert found is None or found.empty
    assert teams.card_problems == []


async def test_in_the_personal_chat_the_bot_says_which_channel(teams_bot: TeamsBot) -> None:
    teams = teams_bot.teams
    leader = teams.members[0]
    await teams_community(teams_bot.bot.sessions, teams, leaders=(leader.id,))
    assert await teams_bot.send(teams.message("boussole", conversation=PERSONAL)) == 200
    [reply] = await eventually(lambda: teams.activities.get(PERSONAL) or [])
    assert "@cop boussole" in reply["text"] and "Data Science" in reply["text"]


@pytest.fixture
async def teams_manager_bot(
    database_url: str, emulator: SlackEmulator, teams: TeamsEmulator
) -> AsyncIterator[TeamsBot]:
    """The Teams bot with the emulator's last member (Noa) a programme manager, named by her
    Microsoft Entra object id in COP_PROGRAMME_MANAGERS (as tests/test_teams_health.py)."""
    noa = teams.members[-1]
    env = {
        "SLACK_BOT_TOKEN": emulator.workspace.bot_token,
        "SLACK_SIGNING_SECRET": "test-signing-secret",
        "SLACK_API_URL": emulator.api_url,
        "COP_DATABASE_URL": database_url,
        "COP_PROGRAMME_MANAGERS": noa.aad_object_id,
        **teams_env(teams),
    }
    config = dataclasses.replace(make_config(database_url, emulator), settings=load_settings(env))
    async with running_bot(config, emulator) as bot:
        yield TeamsBot(bot, teams)


async def test_the_manager_sees_the_programmes_heatmap(teams_manager_bot: TeamsBot) -> None:
    tb, teams = teams_manager_bot, teams_manager_bot.teams
    fr = translate("fr")
    leader, member, noa = teams.members[0], teams.members[2], teams.members[-1]
    name = "Data *Science*"
    community = await teams_community(tb.bot.sessions, teams, name=name, leaders=(leader.id,))
    async with tb.bot.sessions.begin() as session:
        person = await people.find(session, workspace_id=teams.tenant_id, slack_user_id=leader.id)
        assert person is not None
        await compass.join_or_open(
            session,
            workspace_id=teams.tenant_id,
            community_id=community.id,
            now=utcnow(),
            person_id=person.id,
            survey_rule=tb.bot.deps.disclosure,
        )
        await compass.record_answers(
            session,
            workspace_id=teams.tenant_id,
            community_id=community.id,
            person_id=person.id,
            scores=dict.fromkeys(compass.STATEMENTS, 3),
            now=utcnow(),
        )

    # in her 1:1: the map, the community's name as typed
    assert await tb.send(teams.message("boussole programme", conversation=PERSONAL, member=noa))
    [card] = await eventually(lambda: teams.cards(PERSONAL))
    assert card_errors(card) == []
    shown = texts(card)
    assert fr("compass.heatmap_title") in shown
    assert "🟨" * 6 + r"  **Data \*Science\***" in shown

    # in a channel: a button, the map in a dialog; a member is refused both
    assert await tb.send(teams.message("boussole programme", conversation=CHANNEL, member=noa))
    [button] = (await eventually(lambda: teams.cards(CHANNEL)))[0]["actions"]
    answer = await tb.ask(
        teams.invoke("task/fetch", {"data": button["data"]}, conversation=CHANNEL, member=noa)
    )
    assert "🟨" * 6 in texts(dialog_card(answer))
    refusal = fr("permission.view_programme")
    answer = await tb.ask(
        teams.invoke("task/fetch", {"data": button["data"]}, conversation=CHANNEL, member=member)
    )
    assert said(answer) == refusal
    before = len(teams.activities.get(CHANNEL) or [])
    await tb.send(teams.message("boussole programme", conversation=CHANNEL, member=member))
    reply = (await eventually(lambda: (teams.activities.get(CHANNEL) or [])[before:]))[0]
    assert refusal in reply["text"]
    assert teams.card_problems == []
