"""The App Home tab: published on app_home_opened in the person's language, with leaders' shortcuts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bot.models import CharterVersion, Community, Person, Poll, PollDelivery
from tests import factories
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


def text_of(view: dict[str, Any]) -> str:
    return json.dumps(view["blocks"], ensure_ascii=False)


async def test_leader_home_in_french_with_shortcuts_events_and_polls(bot: Bot) -> None:
    community_id = await setup(bot)
    # an event ahead, answered by the leader, and an open poll awaiting him
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
    await bot.slack.click(
        user=LEADER, action_id="event_rsvp_maybe", message=("C0DATA", message[0]["ts"])
    )
    await eventually(lambda: bot.emulator.responses)
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
    assert "Vos communautés" in text and "*Data Science* (<#C0DATA>) — animateur·rice" in text
    assert "Charte à revoir" in text
    assert "Webinaire MLOps" in text and "votre réponse : Peut-être" in text
    assert "Sondage de *Data Science*" in text
    assert "Programme" not in text  # not a manager
    buttons = [e for b in home["blocks"] if b["type"] == "actions" for e in b["elements"]]
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
    home = await home_of(bot, LEADER)
    assert "Charte à revoir" not in text_of(home)


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
    assert "Only" in refusal[-1].params["text"]
    assert len(bot.emulator.calls_to("views.open")) == 1


async def test_member_home_in_english_without_leader_buttons(bot: Bot) -> None:
    await setup(bot)
    home = await home_of(bot, EMILY)
    text = text_of(home)
    assert "Your communities" in text and "member" in text
    assert "home_charter_edit" not in text and "No polls waiting" in text
    assert "America/New_York" in text


async def test_manager_home_has_the_programme_line_and_health_button(bot: Bot) -> None:
    await setup(bot)
    home = await home_of(bot, MANAGER)
    text = text_of(home)
    async with bot.sessions() as session:
        communities = await session.scalar(sa.select(sa.func.count()).select_from(Community))
    assert communities == 2
    # Data Science has 5 members and Agilité 5, Camille is in both: 9 unique people
    assert "2 communautés · 9 membres (personnes uniques) · 0 événements" in text
    assert "health_open_overview" in text
