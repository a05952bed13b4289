"""Events people actually hold (issue 15, point 4): over several days (a week at most), the
training kind, webinars counted apart, attendance over RSVP, and answers closed at the start."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import icalendar
import pytest
import sqlalchemy as sa

from bot import disclosure, event_changes, events, figures, kpis, periods
from bot import messages as m
from bot.events import EventDraft
from bot.models import Event, EventKind, EventRsvp, EventStatus, Person, RsvpAnswer, utcnow
from bot.slack.messages import render
from rituals import scheduler
from tests import factories
from tests.catalogue import EN, FR, in_json
from tests.conftest import MANAGER, Bot, eventually
from tests.dashboard_programme import dashboard_link
from tests.factories import WORKSPACE
from tests.test_events import (
    EMILY,
    LEADER,
    MEMBER,
    all_events,
    announcements,
    open_modal,
    rsvp,
    values,
)

PARIS = ZoneInfo("Europe/Paris")


def next_tuesday() -> date:
    """A Tuesday two to three weeks ahead (the next day is a Wednesday of the same month or not:
    the wording is checked with the dates computed, not typed)."""
    day = datetime.now(PARIS).date() + timedelta(days=14)
    return day + timedelta(days=(1 - day.weekday()) % 7)


def two_days(**over: Any) -> dict[str, Any]:
    day = next_tuesday()
    base = values(
        event_title="RTE Days",
        event_kind="annual_gathering",
        event_date=day,
        event_time=time(9, 0),
        event_duration="",
        event_end_date=day + timedelta(days=1),
        event_end_time=time(17, 0),
        event_link="",
        event_description="Deux jours de conférences et d'ateliers.",
    )
    base.update(over)
    return base


async def setup(bot: Bot, **kwargs: Any) -> None:
    await factories.community(bot.sessions, emulator=bot.emulator, leaders=(LEADER,), **kwargs)


async def submit(bot: Bot, fields: dict[str, Any], *, user: str = LEADER) -> dict[str, Any]:
    view = await open_modal(bot, "événement", user=user)
    response = await bot.slack.submit_view(view["id"], user=user, values=fields)
    assert response.status_code == 200
    return response.json() if response.content else {}


def blocks_text(message: dict[str, Any]) -> str:
    return json.dumps(message["blocks"], ensure_ascii=False)


# --- over several days ------------------------------------------------------------------------


async def test_a_two_day_gathering_reads_from_the_first_day_to_the_last(bot: Bot) -> None:
    await setup(bot)
    view = await open_modal(bot, "événement", user=LEADER)
    ids = [b.get("block_id") for b in view["blocks"]]
    assert "event_end_date" in ids and "event_end_time" in ids
    assert await submit(bot, two_days()) == {}
    await eventually(lambda: bot.emulator.uploads)
    (event,) = await all_events(bot)
    assert event.duration_minutes == 32 * 60  # 9:00 to 17:00 the next day
    day = next_tuesday()
    when = FR(
        "event.when_days",
        start_day=FR.date(day, "EEEE d MMMM y"),
        start="09:00",
        end_day=FR.date(day + timedelta(days=1), "EEEE d MMMM"),
        end="17:00",
    )
    assert when.startswith("du mardi ") and " au mercredi " in when
    message = announcements(bot)[-1]
    text = blocks_text(message)
    assert f"{when} (Europe/Paris)" in text
    assert FR("event.kind.annual_gathering") in text
    assert "Durée" not in text  # the dates say how long
    # the calendar file: one entry, from the first morning to the second evening
    ics = icalendar.Calendar.from_ical(bot.emulator.uploads[-1]["content"].decode())
    (entry,) = ics.walk("VEVENT")
    start, end = entry.decoded("dtstart"), entry.decoded("dtend")
    assert start.astimezone(PARIS) == datetime.combine(day, time(9, 0), tzinfo=PARIS)
    assert end.astimezone(PARIS) == datetime.combine(
        day + timedelta(days=1), time(17, 0), tzinfo=PARIS
    )
    # the leader's list and the App Home read the same span
    await bot.slack.command("event list", user=LEADER, channel="C0DATA")
    listed = await eventually(
        lambda: [e for e in bot.emulator.ephemerals if "event_edit" in json.dumps(e.get("blocks"))]
    )
    assert when in json.dumps(listed[-1]["blocks"], ensure_ascii=False)
    await bot.slack.open_home(user=MEMBER)
    home = await eventually(
        lambda: [c for c in bot.emulator.calls_to("views.publish") if c.params["user_id"] == MEMBER]
    )
    assert when in json.dumps(home[-1].params["view"], ensure_ascii=False)
    # the edit modal shows the end again, so saving it unchanged changes nothing
    opened = len(bot.emulator.calls_to("views.open"))
    await bot.slack.click(user=LEADER, action_id="event_edit")
    edit = (await bot.emulator.wait_for("views.open", count=opened + 1))[-1].response["view"]
    assert edit["title"]["text"] == FR("event.modal_title_edit")
    end_block = next(b for b in edit["blocks"] if b.get("block_id") == "event_end_date")
    assert end_block["element"]["initial_date"] == (day + timedelta(days=1)).isoformat()
    response = await bot.slack.submit_view(edit["id"], user=LEADER, values=two_days())
    assert response.status_code == 200
    dm = bot.emulator.dm_channel_for(LEADER)
    await eventually(
        lambda: any(m.get("text") == FR("event.unchanged") for m in bot.emulator.messages[dm])
    )


async def test_in_english_the_span_reads_from_to(bot: Bot) -> None:
    await factories.community(
        bot.sessions,
        emulator=bot.emulator,
        channel="C0AGILE",
        name="Agile",
        leaders=("U0JAMES",),
        language="en",
        tz="Europe/London",
    )
    view = await open_modal(bot, "event", user="U0JAMES", channel="C0AGILE")
    end_field = next(b for b in view["blocks"] if b.get("block_id") == "event_end_date")
    assert end_field["label"]["text"] == EN("event.field.end_date")
    day = next_tuesday()
    await bot.slack.submit_view(
        view["id"], user="U0JAMES", values=two_days(event_tz="Europe/London")
    )
    await eventually(lambda: bot.emulator.uploads)
    message = [m for m in bot.emulator.messages["C0AGILE"] if m.get("blocks")][-1]
    when = EN(
        "event.when_days",
        start_day=EN.date(day, "EEEE d MMMM y"),
        start="09:00",
        end_day=EN.date(day + timedelta(days=1), "EEEE d MMMM"),
        end="17:00",
    )
    assert when.startswith("from Tuesday ") and " to Wednesday " in when
    assert f"{when} (Europe/London)" in blocks_text(message)
    assert EN("event.kind.annual_gathering") in blocks_text(message)


async def test_more_than_a_week_or_an_end_before_the_start_is_refused(bot: Bot) -> None:
    await setup(bot)
    day = next_tuesday()
    eight = await submit(bot, two_days(event_end_date=day + timedelta(days=8)))
    assert eight["errors"] == {"event_end_date": FR("event.too_many_days", days=7)}
    before = await submit(bot, two_days(event_end_date=day, event_end_time=time(8, 0)))
    assert before["errors"] == {"event_end_date": FR("event.end_not_after_start")}
    no_time = await submit(bot, two_days(event_end_time=None))
    assert no_time["errors"] == {"event_end_time": FR("event.end_time_missing")}
    nothing = await submit(bot, two_days(event_end_date=None, event_end_time=None))
    assert nothing["errors"] == {"event_duration": FR("event.duration_or_end_missing")}
    assert await all_events(bot) == []
    # exactly a week is fine
    assert (
        await submit(
            bot, two_days(event_end_date=day + timedelta(days=7), event_end_time=time(9, 0))
        )
        == {}
    )
    await eventually(all_events_of(bot, 1))


def all_events_of(bot: Bot, count: int) -> Any:
    async def check() -> bool:
        return len(await all_events(bot)) == count

    return check


def test_those_going_read_the_span_in_their_language_and_zone() -> None:
    """The DM to those going when a two-day event changes: from the first day to the last."""
    starts = datetime(2026, 5, 12, 7, 0, tzinfo=UTC)  # 9:00 in Paris
    view = events.EventView(
        id=1,
        community_id=1,
        community_name="Data Science",
        community_tz="Europe/Paris",
        community_language="fr",
        channel_id="C0DATA",
        message_ts="1.2",
        title="RTE Days",
        kind=EventKind.ANNUAL_GATHERING,
        starts_at=starts,
        duration_minutes=32 * 60,
        tz="Europe/Paris",
        link=None,
        description="",
        status=EventStatus.SCHEDULED,
        sequence=1,
        attendance_count=None,
    )
    for language, tz in (("fr", "Europe/Paris"), ("en", "America/New_York")):
        message = event_changes.change_message(view, tz=tz, cancelled=False)
        text, _ = render(message, m.Reader(language, tz))
        t = FR if language == "fr" else EN
        start = t.datetime(starts, tz)
        end = t.datetime(starts + timedelta(hours=32), tz)
        assert t("event.when_days_dm", start=start, end=end) + f" ({tz})" in text, text
    assert (
        "du mardi 12 mai 2026 à 09:00 au mercredi 13 mai 2026 à 17:00"
        in render(
            event_changes.change_message(view, tz="Europe/Paris", cancelled=True),
            m.Reader("fr", "Europe/Paris"),
        )[0]
    )


def test_a_same_day_event_keeps_its_rendering_and_midnight_ends_the_day() -> None:
    start = datetime(2026, 5, 12, 20, 0, tzinfo=PARIS)
    assert not events.spans_days(start, start + timedelta(hours=4), "Europe/Paris")  # midnight
    assert events.spans_days(start, start + timedelta(hours=5), "Europe/Paris")
    assert not events.spans_days(start, start + timedelta(hours=2), "Europe/Paris")


# --- the training kind -------------------------------------------------------------------------------


async def test_a_training_is_offered_and_announced_as_such(bot: Bot) -> None:
    await setup(bot)
    view = await open_modal(bot, "événement", user=LEADER)
    kinds = next(b for b in view["blocks"] if b.get("block_id") == "event_kind")
    assert FR("event.kind.training") in [o["text"]["text"] for o in kinds["element"]["options"]]
    await submit(bot, values(event_title="Formation Git", event_kind="training"))
    await eventually(lambda: bot.emulator.uploads)
    (event,) = await all_events(bot)
    assert event.kind == EventKind.TRAINING
    text = blocks_text(announcements(bot)[-1])
    assert f"*{FR('event.kind.training')}* · " in text and "*Formation* · " in text
    assert EN("event.kind.training") == "Training"


# --- answers close when it starts ----------------------------------------------------------------------


async def test_answers_close_once_the_event_has_started(bot: Bot) -> None:
    await setup(bot)
    await submit(bot, two_days())
    await eventually(lambda: bot.emulator.uploads)
    original = json.loads(json.dumps(announcements(bot)[-1]))
    await rsvp(bot, original, MEMBER, "going")
    (event,) = await all_events(bot)
    # time passes: it started an hour ago (the clock is the database's start, moved back)
    async with bot.sessions.begin() as session:
        row = await session.get(Event, event.id)
        assert row is not None
        row.starts_at = utcnow() - timedelta(hours=1)
    updates = len(bot.emulator.calls_to("chat.update"))
    await scheduler.tick(bot.deps, now=utcnow())
    assert len(bot.emulator.calls_to("chat.update")) == updates + 1
    shown = bot.emulator.find_message("C0DATA", original["ts"])
    assert shown is not None
    text = blocks_text(shown)
    assert "event_rsvp_going" not in text and FR("event.rsvp_closed_line") in text
    assert "event_attendance_open" in text  # the leaders' button stays
    await scheduler.tick(bot.deps, now=utcnow())  # once only
    assert len(bot.emulator.calls_to("chat.update")) == updates + 1
    # a click on a client still showing the old buttons is refused and changes nothing
    stored = bot.emulator.find_message("C0DATA", original["ts"])
    assert stored is not None
    current, stored["blocks"] = stored["blocks"], original["blocks"]
    before = len(bot.emulator.responses)
    try:
        await bot.slack.click(
            user=EMILY, action_id="event_rsvp_going", message=("C0DATA", original["ts"])
        )
    finally:
        stored["blocks"] = current
    replies = await eventually(lambda: bot.emulator.responses[before:])
    assert EN("event.rsvp_started", title="RTE Days") in replies[-1]["text"]
    async with bot.sessions() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(EventRsvp)) == 1


# --- figures: webinars apart, attendance over RSVP ---------------------------------------------------


async def held(
    bot: Bot,
    *,
    title: str,
    kind: EventKind,
    starts_at: datetime,
    minutes: int = 1,
    going: tuple[str, ...] = (),
    came: int | None = None,
) -> int:
    """An event that started at `starts_at`, with "going" answers and an attendance."""
    async with bot.sessions.begin() as session:
        community_id = (await session.execute(sa.text("select id from community"))).scalar_one()
        local = starts_at.astimezone(PARIS)
        end = (starts_at + timedelta(minutes=minutes)).astimezone(PARIS)
        schedule = events.validate(
            EventDraft(
                title=title,
                kind=kind,
                day=local.date(),
                start=local.time(),
                duration_minutes=None,
                tz="Europe/Paris",
                end_day=end.date(),
                end_time=end.time(),
            ),
            now=utcnow(),
            allow_past=True,
        )
        created = await events.create(
            session,
            workspace_id=WORKSPACE,
            community_id=community_id,
            schedule=schedule,
            author_slack_user_id=LEADER,
        )
        ids = dict((await session.execute(sa.select(Person.slack_user_id, Person.id))).all())
        for user in going:
            session.add(
                EventRsvp(
                    workspace_id=WORKSPACE,
                    event_id=created.event.id,
                    person_id=ids[user],
                    answer=RsvpAnswer.GOING,
                )
            )
        if came is not None:
            created.event.attendance_count = came
        return created.event.id


async def ask(bot: Bot, text: str, *, user: str, channel: str) -> dict[str, Any]:
    before = len(bot.emulator.responses)
    response = await bot.slack.command(text, user=user, channel=channel)
    assert response.status_code == 200
    replies = await eventually(lambda: bot.emulator.responses[before:])
    return dict(replies[-1])


def month_start() -> datetime:
    """The first minute of this month in Paris (health's "this month")."""
    local = datetime.now(PARIS).replace(day=1, hour=0, minute=1, second=0, microsecond=0)
    return local.astimezone(UTC)


async def test_health_shows_webinars_apart_and_the_show_up_rate(bot: Bot) -> None:
    await setup(bot, members=(MEMBER, EMILY, "U0JAMES", "U0CAMILLE"))
    start = month_start()
    if utcnow() - start < timedelta(minutes=5):
        pytest.skip("the month has just begun: nothing could be held in it yet")
    await held(bot, title="Webinaire A", kind=EventKind.WEBINAR, starts_at=start,
               going=(MEMBER, EMILY, "U0JAMES", "U0CAMILLE"), came=3)  # fmt: skip
    await held(bot, title="Formation B", kind=EventKind.TRAINING, starts_at=start)
    await held(bot, title="Atelier C", kind=EventKind.WORKSHOP, starts_at=start, came=5)
    reply = await ask(bot, "santé", user=MANAGER, channel="C0GEN")
    text = json.dumps(reply.get("blocks"), ensure_ascii=False)
    apart = in_json(FR("health.events_apart", webinars=1, others=2))
    # only the webinar has both an attendance and "going" answers: 3 came of 4 going
    rate = FR("health.events_rsvp", figure=FR("figure.attendance_rsvp"), rate=FR.percent(0.75),
              attended=3, going=4)  # fmt: skip
    assert f"{apart} · {in_json(rate)}" in text
    community = await ask(bot, "health", user=LEADER, channel="C0DATA")
    assert f"{apart} · {in_json(rate)}" in json.dumps(community.get("blocks"), ensure_ascii=False)
    # the dashboard, programme and community pages, show the same three figures
    async with httpx.AsyncClient() as http:
        for page in (
            await http.get(dashboard_link(bot, reply)),
            await http.get(dashboard_link(bot, community)),
        ):
            assert page.status_code == 200
            for figure, value in (
                ("webinars", "1"),
                ("other-events", "2"),
                ("attendance-rsvp", FR.percent(0.75)),
            ):
                assert f'data-figure="{figure}">{value}<' in page.text, figure
            assert FR("figure.webinars_held") in page.text
    # in English, with nothing to compare (no event with both), the line says webinars only
    assert (
        EN("health.events_apart", webinars=1, others=2) == "*Of which* 1 webinar and 2 other events"
    )


async def test_the_show_up_rate_counts_events_that_ended_and_have_both(bot: Bot) -> None:
    await setup(bot, members=(MEMBER, EMILY, "U0JAMES"))
    now = utcnow()
    # a two-day gathering that ended an hour ago: it counts once, when it ends
    await held(bot, title="RTE Days", kind=EventKind.ANNUAL_GATHERING,
               starts_at=now - timedelta(hours=33), minutes=32 * 60,
               going=(MEMBER, EMILY, "U0JAMES"), came=2)  # fmt: skip
    # still under way: not counted yet, whatever it recorded
    await held(bot, title="En cours", kind=EventKind.WORKSHOP, starts_at=now - timedelta(hours=1),
               minutes=180, going=(MEMBER,), came=1)  # fmt: skip
    # no "going" answer: nothing to compare with
    await held(bot, title="Sans réponse", kind=EventKind.WEBINAR,
               starts_at=now - timedelta(hours=5), came=9)  # fmt: skip
    today = now.date()
    window = periods.Window(today - timedelta(days=3), today + timedelta(days=1))
    async with bot.sessions() as session:
        report = await kpis.compute(
            session,
            workspace_id=WORKSPACE,
            window=window,
            rule=disclosure.Rule(min_answers=5),
            now=now,
        )
    p = report.programme
    assert (p.rsvp_attended, p.rsvp_going) == (2, 3)
    assert figures.read("attendance_rsvp", p) == pytest.approx(2 / 3)
    assert figures.read("webinars_held", p) == 1
    # three events held, the two-day gathering once (not once a day), one webinar among them
    assert (p.events_held, p.webinars_held, p.other_events_held) == (3, 1, 2)
    assert kpis.Kpis().attendance_rsvp is None  # no event with both: nothing to show
    for key in ("webinars_held", "other_events_held", "attendance_rsvp"):
        assert figures.figure(key).level == 1
        assert FR(figures.figure(key).definition_key) and EN(figures.figure(key).definition_key)
    assert "÷" in FR("figure.attendance_rsvp.definition")
