"""Demo scene: events people actually hold — the « RTE Days », two days of conferences and
workshops, and a training session; once the gathering has started, the answers close."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import sqlalchemy as sa

from bot.demo import Demo
from bot.demo.cast import CORE, DATA, LEADER, MEMBER, SPONSOR
from bot.demo.leaders import announcement, click, open_modal, submit
from bot.models import Event
from rituals import event_starts

_CONTENT = {
    "fr": {
        "days": "RTE Days",
        "days_description": "Deux jours de conférences et d'ateliers : retours d'expérience, "
        "démonstrations, et une soirée pour se rencontrer.",
        "training": "Formation : Git pour les data scientists",
        "training_description": "Trois heures pour versionner ses notebooks et travailler à "
        "plusieurs sans s'écraser.",
    },
    "en": {
        "days": "RTE Days",
        "days_description": "Two days of talks and workshops: lessons learnt, demos, and an "
        "evening to meet.",
        "training": "Training: Git for data scientists",
        "training_description": "Three hours to version notebooks and work together without "
        "overwriting each other.",
    },
}


def _this_morning() -> datetime:
    paris = ZoneInfo("Europe/Paris")
    now = datetime.now(UTC).astimezone(paris)
    nine = datetime.combine(now.date(), time(9, 0), tzinfo=paris)
    return (nine if nine < now else nine - timedelta(days=1)).astimezone(UTC)


def _tuesday_in_three_weeks() -> datetime:
    day = datetime.now(UTC).astimezone(ZoneInfo("Europe/Paris")).date() + timedelta(days=21)
    return datetime.combine(day + timedelta(days=(1 - day.weekday()) % 7), time(9, 0))


async def scene(demo: Demo) -> None:
    demo.title("demo.event_days.title")
    c = _CONTENT["fr" if demo.cast.programme_language == "fr" else "en"]
    word = demo.cast.words(LEADER)["event"]
    first = _tuesday_in_three_weeks().date()
    days = {
        "event_title": c["days"],
        "event_kind": "annual_gathering",
        "event_date": first,
        "event_time": "09:00",
        "event_duration": "",
        "event_end_date": first + timedelta(days=1),
        "event_end_time": "17:00",
        "event_tz": "Europe/Paris",
        "event_description": c["days_description"],
    }

    # --- two days, and no more than a week --------------------------------------------------
    demo.say("demo.event_days.open", who=demo.first_name(LEADER))
    view = await open_modal(demo, word, user=LEADER, channel=DATA)
    demo.say("demo.event_days.too_long", who=demo.first_name(LEADER))
    await demo.settle()
    response = await demo.slack.submit_view(
        view["id"], user=LEADER, values={**days, "event_end_date": first + timedelta(days=8)}
    )
    labels = {b.get("block_id"): b.get("label", {}).get("text", "") for b in view["blocks"]}
    for block, error in sorted(response.json().get("errors", {}).items()):
        demo.show(f"{labels.get(block) or block} — {error}")
    await submit(demo, view, user=LEADER, values=days)
    message = announcement(demo, DATA, c["days"])
    demo.say("demo.event_days.announcement", channel=demo.where(DATA))
    demo.show_message(message)
    ics = icalendar.Calendar.from_ical(demo.emulator.uploads[-1]["content"].decode())
    (entry,) = ics.walk("VEVENT")
    demo.show(
        demo.t(
            "demo.event_days.ics",
            file=demo.emulator.uploads[-1]["filename"],
            start=demo.t.datetime(entry.decoded("dtstart"), "Europe/Paris"),
            end=demo.t.datetime(entry.decoded("dtend"), "Europe/Paris"),
        )
    )

    # --- a training session -------------------------------------------------------------------
    demo.say("demo.event_days.training", who=demo.first_name(LEADER))
    view = await open_modal_quietly(demo, word)
    await submit(
        demo,
        view,
        user=LEADER,
        values={
            "event_title": c["training"],
            "event_kind": "training",
            "event_date": first + timedelta(days=7),
            "event_time": "14:00",
            "event_duration": "180",
            "event_tz": "Europe/Paris",
            "event_description": c["training_description"],
        },
    )
    demo.show_message(announcement(demo, DATA, c["training"]))

    # --- answers, then the first morning ------------------------------------------------------
    demo.say("demo.leaders.rsvp")
    for user in (CORE, SPONSOR):
        await click(demo, user=user, action_id="event_rsvp_going", channel=DATA, ts=message["ts"])
    original = copy.deepcopy(announcement(demo, DATA, c["days"]))
    demo.say("demo.event_days.first_morning")
    async with demo.deps.sessions.begin() as session:
        event = await session.scalar(sa.select(Event).where(Event.title == c["days"]))
        assert event is not None
        # the demo cannot wait three weeks: the gathering began this morning at nine (or
        # yesterday's, before nine), for as long as it was planned
        event.starts_at = _this_morning()
    await demo.settle()
    await event_starts.close(demo.deps, now=datetime.now(UTC))
    await demo.settle()
    demo.show_message(announcement(demo, DATA, c["days"]))
    demo.say("demo.event_days.late_click", member=demo.first_name(MEMBER))
    await _click_old_button(demo, original, user=MEMBER)


async def open_modal_quietly(demo: Demo, word: str) -> dict[str, Any]:
    """The event modal opened again (already shown above)."""
    before = len(demo.emulator.calls_to("views.open"))
    await demo.quietly(word, user=LEADER, channel=DATA)
    return dict(demo.emulator.calls_to("views.open")[before].response["view"])


async def _click_old_button(demo: Demo, original: dict[str, Any], *, user: str) -> None:
    """A Slack client that has not redrawn the message still shows the buttons: its click."""
    stored = demo.emulator.find_message(DATA, original["ts"])
    assert stored is not None
    current, stored["blocks"] = stored["blocks"], original["blocks"]
    try:
        await click(demo, user=user, action_id="event_rsvp_going", channel=DATA, ts=original["ts"])
    finally:
        stored["blocks"] = current
