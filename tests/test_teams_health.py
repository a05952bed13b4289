"""`@cop santé` in Microsoft Teams (issue 17): the programme overview for its manager (counts by
status, the communities ranked with why and what next), a community's view for its leader in a
dialog only they see, and the refusals Slack gives — through the same guard and computation as
Slack's /cop health, over real HTTP, every card checked against the Adaptive Card 1.5 schema."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.config import load_settings
from bot.slack.emulator import SlackEmulator
from bot.teams.emulator import CHANNEL, PERSONAL, Member, TeamsEmulator
from tests import factories
from tests.conftest import TeamsBot, both_env, eventually, make_config, running_bot
from tests.factories import WORKSPACE
from tests.teams_data import teams_community

OTHER_CHANNEL = "19:emu-communaute-agile@thread.tacv2"


@pytest.fixture(params=["entra_id", "email"])
async def teams_manager_bot(
    request: pytest.FixtureRequest,
    database_url: str,
    emulator: SlackEmulator,
    teams: TeamsEmulator,
) -> AsyncIterator[TeamsBot]:
    """The Teams bot with the emulator's last member (Noa) a programme manager, named as an
    operator would: by her Microsoft Entra object id in COP_PROGRAMME_MANAGERS, or by her
    e-mail in app.yaml's `managers` (both read and checked as at start)."""
    noa = teams.members[-1]
    env = both_env(database_url, emulator, teams)
    if request.param == "entra_id":
        env["COP_PROGRAMME_MANAGERS"] = f"U0MANAGER1, {noa.aad_object_id.upper()}"
        config = make_config(database_url, emulator)
    else:
        config = make_config(database_url, emulator, managers=["U0MANAGER1", noa.email.title()])
    config = dataclasses.replace(config, settings=load_settings(env))
    async with running_bot(config, emulator) as bot:
        yield TeamsBot(bot, teams)


def texts(card: dict[str, Any]) -> list[str]:
    """The card's TextBlocks, those in its containers too, in order."""
    out: list[str] = []
    for block in card["body"]:
        if block.get("type") == "TextBlock":
            out.append(block["text"])
        out += [b["text"] for b in block.get("items", []) if b.get("type") == "TextBlock"]
    return out


async def test_the_manager_sees_the_communities_ranked_with_their_status(
    teams_manager_bot: TeamsBot,
) -> None:
    bot, teams = teams_manager_bot, teams_manager_bot.teams
    teams.conversations[OTHER_CHANNEL] = {"conversationType": "channel", "members": teams.members}
    await teams_community(bot.bot.sessions, teams, name="Data *Science*", age_days=200)
    await teams_community(bot.bot.sessions, teams, name="Agilité", channel=OTHER_CHANNEL)
    manager = teams.members[-1]

    assert await bot.send(teams.message("santé", member=manager)) == 200
    [card] = await eventually(lambda: teams.cards(PERSONAL))
    shown = texts(card)
    assert shown[0] == "Santé du programme « Programme test »"
    counts = next(line for line in shown if "florissante" in line)
    assert "1 en sommeil" in counts and "1 en démarrage" in counts
    rows = [line for line in shown if " — " in line]
    # the most worrying first, each with its status; a typed name shown as typed
    assert rows[0].startswith("**Data \\*Science\\*** — 🔴 en sommeil")
    assert rows[1].startswith("**Agilité** — 🐣 en démarrage")
    nexts = [line for line in shown if line.startswith("→ ")]
    assert len(nexts) == 2  # what to do next, for each
    assert "Les communautés, des plus préoccupantes aux plus florissantes" in "\n".join(shown)

    # English, the same ranking
    assert await bot.send(teams.message("health", member=manager, locale="en-US")) == 200
    cards = await eventually(lambda: teams.cards(PERSONAL)[1:])
    shown = texts(cards[0])
    assert shown[0] == "Health of the “Programme test” programme"
    rows = [line for line in shown if " — " in line]
    assert rows[0].startswith("**Data \\*Science\\*** — ") and rows[1].startswith("**Agilité** — ")
    assert teams.card_problems == []


async def test_someone_with_the_managers_name_but_another_identity_is_refused(
    teams_manager_bot: TeamsBot,
) -> None:
    """A look-alike: Noa's display name, another Teams id, Entra id and e-mail (a guest, or a
    namesake in another department) — the overview is refused, as to any member."""
    bot, teams = teams_manager_bot, teams_manager_bot.teams
    await teams_community(bot.bot.sessions, teams, name="Data Science", age_days=200)
    noa = teams.members[-1]
    namesake = Member(
        id="29:1emu-user-99",
        name=noa.name,
        aad_object_id="00000000-0000-4000-8000-000000009999",
        email="noa.robert@fabrikam.example",
    )
    teams.members.append(namesake)
    await teams_community(bot.bot.sessions, teams, name="Agilité", channel=OTHER_CHANNEL)

    assert await bot.send(teams.message("santé", member=namesake)) == 200
    [answer] = await eventually(lambda: teams.activities.get(PERSONAL))
    assert answer["text"] == "Seuls les responsables du programme ont accès à la vue d'ensemble."
    assert teams.cards(PERSONAL) == []
    # the manager herself, in the same chat, sees it
    assert await bot.send(teams.message("santé", member=noa)) == 200
    [card] = await eventually(lambda: teams.cards(PERSONAL))
    assert texts(card)[0] == "Santé du programme « Programme test »"


async def test_a_leader_opens_the_community_view_in_a_dialog(teams_bot: TeamsBot) -> None:
    teams = teams_bot.teams
    leader = teams.members[0]
    await teams_community(teams_bot.bot.sessions, teams, leaders=(leader.id,), age_days=200)

    assert await teams_bot.send(teams.message("santé", conversation=CHANNEL)) == 200
    [card] = await eventually(lambda: teams.cards(CHANNEL))
    assert "vous seul les verrez" in "\n".join(texts(card))
    [button] = card["actions"]
    answer = await teams_bot.ask(
        teams.invoke("task/fetch", {"data": button["data"]}, conversation=CHANNEL)
    )
    view = answer["task"]["value"]["card"]["content"]
    shown = "\n".join(texts(view))
    assert "Santé de la communauté « Data Science »" in shown
    assert "**État :** 🔴 en sommeil" in shown.replace("\u00a0", " ")
    # a member who clicks the same button is refused, as Slack refuses them
    member = teams.members[2]
    answer = await teams_bot.ask(
        teams.invoke("task/fetch", {"data": button["data"]}, conversation=CHANNEL, member=member)
    )
    assert answer["task"]["type"] == "message"
    assert "peuvent consulter sa santé" in answer["task"]["value"]
    assert teams.card_problems == []


async def test_a_member_is_refused(teams_bot: TeamsBot) -> None:
    teams = teams_bot.teams
    await teams_community(teams_bot.bot.sessions, teams, leaders=(teams.members[0].id,))
    member = teams.members[2]
    assert await teams_bot.send(teams.message("santé", conversation=CHANNEL, member=member)) == 200
    [answer] = await eventually(lambda: teams.activities.get(CHANNEL))
    assert answer["text"] == (
        "Seuls les animateurs, le noyau dur et le sponsor de la communauté (ainsi que les "
        "responsables du programme) peuvent consulter sa santé."
    )
    # and the programme's overview, from the 1:1 chat
    assert await teams_bot.send(teams.message("santé", member=member)) == 200
    [answer] = await eventually(lambda: teams.activities.get(PERSONAL))
    assert answer["text"] == "Seuls les responsables du programme ont accès à la vue d'ensemble."


async def test_a_programme_on_slack_and_teams_is_one_overview_in_teams(
    database_url: str, emulator: SlackEmulator, teams: TeamsEmulator
) -> None:
    """app.yaml `workspaces` links the Slack workspace and the Teams tenant: the manager's
    `@cop santé` in Teams lists the Slack community too (as Slack's lists the Teams one), and its
    button opens that Slack community's view (bot.health.covered, programme_row)."""
    noa = teams.members[-1]
    env = both_env(database_url, emulator, teams)
    env["COP_PROGRAMME_MANAGERS"] = f"U0MANAGER1, {noa.aad_object_id}"
    config = make_config(database_url, emulator, workspaces=[WORKSPACE, teams.tenant_id])
    config = dataclasses.replace(config, settings=load_settings(env))
    async with running_bot(config, emulator) as running:
        bot = TeamsBot(running, teams)
        await teams_community(bot.bot.sessions, teams, name="Agilité")
        slack = await factories.community(
            bot.bot.sessions, emulator=emulator, channel="C0DATA", name="Data Slack"
        )
        assert await bot.send(teams.message("santé", member=noa)) == 200
        [card] = await eventually(lambda: teams.cards(PERSONAL))
        rows = [line for line in texts(card) if " — " in line]
        assert any(r.startswith("**Data Slack**") for r in rows), rows
        assert any(r.startswith("**Agilité**") for r in rows), rows
        answer = await bot.ask(
            teams.invoke(
                "task/fetch", {"data": {"cop": "health", "community": slack.id}}, member=noa
            )
        )
        view = answer["task"]["value"]["card"]["content"]
        assert "Santé de la communauté « Data Slack »" in "\n".join(texts(view))
