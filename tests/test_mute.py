"""A member's own ritual DMs: paused, turned off and back on, from the App Home or `/cop mute`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from bot import preferences
from bot.errors import InvalidInput
from bot.i18n import translate
from bot.models import Person, PreferenceState, Ritual, RitualPreference
from rituals import scheduler
from rituals.outbox import Drain
from tests import factories
from tests.conftest import Bot, eventually
from tests.test_home import home_of

LUCAS = "U0LUCAS"  # French, Europe/Paris
EMILY = "U0EMILY"  # English, America/New_York


async def reply_to(bot: Bot, text: str, *, user: str) -> dict[str, Any]:
    """Type `/cop <text>` in #data-science and return the bot's answer (at the response_url)."""
    before = len(bot.emulator.responses)
    await bot.slack.command(text, user=user, channel="C0DATA")
    return (await eventually(lambda: bot.emulator.responses[before:]))[-1]


def text_of(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


async def preference(bot: Bot, user: str, ritual: Ritual) -> RitualPreference | None:
    async with bot.sessions() as session:
        return await session.scalar(
            sa.select(RitualPreference)
            .join(Person, Person.id == RitualPreference.person_id)
            .where(Person.slack_user_id == user, RitualPreference.ritual == ritual)
        )


async def test_a_member_pauses_the_pulse_from_the_home_tab_and_is_not_asked(bot: Bot) -> None:
    community = await factories.community(bot.sessions, emulator=bot.emulator)
    home = await home_of(bot, LUCAS)
    shown = text_of(home["blocks"])
    assert "Les messages privés que je vous envoie" in shown
    for name in ("Accueil des nouveaux", "Rappels d'événements", "Sondage pulse"):
        assert f"{name} : activé" in shown
    assert "ne concerne que vous" in shown

    before = len(bot.emulator.calls_to("views.publish"))
    await bot.slack.click(user=LUCAS, action_id="rituals_mute:pulse", selected="7")
    await bot.emulator.wait_for("views.publish", count=before + 1)
    shown = text_of(bot.emulator.home_views[LUCAS]["blocks"])
    back = (datetime.now(UTC) + timedelta(days=7)).astimezone(ZoneInfo("Europe/Paris")).date()
    assert f"Sondage pulse : en pause jusqu'au {translate('fr').date(back)}" in shown
    assert "Rappels d'événements : activé" in shown
    row = await preference(bot, LUCAS, Ritual.PULSE)
    assert row is not None and row.state == PreferenceState.SNOOZED

    # the pulse goes to the others, not to him
    await scheduler.run_now(bot.deps, ritual=Ritual.PULSE, community_id=community.id)
    await Drain(bot.deps, rate_per_minute=60000).run_once()
    assert "D0LUCAS" not in bot.emulator.messages
    assert "D0CHLOE" in bot.emulator.messages

    # and he turns it back on, from the same menu
    before = len(bot.emulator.calls_to("views.publish"))
    await bot.slack.click(user=LUCAS, action_id="rituals_mute:pulse", selected="on")
    await bot.emulator.wait_for("views.publish", count=before + 1)
    assert "Sondage pulse : activé" in text_of(bot.emulator.home_views[LUCAS]["blocks"])
    assert await preference(bot, LUCAS, Ritual.PULSE) is None


async def test_cop_mute_shows_each_ritual_and_a_choice_updates_the_message(bot: Bot) -> None:
    await factories.community(bot.sessions, emulator=bot.emulator)
    screen = await reply_to(bot, "mute", user=EMILY)
    shown = text_of(screen["blocks"])
    assert "The direct messages I send you" in shown
    assert "Welcome: on" in shown and "Pulse poll: on" in shown
    assert shown.count('"static_select"') == len(preferences.MUTABLE)
    assert "Turn back on" not in shown  # nothing to turn back on yet

    bot.emulator.add_message("C0DATA", user="UBOT", text=screen["text"], blocks=screen["blocks"])
    ts = bot.emulator.messages["C0DATA"][-1]["ts"]
    before = len(bot.emulator.responses)
    await bot.slack.click(
        user=EMILY, action_id="rituals_mute:stories", selected="off", message=("C0DATA", ts)
    )
    reply = (await eventually(lambda: bot.emulator.responses[before:]))[-1]
    assert reply["replace_original"] is True
    assert "you will no longer receive" in reply["text"]
    updated = text_of(reply["blocks"])
    assert "turned off" in updated and "Turn back on" in updated
    row = await preference(bot, EMILY, Ritual.STORIES)
    assert row is not None and row.state == PreferenceState.OFF


async def test_cop_mute_in_french_with_days_and_the_words_people_type(bot: Bot) -> None:
    await factories.community(bot.sessions, emulator=bot.emulator)
    reply = await reply_to(bot, "sourdine rappels 14", user=LUCAS)
    back = (datetime.now(UTC) + timedelta(days=14)).astimezone(ZoneInfo("Europe/Paris")).date()
    assert reply["text"] == (
        f"C'est noté : « Rappels d'événements » est en pause jusqu'au {translate('fr').date(back)}."
    )
    assert "Rappels d'événements : en pause" in text_of(reply["blocks"])
    reply = await reply_to(bot, "sourdine rappels réactiver", user=LUCAS)
    assert reply["text"] == "C'est noté : vous recevrez de nouveau « Rappels d'événements »."
    assert await preference(bot, LUCAS, Ritual.REMINDERS) is None


@pytest.mark.parametrize("choice", ["0", "366", "-3", "forever", "", "30 days"])
async def test_a_choice_outside_the_menu_is_refused_and_changes_nothing(
    bot: Bot, choice: str
) -> None:
    await factories.community(bot.sessions, emulator=bot.emulator)
    async with bot.sessions.begin() as session:
        person = await session.scalar(sa.select(Person).where(Person.slack_user_id == LUCAS))
        assert person is not None
        with pytest.raises(InvalidInput):
            await preferences.choose(
                session,
                workspace_id=person.workspace_id,
                person_id=person.id,
                ritual=Ritual.PULSE,
                choice=choice,
            )
    assert await preference(bot, LUCAS, Ritual.PULSE) is None
    # the same through Slack: a forged option value gets the usage, not a stack trace
    reply = await reply_to(bot, "mute pulse " + (choice or "x"), user=EMILY)
    assert "Usage: `/cop mute" in reply["text"]
    assert await preference(bot, EMILY, Ritual.PULSE) is None


async def test_the_digest_goes_to_leaders_and_cannot_be_muted_as_a_member(bot: Bot) -> None:
    await factories.community(bot.sessions, emulator=bot.emulator)
    reply = await reply_to(bot, "mute digest off", user=EMILY)
    assert "I don't know the ritual" in reply["text"]
