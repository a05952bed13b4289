"""Demo scene: the rituals — welcome, pulse poll (answers, reminder, results), story prompt, mute."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import sqlalchemy as sa

from bot.demo import Demo
from bot.demo.cast import (
    BOT,
    CORE,
    DATA,
    GUILD_LEADER,
    LEADER,
    MANAGER,
    MEMBER,
    NEWCOMER,
    PASSER_BY,
    SPONSOR,
)
from bot.models import Community, Poll, Ritual
from rituals import pulse, scheduler
from rituals.outbox import Drain


async def _drain(demo: Demo) -> None:
    await Drain(demo.deps, rate_per_minute=60000).run_until_empty(poll=0.05)


def _last_dm(demo: Demo, user: str) -> dict:
    return demo.emulator.messages[demo.emulator.dm_channel_for(user)][-1]


async def _click(demo: Demo, user: str, question: str, value: int, *, shown: bool = True) -> None:
    message = _poll_message(demo, user)
    await demo.settle()
    if shown:
        demo.say("demo.rituals.answers", who=demo.who(user), value=value)
    await demo.slack.click(
        user=user,
        action_id=f"pulse_answer:{question}:{value}",
        message=(demo.emulator.dm_channel_for(user), message["ts"]),
    )
    key = (demo.slack.last_response_url or "").rsplit("/", 1)[-1]
    await demo.settle()
    if shown:
        replies = [r for r in demo.emulator.responses if r.get("key") == key]
        if replies:
            demo.show_message(replies[-1])


async def scene(demo: Demo) -> None:
    c = demo.content
    lw = demo.cast.words(LEADER)
    demo.title("demo.rituals.title")
    async with demo.deps.sessions() as session:
        data = await session.scalar(sa.select(Community).where(Community.channel_id == DATA))
    assert data is not None

    demo.say(
        "demo.rituals.welcome",
        first=demo.first_name(PASSER_BY),
        second=demo.first_name(GUILD_LEADER),
        channel=demo.where(DATA),
    )
    for user in (PASSER_BY, GUILD_LEADER):
        await demo.settle()
        await demo.slack.join(user=user, channel=DATA)
        await demo.settle()
        await _wait_dm(demo, user, 1)
        demo.show_message(_last_dm(demo, user))

    await demo.command(lw["rituals"], user=LEADER, channel=DATA)

    demo.say("demo.rituals.pulse", slug=data.slug)
    await scheduler.run_now(demo.deps, ritual=Ritual.PULSE, community_id=data.id)
    await _drain(demo)
    for user in (NEWCOMER, MEMBER):
        demo.say("demo.rituals.pulse_dm", who=demo.first_name(user))
        demo.show_message(_last_dm(demo, user))
    answers = {
        NEWCOMER: (4, 9),
        MEMBER: (5, 10),
        CORE: (4, 8),
        SPONSOR: (3, 6),
        MANAGER: (5, 10),
    }
    for user, (value, recommend) in answers.items():
        shown = user in (NEWCOMER, MEMBER)
        await _click(demo, user, "value", value, shown=shown)
        await _click(demo, user, "recommend", recommend, shown=shown)
    async with demo.deps.sessions() as session:
        poll = await session.scalar(sa.select(Poll).where(Poll.community_id == data.id))
    assert poll is not None
    demo.say("demo.rituals.reminder")
    await pulse.maintain(demo.deps, now=poll.opens_at + timedelta(days=3, minutes=1))
    await _drain(demo)
    demo.show_message(_last_dm(demo, LEADER))
    demo.say("demo.rituals.results")
    await pulse.maintain(demo.deps, now=poll.closes_at + timedelta(minutes=1))
    await _drain(demo)
    demo.show_message(_last_dm(demo, LEADER))

    demo.say("demo.rituals.story_prompt", channel=demo.where(DATA))
    await scheduler.run_now(demo.deps, ritual=Ritual.STORIES, community_id=data.id)
    await _drain(demo)
    prompt = demo.emulator.messages[DATA][-1]
    demo.show_message(prompt)
    before = set(demo.emulator.views)
    core_before = len(_dms(demo, CORE))
    demo.say("demo.rituals.story", who=demo.first_name(CORE))
    await demo.settle()
    await demo.slack.click(user=CORE, action_id="story_share", message=(DATA, prompt["ts"]))
    await demo.settle()
    view_id = sorted(set(demo.emulator.views) - before)[-1]
    demo.show_view(demo.emulator.views[view_id])
    demo.say("demo.submits", who=demo.who(CORE))
    await demo.slack.submit_view(
        view_id,
        user=CORE,
        values={
            "title": c["story_title"],
            "context": c["story_context"],
            "contribution": c["story_contribution"],
            "benefit": c["story_benefit"],
            "value_amount": "90",
            "value_unit": "hours",
            "value_kind": "applied",
            "shareable": ["yes"],
        },
    )
    await demo.settle()
    await _wait_dm(demo, CORE, core_before + 1)
    demo.show_message(_last_dm(demo, CORE))
    listing = await demo.command(lw["stories"], user=LEADER, channel=DATA)
    # the leader validates it: only then does it count as the community's value
    posted = demo.emulator.add_message(
        DATA, user=BOT, text=listing["text"], blocks=listing["blocks"]
    )
    action = next(
        e["action_id"]
        for b in listing["blocks"]
        for e in b.get("elements", [])
        if str(e.get("action_id", "")).startswith("story_validate:")
    )
    demo.say("demo.rituals.validate", who=demo.first_name(LEADER))
    await demo.slack.click(user=LEADER, action_id=action, message=(DATA, posted["ts"]))
    key = (demo.slack.last_response_url or "").rsplit("/", 1)[-1]
    await demo.settle()
    demo.show_message([r for r in demo.emulator.responses if r.get("key") == key][-1])

    mw, nw = demo.cast.words(MEMBER), demo.cast.words(NEWCOMER)
    await demo.command(f"{mw['mute']} pulse 30", user=MEMBER, channel=DATA)
    await demo.command(nw["mute"], user=NEWCOMER, channel=DATA)


def _last_with_blocks(demo: Demo, user: str) -> dict:
    """The user's last DM that is a message (the chart that follows a digest is a file)."""
    return next(m for m in reversed(_dms(demo, user)) if m.get("blocks"))


def _poll_message(demo: Demo, user: str) -> dict:
    """The pulse poll in the member's DMs (a welcome may have come first)."""
    return next(m for m in reversed(_dms(demo, user)) if "pulse_answer" in str(m.get("blocks")))


def _dms(demo: Demo, user: str) -> list[dict]:
    return demo.emulator.messages.get(demo.emulator.dm_channel_for(user), [])


async def _wait_dm(demo: Demo, user: str, count: int) -> None:
    """Send what is owed (the demo runs no scheduler) until `user` has `count` DMs."""
    drain = Drain(demo.deps, rate_per_minute=60000)
    for _ in range(200):
        await drain.run_once()
        if len(_dms(demo, user)) >= count:
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"no DM for {user}")
