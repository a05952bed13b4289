"""`@cop histoire` in Microsoft Teams (issue 17): a success story told in a dialog, checked and
recorded by the same domain as Slack's story modal, waiting for the leaders' validation and
counted as value only then — over real HTTP, every card checked against Adaptive Card 1.5."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bot import stories
from bot.models import StoryStatus
from bot.teams.emulator import CHANNEL, PERSONAL
from tests.conftest import TeamsBot, eventually
from tests.teams_data import teams_community
from tests.test_teams_health import teams_manager_bot, texts  # noqa: F401 - the fixture

HOSTILE = "Grâce à **vous** <at>Camille Martin</at> # titre"


def inputs(card: dict[str, Any]) -> dict[str, Any]:
    return {b["id"]: b.get("value") for b in card["body"] if b.get("type", "").startswith("Input.")}


async def test_a_story_told_in_the_dialog_is_recorded_and_counted_once_validated(
    teams_manager_bot: TeamsBot,  # noqa: F811 - the fixture, imported
) -> None:
    bot, teams = teams_manager_bot, teams_manager_bot.teams
    leader, member, manager = teams.members[0], teams.members[2], teams.members[-1]
    community = await teams_community(bot.bot.sessions, teams, leaders=(leader.id,))

    assert await bot.send(teams.message("histoire", conversation=CHANNEL, member=member)) == 200
    [card] = await eventually(lambda: teams.cards(CHANNEL))
    [button] = card["actions"]
    assert button["title"] == "Raconter une success story"
    answer = await bot.ask(
        teams.invoke("task/fetch", {"data": button["data"]}, conversation=CHANNEL, member=member)
    )
    form = answer["task"]["value"]["card"]["content"]
    assert set(inputs(form)) == {
        "title",
        "context",
        "contribution",
        "benefit",
        "value_amount",
        "value_unit",
        "people_involved",
        "value_kind",
        "shareable",
    }
    [submit] = form["actions"]

    # no title, an amount that is no number and no unit: each said under its field, all kept
    typed = {
        "title": "",
        "context": HOSTILE,
        "contribution": "Un atelier",
        "benefit": "Moins de tickets",
        "value_amount": "beaucoup",
        "shareable": "yes",
    }

    def sent(values: dict[str, str], activity_id: str | None = None) -> dict[str, Any]:
        invoke = teams.invoke(
            "task/submit",
            {"data": {**submit["data"], **values}},
            conversation=CHANNEL,
            member=member,
        )
        if activity_id:
            invoke["id"] = activity_id
        return invoke

    answer = await bot.ask(sent(typed))
    again = answer["task"]["value"]["card"]["content"]
    shown = "\n".join(b["text"] for b in again["body"] if b["type"] == "TextBlock")
    assert "Ce champ est obligatoire." in shown
    assert "Indiquez un nombre, par exemple 12 ou 3,5." in shown
    assert "Choisissez l'unité de la valeur." in shown
    assert inputs(again)["context"] == HOSTILE and inputs(again)["value_amount"] == "beaucoup"
    assert inputs(again)["shareable"] == "yes"

    fixed = {**typed, "title": "Support **plus rapide**", "value_amount": "1 200"}
    fixed |= {"value_unit": "hours", "value_kind": "applied"}
    answer = await bot.ask(sent(fixed, "story-1"))
    assert answer == {
        "task": {
            "type": "message",
            "value": "Merci pour votre histoire ! L'équipe d'animation va la relire.",
        }
    }
    # Teams delivering the same submit again records nothing more
    assert (await bot.ask(sent(fixed, "story-1")))["task"]["type"] == "message"
    async with bot.bot.sessions() as session:
        [story] = await stories.of_community(
            session, community_id=community.id, statuses=tuple(StoryStatus)
        )
    assert story.status == StoryStatus.SUBMITTED
    assert story.title == "Support **plus rapide**" and story.context == HOSTILE
    assert story.value_amount == Decimal("1200") and story.value_unit == "hours"
    assert story.shareable

    async def value_line() -> str:
        count = len(teams.cards(PERSONAL))
        assert await bot.send(teams.message("santé", member=manager)) == 200
        cards = await eventually(lambda: teams.cards(PERSONAL)[count:])
        return next(line for line in texts(cards[0]) if "**Valeur :**" in line)

    # waiting for the leaders: not counted yet, shown apart
    line = await value_line()
    assert "**Valeur :** 0 success story" in line and "1 en attente de validation" in line
    # the leader reviews it (`@cop histoires`, as Slack's /cop histoires): the channel's card
    # shows only validated stories, and a button opening those waiting in a dialog
    assert await bot.send(teams.message("histoires", conversation=CHANNEL)) == 200
    cards = await eventually(lambda: teams.cards(CHANNEL)[1:])
    assert "Pas encore d'histoire." in "\n".join(texts(cards[0]))
    [button] = cards[0]["actions"]
    assert button["title"] == "Relire les histoires à valider (1)"
    # a member may not open it
    refused = await bot.ask(
        teams.invoke("task/fetch", {"data": button["data"]}, conversation=CHANNEL, member=member)
    )
    assert refused["task"]["type"] == "message"
    listed = await bot.ask(
        teams.invoke("task/fetch", {"data": button["data"]}, conversation=CHANNEL)
    )
    shown = listed["task"]["value"]["card"]["content"]
    story_text = "\n".join(texts(shown))
    assert "**Support \\*\\*plus rapide\\*\\***" in story_text  # typed, shown as typed
    assert "Par Sam Bernard" in story_text and "à valider" in story_text
    [row] = [b for b in shown["body"] if b["type"] == "Container"]
    validate = row["items"][-1]["actions"][0]
    assert validate["title"] == "Valider"
    answer = await bot.ask(
        teams.invoke("task/submit", {"data": validate["data"]}, conversation=CHANNEL)
    )
    after = "\n".join(texts(answer["task"]["value"]["card"]["content"]))
    assert "Histoire validée" in after and "_validée_" in after
    # clicked twice (or by another leader meanwhile): said, not done twice
    again = await bot.ask(
        teams.invoke("task/submit", {"data": validate["data"]}, conversation=CHANNEL)
    )
    assert again == {"task": {"type": "message", "value": "Cette histoire a déjà été traitée."}}
    line = await value_line()
    assert "**Valeur :** 1 success story · 1\u202f200 heures gagnées" in line
    assert teams.card_problems == []


async def test_in_the_personal_chat_each_community_has_its_button(teams_bot: TeamsBot) -> None:
    teams = teams_bot.teams
    await teams_community(teams_bot.bot.sessions, teams)
    assert await teams_bot.send(teams.message("story", locale="en-US")) == 200
    [card] = await eventually(lambda: teams.cards(PERSONAL))
    assert [a["title"] for a in card["actions"]] == ["Tell a success story"]
    assert card["actions"][0]["data"]["cop"] == "story"
