"""Demo scene: leaders write the charter, schedule events, members answer; attendance; App Home."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from bot import events, messages
from bot.demo import Demo
from bot.demo.cast import CORE, DATA, GUILD, GUILD_LEADER, LEADER, MANAGER, MEMBER, SPONSOR
from bot.events import EventDraft
from bot.models import Community, EventKind, Outbox, Person, RsvpAnswer
from bot.slack.messages import render


async def open_modal(demo: Demo, text: str, *, user: str, channel: str) -> dict[str, Any]:
    demo.say("demo.types", who=demo.who(user), command=text, channel=demo.where(channel))
    before = len(demo.emulator.calls_to("views.open"))
    await demo.quietly(text, user=user, channel=channel)
    view = demo.emulator.calls_to("views.open")[before].response["view"]
    demo.show_view(view)
    return dict(view)


async def submit(demo: Demo, view: dict[str, Any], *, user: str, values: dict[str, Any]) -> None:
    demo.say("demo.submits", who=demo.who(user))
    await demo.settle()
    response = await demo.slack.submit_view(view["id"], user=user, values=values)
    if response.content:
        demo.show(response.text)
    await demo.settle()


def last_ephemeral(demo: Demo, user: str) -> None:
    """The bot's latest private note to `user`: ephemeral, or a DM when they are not in the channel."""
    found = [e for e in demo.emulator.ephemerals if e["user"] == user]
    dms = demo.emulator.messages.get(demo.emulator.dm_channel_for(user), [])
    latest = max([*found[-1:], *dms[-1:]], key=lambda m: m["ts"], default=None)
    if latest is not None:
        demo.show_message(latest)


def announcement(demo: Demo, channel: str, title: str) -> dict[str, Any]:
    return next(
        m for m in reversed(demo.emulator.messages[channel]) if title in str(m.get("text", ""))
    )


async def click(demo: Demo, *, user: str, action_id: str, channel: str, ts: str) -> None:
    await demo.settle()
    await demo.slack.click(user=user, action_id=action_id, message=(channel, ts))
    key = (demo.slack.last_response_url or "").rsplit("/", 1)[-1]
    await demo.settle()
    replies = [r for r in demo.emulator.responses if r.get("key") == key]
    demo.show(f"{demo.who(user)} → {replies[-1].get('text', '') if replies else ''}")


async def past_event(
    demo: Demo, *, channel: str, title: str, kind: EventKind, days_ago: int, going: list[str]
) -> int:
    """A past event, created through the domain (the modal rightly refuses past dates)."""
    from handlers.community_events import load_view, post_announcement

    deps = demo.deps
    now = datetime.now(UTC)
    async with deps.sessions.begin() as session:
        community = await session.scalar(
            sa.select(Community).where(Community.channel_id == channel)
        )
        assert community is not None
        schedule = events.validate(
            EventDraft(
                title=title,
                kind=kind,
                day=(now - timedelta(days=days_ago)).astimezone(ZoneInfo("Europe/Paris")).date(),
                start=time(12, 30),
                duration_minutes=60,
                tz="Europe/Paris",
                description=demo.content["past_description"],
            ),
            now=now,
            allow_past=True,
        )
        created = await events.create(
            session,
            workspace_id=community.workspace_id,
            community_id=community.id,
            schedule=schedule,
            author_slack_user_id=LEADER,
        )
        event = created.event
        event.channel_id = channel
        for user in going:
            await events.rsvp(  # answered the week before: answers close when it starts
                session,
                event=event,
                slack_user_id=user,
                answer=RsvpAnswer.GOING,
                now=event.starts_at - timedelta(days=7),
            )
        shown = await load_view(session, deps, event)
    ts = await post_announcement(deps, deps.web_client, shown)
    assert ts is not None
    async with deps.sessions.begin() as session:
        row = await events.get(session, workspace_id=shown_workspace(demo), event_id=shown.id)
        await events.set_message(session, event=row, channel_id=channel, ts=ts)
    return shown.id


def shown_workspace(demo: Demo) -> str:
    return demo.emulator.workspace.team_id


async def scene(demo: Demo) -> None:
    c = demo.content
    lw, mw, gw = demo.cast.words(LEADER), demo.cast.words(MEMBER), demo.cast.words(GUILD_LEADER)
    demo.title("demo.leaders.title")
    year = datetime.now(UTC).year

    # --- the charter ---------------------------------------------------------------------
    demo.say("demo.leaders.member_charter", member=demo.first_name(MEMBER))
    await demo.command(mw["charter"], user=MEMBER, channel=DATA)
    view = await open_modal(demo, lw["charter"], user=LEADER, channel=DATA)
    await submit(
        demo,
        view,
        user=LEADER,
        values={
            "charter_mission": c["mission"],
            "charter_ambition": c["ambition"],
            "charter_objectives": c["objectives"],
            "charter_year": str(year),
            "charter_values": c["values"],
            "charter_member_benefits": c["member_benefits"],
            "charter_org_benefits": c["org_benefits"],
            "charter_indicators": c["indicators"],
        },
    )
    last_ephemeral(demo, LEADER)
    public = f"{lw['charter']} {lw['show']} --public"
    demo.say("demo.leaders.post_charter", who=demo.first_name(LEADER), command=public)
    before = len(demo.emulator.messages[DATA])
    await demo.quietly(public, user=LEADER, channel=DATA)
    demo.show_message(demo.emulator.messages[DATA][before])
    cw = demo.cast.words(CORE)
    await demo.command(f"{cw['charter']} {cw['history']}", user=CORE, channel=DATA)

    # --- an upcoming event ---------------------------------------------------------------
    day = (datetime.now(UTC) + timedelta(days=9)).date()
    view = await open_modal(demo, lw["event"], user=LEADER, channel=DATA)
    demo.say("demo.leaders.too_fast", who=demo.first_name(LEADER))
    await demo.settle()
    response = await demo.slack.submit_view(
        view["id"],
        user=LEADER,
        values={
            "event_title": "",
            "event_date": (datetime.now(UTC) - timedelta(days=1)).date(),
            "event_time": "14:00",
            "event_duration": "0",
        },
    )
    labels = {b.get("block_id"): b.get("label", {}).get("text", "") for b in view.get("blocks", [])}
    for block, error in sorted(response.json().get("errors", {}).items()):
        demo.show(f"{labels.get(block) or block} — {error}")
    await submit(
        demo,
        view,
        user=LEADER,
        values={
            "event_title": c["webinar"],
            "event_kind": "webinar",
            "event_date": day,
            "event_time": "14:00",
            "event_duration": "90",
            "event_tz": "Europe/Paris",
            "event_link": "https://visio.example.com/mlops",
            "event_description": c["webinar_description"],
        },
    )
    message = announcement(demo, DATA, c["webinar"])
    demo.say("demo.leaders.announcement", channel=demo.where(DATA))
    demo.show_message(message)
    demo.show(demo.t("demo.uploaded", file=demo.emulator.uploads[-1]["filename"]))
    demo.say("demo.leaders.rsvp")
    for user, answer in (
        (CORE, "going"),
        (SPONSOR, "going"),
        (MEMBER, "maybe"),
        (MANAGER, "declined"),
        (MEMBER, "going"),
        (MEMBER, "going"),
    ):
        await click(
            demo, user=user, action_id=f"event_rsvp_{answer}", channel=DATA, ts=message["ts"]
        )
    demo.say("demo.leaders.now")
    demo.show_message(announcement(demo, DATA, c["webinar"]))

    # --- past events and attendance ---------------------------------------------------------
    demo.say("demo.leaders.past")
    await past_event(
        demo,
        channel=DATA,
        title=c["kickoff"],
        kind=EventKind.KICK_OFF,
        days_ago=40,
        going=[CORE, SPONSOR, MEMBER, MANAGER],
    )
    await past_event(
        demo,
        channel=DATA,
        title=c["workshop"],
        kind=EventKind.WORKSHOP,
        days_ago=12,
        going=[CORE, MEMBER],
    )
    past = announcement(demo, DATA, c["kickoff"])
    demo.say("demo.leaders.attendance_refused", member=demo.first_name(MEMBER))
    await click(demo, user=MEMBER, action_id="event_attendance_open", channel=DATA, ts=past["ts"])
    demo.say("demo.leaders.attendance", who=demo.first_name(LEADER))
    view = await open_from_button(
        demo, user=LEADER, action_id="event_attendance_open", ts=past["ts"]
    )
    demo.show_view(view)
    await submit(
        demo,
        view,
        user=LEADER,
        values={
            "event_att_people": [CORE, SPONSOR, MEMBER, MANAGER],
            "event_att_count": "11",
        },
    )
    demo.show_message(announcement(demo, DATA, c["kickoff"]))
    spark = announcement(demo, DATA, c["workshop"])
    view = await open_from_button(
        demo, user=LEADER, action_id="event_attendance_open", ts=spark["ts"]
    )
    await submit(demo, view, user=CORE, values={"event_att_count": "6"})

    # --- list, reschedule ---------------------------------------------------------------
    await demo.command(f"{lw['event']} {lw['list']}", user=LEADER, channel=DATA)
    demo.say("demo.leaders.move", who=demo.first_name(LEADER))
    view = await open_from_button(demo, user=LEADER, action_id="event_edit", ts=None)
    await submit(demo, view, user=LEADER, values={"event_time": "16:00"})
    last_ephemeral(demo, LEADER)
    demo.show_message(announcement(demo, DATA, c["webinar"]))
    demo.say("demo.leaders.notices")
    async with demo.deps.sessions() as session:
        rows = (
            await session.execute(
                sa.select(Person.real_name, Outbox.payload)
                .join(Person, Person.id == Outbox.person_id)
                .where(Outbox.kind == "event_change")
                .order_by(Person.real_name)
            )
        ).all()
    for name, payload in rows:  # a neutral message, as the outbox renders it for its reader
        text, _ = render(messages.load(payload["message"]), messages.Reader(**payload["reader"]))
        demo.show(demo.t("demo.dm_to", name=name, text=text))
    far = demo.cast.people[MEMBER]
    demo.say("demo.leaders.far_member", member=demo.first_name(MEMBER), city=far.city)
    await demo.command(f"{mw['event']} {mw['list']}", user=MEMBER, channel=DATA)

    # --- the third community ----------------------------------------------------------------
    view = await open_modal(demo, gw["charter"], user=GUILD_LEADER, channel=GUILD)
    await submit(
        demo,
        view,
        user=GUILD_LEADER,
        values={
            "charter_mission": c["guild_mission"],
            "charter_objectives": c["guild_objectives"],
            "charter_year": str(year),
        },
    )
    last_ephemeral(demo, GUILD_LEADER)
    view = await open_modal(demo, gw["event"], user=GUILD_LEADER, channel=GUILD)
    await submit(
        demo,
        view,
        user=GUILD_LEADER,
        values={
            "event_title": c["guild_event"],
            "event_kind": "workshop",
            "event_date": (datetime.now(UTC) + timedelta(days=5)).date(),
            "event_time": "10:00",
            "event_duration": "60",
        },
    )
    demo.say("demo.leaders.guild_announcement", channel=demo.where(GUILD))
    demo.show_message(announcement(demo, GUILD, c["guild_event"]))

    # --- App Home ---------------------------------------------------------------------------
    for user in (LEADER, MEMBER, MANAGER):
        demo.say("demo.leaders.home", who=demo.who(user))
        await demo.settle()
        await demo.slack.open_home(user=user)
        await demo.settle()
        demo.show_view(demo.emulator.home_views[user])


async def open_from_button(
    demo: Demo, *, user: str, action_id: str, ts: str | None
) -> dict[str, Any]:
    """Click a button that opens a modal; the modal it opened."""
    await demo.settle()
    before = len(demo.emulator.calls_to("views.open"))
    await demo.slack.click(
        user=user, action_id=action_id, message=(DATA, ts) if ts is not None else None
    )
    await demo.settle()
    return dict(demo.emulator.calls_to("views.open")[before].response["view"])
