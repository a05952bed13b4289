"""/cop event end to end: modal → event row → announcement with RSVP buttons → changes, attendance, .ics."""

from __future__ import annotations

import asyncio
import copy
import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import sqlalchemy as sa

from bot import events
from bot.errors import InvalidFields
from bot.events import EventDraft, EventView
from bot.models import (
    Event,
    EventAttendance,
    EventKind,
    EventRsvp,
    EventStatus,
    Outbox,
    RsvpAnswer,
)
from rituals.outbox import Drain
from tests import factories
from tests.catalogue import ANY, EN, FR, shows
from tests.conftest import MANAGER, Bot, eventually

LEADER = "U0LUCAS"  # French leader of Data Science
MEMBER = "U0CHLOE"
EMILY = "U0EMILY"  # English-speaking member, New York


async def setup(bot: Bot, **kwargs: Any) -> None:
    await factories.community(bot.sessions, emulator=bot.emulator, leaders=(LEADER,), **kwargs)


async def open_modal(bot: Bot, text: str, *, user: str, channel: str = "C0DATA") -> dict[str, Any]:
    before = len(bot.emulator.calls_to("views.open"))
    response = await bot.slack.command(text, user=user, channel=channel)
    assert response.status_code == 200
    calls = await bot.emulator.wait_for("views.open", count=before + 1)
    return calls[-1].response["view"]


def next_week(hour: int = 14) -> tuple[Any, Any]:
    day = (datetime.now(ZoneInfo("Europe/Paris")) + timedelta(days=7)).date()
    return day, time(hour, 0)


def values(**over: Any) -> dict[str, Any]:
    day, start = next_week()
    base = {
        "event_title": "Webinaire MLOps",
        "event_kind": "webinar",
        "event_date": day,
        "event_time": start,
        "event_duration": "90",
        "event_tz": "Europe/Paris",
        "event_link": "https://visio.example.com/mlops",
        "event_description": "Retour d'expérience : déployer un modèle, le surveiller, le corriger.",
    }
    base.update(over)
    return base


async def all_events(bot: Bot) -> list[Event]:
    async with bot.sessions() as session:
        return list(await session.scalars(sa.select(Event).order_by(Event.id)))


def announcements(bot: Bot, channel: str = "C0DATA") -> list[dict[str, Any]]:
    return [
        m
        for m in bot.emulator.messages[channel]
        if any(b.get("block_id", "").endswith("_actions") for b in m.get("blocks") or [])
        or "Annulé" in m.get("text", "")
        or "Cancelled" in m.get("text", "")
    ]


async def create_event(bot: Bot, *, user: str = LEADER, **over: Any) -> dict[str, Any]:
    view = await open_modal(bot, "événement", user=user)
    response = await bot.slack.submit_view(view["id"], user=user, values=values(**over))
    assert response.status_code == 200 and not response.content
    await eventually(lambda: bot.emulator.uploads)
    return copy.deepcopy(announcements(bot)[-1])


# --- creating -------------------------------------------------------------------------------------


async def test_leader_schedules_a_webinar_in_french(bot: Bot) -> None:
    await setup(bot)
    view = await open_modal(bot, "événement", user=LEADER)
    assert view["title"]["text"] == "Nouvel événement"
    tz_block = next(b for b in view["blocks"] if b.get("block_id") == "event_tz")
    assert tz_block["element"]["initial_value"] == "Europe/Paris"  # the leader's Slack zone
    await bot.slack.submit_view(view["id"], user=LEADER, values=values())
    await eventually(lambda: bot.emulator.uploads)
    (event,) = await all_events(bot)
    assert event.title == "Webinaire MLOps" and event.duration_minutes == 90
    assert event.tz == "Europe/Paris" and event.starts_at.tzinfo is not None
    assert event.starts_at.astimezone(ZoneInfo("Europe/Paris")).hour == 14
    message = announcements(bot)[-1]
    assert event.message_ts == message["ts"] and event.channel_id == "C0DATA"
    text = json.dumps(message["blocks"], ensure_ascii=False)
    assert FR("event.kind.webinar") in text and "14:00 – 15:30 (Europe/Paris)" in text
    assert FR("event.count_item", emoji="✅", label=FR("event.rsvp.going"), count=0) in text
    upload = bot.emulator.uploads[-1]
    assert upload["thread_ts"] == message["ts"] and upload["filename"].endswith(".ics")
    ics = upload["content"].decode()
    assert "UID:event-" in ics and "SEQUENCE:0" in ics and "DTSTART:" in ics
    confirmation = await eventually(
        lambda: [e for e in bot.emulator.ephemerals if e["user"] == LEADER]
    )
    assert shows(confirmation[-1]["text"], FR, "event.created", title="Webinaire MLOps", when=ANY)


async def test_english_leader_gets_english_modal_and_channel_in_community_language(
    bot: Bot,
) -> None:
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
    assert view["title"]["text"] == "New event"
    tz_block = next(b for b in view["blocks"] if b.get("block_id") == "event_tz")
    assert tz_block["element"]["initial_value"] == "Europe/London"
    await bot.slack.submit_view(
        view["id"],
        user="U0JAMES",
        values=values(event_title="Agile kick-off", event_kind="kick_off"),
    )
    message = await eventually(lambda: announcements(bot, "C0AGILE"))
    text = json.dumps(message[-1]["blocks"], ensure_ascii=False)
    assert EN("event.kind.kick_off") in text and "(Europe/London)" in text
    assert EN("event.count_item", emoji="✅", label=EN("event.rsvp.going"), count=0) in text


async def test_members_cannot_schedule(bot: Bot) -> None:
    await setup(bot)
    await bot.slack.command("event", user=MEMBER, channel="C0DATA")
    replies = await eventually(lambda: bot.emulator.responses)
    assert FR("permission.manage_events") in replies[-1]["text"]
    assert bot.emulator.calls_to("views.open") == []


async def test_bad_input_gets_field_errors_and_writes_nothing(bot: Bot) -> None:
    await setup(bot)
    view = await open_modal(bot, "evenement", user=LEADER)
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date()
    response = await bot.slack.submit_view(
        view["id"],
        user=LEADER,
        values=values(
            event_title="   ",
            event_date=yesterday,
            event_duration="-30",
            event_tz="Mars/Olympus",
            event_description="x" * 2500,
            event_link="ftp://nope",
        ),
    )
    body = response.json()
    assert body["response_action"] == "errors"
    errors = body["errors"]
    assert set(errors) == {
        "event_title",
        "event_duration",
        "event_tz",
        "event_description",
        "event_link",
    }
    assert errors["event_tz"] == FR("common.bad_timezone", value="Mars/Olympus")
    assert errors["event_duration"] == FR("event.end_before_start")
    response = await bot.slack.submit_view(
        view["id"], user=LEADER, values=values(event_date=yesterday)
    )
    assert response.json()["errors"]["event_date"] == FR("event.in_the_past")
    response = await bot.slack.submit_view(
        view["id"], user=LEADER, values=values(event_duration="1500")
    )
    assert response.json()["errors"]["event_duration"] == FR(
        "event.too_long_minutes", hours=24, days=events.DAYS_MAX
    )
    assert await all_events(bot) == []


async def test_a_modal_submitted_twice_creates_one_event(bot: Bot) -> None:
    await setup(bot)
    view = await open_modal(bot, "event", user=LEADER)
    await bot.slack.submit_view(view["id"], user=LEADER, values=values())
    await bot.slack.submit_view(view["id"], user=LEADER, values=values())
    await eventually(lambda: bot.emulator.uploads)
    await eventually(lambda: len(bot.emulator.calls_to("chat.postEphemeral")) >= 1)
    assert len(await all_events(bot)) == 1
    assert len(announcements(bot)) == 1


# --- RSVP ---------------------------------------------------------------------------------------


async def rsvp(bot: Bot, message: dict[str, Any], user: str, answer: str) -> None:
    before = len(bot.emulator.responses)
    await bot.slack.click(
        user=user, action_id=f"event_rsvp_{answer}", message=("C0DATA", message["ts"])
    )
    await eventually(lambda: len(bot.emulator.responses) > before)


def counts_in(bot: Bot, ts: str) -> str:
    message = bot.emulator.find_message("C0DATA", ts)
    assert message is not None
    return next(
        e["text"]
        for b in message["blocks"]
        if b["type"] == "context"
        for e in b["elements"]
        if FR("event.rsvp.going") in e["text"]
    )


GOING, MAYBE = "going", "maybe"


def counted(answer: str, count: int) -> str:
    """The French count under the announcement: « ✅ J'y serai : 2 »."""
    emoji = {GOING: "✅", MAYBE: "🤔"}[answer]
    return FR("event.count_item", emoji=emoji, label=FR(f"event.rsvp.{answer}"), count=count)


async def test_rsvp_counts_update_in_place_once_per_person(bot: Bot) -> None:
    await setup(bot)
    message = await create_event(bot)
    await rsvp(bot, message, MEMBER, "going")
    await rsvp(bot, message, MEMBER, "going")  # second click: counted once
    await rsvp(bot, message, EMILY, "maybe")
    await eventually(lambda: counted(MAYBE, 1) in counts_in(bot, message["ts"]))
    assert counted(GOING, 1) in counts_in(bot, message["ts"])
    await rsvp(bot, message, EMILY, "going")  # changing moves the count
    await eventually(lambda: counted(GOING, 2) in counts_in(bot, message["ts"]))
    assert counted(MAYBE, 0) in counts_in(bot, message["ts"])
    assert len(bot.emulator.calls_to("chat.update")) == 3  # the repeated click changed nothing
    # Emily reads her confirmation in English, in New York time
    emily_reads = bot.emulator.responses[-1]["text"]
    assert shows(emily_reads, EN, "event.rsvp_saved.going", title="Webinaire MLOps", when=ANY)
    assert "(America/New_York)" in emily_reads
    async with bot.sessions() as session:
        answers = list(await session.scalars(sa.select(EventRsvp.answer)))
    assert sorted(answers) == [RsvpAnswer.GOING, RsvpAnswer.GOING]


# --- list, edit, reschedule, cancel ------------------------------------------------------------


async def test_leader_reschedules_from_the_list_and_those_going_are_told(bot: Bot) -> None:
    await setup(bot)
    message = await create_event(bot)
    await rsvp(bot, message, MEMBER, "going")
    await rsvp(bot, message, EMILY, "going")
    await bot.slack.command("événement liste", user=LEADER, channel="C0DATA")
    await eventually(
        lambda: any("event_edit" in json.dumps(e.get("blocks")) for e in bot.emulator.ephemerals)
    )
    before = len(bot.emulator.calls_to("views.open"))
    await bot.slack.click(user=LEADER, action_id="event_edit")
    calls = await bot.emulator.wait_for("views.open", count=before + 1)
    view = calls[-1].response["view"]
    assert view["title"]["text"] == "Modifier l'événement"
    uploads = len(bot.emulator.uploads)
    await bot.slack.submit_view(view["id"], user=LEADER, values={"event_time": "16:30"})
    await eventually(lambda: len(bot.emulator.uploads) > uploads)
    (event,) = await all_events(bot)
    assert event.sequence == 1
    assert event.starts_at.astimezone(ZoneInfo("Europe/Paris")).strftime("%H:%M") == "16:30"
    updated = bot.emulator.find_message("C0DATA", message["ts"])
    assert updated is not None and "16:30" in json.dumps(updated["blocks"], ensure_ascii=False)
    assert "SEQUENCE:1" in bot.emulator.uploads[-1]["content"].decode()
    async with bot.sessions() as session:
        rows = list(await session.scalars(sa.select(Outbox).order_by(Outbox.id)))
    assert [r.kind for r in rows] == ["event_change", "event_change"]
    assert all(r.idempotency_key.startswith(f"event:{event.id}:change:1:") for r in rows)
    # what they read once the outbox has sent it: their language, their zone
    await Drain(bot.deps, rate_per_minute=60000).run_once()
    texts = [
        bot.emulator.messages[bot.emulator.dm_channel_for(user)][-1]["text"]
        for user in (MEMBER, EMILY)
    ]
    assert shows(texts[0], FR, "event.notice_changed", title=ANY, community=ANY, when=ANY)
    assert shows(texts[1], EN, "event.notice_changed", title=ANY, community=ANY, when=ANY)
    assert "(America/New_York)" in texts[1]


async def test_cancel_marks_the_announcement_and_rsvp_is_refused(bot: Bot) -> None:
    await setup(bot)
    message = await create_event(bot)
    await rsvp(bot, message, MEMBER, "going")
    await bot.slack.command("event list", user=LEADER, channel="C0DATA")
    await eventually(
        lambda: any("event_cancel" in json.dumps(e.get("blocks")) for e in bot.emulator.ephemerals)
    )
    before = len(bot.emulator.responses)
    await bot.slack.click(user=LEADER, action_id="event_cancel")
    replies = await eventually(lambda: bot.emulator.responses[before:])
    assert FR("event.cancelled_done", title="Webinaire MLOps", count=1) in replies[-1]["text"]
    (event,) = await all_events(bot)
    assert event.status == EventStatus.CANCELLED and event.sequence == 1
    updated = bot.emulator.find_message("C0DATA", message["ts"])
    assert updated is not None
    assert shows(updated["text"], FR, "event.cancelled_text", title="Webinaire MLOps", when=ANY)
    assert "STATUS:CANCELLED" in bot.emulator.uploads[-1]["content"].decode()
    # the old buttons (someone's stale client) are refused politely
    before = len(bot.emulator.responses)
    assert "event_rsvp_going" not in json.dumps(updated["blocks"])
    await _click_stale(bot, message, EMILY)
    replies = await eventually(lambda: bot.emulator.responses[before:])
    assert EN("event.rsvp_cancelled", title="Webinaire MLOps") in replies[-1]["text"]


async def _click_stale(bot: Bot, original: dict[str, Any], user: str) -> None:
    """Slack clients may still show the old buttons: replay a click on the original blocks."""
    stored = bot.emulator.find_message("C0DATA", original["ts"])
    assert stored is not None
    current = stored["blocks"]
    stored["blocks"] = original["blocks"]
    try:
        await bot.slack.click(
            user=user, action_id="event_rsvp_going", message=("C0DATA", original["ts"])
        )
    finally:
        stored["blocks"] = current


# --- attendance ----------------------------------------------------------------------------------


async def past_event(bot: Bot) -> int:
    """An event that already happened, created through the domain (the modal refuses the past)."""
    async with bot.sessions.begin() as session:
        community_id = (await session.execute(sa.text("select id from community"))).scalar_one()
        schedule = events.validate(
            EventDraft(
                title="Atelier Spark",
                kind=EventKind.WORKSHOP,
                day=(datetime.now(UTC) - timedelta(days=2)).date(),
                start=time(10, 0),
                duration_minutes=120,
                tz="Europe/Paris",
            ),
            now=datetime.now(UTC),
            allow_past=True,
        )
        created = await events.create(
            session,
            workspace_id="T0COP",
            community_id=community_id,
            schedule=schedule,
            author_slack_user_id=LEADER,
        )
        created.event.channel_id = "C0DATA"
        event_id = created.event.id
        view = await events.view(session, event=created.event, default_tz="Europe/Paris")
    from bot.i18n import translate
    from bot.slack.blocks.event import build_announcement

    text, blocks = build_announcement(translate("fr"), view, now=datetime.now(UTC))
    posted = await bot.deps.web_client.chat_postMessage(
        channel="C0DATA", text=text, blocks=[b.to_dict() for b in blocks]
    )
    async with bot.sessions.begin() as session:
        row = await session.get(Event, event_id)
        assert row is not None
        await events.set_message(session, event=row, channel_id="C0DATA", ts=posted["ts"])
    return event_id


async def test_attendance_is_recorded_by_leaders_only(bot: Bot) -> None:
    await setup(bot)
    event_id = await past_event(bot)
    message = announcements(bot)[-1]
    before = len(bot.emulator.responses)
    await bot.slack.click(
        user=MEMBER, action_id="event_attendance_open", message=("C0DATA", message["ts"])
    )
    replies = await eventually(lambda: bot.emulator.responses[before:])
    assert FR("permission.manage_events") in replies[-1]["text"]
    await bot.slack.click(
        user=LEADER, action_id="event_attendance_open", message=("C0DATA", message["ts"])
    )
    calls = await bot.emulator.wait_for("views.open")
    view = calls[-1].response["view"]
    response = await bot.slack.submit_view(
        view["id"],
        user=LEADER,
        values={"event_att_people": [MEMBER, EMILY], "event_att_count": "1"},
    )
    assert response.json()["errors"]["event_att_count"] == FR(
        "event.attendance_count_below_names", names=2
    )
    response = await bot.slack.submit_view(
        view["id"],
        user=LEADER,
        values={"event_att_people": [MEMBER, EMILY], "event_att_count": "12"},
    )
    assert response.status_code == 200

    async def recorded() -> bool:
        async with bot.sessions() as session:
            event = await session.get(Event, event_id)
            return event is not None and event.attendance_count == 12

    await eventually(recorded)
    async with bot.sessions() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(EventAttendance)) == 2
    updated = bot.emulator.find_message("C0DATA", message["ts"])
    assert updated is not None
    await eventually(
        lambda: (
            FR("event.attendance_line", count=12)
            in json.dumps(
                bot.emulator.find_message("C0DATA", message["ts"])["blocks"], ensure_ascii=False
            )
        )
    )


async def test_attendance_before_the_event_is_refused(bot: Bot) -> None:
    await setup(bot)
    message = await create_event(bot)
    before = len(bot.emulator.responses)
    await bot.slack.click(
        user=LEADER, action_id="event_attendance_open", message=("C0DATA", message["ts"])
    )
    replies = await eventually(lambda: bot.emulator.responses[before:])
    assert FR("event.not_started") in replies[-1]["text"]


# --- the domain, as a table ------------------------------------------------------------------------


def sample_view(**over: Any) -> EventView:
    base: dict[str, Any] = {
        "id": 7,
        "community_id": 1,
        "community_name": "Data",
        "community_tz": "Europe/Paris",
        "community_language": "fr",
        "channel_id": "C0DATA",
        "message_ts": "1.2",
        "title": "Café, data; et \\ backslash — un titre assez long pour être replié sur deux lignes au moins",
        "kind": EventKind.WEBINAR,
        "starts_at": datetime(2026, 12, 3, 13, 0, tzinfo=UTC),
        "duration_minutes": 90,
        "tz": "Europe/Paris",
        "link": "https://visio.example.com/x",
        "description": "Ligne 1\nLigne 2",
        "status": EventStatus.SCHEDULED,
        "sequence": 2,
        "attendance_count": None,
    }
    base.update(over)
    return EventView(**base)


def test_ics_follows_rfc_5545() -> None:
    text = events.ics(sample_view(), domain="t0cop.cop-bot", now=datetime(2026, 11, 1, tzinfo=UTC))
    assert text.endswith("\r\n") and "\r\n" in text
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    unfolded = text.replace("\r\n ", "")
    assert "DTSTART:20261203T130000Z" in unfolded and "DTEND:20261203T143000Z" in unfolded
    assert "SUMMARY:Café\\, data\\; et \\\\ backslash" in unfolded
    # what a calendar reads back is what was typed
    (entry,) = icalendar.Calendar.from_ical(text).walk("VEVENT")
    assert str(entry["SUMMARY"]) == sample_view().title
    assert str(entry["DESCRIPTION"]).startswith("Ligne 1\nLigne 2")
    assert entry["SEQUENCE"] == 2 and str(entry["UID"]) == "event-7@t0cop.cop-bot"
    assert entry.decoded("DTSTART") == datetime(2026, 12, 3, 13, 0, tzinfo=UTC)
    cancelled = events.ics(
        sample_view(status=EventStatus.CANCELLED, community_name='Data "R&D"\nParis'),
        domain="d",
        now=datetime(2026, 11, 1, tzinfo=UTC),
    )
    (entry,) = icalendar.Calendar.from_ical(cancelled).walk("VEVENT")
    assert "METHOD:CANCEL" in cancelled and str(entry["STATUS"]) == "CANCELLED"
    assert entry["ORGANIZER"].params["CN"] == "Data 'R&D' Paris"


def test_validation_collects_every_problem() -> None:
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    draft = EventDraft(
        title="",
        kind=EventKind.MEETING,
        day=None,
        start=None,
        duration_minutes=0,
        tz="Nowhere/Town",
    )
    try:
        events.validate(draft, now=now)
    except InvalidFields as exc:
        fields = {e.field for e in exc.errors}
    assert fields == {"title", "tz", "duration", "date", "time"}
    ok = events.validate(
        EventDraft(
            title=" Point  mensuel ",
            kind=EventKind.MEETING,
            day=date(2026, 12, 1),
            start=time(9, 30),
            duration_minutes=30,
            tz="europe/paris",
        ),
        now=now,
    )
    assert ok.title == "Point mensuel" and ok.tz == "Europe/Paris"
    assert ok.starts_at == datetime(2026, 12, 1, 8, 30, tzinfo=UTC)


async def test_managers_can_run_any_community(bot: Bot) -> None:
    await setup(bot)
    view = await open_modal(bot, "event", user=MANAGER)
    await bot.slack.submit_view(
        view["id"], user=MANAGER, values=values(event_title="Point programme")
    )
    await eventually(lambda: bot.emulator.uploads)
    assert [e.title for e in await all_events(bot)] == ["Point programme"]


async def test_simultaneous_double_clicks_and_submissions_count_once(bot: Bot) -> None:
    await setup(bot)
    view = await open_modal(bot, "event", user=LEADER)
    await asyncio.gather(
        bot.slack.submit_view(view["id"], user=LEADER, values=values()),
        bot.slack.submit_view(view["id"], user=LEADER, values=values()),
    )
    await eventually(lambda: bot.emulator.uploads)
    await eventually(lambda: bot.emulator.calls_to("chat.postEphemeral"))
    assert len(await all_events(bot)) == 1
    message = announcements(bot)[-1]
    before = len(bot.emulator.responses)
    await asyncio.gather(
        *(
            bot.slack.click(
                user=MEMBER, action_id="event_rsvp_going", message=("C0DATA", message["ts"])
            )
            for _ in range(3)
        )
    )
    await eventually(lambda: len(bot.emulator.responses) >= before + 3)
    async with bot.sessions() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(EventRsvp)) == 1
    await eventually(lambda: counted(GOING, 1) in counts_in(bot, message["ts"]))
    assert not any(FR("error.unexpected") in r.get("text", "") for r in bot.emulator.responses)

    assert bot.deps.metrics.errors._metrics == {}  # no listener failed
