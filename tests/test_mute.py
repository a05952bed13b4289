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
from bot.models import Person, PreferenceState, Ritual, RitualPreference
from bot.slack.echo import say
from rituals import scheduler
from rituals.outbox import Drain
from tests import factories
from tests.catalogue import EN, FR, shows_in_json
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
    assert FR("rituals.mute_title") in shown
    off = [
        ritual
        for ritual in ("welcome", "reminders", "pulse")
        if FR("rituals.muted_not", ritual=FR(f"rituals.name.{ritual}")) not in shown
    ]
    assert off == []  # each is on, and says so
    assert shows_in_json(shown, FR, "home.rituals_note")

    before = len(bot.emulator.calls_to("views.publish"))
    await bot.slack.click(user=LUCAS, action_id="rituals_mute:pulse", selected="7")
    await bot.emulator.wait_for("views.publish", count=before + 1)
    shown = text_of(bot.emulator.home_views[LUCAS]["blocks"])
    back = (datetime.now(UTC) + timedelta(days=7)).astimezone(ZoneInfo("Europe/Paris")).date()
    assert FR("rituals.muted_until", ritual=FR("rituals.name.pulse"), until=back) in shown
    assert FR("rituals.muted_not", ritual=FR("rituals.name.reminders")) in shown
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
    pulse_on = FR("rituals.muted_not", ritual=FR("rituals.name.pulse"))
    assert pulse_on in text_of(bot.emulator.home_views[LUCAS]["blocks"])
    assert await preference(bot, LUCAS, Ritual.PULSE) is None


async def test_cop_mute_shows_each_ritual_and_a_choice_updates_the_message(bot: Bot) -> None:
    await factories.community(bot.sessions, emulator=bot.emulator)
    screen = await reply_to(bot, "mute", user=EMILY)
    shown = text_of(screen["blocks"])
    assert EN("rituals.mute_title") in shown
    assert EN("rituals.muted_not", ritual=EN("rituals.name.welcome")) in shown
    assert EN("rituals.muted_not", ritual=EN("rituals.name.pulse")) in shown
    assert shown.count('"static_select"') == len(preferences.MUTABLE)
    assert EN("rituals.unmute") not in shown  # nothing to turn back on yet

    bot.emulator.add_message("C0DATA", user="UBOT", text=screen["text"], blocks=screen["blocks"])
    ts = bot.emulator.messages["C0DATA"][-1]["ts"]
    before = len(bot.emulator.responses)
    await bot.slack.click(
        user=EMILY, action_id="rituals_mute:stories", selected="off", message=("C0DATA", ts)
    )
    reply = (await eventually(lambda: bot.emulator.responses[before:]))[-1]
    assert reply["replace_original"] is True
    stories = EN("rituals.name.stories")
    assert EN("rituals.muted_for_good", ritual=stories) in reply["text"]
    updated = text_of(reply["blocks"])
    assert EN("rituals.muted_off", ritual=stories) in updated and EN("rituals.unmute") in updated
    row = await preference(bot, EMILY, Ritual.STORIES)
    assert row is not None and row.state == PreferenceState.OFF


async def test_cop_mute_in_french_with_days_and_the_words_people_type(bot: Bot) -> None:
    await factories.community(bot.sessions, emulator=bot.emulator)
    reply = await reply_to(bot, "sourdine rappels 14", user=LUCAS)
    back = (datetime.now(UTC) + timedelta(days=14)).astimezone(ZoneInfo("Europe/Paris")).date()
    reminders = FR("rituals.name.reminders")
    assert reply["text"] == FR("rituals.snoozed", ritual=reminders, until=back)
    assert FR("rituals.muted_until", ritual=reminders, until=back) in text_of(reply["blocks"])
    reply = await reply_to(bot, "sourdine rappels réactiver", user=LUCAS)
    assert reply["text"] == FR("rituals.unmuted", ritual=reminders)
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
    assert say(EN, "rituals.mute_usage") in reply["text"]  # as sent: `<ritual>` escaped
    assert await preference(bot, EMILY, Ritual.PULSE) is None


async def test_the_digest_goes_to_leaders_and_cannot_be_muted_as_a_member(bot: Bot) -> None:
    await factories.community(bot.sessions, emulator=bot.emulator)
    reply = await reply_to(bot, "mute digest off", user=EMILY)
    assert EN("rituals.mute_unknown", word="digest") in reply["text"]
