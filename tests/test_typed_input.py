"""Small holes in what people (or forgers) type: invisible titles, impossible years, digits that
are not digits. Each gets the answer an empty field, a bad date or a forged value gets — a field
error or "not found" in the person's language — over real, signed HTTP, never a 500 and never a
row. Runs on SQLite and PostgreSQL (the `bot` fixture)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from bot.models import CharterVersion, Community, Event, PollResponse, RitualPreference
from bot.slack.blocks import event as event_screens
from tests.conftest import MANAGER, Bot, eventually
from tests.test_hostile_payloads import (
    EMILY,
    LEADER,
    assert_clean,
    field_errors,
    forge,
    opened,
    said,
    snapshot,
    submit,
    world,
)

# Only invisible characters: zero-width space, joiners, word joiner, BOM, soft hyphen, bidi marks
# and overrides, Hangul filler, combining grapheme joiner, and a mix with ordinary spaces.
INVISIBLE = [
    "\u200b",
    "\u200b\u200c\u200d",
    "\u2060\ufeff",
    "\u00ad\u00ad",
    "\u202e\u202c\u200f\u200e",
    "\u2066\u2069",
    " \u200b \u3164 \u034f ",
]
NOT_DIGITS = ["²²²²", "١٢٠", "۹۰", "𝟗𝟎", "½"]  # str.isdigit() (or isnumeric()) yet not 0-9


def no_listener_failed(bot: Bot) -> None:
    """Nothing reached the error handler (where a traceback would have gone)."""
    assert not [s for m in bot.deps.metrics.errors.collect() for s in m.samples if s.value], (
        "a listener failed"
    )


def next_week() -> date:
    return (datetime.now(UTC) + timedelta(days=7)).date()


def event_values(**over: Any) -> dict[str, Any]:
    return {
        "event_title": "Atelier",
        "event_date": next_week(),
        "event_time": "14:00",
        "event_duration": "60",
        "event_tz": "Europe/Paris",
        **over,
    }


# --- a title of only invisible characters is empty ---------------------------------------------


async def test_a_title_of_only_invisible_characters_is_empty_in_every_modal(bot: Bot) -> None:
    ids = await world(bot)
    event_view = await opened(bot, bot.slack.command("event", user=LEADER, channel="C0DATA"))
    charter_view = await opened(bot, bot.slack.command("charter", user=LEADER, channel="C0DATA"))
    story_view = await opened(
        bot, forge(bot, user=EMILY, action_id="story_share", value=str(ids["data"]))
    )
    story = {"title": "T", "context": "C", "contribution": "K", "benefit": "B"}
    for text in INVISIBLE:
        before = await snapshot(bot)
        errors = field_errors(
            await submit(bot, event_view["id"], user=LEADER, values=event_values(event_title=text))
        )
        assert errors == {"event_title": "Donnez un titre à l'événement."}, repr(text)
        errors = field_errors(
            await submit(bot, charter_view["id"], user=LEADER, values={"charter_mission": text})
        )
        assert errors == {"charter_mission": "Indiquez la raison d'être de la communauté."}
        errors = field_errors(
            await submit(bot, story_view["id"], user=EMILY, values={**story, "title": text})
        )
        assert errors == {"title": "This field is required."}, repr(text)  # Emily reads English
        assert await snapshot(bot) == before
    no_listener_failed(bot)
    assert_clean(bot)


async def test_invisible_lines_are_not_charter_objectives(bot: Bot) -> None:
    await world(bot)
    view = await opened(bot, bot.slack.command("charter", user=LEADER, channel="C0DATA"))
    objectives = "\n".join(["Former 20 personnes", *INVISIBLE, "Publier 3 retours"])
    response = await submit(
        bot,
        view["id"],
        user=LEADER,
        values={"charter_mission": "Partager", "charter_objectives": objectives},
    )
    assert field_errors(response) == {}

    async def saved() -> CharterVersion | None:
        async with bot.sessions() as session:
            return await session.scalar(sa.select(CharterVersion))

    charter = await eventually(saved)
    assert list(charter.objectives) == ["Former 20 personnes", "Publier 3 retours"]


async def test_joiners_inside_a_title_are_kept(bot: Bot) -> None:
    """Only a field with nothing visible is emptied: the joiners of a family emoji stay."""
    await world(bot)
    view = await opened(bot, bot.slack.command("event", user=LEADER, channel="C0DATA"))
    title = "Famille 👩\u200d👩\u200d👧 et \u200bco"
    response = await submit(bot, view["id"], user=LEADER, values=event_values(event_title=title))
    assert field_errors(response) == {}

    async def created() -> Event | None:
        async with bot.sessions() as session:
            return await session.scalar(sa.select(Event).where(Event.title == title))

    assert await eventually(created)


@pytest.mark.parametrize("name", ["\u200b", '"\u200b\u200d"', "\u2060 \ufeff"])
async def test_a_community_named_with_invisible_characters_is_refused(bot: Bot, name: str) -> None:
    since = len(bot.emulator.calls)
    response = await bot.slack.command(f"community create {name}", user=MANAGER, channel="C0AGILE")
    assert response.status_code == 200
    answer = (await eventually(lambda: said(bot, since)))[-1]
    assert "communauté créer" in answer  # how to give it a name
    async with bot.sessions() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(Community)) == 0
    no_listener_failed(bot)


# --- year 9999 and year 0001 ---------------------------------------------------------------------


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "2999-06-01"])
async def test_an_event_date_far_outside_the_years_around_now_is_a_field_error(
    bot: Bot, day: str
) -> None:
    await world(bot)
    view = await opened(bot, bot.slack.command("event", user=LEADER, channel="C0DATA"))
    before = await snapshot(bot)
    response = await submit(bot, view["id"], user=LEADER, values=event_values(event_date=day))
    errors = field_errors(response)
    assert set(errors) == {"event_date"}
    today = datetime.now(UTC).date()
    last = f"{today.year + 5}"
    assert (
        errors["event_date"].startswith("Choisissez une date entre le ")
        and last in (errors["event_date"])
    )
    assert await snapshot(bot) == before
    no_listener_failed(bot)


async def test_the_last_day_of_the_window_is_still_accepted(bot: Bot) -> None:
    await world(bot)
    view = await opened(bot, bot.slack.command("event", user=LEADER, channel="C0DATA"))
    today = datetime.now(UTC).date()
    far = today.replace(year=today.year + 5, day=min(today.day, 28)) - timedelta(days=1)
    response = await submit(bot, view["id"], user=LEADER, values=event_values(event_date=far))
    assert field_errors(response) == {}


async def test_a_forged_charter_year_is_refused(bot: Bot) -> None:
    await world(bot)
    view = await opened(bot, bot.slack.command("charter", user=LEADER, channel="C0DATA"))
    block = next(b for b in view["blocks"] if b.get("block_id") == "charter_year")
    for forged in ("9999", "0001", "²²²²", "١٢٣٤"):  # what only a forger could send
        block["element"]["options"].append(
            {"text": {"type": "plain_text", "text": forged}, "value": forged}
        )
        before = await snapshot(bot)
        response = await submit(
            bot,
            view["id"],
            user=LEADER,
            values={"charter_mission": "Partager", "charter_year": forged},
        )
        assert set(field_errors(response)) == {"charter_year"}, forged
        assert await snapshot(bot) == before
    no_listener_failed(bot)


# --- digits that are not 0-9 ---------------------------------------------------------------------


async def test_a_duration_or_a_count_in_other_digits_is_a_field_error(bot: Bot) -> None:
    ids = await world(bot)
    view = await opened(bot, bot.slack.command("event", user=LEADER, channel="C0DATA"))
    for text in NOT_DIGITS:
        before = await snapshot(bot)
        response = await submit(
            bot, view["id"], user=LEADER, values=event_values(event_duration=text)
        )
        assert field_errors(response) == {
            "event_duration": "Indiquez la durée en minutes, avec des chiffres : 90 par exemple."
        }, text
        assert await snapshot(bot) == before
    async with bot.sessions.begin() as session:  # the event has taken place
        event = await session.get(Event, ids["event_data"])
        assert event is not None
        event.starts_at = datetime.now(UTC) - timedelta(days=1)
    view = await opened(
        bot,
        forge(
            bot, user=LEADER, action_id=event_screens.ATTENDANCE_OPEN, value=str(ids["event_data"])
        ),
    )
    for text in NOT_DIGITS:
        before = await snapshot(bot)
        response = await submit(bot, view["id"], user=LEADER, values={"event_att_count": text})
        assert set(field_errors(response)) == {"event_att_count"}, text
        assert await snapshot(bot) == before
    no_listener_failed(bot)


async def test_a_story_amount_in_other_digits_is_a_field_error(bot: Bot) -> None:
    ids = await world(bot)
    view = await opened(
        bot, forge(bot, user=EMILY, action_id="story_share", value=str(ids["data"]))
    )
    story = {"title": "T", "context": "C", "contribution": "K", "benefit": "B"}
    for text in [*NOT_DIGITS, "NaN", "Infinity", "-3", "1_000"]:
        before = await snapshot(bot)
        response = await submit(
            bot,
            view["id"],
            user=EMILY,
            values={**story, "value_amount": text, "value_unit": "hours"},
        )
        assert field_errors(response) == {
            "value_amount": "Enter a number, for example 12 or 3.5."
        }, text
        assert await snapshot(bot) == before
    no_listener_failed(bot)


@pytest.mark.slow
async def test_buttons_and_menus_carrying_other_digits_are_not_found(bot: Bot) -> None:
    """Values only a forger could change: refused as "not found", nothing changes, no traceback."""
    from bot.slack.blocks import rituals as ri

    ids = await world(bot)
    poll = ids["poll_data"]
    clicks: list[dict[str, Any]] = []
    for digits in NOT_DIGITS:
        clicks += [
            {"action_id": event_screens.RSVP[next(iter(event_screens.RSVP))], "value": digits},
            {"action_id": event_screens.CANCEL, "value": digits},
            {"action_id": "pulse_answer:mood:3", "value": f"{poll}|mood|{digits}"},
            {"action_id": "pulse_answer:mood:3", "value": f"{digits}|mood|3"},
            {"action_id": f"story_validate:{digits}", "value": digits},
            {"action_id": f"{ri.TOGGLE}:pulse", "value": f"{digits}|pulse"},
            {"action_id": f"{ri.CADENCE}:pulse", "selected": f"{digits}|pulse|monthly"},
            {"action_id": f"{ri.MUTE}:pulse", "selected": digits},
            {"action_id": "health_export_csv", "value": f"community:{digits}"},
        ]
    before = await snapshot(bot)
    for click in clicks:
        since = len(bot.emulator.calls)
        response = await forge(bot, user=MANAGER, **click)
        assert response.status_code == 200, click
        try:
            answer = (await eventually(lambda since=since: said(bot, since)))[-1]
        except AssertionError:
            raise AssertionError(f"no answer to {click}") from None
        assert answer.strip() and "Traceback" not in answer, click
        assert "problème est survenu" not in answer, (click, answer)  # not the apology
    assert await snapshot(bot) == before
    async with bot.sessions() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(PollResponse)) == 0
        assert await session.scalar(sa.select(sa.func.count()).select_from(RitualPreference)) == 0
    no_listener_failed(bot)
    assert_clean(bot)


@pytest.mark.parametrize("days", ["²", "²²", "٣٠", "𝟑𝟎"])
async def test_mute_for_a_number_of_days_in_other_digits_is_explained(bot: Bot, days: str) -> None:
    await world(bot)
    since = len(bot.emulator.calls)
    response = await bot.slack.command(f"mute pulse {days}", user=LEADER, channel="C0DATA")
    assert response.status_code == 200
    answer = (await eventually(lambda: said(bot, since)))[-1]
    assert answer.startswith("Utilisation : `/cop sourdine"), answer
    async with bot.sessions() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(RitualPreference)) == 0
    no_listener_failed(bot)
