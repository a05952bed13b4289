"""Discover and join, end to end: `/cop communities` (`/cop communautés`) and the Home's Discover
section against the emulator, in French and English; joining a public channel at once, a
private one through its leaders' Accept / Decline."""

from __future__ import annotations

import asyncio
import json
from datetime import time, timedelta
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import charters, communities, events
from bot.models import CommunityKind, CommunityStatus, EventKind, Role, utcnow
from bot.slack.blocks import discover as screens
from bot.slack.emulator import SlackEmulator
from bot.slack.render import render_message, render_view
from tests import factories
from tests.catalogue import EN, FR, in_json
from tests.conftest import Bot, eventually
from tests.factories import WORKSPACE

GENERAL = "C0GEN"


async def programme(bot: Bot) -> dict[str, int]:
    """Data Science (public, a charter, a webinar ahead), Agilité (piloted), Sécurité (led by
    Hugo and Nathan), and two that are not listed: a closed one and one whose channel is archived."""
    data = await factories.community(
        bot.sessions, emulator=bot.emulator, channel="C0DATA", leaders=("U0LUCAS",)
    )
    agile = await factories.community(
        bot.sessions, emulator=bot.emulator, channel="C0AGILE", name="Agilité"
    )
    security = await factories.community(
        bot.sessions,
        emulator=bot.emulator,
        channel="C0SEC",
        name="Sécurité applicative",
        leaders=("U0HUGO", "U0NATHAN"),
        members=("U0HUGO", "U0NATHAN", "U0LUCAS"),
    )
    closed = await factories.community(
        bot.sessions, channel="C0CLOSED", name="Ancienne communauté data", members=()
    )
    archived = await factories.community(
        bot.sessions, channel="C0OLD", name="Projet archivé data", members=()
    )
    async with bot.sessions.begin() as session:
        (
            await communities.get(session, workspace_id=WORKSPACE, community_id=agile.id)
        ).kind = CommunityKind.PILOTED
        (
            await communities.get(session, workspace_id=WORKSPACE, community_id=closed.id)
        ).status = CommunityStatus.CLOSED
        row = await communities.get(session, workspace_id=WORKSPACE, community_id=archived.id)
        await communities.mark_channel(session, community=row, status=row.channel_status.ARCHIVED)
        await charters.save(
            session,
            workspace_id=WORKSPACE,
            community_id=data.id,
            author_slack_user_id="U0LUCAS",
            draft=charters.CharterDraft(mission="Partager nos modèles et nos pipelines."),
        )
        day = (utcnow() + timedelta(days=10)).date()
        schedule = events.validate(
            events.EventDraft(
                title="Webinaire MLOps",
                kind=EventKind.WEBINAR,
                day=day,
                start=time(14, 0),
                duration_minutes=60,
                tz="Europe/Paris",
            ),
            now=utcnow(),
        )
        await events.create(
            session,
            workspace_id=WORKSPACE,
            community_id=data.id,
            schedule=schedule,
            author_slack_user_id="U0LUCAS",
        )
    return {"data": data.id, "agile": agile.id, "security": security.id}


async def ask(bot: Bot, text: str, *, user: str, channel: str = GENERAL) -> dict[str, Any]:
    before = len(bot.emulator.responses)
    response = await bot.slack.command(text, user=user, channel=channel)
    assert response.status_code == 200
    replies = await eventually(lambda: bot.emulator.responses[before:])
    return dict(replies[-1])


def shown(bot: Bot, reply: dict[str, Any], user: str) -> tuple[str, str]:
    """Keep an ephemeral answer where its reader can click in it (as a message of their DM)."""
    dm = bot.emulator.dm_channel_for(user)
    message = bot.emulator.add_message(dm, user="UBOT", blocks=reply["blocks"])
    return dm, message["ts"]


async def click(
    bot: Bot, where: tuple[str, str], action_id: str, *, user: str, **kw: Any
) -> dict[str, Any]:
    before = len(bot.emulator.responses)
    response = await bot.slack.click(user=user, action_id=action_id, message=where, **kw)
    assert response.status_code == 200
    replies = await eventually(lambda: bot.emulator.responses[before:])
    return dict(replies[-1])


def cards(blocks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each listed community's name → its button (Join, or Open with a link)."""
    found = {}
    for block in blocks:
        button = block.get("accessory") or {}
        if button.get("action_id") in (screens.JOIN, screens.OPEN):
            found[block["text"]["text"].split("*")[1]] = button
    return found


def summary(reply: dict[str, Any]) -> str:
    return next(b["elements"][0]["text"] for b in reply["blocks"] if b["type"] == "context")


async def test_search_filter_and_what_is_not_listed_in_french(bot: Bot) -> None:
    await programme(bot)
    reply = await ask(bot, "communautés", user="U0LEA")
    listed = cards(reply["blocks"])
    # a closed community and an archived channel are not offered
    assert list(listed) == ["Agilité", "Data Science", "Sécurité applicative"]
    text = render_message(reply)
    assert FR("discover.summary_one_page", total=3) in text
    # the card: stage, kind, mission from the charter, leaders, size, next event
    card = FR(
        "discover.card",
        name="Data Science",
        stage=FR("health.stage.launch"),
        kind=FR("health.kind.spontaneous"),
    )
    assert card in text
    assert "Partager nos modèles et nos pipelines." in text
    assert FR("discover.leaders", names="Lucas Bernard") in text
    assert FR("discover.members", count=5) in text
    assert "Webinaire MLOps" in text
    assert FR("discover.no_event") in text  # Agilité has none
    # Léa is in Agilité: Open (a link to its channel) instead of Join
    assert listed["Agilité"]["action_id"] == screens.OPEN
    assert listed["Agilité"]["url"].endswith("channel=C0AGILE")
    assert listed["Data Science"]["action_id"] == screens.JOIN

    # /cop aide offers it to everyone
    helped = await ask(bot, "aide", user="U0LEA")
    assert in_json(FR("discover.usage")) in json.dumps(helped["blocks"], ensure_ascii=False)

    # search: any case, any accents, in the name or in the mission
    found = await ask(bot, "communautés SECURITE", user="U0LEA")
    assert list(cards(found["blocks"])) == ["Sécurité applicative"]
    found = await ask(bot, "communautés pipelines", user="U0LEA")
    assert list(cards(found["blocks"])) == ["Data Science"]
    nothing = await ask(bot, "communautés blockchain", user="U0LEA")
    assert cards(nothing["blocks"]) == {}
    assert FR("discover.no_match") in render_message(nothing)

    # the kind, typed or picked in the menu
    piloted = await ask(bot, "communautés --type pilotée", user="U0LEA")
    assert list(cards(piloted["blocks"])) == ["Agilité"]
    where = shown(bot, reply, "U0LEA")
    spontaneous = await click(bot, where, screens.KIND, user="U0LEA", selected="spontaneous|0|")
    assert spontaneous["replace_original"] is True
    assert list(cards(spontaneous["blocks"])) == ["Data Science", "Sécurité applicative"]


async def test_pages_in_a_message_and_on_the_home_in_english(bot: Bot) -> None:
    for i in range(1, 24):
        await factories.community(
            bot.sessions, channel=f"C0N{i:02d}", name=f"Community {i:02d}", members=()
        )
    reply = await ask(bot, "communities", user="U0EMILY")
    assert len(reply["blocks"]) <= 50
    assert summary(reply) == EN(
        "discover.summary", total=23, first="1", last="10", page="1", pages="3"
    )
    assert list(cards(reply["blocks"]))[:1] == ["Community 01"]
    second = await click(bot, shown(bot, reply, "U0EMILY"), screens.PAGE_NEXT, user="U0EMILY")
    assert summary(second) == EN(
        "discover.summary", total=23, first="11", last="20", page="2", pages="3"
    )
    assert list(cards(second["blocks"]))[:1] == ["Community 11"]
    third = await click(bot, shown(bot, second, "U0EMILY"), screens.PAGE_NEXT, user="U0EMILY")
    assert len(cards(third["blocks"])) == 3
    # a forged value shows the first page
    forged = await click(
        bot,
        shown(bot, third, "U0EMILY"),
        screens.PAGE_PREVIOUS,
        user="U0EMILY",
        value="nope|<!channel>|",
    )
    assert summary(forged) == summary(reply)

    # the Home's Discover section: five at a time, its own pager republishes the Home
    await bot.slack.open_home(user="U0EMILY")
    home = await eventually(lambda: bot.emulator.home_views.get("U0EMILY"))
    assert len(home["blocks"]) <= 100
    assert list(cards(home["blocks"])) == [f"Community {i:02d}" for i in range(1, 6)]
    assert EN("discover.summary", total=23, first="1", last="5", page="1", pages="5") in (
        render_view(home)
    )
    await bot.slack.click(user="U0EMILY", action_id=screens.PAGE_NEXT, view_id=home["id"])
    paged = await eventually(
        lambda: (
            (h := bot.emulator.home_views["U0EMILY"]) and "Community 06" in cards(h["blocks"]) and h
        )
    )
    assert list(cards(paged["blocks"]))[-1] == "Community 10"


async def test_joining_a_public_community_in_french(bot: Bot) -> None:
    ids = await programme(bot)
    reply = await ask(bot, "communautés data", user="U0LEA")
    where = shown(bot, reply, "U0LEA")
    answer = await click(bot, where, screens.JOIN, user="U0LEA", value=str(ids["data"]))
    assert answer["text"] == FR("discover.joined", channel="<#C0DATA>", name="Data Science")
    invites = bot.emulator.calls_to("conversations.invite")
    assert [c.params["users"] for c in invites] == ["U0LEA"]
    assert "U0LEA" in bot.emulator.workspace.channels["C0DATA"].members
    async with bot.sessions() as session:
        role = await communities.current_role(
            session, workspace_id=WORKSPACE, community_id=ids["data"], slack_user_id="U0LEA"
        )
    assert role == Role.MEMBER
    # Slack's own member_joined_channel event follows: nothing counted twice
    await bot.slack.join(user="U0LEA", channel="C0DATA")
    again = await ask(bot, "communautés data", user="U0LEA")
    assert cards(again["blocks"])["Data Science"]["action_id"] == screens.OPEN
    assert FR("discover.members", count=6) in render_message(again)
    # an old Join button clicked once more: already in, no second invitation
    late = await click(bot, where, screens.JOIN, user="U0LEA", value=str(ids["data"]))
    assert late["text"] == FR("discover.already_in", name="Data Science", channel="<#C0DATA>")
    assert len(bot.emulator.calls_to("conversations.invite")) == 1


async def test_a_private_community_asks_its_leaders_accepted_in_english(bot: Bot) -> None:
    ids = await programme(bot)
    bot.emulator.workspace.channels["C0SEC"].is_private = True
    reply = await ask(bot, "communities applicative", user="U0EMILY")
    answer = await click(
        bot, shown(bot, reply, "U0EMILY"), screens.JOIN, user="U0EMILY", value=str(ids["security"])
    )
    assert answer["text"] == EN("discover.requested", name="Sécurité applicative")
    assert not bot.emulator.calls_to("conversations.invite")
    asked = {}
    for leader in ("U0HUGO", "U0NATHAN"):
        dm = bot.emulator.dm_channel_for(leader)
        message = await eventually(lambda dm=dm: bot.emulator.messages.get(dm))
        assert (
            FR("discover.ask_leaders", who="<@U0EMILY>", name="Sécurité applicative")
            in message[-1]["text"]
        )
        asked[leader] = (dm, message[-1]["ts"])
    # asking twice does not ask the leaders twice
    twice = await click(
        bot, shown(bot, reply, "U0EMILY"), screens.JOIN, user="U0EMILY", value=str(ids["security"])
    )
    assert twice["text"] == EN("discover.request_pending", name="Sécurité applicative")
    assert len(bot.emulator.messages[bot.emulator.dm_channel_for("U0HUGO")]) == 1

    # a member who is not a leader cannot decide
    bot.emulator.add_message(
        bot.emulator.dm_channel_for("U0LUCAS"),
        user="UBOT",
        blocks=bot.emulator.messages[asked["U0HUGO"][0]][-1]["blocks"],
    )
    refused = await click(
        bot,
        (
            bot.emulator.dm_channel_for("U0LUCAS"),
            bot.emulator.messages[bot.emulator.dm_channel_for("U0LUCAS")][-1]["ts"],
        ),
        screens.ACCEPT,
        user="U0LUCAS",
    )
    assert refused["text"] == FR("permission.decide_join")

    # what Nathan's Slack still shows if it has not redrawn his message yet
    stale = bot.emulator.add_message(
        asked["U0NATHAN"][0],
        user="UBOT",
        blocks=bot.emulator.messages[asked["U0NATHAN"][0]][-1]["blocks"],
    )
    accepted = await click(bot, asked["U0HUGO"], screens.ACCEPT, user="U0HUGO")
    assert accepted["replace_original"] is True
    assert accepted["text"] == FR(
        "discover.accepted_by",
        who="<@U0HUGO>",
        requester="<@U0EMILY>",
        name="Sécurité applicative",
    )
    assert "U0EMILY" in bot.emulator.workspace.channels["C0SEC"].members
    emily = bot.emulator.dm_channel_for("U0EMILY")
    told = await eventually(
        lambda: [
            m
            for m in bot.emulator.messages.get(emily, [])
            if m["user"] == "UBOT" and "C0SEC" in m.get("text", "")
        ]
    )
    assert told[-1]["text"] == EN(
        "discover.you_are_accepted", name="Sécurité applicative", channel="<#C0SEC>"
    )
    # the second leader clicks afterwards (or Hugo clicks twice): already decided, nothing redone
    # Nathan's copy now says who decided, with no buttons left
    redrawn = bot.emulator.find_message(*asked["U0NATHAN"])
    assert redrawn is not None
    assert redrawn["text"] == accepted["text"]
    assert "actions" not in [b["type"] for b in redrawn["blocks"]]
    late = await click(bot, (asked["U0NATHAN"][0], stale["ts"]), screens.DECLINE, user="U0NATHAN")
    assert late["text"] == FR("discover.already_accepted", who="<@U0HUGO>")
    again = await click(bot, asked["U0HUGO"], screens.ACCEPT, user="U0HUGO")
    assert again["text"] == FR("discover.already_accepted", who="<@U0HUGO>")
    assert len(bot.emulator.calls_to("conversations.invite")) == 1
    async with bot.sessions() as session:
        role = await communities.current_role(
            session, workspace_id=WORKSPACE, community_id=ids["security"], slack_user_id="U0EMILY"
        )
    assert role == Role.MEMBER


async def test_a_private_request_declined_in_french(bot: Bot) -> None:
    ids = await programme(bot)
    bot.emulator.workspace.channels["C0SEC"].is_private = True
    reply = await ask(bot, "communautés", user="U0CHLOE")
    await click(
        bot, shown(bot, reply, "U0CHLOE"), screens.JOIN, user="U0CHLOE", value=str(ids["security"])
    )
    dm = bot.emulator.dm_channel_for("U0NATHAN")
    message = (await eventually(lambda: bot.emulator.messages.get(dm)))[-1]
    declined = await click(bot, (dm, message["ts"]), screens.DECLINE, user="U0NATHAN")
    assert declined["text"] == FR(
        "discover.declined_by",
        who="<@U0NATHAN>",
        requester="<@U0CHLOE>",
        name="Sécurité applicative",
    )
    chloe = bot.emulator.dm_channel_for("U0CHLOE")
    told = await eventually(
        lambda: [
            m for m in bot.emulator.messages.get(chloe, []) if m["user"] == "UBOT" and m.get("text")
        ]
    )
    assert told[-1]["text"] == FR("discover.you_are_declined", name="Sécurité applicative")
    assert "U0CHLOE" not in bot.emulator.workspace.channels["C0SEC"].members
    assert not bot.emulator.calls_to("conversations.invite")


async def test_the_emulator_invites_as_slack_does(emulator: SlackEmulator) -> None:
    client = AsyncWebClient(token=emulator.workspace.bot_token, base_url=emulator.api_url)
    answer = await client.conversations_invite(channel="C0DATA", users="U0LEA,U0JAMES")
    assert answer["channel"]["id"] == "C0DATA"
    assert {"U0LEA", "U0JAMES"} <= set(emulator.workspace.channels["C0DATA"].members)
    for channel, users, error in (
        ("C0DATA", "U0LEA", "already_in_channel"),
        ("C0OLD", "U0LEA", "is_archived"),
        ("C0DATA", "U0JIRA", "cant_invite"),
        ("C0DATA", "U0PIERRE", "user_is_deactivated"),
        ("C0DATA", "UBOT", "cant_invite_self"),
        ("C0DATA", "U0NOBODY", "user_not_found"),
        ("C0NOPE", "U0LEA", "channel_not_found"),
        ("C0DATA", "", "no_user"),
    ):
        with pytest.raises(SlackApiError) as refused:
            await client.conversations_invite(channel=channel, users=users)
        assert refused.value.response["error"] == error


async def test_two_leaders_clicking_at_once_decide_once(bot: Bot) -> None:
    ids = await programme(bot)
    bot.emulator.workspace.channels["C0SEC"].is_private = True
    reply = await ask(bot, "communities", user="U0JAMES")
    await click(
        bot, shown(bot, reply, "U0JAMES"), screens.JOIN, user="U0JAMES", value=str(ids["security"])
    )
    asked = {}
    for leader in ("U0HUGO", "U0NATHAN"):
        dm = bot.emulator.dm_channel_for(leader)
        message = (await eventually(lambda dm=dm: bot.emulator.messages.get(dm)))[-1]
        asked[leader] = (dm, message["ts"])
    before = len(bot.emulator.responses)
    await asyncio.gather(
        bot.slack.click(user="U0HUGO", action_id=screens.ACCEPT, message=asked["U0HUGO"]),
        bot.slack.click(user="U0NATHAN", action_id=screens.DECLINE, message=asked["U0NATHAN"]),
    )
    answers = await eventually(
        lambda: len(bot.emulator.responses[before:]) >= 2 and bot.emulator.responses[before:]
    )
    texts = sorted(a["text"] for a in answers)
    decided = [t for t in texts if "✅" in t or "❌" in t]
    assert len(decided) == 1, texts
    james = bot.emulator.dm_channel_for("U0JAMES")
    outcomes = {
        EN("discover.you_are_accepted", name="Sécurité applicative", channel="<#C0SEC>"),
        EN("discover.you_are_declined", name="Sécurité applicative"),
    }
    told = await eventually(
        lambda: [
            m
            for m in bot.emulator.messages.get(james, [])
            if m["user"] == "UBOT" and m.get("text") in outcomes
        ]
    )
    assert len(told) == 1
    assert len(bot.emulator.calls_to("conversations.invite")) == ("✅" in decided[0])


async def test_joining_from_the_home_in_english(bot: Bot) -> None:
    ids = await programme(bot)
    await bot.slack.open_home(user="U0JAMES")
    home = await eventually(lambda: bot.emulator.home_views.get("U0JAMES"))
    listed = cards(home["blocks"])
    assert listed["Agilité"]["action_id"] == screens.OPEN  # James is in #agilite
    assert listed["Data Science"]["action_id"] == screens.JOIN
    await bot.slack.click(
        user="U0JAMES", action_id=screens.JOIN, view_id=home["id"], value=str(ids["data"])
    )
    dm = bot.emulator.dm_channel_for("U0JAMES")
    joined = EN("discover.joined", channel="<#C0DATA>", name="Data Science")
    await eventually(lambda: [m for m in bot.emulator.messages.get(dm, []) if m["text"] == joined])
    again = await eventually(
        lambda: (
            cards(bot.emulator.home_views["U0JAMES"]["blocks"])["Data Science"]["action_id"]
            == screens.OPEN
        )
    )
    assert again


async def test_what_people_typed_pings_nobody_in_the_listing(bot: Bot) -> None:
    hostile = await factories.community(
        bot.sessions, emulator=bot.emulator, channel="C0DATA", name="<!channel> Data & co"
    )
    async with bot.sessions.begin() as session:
        await charters.save(
            session,
            workspace_id=WORKSPACE,
            community_id=hostile.id,
            author_slack_user_id="U0LUCAS",
            draft=charters.CharterDraft(mission="<@U0LUCAS> <https://evil.example|official>"),
        )
    since = len(bot.emulator.calls)
    reply = await ask(bot, "communautés data", user="U0LEA")
    assert "<!channel> Data & co" in render_message(reply)  # shown as typed
    sequences = {sequence for _, sequence in bot.emulator.parsed_markup(since)}
    assert sequences == set(), sequences
