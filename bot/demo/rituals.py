"""Demo scene: the rituals — welcome, pulse poll (answers, reminder, results), story prompt, mute."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import sqlalchemy as sa

from bot.demo import Demo, wait_until
from bot.models import Community, Poll, Ritual
from rituals import pulse, scheduler
from rituals.outbox import Drain


async def _drain(demo: Demo) -> None:
    await Drain(demo.deps, rate_per_minute=60000).run_until_empty(poll=0.05)


def _last_dm(demo: Demo, user: str) -> dict:
    return demo.emulator.messages[demo.emulator.dm_channel_for(user)][-1]


async def _click(demo: Demo, user: str, action_id: str) -> None:
    who = demo.emulator.workspace.users[user].real_name
    message = _poll_message(demo, user)
    before = len(demo.emulator.responses)
    demo.step(f"{who} clicks a button ({action_id.split(':', 1)[1]})")
    await demo.slack.click(
        user=user, action_id=action_id, message=(demo.emulator.dm_channel_for(user), message["ts"])
    )
    await wait_until(lambda: len(demo.emulator.responses) > before)
    demo.show_message(demo.emulator.responses[-1])


async def scene(demo: Demo) -> None:
    demo.title("3. Rituals — welcomes, pulse polls, success stories, and each member's own quiet")
    async with demo.deps.sessions() as session:
        data = await session.scalar(sa.select(Community).where(Community.channel_id == "C0DATA"))
    assert data is not None

    demo.step("Nathan (French) and James (English) join #data-science: each gets a welcome DM")
    await demo.slack.join(user="U0NATHAN", channel="C0DATA")
    await demo.slack.join(user="U0JAMES", channel="C0DATA")
    for user in ("U0NATHAN", "U0JAMES"):
        await _wait_dm(demo, user, 1)
        demo.show_message(_last_dm(demo, user))

    await demo.command("rituels", user="U0LUCAS", channel="C0DATA")

    demo.step("The monthly pulse poll runs (`cop rituals run pulse --community data-science`)")
    await scheduler.run_now(demo.deps, ritual=Ritual.PULSE, community_id=data.id)
    await _drain(demo)
    demo.step("What Manon (French) receives by DM")
    demo.show_message(_last_dm(demo, "U0MANON"))
    demo.step("What Emily (English) receives by DM")
    demo.show_message(_last_dm(demo, "U0EMILY"))
    answers = {
        "U0MANON": (4, 9),
        "U0EMILY": (5, 10),
        "U0CHLOE": (4, 8),
        "U0HUGO": (3, 6),
        "U0CAMILLE": (5, 10),
    }
    for user, (value, recommend) in answers.items():
        if user in ("U0MANON", "U0EMILY"):
            await _click(demo, user, f"pulse_answer:value:{value}")
            await _click(demo, user, f"pulse_answer:recommend:{recommend}")
        else:
            for action in (f"pulse_answer:value:{value}", f"pulse_answer:recommend:{recommend}"):
                await demo.slack.click(
                    user=user,
                    action_id=action,
                    message=(demo.emulator.dm_channel_for(user), _poll_message(demo, user)["ts"]),
                )
    async with demo.deps.sessions() as session:
        poll = await session.scalar(sa.select(Poll).where(Poll.community_id == data.id))
    assert poll is not None
    demo.step("Three days later: one reminder, only to those who have not answered")
    await pulse.maintain(demo.deps, now=poll.opens_at + timedelta(days=3, minutes=1))
    await _drain(demo)
    demo.show_message(_last_dm(demo, "U0LUCAS"))
    demo.step(
        "The poll closes: the leader gets the results (the salt is wiped: answers are now unlinkable)"
    )
    await pulse.maintain(demo.deps, now=poll.closes_at + timedelta(minutes=1))
    await _drain(demo)
    demo.show_message(_last_dm(demo, "U0LUCAS"))

    demo.step("The quarterly success-story prompt is posted in #data-science")
    await scheduler.run_now(demo.deps, ritual=Ritual.STORIES, community_id=data.id)
    await _drain(demo)
    prompt = demo.emulator.messages["C0DATA"][-1]
    demo.show_message(prompt)
    before = set(demo.emulator.views)
    chloe_before = len(_dms(demo, "U0CHLOE"))
    demo.step("Chloé clicks « Partager une success story » and fills the modal")
    await demo.slack.click(
        user="U0CHLOE", action_id="story_share", message=("C0DATA", prompt["ts"])
    )
    view_id = (await wait_until(lambda: sorted(set(demo.emulator.views) - before)))[-1]
    demo.show_view(demo.emulator.views[view_id])
    await demo.slack.submit_view(
        view_id,
        user="U0CHLOE",
        values={
            "title": "Un modèle de churn réutilisé",
            "context": "L'équipe CRM partait de zéro pour prédire les résiliations.",
            "contribution": "Le notebook partagé lors du dernier atelier de la communauté.",
            "benefit": "Trois semaines de développement évitées.",
            "value_amount": "90",
            "value_unit": "hours",
            "value_kind": "applied",
            "shareable": ["yes"],
        },
    )
    await _wait_dm(demo, "U0CHLOE", chloe_before + 1)
    demo.show_message(_last_dm(demo, "U0CHLOE"))
    listing = await demo.command("histoires", user="U0LUCAS", channel="C0DATA")
    # Lucas validates it: only then does it count as the community's value
    shown = demo.emulator.add_message(
        "C0DATA", user="UBOT", text=listing["text"], blocks=listing["blocks"]
    )
    action = next(
        e["action_id"]
        for b in listing["blocks"]
        for e in b.get("elements", [])
        if str(e.get("action_id", "")).startswith("story_validate:")
    )
    demo.step("Lucas clicks « Valider »: the story now counts in the community's value")
    before = len(demo.emulator.responses)
    await demo.slack.click(user="U0LUCAS", action_id=action, message=("C0DATA", shown["ts"]))
    await wait_until(lambda: len(demo.emulator.responses) > before)
    demo.show_message(demo.emulator.responses[-1])

    await demo.command("mute pulse 30", user="U0EMILY", channel="C0DATA")
    await demo.command("sourdine", user="U0MANON", channel="C0DATA")


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
