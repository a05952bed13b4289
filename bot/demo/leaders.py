"""Demo scene: leaders write the charter, schedule events, members answer; attendance; App Home."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from bot import events
from bot.demo import MANAGER, Demo, wait_until
from bot.events import EventDraft
from bot.models import Community, EventKind, Outbox, Person, RsvpAnswer

LEADER = "U0LUCAS"


async def open_modal(demo: Demo, text: str, *, user: str, channel: str) -> dict[str, Any]:
    who = demo.emulator.workspace.users[user].real_name
    demo.step(f"{who} types `/cop {text}` in #{demo.emulator.workspace.channels[channel].name}")
    before = len(demo.emulator.calls_to("views.open"))
    await demo.slack.command(text, user=user, channel=channel)
    await wait_until(lambda: len(demo.emulator.calls_to("views.open")) > before)
    view = demo.emulator.calls_to("views.open")[-1].response["view"]
    demo.show_view(view)
    return dict(view)


async def submit(demo: Demo, view: dict[str, Any], *, user: str, values: dict[str, Any]) -> None:
    who = demo.emulator.workspace.users[user].real_name
    demo.step(f"{who} fills in the form and submits it")
    before = len(demo.emulator.calls)
    response = await demo.slack.submit_view(view["id"], user=user, values=values)
    if response.content:
        demo.show(f"(modal stays open) {response.text}")
    # the confirmation to the author is always the last thing the bot sends
    await wait_until(
        lambda: any(
            (c.method == "chat.postEphemeral" and c.params.get("user") == user)
            or (c.method == "chat.postMessage" and c.params.get("channel") == user)
            for c in demo.emulator.calls[before:]
        )
    )


def last_ephemeral(demo: Demo, user: str) -> None:
    """The bot's latest private note to `user`: ephemeral, or a DM when they are not in the channel."""
    found = [e for e in demo.emulator.ephemerals if e["user"] == user]
    dms = demo.emulator.messages.get(demo.emulator.dm_channel_for(user), [])
    latest = max([*found[-1:], *dms[-1:]], key=lambda m: m["ts"], default=None)
    if latest is not None:
        demo.show_message(latest)


async def settle(demo: Demo, method: str, count: int) -> None:
    await wait_until(lambda: len(demo.emulator.calls_to(method)) >= count)


def announcement(demo: Demo, channel: str, title: str) -> dict[str, Any]:
    return next(
        m for m in reversed(demo.emulator.messages[channel]) if title in str(m.get("text", ""))
    )


async def click(demo: Demo, *, user: str, action_id: str, channel: str, ts: str) -> None:
    who = demo.emulator.workspace.users[user].real_name
    before = len(demo.emulator.responses)
    await demo.slack.click(user=user, action_id=action_id, message=(channel, ts))
    await wait_until(lambda: len(demo.emulator.responses) > before)
    demo.show(f"{who} → {demo.emulator.responses[-1].get('text', '')}")


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
                description="Retour d'expérience et questions ouvertes.",
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
    demo.title("2. Leaders' tools — the charter, events with RSVP and attendance, the App Home")
    year = datetime.now(UTC).year

    # --- the charter ---------------------------------------------------------------------
    demo.step("Emily (a member) tries to edit the charter")
    await demo.command("charter", user="U0EMILY", channel="C0DATA")
    view = await open_modal(demo, "charte", user=LEADER, channel="C0DATA")
    await submit(
        demo,
        view,
        user=LEADER,
        values={
            "charter_mission": "Faire progresser ensemble la pratique de la data science dans le groupe.",
            "charter_ambition": "Que chaque équipe trouve ici, en moins d'une journée, l'aide d'un pair.",
            "charter_objectives": "Quatre webinaires dans l'année\nUn guide MLOps partagé\n30 membres actifs",
            "charter_year": str(year),
            "charter_values": "Bienveillance, partage, droit à l'erreur.",
            "charter_member_benefits": "Apprendre des pairs, trouver de l'aide vite, se faire connaître.",
            "charter_org_benefits": "Moins de doublons, des modèles en production plus vite.",
            "charter_indicators": "Membres actifs par mois\nParticipation aux webinaires\nTémoignages de valeur",
        },
    )
    last_ephemeral(demo, LEADER)
    demo.step("Lucas posts the charter in the channel: `/cop charte voir --public`")
    before = len(demo.emulator.messages["C0DATA"])
    await demo.slack.command("charte voir --public", user=LEADER, channel="C0DATA")
    await wait_until(lambda: len(demo.emulator.messages["C0DATA"]) > before)
    demo.show_message(demo.emulator.messages["C0DATA"][-1])
    await demo.command("charte historique", user="U0CHLOE", channel="C0DATA")

    # --- an upcoming event ---------------------------------------------------------------
    day = (datetime.now(UTC) + timedelta(days=9)).date()
    view = await open_modal(demo, "événement", user=LEADER, channel="C0DATA")
    demo.step(
        "Lucas submits too fast (no title, yesterday, 0 minutes): the modal says so, field by field"
    )
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
    for block, error in response.json().get("errors", {}).items():
        demo.show(f"{block}: {error}")
    await submit(
        demo,
        view,
        user=LEADER,
        values={
            "event_title": "Webinaire : MLOps en production",
            "event_kind": "webinar",
            "event_date": day,
            "event_time": "14:00",
            "event_duration": "90",
            "event_tz": "Europe/Paris",
            "event_link": "https://visio.example.com/mlops",
            "event_description": "Déployer un modèle, le surveiller, le corriger : retour d'expérience de l'équipe Pricing.",
        },
    )
    await wait_until(lambda: demo.emulator.uploads)
    message = announcement(demo, "C0DATA", "MLOps")
    demo.step("The announcement in #data-science (and its .ics file in the thread)")
    demo.show_message(message)
    demo.show(f"📎 {demo.emulator.uploads[-1]['filename']} uploaded in the thread")
    demo.step("Members answer with the buttons (counts update in place)")
    for user, answer in (
        ("U0CHLOE", "going"),
        ("U0HUGO", "going"),
        ("U0EMILY", "maybe"),
        ("U0CAMILLE", "declined"),
        ("U0EMILY", "going"),
        ("U0EMILY", "going"),
    ):
        await click(
            demo, user=user, action_id=f"event_rsvp_{answer}", channel="C0DATA", ts=message["ts"]
        )
    demo.step("The announcement now")
    demo.show_message(announcement(demo, "C0DATA", "MLOps"))

    # --- past events and attendance ---------------------------------------------------------
    demo.step("Two past events (seeded through the domain: the modal refuses past dates)")
    await past_event(
        demo,
        channel="C0DATA",
        title="Lancement de la communauté",
        kind=EventKind.KICK_OFF,
        days_ago=40,
        going=["U0CHLOE", "U0HUGO", "U0EMILY", "U0CAMILLE"],
    )
    await past_event(
        demo,
        channel="C0DATA",
        title="Atelier Spark",
        kind=EventKind.WORKSHOP,
        days_ago=12,
        going=["U0CHLOE", "U0EMILY"],
    )
    past = announcement(demo, "C0DATA", "Lancement")
    demo.step("Emily clicks « Noter les présents » on the kick-off: only leaders may")
    await click(
        demo, user="U0EMILY", action_id="event_attendance_open", channel="C0DATA", ts=past["ts"]
    )
    demo.step("Lucas records who came to the kick-off (names + guests outside Slack)")
    before = len(demo.emulator.calls_to("views.open"))
    await demo.slack.click(
        user=LEADER, action_id="event_attendance_open", message=("C0DATA", past["ts"])
    )
    await wait_until(lambda: len(demo.emulator.calls_to("views.open")) > before)
    view = demo.emulator.calls_to("views.open")[-1].response["view"]
    demo.show_view(view)
    await submit(
        demo,
        view,
        user=LEADER,
        values={
            "event_att_people": ["U0CHLOE", "U0HUGO", "U0EMILY", "U0CAMILLE"],
            "event_att_count": "11",
        },
    )
    await wait_until(lambda: "11" in str(announcement(demo, "C0DATA", "Lancement").get("blocks")))
    demo.show_message(announcement(demo, "C0DATA", "Lancement"))
    spark = announcement(demo, "C0DATA", "Spark")
    before = len(demo.emulator.calls_to("views.open"))
    await demo.slack.click(
        user=LEADER, action_id="event_attendance_open", message=("C0DATA", spark["ts"])
    )
    await wait_until(lambda: len(demo.emulator.calls_to("views.open")) > before)
    view = demo.emulator.calls_to("views.open")[-1].response["view"]
    await submit(demo, view, user="U0CHLOE", values={"event_att_count": "6"})

    # --- list, reschedule ---------------------------------------------------------------
    demo.step("Lucas types `/cop événement liste`")
    before = len(demo.emulator.ephemerals)
    await demo.slack.command("événement liste", user=LEADER, channel="C0DATA")
    await wait_until(
        lambda: any("event_edit" in str(e.get("blocks")) for e in demo.emulator.ephemerals[before:])
    )
    demo.show_message(demo.emulator.ephemerals[-1])
    demo.step("Lucas clicks « Modifier ou déplacer » and moves the webinar to 16:00")
    before = len(demo.emulator.calls_to("views.open"))
    await demo.slack.click(user=LEADER, action_id="event_edit")
    await wait_until(lambda: len(demo.emulator.calls_to("views.open")) > before)
    view = demo.emulator.calls_to("views.open")[-1].response["view"]
    await submit(demo, view, user=LEADER, values={"event_time": "16:00"})
    await wait_until(lambda: "16:00" in str(announcement(demo, "C0DATA", "MLOps").get("blocks")))
    last_ephemeral(demo, LEADER)
    demo.show_message(announcement(demo, "C0DATA", "MLOps"))
    demo.step("What those who said « going » will receive by DM (queued in the outbox)")
    async with demo.deps.sessions() as session:
        rows = (
            await session.execute(
                sa.select(Person.real_name, Outbox.payload)
                .join(Person, Person.id == Outbox.person_id)
                .where(Outbox.kind == "event_change")
                .order_by(Outbox.id)
            )
        ).all()
    for name, payload in rows:
        demo.show(f"DM to {name}: {payload['text']}")
    demo.step("Emily (a member, in New York) types `/cop event list`: her zone, her language")
    before = len(demo.emulator.ephemerals)
    await demo.slack.command("event list", user="U0EMILY", channel="C0DATA")
    await wait_until(lambda: len(demo.emulator.ephemerals) > before)
    demo.show_message(demo.emulator.ephemerals[-1])

    # --- Security Guild, in English ----------------------------------------------------------
    view = await open_modal(demo, "charter", user="U0JAMES", channel="C0SEC")
    await submit(
        demo,
        view,
        user="U0JAMES",
        values={
            "charter_mission": "Make security everyone's craft, not a gate at the end.",
            "charter_objectives": "Threat-modelling clinic every month\nA secure-coding checklist",
            "charter_year": str(year),
        },
    )
    last_ephemeral(demo, "U0JAMES")
    view = await open_modal(demo, "event", user="U0JAMES", channel="C0SEC")
    await submit(
        demo,
        view,
        user="U0JAMES",
        values={
            "event_title": "Threat-modelling clinic",
            "event_kind": "workshop",
            "event_date": (datetime.now(UTC) + timedelta(days=5)).date(),
            "event_time": "10:00",
            "event_duration": "60",
        },
    )
    await wait_until(
        lambda: any("Threat" in str(m.get("text")) for m in demo.emulator.messages["C0SEC"])
    )
    demo.step("The announcement in #securite (English community)")
    demo.show_message(announcement(demo, "C0SEC", "Threat"))

    # --- App Home ---------------------------------------------------------------------------
    for user in (LEADER, "U0EMILY", MANAGER):
        who = demo.emulator.workspace.users[user].real_name
        demo.step(f"{who} opens the bot's Home tab")
        before = len(demo.emulator.calls_to("views.publish"))
        await demo.slack.open_home(user=user)
        await settle(demo, "views.publish", before + 1)
        demo.show_view(demo.emulator.home_views[user])
