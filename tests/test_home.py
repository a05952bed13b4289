"""The App Home tab: published on app_home_opened in the person's language, with leaders' shortcuts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bot import communities
from bot.charters import CharterState
from bot.home import Home, HomeCommunity, HomeEvent, HomePoll, ProgrammeSummary
from bot.i18n import translate
from bot.models import (
    CharterVersion,
    Community,
    CommunityKind,
    Person,
    Poll,
    PollDelivery,
    Role,
)
from bot.slack.blocks.home import build_home
from tests import factories
from tests.catalogue import ANY, EN, FR, in_json, shows, shows_in_json
from tests.conftest import MANAGER, Bot, eventually

LEADER = "U0LUCAS"
EMILY = "U0EMILY"


async def setup(bot: Bot) -> int:
    community = await factories.community(bot.sessions, emulator=bot.emulator, leaders=(LEADER,))
    await factories.community(
        bot.sessions, emulator=bot.emulator, channel="C0AGILE", name="Agilité", leaders=("U0LEA",)
    )
    return community.id


async def home_of(bot: Bot, user: str) -> dict[str, Any]:
    before = len(
        [c for c in bot.emulator.calls_to("views.publish") if c.params.get("user_id") == user]
    )
    await bot.slack.open_home(user=user)
    await bot.emulator.wait_for(
        "views.publish", lambda c: c.params.get("user_id") == user, count=before + 1
    )
    return bot.emulator.home_views[user]


async def looking_at_home(bot: Bot, user: str) -> dict[str, Any]:
    """They open their Home and keep it open: changes they would see there are pushed to it."""
    view = await home_of(bot, user)

    async def noted() -> bool:
        async with bot.sessions() as session:
            return bool(
                await session.scalar(
                    sa.select(Person.home_opened_at).where(Person.slack_user_id == user)
                )
            )

    await eventually(noted)
    return view


def text_of(view: dict[str, Any] | None) -> str:
    return json.dumps(view["blocks"], ensure_ascii=False) if view else ""


async def test_leader_home_in_french_with_shortcuts_events_and_polls(bot: Bot) -> None:
    community_id = await setup(bot)
    # an event ahead, answered by the leader, and an open poll awaiting him
    await looking_at_home(bot, LEADER)
    view = await _open(bot, "événement", LEADER)
    day = (datetime.now(UTC) + timedelta(days=3)).date()
    await bot.slack.submit_view(
        view["id"],
        user=LEADER,
        values={
            "event_title": "Webinaire MLOps",
            "event_date": day,
            "event_time": "14:00",
            "event_tz": "Europe/Paris",
        },
    )
    message = await eventually(
        lambda: [m for m in bot.emulator.messages["C0DATA"] if "Webinaire" in m.get("text", "")]
    )
    # the new event is pushed to the author's Home first (then to the members')
    await eventually(lambda: "Webinaire MLOps" in text_of(bot.emulator.home_views.get(LEADER)))
    await bot.slack.click(
        user=LEADER, action_id="event_rsvp_maybe", message=("C0DATA", message[0]["ts"])
    )
    await eventually(lambda: bot.emulator.responses)
    # and the answer reaches the Home without reopening it
    await eventually(lambda: "Peut-être" in text_of(bot.emulator.home_views.get(LEADER)))
    async with bot.sessions.begin() as session:
        lucas = await session.scalar(sa.select(Person).where(Person.slack_user_id == LEADER))
        assert lucas is not None
        now = datetime.now(UTC)
        poll = Poll(
            workspace_id="T0COP",
            community_id=community_id,
            period_key="2026-11",
            opens_at=now - timedelta(days=1),
            closes_at=now + timedelta(days=6),
        )
        session.add(poll)
        await session.flush()
        session.add(PollDelivery(workspace_id="T0COP", poll_id=poll.id, person_id=lucas.id))
    home = await home_of(bot, LEADER)
    text = text_of(home)
    assert FR("home.communities") in text
    leads = FR(
        "home.community_line", name="Data Science", channel="<#C0DATA>", role=FR("role.leader")
    )
    assert leads in text
    assert in_json(FR("home.charter_to_review")) in text
    maybe = FR("event.rsvp.maybe")
    assert shows_in_json(
        text, FR, "home.event_line", title="Webinaire MLOps", when=ANY, community=ANY, answer=maybe
    )
    assert shows_in_json(text, FR, "home.poll_line", community="Data Science", closes=ANY)
    assert "Programme" not in text  # not a manager
    # the leaders' shortcuts (the Discover section's filter and pager aside: tests/test_discover.py)
    runs = [b for b in home["blocks"] if str(b.get("block_id", "")).startswith("home_run_")]
    buttons = [e for b in runs for e in b["elements"]]
    assert {b["action_id"] for b in buttons} == {"home_charter_edit", "home_event_new"}
    assert all(b["value"] == str(community_id) for b in buttons)


async def _open(bot: Bot, text: str, user: str) -> dict[str, Any]:
    before = len(bot.emulator.calls_to("views.open"))
    await bot.slack.command(text, user=user, channel="C0DATA")
    calls = await bot.emulator.wait_for("views.open", count=before + 1)
    return calls[-1].response["view"]


async def test_edit_charter_from_home_opens_the_modal_and_saves(bot: Bot) -> None:
    await setup(bot)
    home = await home_of(bot, LEADER)
    await bot.slack.click(user=LEADER, action_id="home_charter_edit", view_id=home["id"])
    calls = await bot.emulator.wait_for("views.open")
    view = calls[-1].response["view"]
    assert view["callback_id"] == "charter_modal"
    await bot.slack.submit_view(
        view["id"],
        user=LEADER,
        values={"charter_mission": "Faire grandir la data.", "charter_objectives": "Un guide"},
    )

    async def saved() -> bool:
        async with bot.sessions() as session:
            return bool(
                await session.scalar(sa.select(sa.func.count()).select_from(CharterVersion))
            )

    await eventually(saved)
    # republished after the save: the Home behind the modal no longer asks for a review
    to_review = in_json(FR("home.charter_to_review"))
    await eventually(lambda: to_review not in text_of(bot.emulator.home_views[LEADER]))
    home = await home_of(bot, LEADER)
    assert to_review not in text_of(home)


async def test_new_event_from_home_rechecks_the_permission(bot: Bot) -> None:
    await setup(bot)
    home = await home_of(bot, LEADER)
    await bot.slack.click(user=LEADER, action_id="home_event_new", view_id=home["id"])
    calls = await bot.emulator.wait_for("views.open")
    assert calls[-1].response["view"]["callback_id"] == "event_modal"
    # Emily replays the leader's button (same community id): refused by DM, no modal
    await bot.slack.click(user=EMILY, action_id="home_event_new", view_id=home["id"])
    refusal = await bot.emulator.wait_for(
        "chat.postMessage", lambda c: c.params.get("channel") == EMILY
    )
    assert EN("permission.manage_events") in refusal[-1].params["text"]
    assert len(bot.emulator.calls_to("views.open")) == 1


async def test_member_home_in_english_without_leader_buttons(bot: Bot) -> None:
    await setup(bot)
    home = await home_of(bot, EMILY)
    text = text_of(home)
    assert EN("home.communities") in text
    assert shows_in_json(
        text, EN, "home.community_line", name=ANY, channel=ANY, role=EN("role.member")
    )
    assert "home_charter_edit" not in text
    # never asked a poll: no "No polls waiting. Thanks for answering!" (tests/test_words.py)
    assert EN("home.polls") not in text and in_json(EN("home.no_poll")) not in text
    assert "America/New_York" in text


async def test_manager_home_has_the_programme_line_and_health_button(bot: Bot) -> None:
    await setup(bot)
    home = await home_of(bot, MANAGER)
    text = text_of(home)
    async with bot.sessions() as session:
        communities = await session.scalar(sa.select(sa.func.count()).select_from(Community))
    assert communities == 2
    # Data Science has 5 members and Agilité 5, Camille is in both: 9 unique people
    assert (
        in_json(
            FR(
                "home.programme_line",
                communities=2,
                unique_name=FR("figure.members_unique"),
                members=9,
                events=0,
            )
        )
        in text
    )
    assert "health_open_overview" in text


async def test_homes_follow_events_and_answers_without_reopening(bot: Bot) -> None:
    """Emily keeps her Home open: a new event, her answer, then the cancellation show up in it."""
    await setup(bot)
    opened = await looking_at_home(bot, EMILY)
    await looking_at_home(bot, LEADER)
    assert EN("home.no_event") in text_of(opened)
    view = await _open(bot, "événement", LEADER)
    day = (datetime.now(UTC) + timedelta(days=3)).date()
    response = await bot.slack.submit_view(
        view["id"],
        user=LEADER,
        values={"event_title": "Café data", "event_date": day, "event_time": "09:00"},
    )
    assert response.status_code == 200 and not response.content  # acked before any refresh
    await eventually(lambda: "Café data" in text_of(bot.emulator.home_views[EMILY]))
    home = bot.emulator.home_views[EMILY]
    assert home["id"] == opened["id"]  # the same Home, republished
    assert shows_in_json(
        text_of(home),
        EN,
        "home.event_line",
        title="Café data",
        when=ANY,
        community=ANY,
        answer=EN("home.no_answer"),
    )
    assert "America/New_York" in text_of(home)  # her zone, her language
    message = next(m for m in bot.emulator.messages["C0DATA"] if "Café" in m.get("text", ""))
    await bot.slack.click(
        user=EMILY, action_id="event_rsvp_going", message=("C0DATA", message["ts"])
    )
    going = EN("event.rsvp.going")
    await eventually(
        lambda: shows_in_json(
            text_of(bot.emulator.home_views[EMILY]),
            EN,
            "home.event_line",
            title="Café data",
            when=ANY,
            community=ANY,
            answer=going,
        )
    )
    # cancelled from the list: gone from the Homes of the community's members
    await bot.slack.command("événement liste", user=LEADER, channel="C0DATA")
    await eventually(
        lambda: any("event_cancel" in json.dumps(e.get("blocks")) for e in bot.emulator.ephemerals)
    )
    await bot.slack.click(user=LEADER, action_id="event_cancel")
    await eventually(lambda: "Café data" not in text_of(bot.emulator.home_views[EMILY]))
    assert EN("home.no_event") in text_of(bot.emulator.home_views[EMILY])
    await eventually(lambda: "Café data" not in text_of(bot.emulator.home_views[LEADER]))


async def test_a_failed_home_refresh_is_logged_not_shown(bot: Bot, caplog: Any) -> None:
    await setup(bot)
    await looking_at_home(bot, LEADER)
    await looking_at_home(bot, EMILY)
    bot.emulator.inject_failure("views.publish", error="internal_error", times=50)
    view = await _open(bot, "événement", LEADER)
    day = (datetime.now(UTC) + timedelta(days=3)).date()
    await bot.slack.submit_view(
        view["id"],
        user=LEADER,
        values={"event_title": "Café data", "event_date": day, "event_time": "09:00"},
    )
    confirmation = await eventually(
        lambda: [e for e in bot.emulator.ephemerals if e["user"] == LEADER]
    )
    assert shows(confirmation[-1]["text"], FR, "event.created", title="Café data", when=ANY)
    await eventually(lambda: len(bot.emulator.calls_to("views.publish")) >= 4)
    await eventually(lambda: "could not publish the Home" in caplog.text)
    assert len(bot.emulator.ephemerals) == 1  # nobody is told about the failed refresh
    assert not bot.emulator.messages.get(bot.emulator.dm_channel_for(LEADER))


async def test_a_manager_of_200_communities_gets_a_home_within_slack_limits(bot: Bot) -> None:
    await setup(bot)  # Camille is a member of Data Science and Agilité
    async with bot.sessions.begin() as session:
        for n in range(200):
            row = await communities.create(
                session,
                workspace_id="T0COP",
                name=f"Communauté {n:03d}",
                channel_id=f"C0MANY{n:03d}",
                kind=CommunityKind.SPONTANEOUS,
            )
            await communities.sync_members(session, community=row, member_ids=(MANAGER,))
    home = await home_of(bot, MANAGER)
    assert len(home["blocks"]) <= 100
    text = text_of(home)
    shown = [b for b in home["blocks"] if str(b.get("block_id", "")).startswith("home_run_")]
    assert 0 < len(shown) <= 20
    assert FR("home.more_communities", count=202 - len(shown)) in text
    assert "health_open_overview" in text and FR("home.events") in text


def test_the_home_never_exceeds_100_blocks_in_english_either() -> None:
    now = datetime.now(UTC)
    many = tuple(
        HomeCommunity(
            id=n,
            name=f"Guild {n}",
            channel_id=f"C{n}",
            role=Role.LEADER,
            may_run=True,
            charter=CharterState.STALE,
        )
        for n in range(60)
    )
    events = tuple(
        HomeEvent(n, "Guild", "C1", None, f"Talk {n}", now + timedelta(days=n), None)
        for n in range(8)
    )
    polls = tuple(HomePoll(n, "Guild", now + timedelta(days=3)) for n in range(12))
    data = Home(
        communities=many,
        events=events,
        polls=polls,
        programme=ProgrammeSummary(260, 9000, 12),
        more_communities=200,
    )
    view = build_home(translate("en"), data, tz="Europe/London").to_dict()
    assert len(view["blocks"]) <= 100
    listed = sum(1 for b in view["blocks"] if b["type"] == "actions")
    text = text_of(view)
    assert EN("home.more_communities", count=260 - listed) in text
    assert "Talk 7" in text and "(Europe/London)" in text
    one_more = build_home(
        translate("en"), Home(many[:1], (), (), None, more_communities=1), tz="Europe/London"
    )
    assert EN("home.more_communities", count=1) in text_of(one_more.to_dict())
