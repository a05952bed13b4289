"""Demo scene: the leaders' community. The leaders' channel named in app.yaml gets its
invitations (every leader and core-team member) and the month's digest; after a meeting, its
organiser answers the « animation » checklist from a DM, which turns into a thank-you, and the
community's compass shows the organisers' voice."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from bot import communities, people
from bot.config import Config
from bot.demo import Demo
from bot.demo.cast import BOT, DATA, LEADER
from bot.models import Event, EventKind, utcnow
from bot.slack.emulator import Channel
from rituals import event_feedback, leaders_digest
from rituals.outbox import Drain

LEADERS_CHANNEL = "C0LEADERS"
COMPASS = {"fr": "boussole voir", "en": "compass results"}
MEETING = {"fr": "Revue des pipelines de données", "en": "Data pipelines review"}
ANSWERS = {
    "objective": "yes",
    "topic": "yes",
    "voice": "partly",
    "exchange": "yes",
    "time": "no",
    "next_step": "yes",
}
COMMENT = {
    "fr": "On a débordé de vingt minutes : la prochaine fois, un minuteur.",
    "en": "We ran twenty minutes over: a timer next time.",
}


async def scene(demo: Demo) -> None:
    demo.title("demo.leaders_network.title")
    # the leaders' channel, as app.yaml names it (`leaders_channel`), the bot in it
    demo.emulator.workspace.channels[LEADERS_CHANNEL] = Channel(
        LEADERS_CHANNEL, "cop-leaders", [BOT]
    )
    programme = demo.deps.programme.model_copy(update={"leaders_channel": LEADERS_CHANNEL})
    deps = dataclasses.replace(
        demo.deps, config=Config(settings=demo.deps.config.settings, programme=programme)
    )
    workspace = demo.emulator.workspace.team_id
    demo.say("demo.leaders_network.invite", channel=demo.where(LEADERS_CHANNEL))
    await leaders_digest.invite_missing(deps, workspace_id=workspace)
    invited = [u for u in demo.emulator.workspace.channels[LEADERS_CHANNEL].members if u != BOT]
    demo.show(", ".join(sorted(demo.who(u) for u in invited)))

    # the first Tuesday of next month: the digest of this month, posted once
    due = leaders_digest.due_at(
        utcnow() + timedelta(days=31), tz=programme.timezone, hour=programme.rituals.run_hour
    )
    demo.say("demo.leaders_network.digest", channel=demo.where(LEADERS_CHANNEL))
    await leaders_digest.post_digest(deps, workspace_id=workspace, now=due + timedelta(minutes=1))
    await Drain(demo.deps, rate_per_minute=60000).run_until_empty(poll=0.05)
    await demo.settle()
    posts = demo.emulator.messages.get(LEADERS_CHANNEL, [])
    if posts:
        demo.show_message(posts[-1])

    # a meeting the leader organised ended an hour ago: the checklist by DM
    language = demo.cast.people[LEADER].language
    async with demo.deps.sessions.begin() as session:
        community = await communities.by_channel(session, workspace_id=workspace, channel_id=DATA)
        assert community is not None
        organiser = await people.find(session, workspace_id=workspace, slack_user_id=LEADER)
        assert organiser is not None
        session.add(
            Event(
                workspace_id=workspace,
                community_id=community.id,
                title=MEETING[language],
                kind=EventKind.MEETING,
                starts_at=utcnow() - timedelta(hours=2),
                duration_minutes=60,
                tz=programme.timezone,
                created_by_person_id=organiser.id,
            )
        )
    demo.say("demo.leaders_network.feedback", who=demo.first_name(LEADER))
    await event_feedback.maintain(demo.deps)
    await Drain(demo.deps, rate_per_minute=60000).run_until_empty(poll=0.05)
    await demo.settle()
    dm = "D" + LEADER[1:]
    (asked,) = [
        m
        for m in demo.emulator.messages.get(dm, [])
        if any(
            e.get("action_id") == "event_feedback.open"
            for b in m.get("blocks") or []
            for e in b.get("elements", [])
        )
    ][-1:]
    demo.show_message(asked)
    before = len(demo.emulator.calls_to("views.open"))
    await demo.slack.click(user=LEADER, action_id="event_feedback.open", message=(dm, asked["ts"]))
    await demo.settle()
    view = dict(demo.emulator.calls_to("views.open")[before].response["view"])
    demo.show_view(view)
    demo.say("demo.submits", who=demo.who(LEADER))
    await demo.slack.submit_view(
        view["id"],
        user=LEADER,
        values={
            **{f"feedback:{item}": answer for item, answer in ANSWERS.items()},
            "feedback_comment": COMMENT[language],
        },
    )
    await demo.settle()
    demo.say("demo.leaders_network.thanks")
    updated = demo.emulator.find_message(dm, asked["ts"])
    if updated is not None:
        demo.show_message(updated)
    demo.say("demo.leaders_network.compass", who=demo.first_name(LEADER))
    await demo.command(COMPASS[language], user=LEADER, channel=DATA)
