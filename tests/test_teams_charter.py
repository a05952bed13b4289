"""`@cop charte` in Microsoft Teams (issue 17): the charter card in the community's channel, and
its dialog (task/fetch → task/submit) editing it through the same domain (bot.charters) and the
same guard (bot.permissions) as Slack — over real HTTP, through the Teams emulator, which checks
every card against the Adaptive Card 1.5 schema."""

from __future__ import annotations

from typing import Any

import pytest

from bot import charters
from bot.teams.emulator import CHANNEL, PERSONAL
from tests.conftest import TeamsBot, eventually
from tests.teams_data import teams_community

HOSTILE = "Apprendre **vite** <at>Alex Durand</at> [lien](https://evil.example) _ok_"


def texts(card: dict[str, Any]) -> str:
    return "\n".join(b.get("text", "") for b in card["body"] if b.get("type") == "TextBlock")


def inputs(card: dict[str, Any]) -> dict[str, Any]:
    return {b["id"]: b.get("value") for b in card["body"] if b.get("type", "").startswith("Input.")}


def dialog_card(answer: dict[str, Any]) -> dict[str, Any]:
    assert answer["task"]["type"] == "continue", answer
    return answer["task"]["value"]["card"]["content"]


def said(answer: dict[str, Any]) -> str:
    assert answer["task"]["type"] == "message", answer
    return str(answer["task"]["value"])


WORDS = {
    "fr-FR": {
        "word": "charte",
        "title": "Charte de Data Science",
        "none": "pas encore de charte",
        "edit": "Modifier la charte",
        "dialog": "Charte de la communauté",
        "mission_missing": "Indiquez la raison d'être de la communauté.",
        "too_many": "12 lignes au maximum, une par élément.",
        "fix": "Quelques champs sont à revoir",
        "saved": "Charte de **Data Science** enregistrée (version 1) et publiée dans le canal.",
        "mission": "Raison d'être",
    },
    "en-US": {
        "word": "charter",
        "title": "Data Science charter",
        "none": "no charter yet",
        "edit": "Edit the charter",
        "dialog": "Community charter",
        "mission_missing": "Please state the community's mission.",
        "too_many": "At most 12 lines, one per item.",
        "fix": "A few fields need another look",
        "saved": "Charter of **Data Science** saved (version 1) and posted in the channel.",
        "mission": "Mission",
    },
}


@pytest.mark.parametrize("locale", ["fr-FR", "en-US"])
async def test_a_leader_shows_and_edits_the_charter_through_the_dialog(
    teams_bot: TeamsBot, locale: str
) -> None:
    teams = teams_bot.teams
    w = WORDS[locale]
    leader = teams.members[0]
    community = await teams_community(teams_bot.bot.sessions, teams, leaders=(leader.id,))

    assert (
        await teams_bot.send(teams.message(w["word"], conversation=CHANNEL, locale=locale)) == 200
    )
    cards = await eventually(lambda: teams.cards(CHANNEL))
    shown = texts(cards[0])
    assert w["title"] in shown and w["none"] in shown
    [button] = cards[0]["actions"]
    assert button["title"] == w["edit"]
    assert button["data"]["msteams"] == {"type": "task/fetch"}

    # the dialog opens, pre-filled (empty: no charter yet), with this year's objectives
    fetch = teams.invoke(
        "task/fetch", {"data": button["data"]}, conversation=CHANNEL, locale=locale
    )
    answer = await teams_bot.ask(fetch)
    assert answer["task"]["value"]["title"] == w["dialog"]
    form = dialog_card(answer)
    assert inputs(form)["mission"] == ""
    [submit] = form["actions"]

    # sent without a purpose and with too many objectives: the errors, in the dialog, in the
    # person's language, and what they typed is still there
    typed = {
        "mission": "",
        "ambition": HOSTILE,
        "objectives": "\n".join(f"objectif {i}" for i in range(13)),
        "objectives_year": inputs(form)["objectives_year"],
        "values": "Entraide",
    }
    sent = teams.invoke(
        "task/submit", {"data": {**submit["data"], **typed}}, conversation=CHANNEL, locale=locale
    )
    again = dialog_card(await teams_bot.ask(sent))
    shown = texts(again)
    assert w["mission_missing"] in shown and w["too_many"] in shown and w["fix"] in shown
    kept = inputs(again)
    assert kept["ambition"] == HOSTILE and kept["values"] == "Entraide"
    assert kept["objectives"] == typed["objectives"]
    async with teams_bot.bot.sessions() as session:
        assert await charters.current(session, community_id=community.id) is None

    # fixed: saved as a new version, and the charter posted in the channel
    fixed = {**typed, "mission": "Partager nos pratiques", "objectives": "Un atelier par mois"}
    sent = teams.invoke(
        "task/submit", {"data": {**submit["data"], **fixed}}, conversation=CHANNEL, locale=locale
    )
    assert said(await teams_bot.ask(sent)) == w["saved"]
    async with teams_bot.bot.sessions() as session:
        current = await charters.current(session, community_id=community.id)
    assert current is not None and current.version == 1
    assert current.draft.mission == "Partager nos pratiques"
    assert current.draft.ambition == HOSTILE
    assert current.author_user_id == leader.id
    cards = await eventually(lambda: teams.cards(CHANNEL)[1:])
    posted = texts(cards[0])
    assert "Partager nos pratiques" in posted and "Un atelier par mois" in posted
    # what was typed shows as typed: its markdown escaped, its <at> no mention
    assert (
        r"Apprendre \*\*vite\*\* \<at\>Alex Durand\</at\> \[lien\](https://evil.example) \_ok\_"
        in posted
    )
    assert "entities" not in teams.activities[CHANNEL][-1]
    assert "Camille Martin" in posted  # the leader, by name
    assert teams.card_problems == []


async def test_a_member_is_refused_the_edit(teams_bot: TeamsBot) -> None:
    teams = teams_bot.teams
    leader, member = teams.members[0], teams.members[2]
    community = await teams_community(teams_bot.bot.sessions, teams, leaders=(leader.id,))

    assert await teams_bot.send(teams.message("charte", conversation=CHANNEL, member=member)) == 200
    cards = await eventually(lambda: teams.cards(CHANNEL))
    assert "Charte de Data Science" in texts(cards[0])
    assert "actions" not in cards[0]  # no edit button for a member

    data = {"msteams": {"type": "task/fetch"}, "cop": "charter", "community": community.id}
    refusal = "Seuls les animateurs, le noyau dur de la communauté et les responsables du programme peuvent modifier la charte."
    answer = await teams_bot.ask(
        teams.invoke("task/fetch", {"data": data}, conversation=CHANNEL, member=member)
    )
    assert said(answer) == refusal
    # a forged submit is refused too, and writes nothing
    sent = teams.invoke(
        "task/submit",
        {"data": {"cop": "charter", "community": community.id, "mission": "Pris !"}},
        conversation=CHANNEL,
        member=member,
    )
    assert said(await teams_bot.ask(sent)) == refusal
    async with teams_bot.bot.sessions() as session:
        assert await charters.current(session, community_id=community.id) is None
    assert len(teams.cards(CHANNEL)) == 1
    assert teams.card_problems == []


async def test_in_the_personal_chat_the_bot_says_which_channel(teams_bot: TeamsBot) -> None:
    teams = teams_bot.teams
    await teams_community(teams_bot.bot.sessions, teams, name="Agilité *pro*")
    assert await teams_bot.send(teams.message("charte")) == 200
    answers = await eventually(lambda: teams.activities.get(PERSONAL))
    assert answers[0]["text"] == (
        "Écrivez **@cop charte** dans le canal de votre communauté\u00a0: **Agilité \\*pro\\***."
    )


async def test_a_forged_year_is_refused_in_the_dialog_and_not_offered_back(
    teams_bot: TeamsBot,
) -> None:
    teams = teams_bot.teams
    leader = teams.members[0]
    community = await teams_community(teams_bot.bot.sessions, teams, leaders=(leader.id,))
    data = {"cop": "charter", "community": community.id, "mission": "Partager"}
    for year in ("²²²²", "9999", "1999"):
        sent = teams.invoke(
            "task/submit", {"data": {**data, "objectives_year": year}}, conversation=CHANNEL
        )
        form = dialog_card(await teams_bot.ask(sent))
        assert "Une partie de votre saisie n'est pas valable." in texts(form)
        assert inputs(form)["mission"] == "Partager"
        assert inputs(form)["objectives_year"] != year
    async with teams_bot.bot.sessions() as session:
        assert await charters.current(session, community_id=community.id) is None
    assert teams.card_problems == []
