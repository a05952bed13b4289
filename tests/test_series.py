"""Recurring series end to end: the event modal's "Repeat" → the series and its occurrences →
the series message (or each occurrence's announcement) → edit one or all, cancel, the .ics."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import sqlalchemy as sa
from dateutil.rrule import rrulestr

from bot import series
from bot.models import Event, EventSeries, EventStatus, Outbox, SeriesFrequency
from bot.slack.blocks import event as event_screens
from bot.slack.blocks import series as series_screens
from rituals import reminders
from rituals import series as series_ritual
from rituals.outbox import Drain
from tests import factories
from tests.catalogue import ANY, EN, FR, shows
from tests.conftest import Bot, eventually, settle

LEADER = "U0LUCAS"  # French leader of Data Science
MEMBER = "U0CHLOE"
PARIS = ZoneInfo("Europe/Paris")


async def setup(bot: Bot, **kwargs: Any) -> None:
    await factories.community(bot.sessions, emulator=bot.emulator, leaders=(LEADER,), **kwargs)


def today() -> date:
    return datetime.now(PARIS).date()


def next_nth(weekday: int, nth: int, *, after: date | None = None) -> date:
    """The next day that is the nth (or -1: last) `weekday` of its month, after `after`."""
    day = (after or today()) + timedelta(days=2)
    while True:
        wanted = series.is_last(day) if nth == -1 else series.nth_of(day) == nth
        if day.weekday() == weekday and wanted:
            return day
        day += timedelta(days=1)


def values(**over: Any) -> dict[str, Any]:
    base = {
        "event_title": "Café data",
        "event_kind": "meeting",
        "event_date": next_nth(1, 1),
        "event_time": time(12, 30),
        "event_duration": "60",
        "event_tz": "Europe/Paris",
        "event_link": "https://visio.example.com/cafe",
        "event_description": "Une heure pour partager ce qui marche.",
        "series_repeat": "monthly",
        "series_count": "6",
    }
    base.update(over)
    return base


async def open_modal(bot: Bot, *, user: str = LEADER, channel: str = "C0DATA") -> dict[str, Any]:
    before = len(bot.emulator.calls_to("views.open"))
    await bot.slack.command("événement", user=user, channel=channel)
    calls = await bot.emulator.wait_for("views.open", count=before + 1)
    return dict(calls[-1].response["view"])


async def create(
    bot: Bot, *, user: str = LEADER, channel: str = "C0DATA", **over: Any
) -> dict[str, Any]:
    """Set up a series through the modal; returns the series message."""
    view = await open_modal(bot, user=user, channel=channel)
    uploads = len(bot.emulator.uploads)
    response = await bot.slack.submit_view(view["id"], user=user, values=values(**over))
    assert response.status_code == 200 and not response.content, response.content
    await eventually(lambda: len(bot.emulator.uploads) > uploads)
    await settle()  # the rest of the listener's work (the Homes) done before the next step
    return series_message(bot, channel)


def series_message(bot: Bot, channel: str = "C0DATA") -> dict[str, Any]:
    return [
        m
        for m in bot.emulator.messages[channel]
        if any(str(b.get("block_id", "")).endswith("_manage") for b in m.get("blocks") or [])
        or "Série annulée" in m.get("text", "")
    ][-1]


def text_of(message: dict[str, Any] | None) -> str:
    assert message is not None
    return json.dumps(message.get("blocks"), ensure_ascii=False)


async def occurrences(bot: Bot) -> list[Event]:
    async with bot.sessions() as session:
        return list(
            await session.scalars(
                sa.select(Event).where(Event.series_id.is_not(None)).order_by(Event.starts_at)
            )
        )


async def the_series(bot: Bot) -> EventSeries:
    async with bot.sessions() as session:
        return (await session.scalars(sa.select(EventSeries))).one()


def local(moment: datetime) -> datetime:
    return moment.astimezone(PARIS)


def ics_of(bot: Bot) -> icalendar.Calendar:
    upload = [
        u
        for u in bot.emulator.uploads
        if "series" in u.get("title", "").lower() or "série" in u.get("title", "")
    ][-1]
    return icalendar.Calendar.from_ical(upload["content"].decode())


def expand(calendar: icalendar.Calendar) -> list[datetime]:
    """What a calendar shows: the RRULE from DTSTART, less the EXDATEs, overrides moved."""
    main = next(c for c in calendar.walk("VEVENT") if "RRULE" in c)
    start = main["DTSTART"].dt
    rule = rrulestr(main["RRULE"].to_ical().decode(), dtstart=start)
    excluded = set()
    for exdate in (
        main.get("EXDATE", []) if isinstance(main.get("EXDATE"), list) else [main.get("EXDATE")]
    ):
        if exdate is not None:
            excluded |= {d.dt for d in exdate.dts}
    moved = {
        c["RECURRENCE-ID"].dt: c["DTSTART"].dt
        for c in calendar.walk("VEVENT")
        if "RECURRENCE-ID" in c
    }
    return sorted(moved.get(d, d) for d in rule if d not in excluded)


# --- setting up a series ----------------------------------------------------------------------


async def test_monthly_first_tuesday_in_french_with_one_message(bot: Bot) -> None:
    await setup(bot)
    view = await open_modal(bot)
    shown = json.dumps(view["blocks"], ensure_ascii=False)
    assert FR("series.field.repeat") in shown and FR("series.repeat.monthly") in shown
    assert FR("series.hint.end", max=52) in shown
    first = next_nth(1, 1)
    message = await create(bot, series_announce="series")
    stored = await the_series(bot)
    assert stored.frequency == SeriesFrequency.MONTHLY and stored.nth == 1 and stored.count == 6
    rows = await occurrences(bot)
    # the next 60 days, and the next three dates at least
    assert len(rows) == max(
        3, len([r for r in rows if r.starts_at <= datetime.now(UTC) + series.HORIZON])
    )
    assert local(rows[0].starts_at).date() == first
    for row in rows:  # every first Tuesday, 12:30 in Paris whatever the season
        day = local(row.starts_at)
        assert (day.weekday(), series.nth_of(day.date()), day.time()) == (1, 1, time(12, 30))
    text = text_of(message)
    rule = FR(
        "series.rule.count",
        rule=FR(
            "series.rule.monthly",
            nth=FR("series.nth.1"),
            days=FR("series.days.1"),
            time="12:30",
            place="Paris",
        ),
        count=6,
    )
    assert rule.startswith("Tous les premiers mardis du mois à 12:30 (heure de Paris)")
    assert rule in text and FR("series.next_dates") in text
    # one message: each coming date has its own buttons
    rsvp_rows = [b for b in message["blocks"] if b.get("block_id", "").startswith("series_")]
    assert len([b for b in rsvp_rows if "_event_" in b["block_id"]]) == len(rows)
    calendar = ics_of(bot)
    main = next(iter(calendar.walk("VEVENT")))
    assert main["RRULE"].to_ical().decode() in {"FREQ=MONTHLY;COUNT=6;BYDAY=1TU"}
    assert main["DTSTART"].params["TZID"] == "Europe/Paris"
    assert calendar.walk("VTIMEZONE")
    days = expand(calendar)
    assert len(days) == 6 and [d.astimezone(UTC) for d in days[: len(rows)]] == [
        r.starts_at.astimezone(UTC) for r in rows
    ]
    confirmation = await eventually(
        lambda: [e for e in bot.emulator.ephemerals if e["user"] == LEADER]
    )
    assert shows(
        confirmation[-1]["text"], FR, "series.created", title="Café data", rule=ANY, dates=ANY
    )


async def test_weekly_until_a_date_in_english(bot: Bot) -> None:
    await factories.community(
        bot.sessions,
        emulator=bot.emulator,
        channel="C0AGILE",
        name="Agile",
        leaders=("U0JAMES",),
        language="en",
        tz="Europe/London",
    )
    first = today() + timedelta(days=3)
    until = first + timedelta(days=27)
    message = await create(
        bot,
        user="U0JAMES",
        channel="C0AGILE",
        event_title="Agile clinic",
        event_date=first,
        event_time=time(9, 0),
        event_tz="Europe/London",
        series_repeat="weekly",
        series_count=None,
        series_until=until,
        series_announce="series",
    )
    rows = await occurrences(bot)
    assert [r.starts_at.astimezone(ZoneInfo("Europe/London")).date() for r in rows] == [
        first + timedelta(days=7 * i) for i in range(4)
    ]
    text = text_of(message)
    day = EN(f"series.days.{first.weekday()}")
    assert f"Every {day} at 09:00 (London time), until" in text
    main = next(iter(ics_of(bot).walk("VEVENT")))
    rule = main["RRULE"].to_ical().decode()
    assert rule.startswith("FREQ=WEEKLY;UNTIL=") and "COUNT" not in rule


async def test_every_two_weeks(bot: Bot) -> None:
    await setup(bot)
    first = today() + timedelta(days=2)
    await create(bot, event_date=first, series_repeat="biweekly", series_count="3")
    rows = await occurrences(bot)
    assert [local(r.starts_at).date() for r in rows] == [
        first + timedelta(days=14 * i) for i in range(3)
    ]
    main = next(iter(ics_of(bot).walk("VEVENT")))
    assert main["RRULE"].to_ical().decode() == "FREQ=WEEKLY;COUNT=3;INTERVAL=2"
    text = text_of(series_message(bot))
    assert f"Un {FR(f'series.day.{first.weekday()}')} sur deux à 12:30 (heure de Paris)" in text


async def test_last_friday_across_the_clock_changes(bot: Bot) -> None:
    """Monthly on the last Friday from March to November 2027: the tick makes the occurrences as
    the horizon reaches them, each at 18:00 in Paris across the March and October changes."""
    await setup(bot)
    first = date(2027, 3, 26)  # the last Friday of March; clocks change on the 28th
    await create(
        bot,
        event_date=first,
        event_time=time(18, 0),
        series_repeat="monthly_last",
        series_count="9",
    )
    assert (await the_series(bot)).nth == -1
    # for now the next three dates; the tick makes the others as the horizon reaches them
    assert len(await occurrences(bot)) == series.AHEAD_AT_LEAST
    for month in range(3, 12):
        await series_ritual.maintain(bot.deps, now=datetime(2027, month, 1, tzinfo=UTC))
    rows = await occurrences(bot)
    assert [local(r.starts_at).date() for r in rows] == [
        date(2027, 3, 26), date(2027, 4, 30), date(2027, 5, 28), date(2027, 6, 25),
        date(2027, 7, 30), date(2027, 8, 27), date(2027, 9, 24), date(2027, 10, 29),
        date(2027, 11, 26),
    ]  # fmt: skip
    assert {local(r.starts_at).time() for r in rows} == {time(18, 0)}
    assert {r.starts_at.astimezone(UTC).hour for r in rows} == {16, 17}  # summer, winter
    main = next(iter(ics_of(bot).walk("VEVENT")))
    assert main["RRULE"].to_ical().decode() == "FREQ=MONTHLY;COUNT=9;BYDAY=-1FR"
    assert [d.astimezone(UTC) for d in expand(ics_of(bot))] == [r.starts_at for r in rows]


async def test_weekly_keeps_its_wall_time_over_the_march_change(bot: Bot) -> None:
    await setup(bot)
    await create(bot, event_date=date(2027, 3, 16), series_repeat="weekly", series_count="4")
    await series_ritual.maintain(bot.deps, now=datetime(2027, 3, 1, tzinfo=UTC))
    rows = await occurrences(bot)
    assert [local(r.starts_at).strftime("%d/%m %H:%M") for r in rows] == [
        "16/03 12:30", "23/03 12:30", "30/03 12:30", "06/04 12:30",
    ]  # fmt: skip
    assert [r.starts_at.astimezone(UTC).hour for r in rows] == [11, 11, 10, 10]


# --- the modal's errors ---------------------------------------------------------------------------


async def test_repeat_errors_are_said_in_the_modal_and_write_nothing(bot: Bot) -> None:
    await setup(bot)
    view = await open_modal(bot)
    first = next_nth(1, 1)

    async def errors(**over: Any) -> dict[str, str]:
        response = await bot.slack.submit_view(view["id"], user=LEADER, values=values(**over))
        body = response.json()
        assert body["response_action"] == "errors"
        return dict(body["errors"])

    yesterday = today() - timedelta(days=1)
    assert (await errors(event_date=yesterday))["event_date"] == FR("event.in_the_past")
    assert (await errors(series_count=None))["series_until"] == FR("series.end_missing")
    assert (await errors(series_until=first + timedelta(days=30)))["series_until"] == FR(
        "series.end_both"
    )
    assert (await errors(series_count="0"))["series_count"] == FR("series.count_range", max=52)
    assert (await errors(series_count=None, series_until=first - timedelta(days=1)))[
        "series_until"
    ] == FR("series.until_before", day=first)
    far = await errors(series_count=None, series_until=first + timedelta(days=400))
    assert far["series_until"].startswith(FR("series.until_too_far", max=52, last=ANY)[:30])
    day = next_nth(1, 5)  # a fifth Tuesday: not every month has one
    assert (await errors(event_date=day))["series_repeat"] == FR("series.fifth", day=day)
    assert (await errors(series_repeat="monthly_last"))["series_repeat"] == FR(
        "series.not_last", day=first
    )
    a_year = await errors(
        series_repeat="weekly", series_count=None, series_until=first + timedelta(days=364)
    )
    last = local(
        series.local_slots(
            frequency=SeriesFrequency.WEEKLY,
            nth=None,
            first=datetime.combine(first, time(12, 30), tzinfo=PARIS),
            tz="Europe/Paris",
            until=None,
            count=52,
        )[-1]
    ).date()
    assert a_year["series_until"] == FR("series.too_many", count=52, max=52, last=last)
    async with bot.sessions() as session:
        assert (await session.scalar(sa.select(sa.func.count()).select_from(EventSeries))) == 0
        assert (await session.scalar(sa.select(sa.func.count()).select_from(Event))) == 0


# --- edit one, edit all, cancel -------------------------------------------------------------------


async def edit_modal(bot: Bot, event_id: int) -> dict[str, Any]:
    await bot.slack.command("événement liste", user=LEADER, channel="C0DATA")
    await eventually(
        lambda: any("event_edit" in json.dumps(e.get("blocks")) for e in bot.emulator.ephemerals)
    )
    before = len(bot.emulator.calls_to("views.open"))
    await bot.slack.click(user=LEADER, action_id=event_screens.EDIT, value=str(event_id))
    calls = await bot.emulator.wait_for("views.open", count=before + 1)
    return dict(calls[-1].response["view"])


async def test_edit_one_then_all_following(bot: Bot) -> None:
    await setup(bot)
    first = today() + timedelta(days=2)
    message = await create(
        bot, event_date=first, series_repeat="weekly", series_count="6", series_announce="series"
    )
    one, two, three, *_ = await occurrences(bot)
    # a member answers for the third date from the series message
    await bot.slack.click(
        user=MEMBER,
        action_id="event_rsvp_going",
        value=str(three.id),
        message=("C0DATA", message["ts"]),
    )
    await eventually(lambda: "✅ 1" in text_of(bot.emulator.find_message("C0DATA", message["ts"])))
    # the second only moves to 14:00
    view = await edit_modal(bot, two.id)
    blocks = json.dumps(view["blocks"], ensure_ascii=False)
    assert FR("series.scope.one") in blocks and FR("series.scope.all") in blocks
    uploads = len(bot.emulator.uploads)
    await bot.slack.submit_view(view["id"], user=LEADER, values={"event_time": "14:00"})
    await eventually(lambda: len(bot.emulator.uploads) > uploads)
    rows = {r.id: r for r in await occurrences(bot)}
    assert rows[two.id].series_detached and local(rows[two.id].starts_at).hour == 14
    assert local(rows[three.id].starts_at).strftime("%H:%M") == "12:30"
    assert FR("series.line_detached") in text_of(bot.emulator.find_message("C0DATA", message["ts"]))
    said = [e for e in bot.emulator.ephemerals if e["user"] == LEADER][-1]["text"]
    assert shows(said, FR, "series.occurrence_changed", title="Café data", when=ANY, count=0)
    calendar = ics_of(bot)
    overrides = [c for c in calendar.walk("VEVENT") if "RECURRENCE-ID" in c]
    assert len(overrides) == 1 and overrides[0]["DTSTART"].dt.hour == 14
    assert overrides[0]["RECURRENCE-ID"].dt == local(two.starts_at)
    # all following, from the first: 13:00 and a new title; the detached one stays as it is
    view = await edit_modal(bot, one.id)
    uploads = len(bot.emulator.uploads)
    await bot.slack.submit_view(
        view["id"],
        user=LEADER,
        values={"series_scope": "all", "event_time": "13:00", "event_title": "Café data & IA"},
    )
    await eventually(lambda: len(bot.emulator.uploads) > uploads)
    rows = {r.id: r for r in await occurrences(bot)}
    assert local(rows[one.id].starts_at).strftime("%H:%M") == "13:00"
    assert local(rows[three.id].starts_at).strftime("%H:%M") == "13:00"
    assert rows[three.id].title == "Café data & IA" and rows[three.id].sequence == 1
    assert local(rows[two.id].starts_at).hour == 14 and rows[two.id].title == "Café data"
    stored = await the_series(bot)
    assert stored.title == "Café data & IA" and local(stored.first_starts_at).hour == 13
    # the member who said going to the third is told of the new time
    async with bot.sessions() as session:
        owed = list(await session.scalars(sa.select(Outbox).where(Outbox.kind == "event_change")))
    assert [r.idempotency_key.split(":")[1] for r in owed] == [str(three.id)]
    await Drain(bot.deps, rate_per_minute=60000).run_once()
    dm = bot.emulator.messages[bot.emulator.dm_channel_for(MEMBER)][-1]["text"]
    assert shows(dm, FR, "event.notice_changed", title=ANY, community=ANY, when=ANY)
    assert "13:00" in dm
    confirmation = [e for e in bot.emulator.ephemerals if e["user"] == LEADER][-1]
    assert shows(confirmation["text"], FR, "series.changed", title=ANY, rule=ANY, count=1)
    # the .ics: rule now at 13:00; the detached one an override at 14:00
    calendar = ics_of(bot)
    main = next(c for c in calendar.walk("VEVENT") if "RRULE" in c)
    assert main["DTSTART"].dt.hour == 13 and int(main["SEQUENCE"]) >= 2
    expanded = [d.astimezone(UTC) for d in expand(calendar)]
    scheduled = [r.starts_at for r in await occurrences(bot) if r.status == EventStatus.SCHEDULED]
    assert expanded[: len(scheduled)] == scheduled


async def test_cancel_one_is_an_exdate_and_the_ics_round_trips(bot: Bot) -> None:
    await setup(bot)
    first = today() + timedelta(days=2)
    message = await create(bot, event_date=first, series_repeat="weekly", series_count="5")
    rows = await occurrences(bot)
    await bot.slack.command("événement liste", user=LEADER, channel="C0DATA")
    await eventually(
        lambda: any("event_cancel" in json.dumps(e.get("blocks")) for e in bot.emulator.ephemerals)
    )
    uploads = len(bot.emulator.uploads)
    await bot.slack.click(user=LEADER, action_id=event_screens.CANCEL, value=str(rows[1].id))
    await eventually(
        lambda: len([u for u in bot.emulator.uploads[uploads:] if "série" in u["title"]])
    )
    text = text_of(bot.emulator.find_message("C0DATA", message["ts"]))
    assert "séance annulée" in text
    calendar = ics_of(bot)
    main = next(c for c in calendar.walk("VEVENT") if "RRULE" in c)
    assert "EXDATE" in main
    bot_dates = [r.starts_at for r in await occurrences(bot) if r.status == EventStatus.SCHEDULED]
    assert [d.astimezone(UTC) for d in expand(calendar)] == bot_dates
    assert len(bot_dates) == 4


async def test_cancel_the_series(bot: Bot) -> None:
    await setup(bot)
    message = await create(bot, event_date=today() + timedelta(days=2), series_repeat="weekly")
    await bot.slack.click(
        user=LEADER, action_id=series_screens.CANCEL, message=("C0DATA", message["ts"])
    )
    await eventually(
        lambda: (
            "Série annulée"
            in (bot.emulator.find_message("C0DATA", message["ts"]) or {}).get("text", "")
        )
    )
    assert {r.status for r in await occurrences(bot)} == {EventStatus.CANCELLED}
    assert (await the_series(bot)).status == EventStatus.CANCELLED
    calendar = ics_of(bot)
    assert str(calendar["METHOD"]) == "CANCEL"


async def test_a_member_cannot_change_a_series_by_replaying_payloads(bot: Bot) -> None:
    await setup(bot)
    message = await create(bot, event_date=today() + timedelta(days=2), series_repeat="weekly")
    one, *_ = await occurrences(bot)
    view = await edit_modal(bot, one.id)
    # the member replays the leader's modal, "all following"
    await bot.slack.submit_view(
        view["id"], user=MEMBER, values={"series_scope": "all", "event_time": "08:00"}
    )
    refusal = await eventually(
        lambda: bot.emulator.messages.get(bot.emulator.dm_channel_for(MEMBER))
    )
    assert FR("permission.manage_events") in refusal[-1]["text"]
    await bot.slack.click(
        user=MEMBER, action_id=series_screens.CANCEL, message=("C0DATA", message["ts"])
    )
    await eventually(
        lambda: len(
            [
                r
                for r in bot.emulator.responses
                if FR("permission.manage_events") in r.get("text", "")
            ]
        )
    )
    rows = await occurrences(bot)
    assert {local(r.starts_at).strftime("%H:%M") for r in rows} == {"12:30"}
    assert {r.status for r in rows} == {EventStatus.SCHEDULED}
    assert (await the_series(bot)).status == EventStatus.SCHEDULED


# --- announcing each occurrence -------------------------------------------------------------------


async def test_each_occurrence_is_announced_a_week_before(bot: Bot) -> None:
    await setup(bot)
    first = today() + timedelta(days=2)
    await create(
        bot, event_date=first, series_repeat="weekly", series_count="4", series_announce="each"
    )
    one, two, *_ = await occurrences(bot)
    announced = await eventually(
        lambda: [
            m
            for m in bot.emulator.messages["C0DATA"]
            if any(b.get("block_id") == f"event_{one.id}_actions" for b in m.get("blocks") or [])
        ]
    )
    assert "12:30" in text_of(announced[-1])
    in_thread = await eventually(
        lambda: [u for u in bot.emulator.uploads if u.get("thread_ts") == announced[-1]["ts"]]
    )
    assert in_thread and "RRULE:FREQ=WEEKLY;COUNT=4" in in_thread[-1]["content"].decode()
    assert (await occurrences(bot))[1].message_ts is None  # nine days ahead: not yet
    # six days before the second, the tick owes its announcement; the outbox posts it
    await series_ritual.maintain(bot.deps, now=two.starts_at - timedelta(days=6))
    await series_ritual.maintain(bot.deps, now=two.starts_at - timedelta(days=6))  # once only
    async with bot.sessions() as session:
        owed = list(
            await session.scalars(sa.select(Outbox).where(Outbox.kind == "series_occurrence"))
        )
    assert len(owed) == 1
    await Drain(bot.deps, rate_per_minute=60000).run_until_empty(poll=0.05)
    second = (await occurrences(bot))[1]
    assert second.message_ts is not None
    posted = bot.emulator.find_message("C0DATA", second.message_ts)
    text = text_of(posted)
    assert FR("event.rsvp.going") in text and "Café data" in text
    assert FR("event.kind.meeting") in text and "12:30" in text
    # reminders work per occurrence: 24 h before the second, in the channel
    await reminders.plan(bot.deps, now=second.starts_at - timedelta(hours=23))
    async with bot.sessions() as session:
        keys = list(
            await session.scalars(
                sa.select(Outbox.idempotency_key).where(Outbox.kind == "reminder_channel")
            )
        )
    assert any(k.startswith(f"reminder:{second.id}:24:") for k in keys)
    # an answer redraws it as every announcement
    await bot.slack.click(
        user=MEMBER, action_id="event_rsvp_going", message=("C0DATA", second.message_ts)
    )
    await eventually(
        lambda: (
            FR("event.count_item", emoji="✅", label=FR("event.rsvp.going"), count=1)
            in text_of(bot.emulator.find_message("C0DATA", second.message_ts))
        )
    )


def test_the_domain_uses_the_events_rsvp_buttons() -> None:
    assert series.RSVP_ACTIONS == event_screens.RSVP == series_screens.RSVP
