"""Demo scene: a leader sets up a monthly meeting on the first Tuesday; the series message shows
the rule and the next dates, a member answers for one of them, and the leader moves that one
alone (the member is told, the rest of the series stays)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot import series
from bot.demo import Demo
from bot.demo.cast import DATA, LEADER, MEMBER
from bot.demo.leaders import last_ephemeral
from rituals.outbox import Drain

_CONTENT = {
    "fr": {
        "title": "Café data du mois",
        "description": "Une heure pour partager ce qui marche, et ce qui coince, dans nos projets.",
    },
    "en": {
        "title": "Monthly data coffee",
        "description": "An hour to share what works, and what gets stuck, in our projects.",
    },
}


def _first_tuesday() -> datetime:
    """The next first Tuesday of a month, at least a week away (Paris)."""
    day = datetime.now(ZoneInfo("Europe/Paris")).date() + timedelta(days=7)
    while not (day.weekday() == 1 and series.nth_of(day) == 1):
        day += timedelta(days=1)
    return datetime.combine(day, datetime.min.time())


def _series_message(demo: Demo, title: str) -> dict[str, Any]:
    return next(
        m
        for m in reversed(demo.emulator.messages[DATA])
        if m.get("text", "").startswith("🔁") and title in m.get("text", "")
    )


async def scene(demo: Demo) -> None:
    demo.title("demo.series.title")
    words = demo.cast.words(LEADER)
    content = _CONTENT["fr" if words["event"] == "événement" else "en"]
    first = _first_tuesday().date()
    demo.say("demo.series.setup", who=demo.first_name(LEADER), command=words["event"])
    await demo.quietly(words["event"], user=LEADER, channel=DATA)
    view = demo.emulator.calls_to("views.open")[-1].response["view"]
    await demo.settle()
    await demo.slack.submit_view(
        view["id"],
        user=LEADER,
        values={
            "event_title": content["title"],
            "event_kind": "meeting",
            "event_date": first,
            "event_time": "12:30",
            "event_duration": "60",
            "event_tz": "Europe/Paris",
            "event_link": "https://visio.example.com/cafe-data",
            "event_description": content["description"],
            "series_repeat": "monthly",
            "series_count": "10",
            "series_announce": "series",
        },
    )
    await demo.settle()
    last_ephemeral(demo, LEADER)
    message = _series_message(demo, content["title"])
    demo.say("demo.series.message", channel=demo.where(DATA))
    demo.show_message(message)
    upload = demo.emulator.uploads[-1]
    demo.show(demo.t("demo.uploaded", file=upload["filename"]))
    rule = re.search(r"RRULE:[^\r\n]*", upload["content"].decode())
    demo.show(rule.group(0) if rule else "")

    # a member answers for the second date, from the series message
    second = [b for b in message["blocks"] if "_event_" in str(b.get("block_id", ""))][1][
        "elements"
    ][0]["value"]
    demo.say("demo.series.answer", who=demo.first_name(MEMBER))
    await demo.settle()
    await demo.slack.click(
        user=MEMBER, action_id="event_rsvp_going", value=second, message=(DATA, message["ts"])
    )
    await demo.settle()

    # that date clashes with a company meeting: the leader moves it alone, to the Wednesday
    demo.say("demo.series.move", who=demo.first_name(LEADER))
    await demo.quietly(f"{words['event']} {words['list']}", user=LEADER, channel=DATA)
    before = len(demo.emulator.calls_to("views.open"))
    await demo.slack.click(user=LEADER, action_id="event_edit", value=second)
    await demo.settle()
    view = demo.emulator.calls_to("views.open")[before].response["view"]
    scope = next(b for b in view["blocks"] if b.get("block_id") == "series_scope")
    demo.show(
        f"{scope['label']['text']} — "
        + " / ".join(o["text"]["text"] for o in scope["element"]["options"])
    )
    async with demo.deps.sessions() as session:
        from bot.models import Event

        row = await session.get(Event, int(second))
        assert row is not None
        moved = row.starts_at.astimezone(ZoneInfo("Europe/Paris")).date() + timedelta(days=1)
    await demo.slack.submit_view(
        view["id"],
        user=LEADER,
        values={"series_scope": "one", "event_date": moved, "event_time": "13:00"},
    )
    await demo.settle()
    last_ephemeral(demo, LEADER)
    demo.say("demo.series.after", channel=demo.where(DATA))
    demo.show_message(demo.emulator.find_message(DATA, message["ts"]) or message)
    await Drain(demo.deps, rate_per_minute=60000).run_until_empty(poll=0.05)
    await demo.settle()
    demo.say("demo.series.told", who=demo.first_name(MEMBER))
    dms = demo.emulator.messages.get(demo.emulator.dm_channel_for(MEMBER), [])
    if dms:
        demo.show_message(dms[-1])
