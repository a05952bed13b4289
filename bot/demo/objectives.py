"""Demo scene: the charter's new sections, its objectives followed up (one achieved, measured by
an indicator with a target), the leaders' quarterly review DM; and objectives with statuses for
`cop demo --scale large` (`large_rows`)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from bot.demo import Demo
from bot.demo.cast import DATA, LEADER, MEMBER
from bot.demo.leaders import open_modal, submit
from bot.models import Community, ObjectiveStatus, Ritual, utcnow
from rituals import cadence, scheduler
from rituals.outbox import Drain

_SECTIONS = {
    "fr": {
        "charter_collective_benefits": "Une entraide rapide entre équipes, un savoir commun.",
        "charter_stakeholders": "Direction data, équipes produit, DSI.",
        "charter_resource_needs": "Une demi-journée par mois pour l'animatrice, un espace de partage.",
        "charter_animation_plan": "Un webinaire par trimestre, un café data chaque mois.",
    },
    "en": {
        "charter_collective_benefits": "Fast help between teams, shared know-how.",
        "charter_stakeholders": "Data management, product teams, IT.",
        "charter_resource_needs": "Half a day a month for the leader, a shared space.",
        "charter_animation_plan": "A webinar each quarter, a data coffee each month.",
    },
}


def _dm(demo: Demo, user: str) -> dict[str, Any]:
    dms = demo.emulator.messages.get(demo.emulator.dm_channel_for(user), [])
    return next(m for m in reversed(dms) if "objective_status" in str(m.get("blocks")))


async def scene(demo: Demo) -> None:
    lw = demo.cast.words(LEADER)
    language = demo.cast.programme_language
    demo.title("demo.objectives.title")

    # --- the charter's new sections ---------------------------------------------------------
    demo.say("demo.objectives.sections", who=demo.first_name(LEADER))
    view = await open_modal(demo, lw["charter"], user=LEADER, channel=DATA)
    await submit(demo, view, user=LEADER, values=_SECTIONS[language])

    # --- the quarter turns: one DM to the leader, a button per status -------------------------
    programme = demo.deps.programme
    due = cadence.next_run(
        "quarterly",
        after=utcnow(),
        zone=ZoneInfo(programme.timezone),
        hour=programme.rituals.run_hour,
    )
    assert due is not None
    demo.say("demo.objectives.review", who=demo.first_name(LEADER))
    async with demo.deps.sessions() as session:
        community_id = await session.scalar(
            sa.select(Community.id).where(Community.channel_id == DATA)
        )
    assert community_id is not None
    await scheduler.run_now(demo.deps, ritual=Ritual.OBJECTIVES, community_id=community_id, now=due)
    await Drain(demo.deps, rate_per_minute=60000).run_once(now=due)
    dm = _dm(demo, LEADER)
    demo.show_message(dm)
    channel = demo.emulator.dm_channel_for(LEADER)

    # the first objective gets its measure (the events held, target 4: two so far, still in
    # progress); the second, the shared guide, is reached
    demo.say("demo.objectives.achieved", who=demo.first_name(LEADER))
    await demo.settle()
    first, second = [
        e["value"]
        for b in dm["blocks"]
        for e in b.get("elements", [])
        if e.get("action_id") == f"objective_status:{ObjectiveStatus.ACHIEVED.value}"
    ][:2]
    await demo.slack.click(
        user=LEADER,
        action_id="objective_indicator",
        value=first,
        message=(channel, dm["ts"]),
    )
    await demo.settle()
    modal = demo.emulator.calls_to("views.open")[-1].response["view"]
    demo.show_view(modal)
    await demo.slack.submit_view(
        modal["id"],
        user=LEADER,
        values={"objective_indicator": "events_held", "objective_target": "4"},
    )
    await demo.settle()
    await demo.slack.click(
        user=LEADER,
        action_id=f"objective_status:{ObjectiveStatus.ACHIEVED.value}",
        value=second,
        message=(channel, dm["ts"]),
    )
    await demo.settle()
    demo.show_message(demo.emulator.find_message(channel, dm["ts"]) or dm)

    # a member asks for them: the standard refusal
    demo.say("demo.objectives.member", who=demo.first_name(MEMBER))
    word = "objectifs" if lw["charter"] == "charte" else "objectives"
    await demo.command(f"{lw['charter']} {word}", user=MEMBER, channel=DATA)


def large_rows(
    charter_rows: list[dict[str, Any]], *, seed: int, now: datetime
) -> list[dict[str, Any]]:
    """`cop demo --scale large`: each community's latest charter objectives as rows, with the
    statuses a year brings (about half achieved, a few dropped) and, for some, an indicator."""
    rng = random.Random(seed + 14)
    latest: dict[int, dict[str, Any]] = {}
    for row in charter_rows:
        if row["version"] >= latest.get(row["community_id"], {}).get("version", 0):
            latest[row["community_id"]] = row
    rows: list[dict[str, Any]] = []
    for cid, charter in sorted(latest.items()):
        for position, text in enumerate(charter["objectives"]):
            draw = rng.random()
            status = (
                ObjectiveStatus.ACHIEVED
                if draw < 0.45
                else ObjectiveStatus.DROPPED
                if draw > 0.9
                else ObjectiveStatus.IN_PROGRESS
            )
            indicator = rng.choice([None, None, "events_held", "active_members", "stories"])
            rows.append(
                {
                    "workspace_id": charter["workspace_id"],
                    "community_id": cid,
                    "year": charter["objectives_year"],
                    "position": position,
                    "text": text,
                    "status": status,
                    "indicator": indicator,
                    "target": Decimal(rng.choice((4, 10, 30))) if indicator else None,
                    "created_at": charter["created_at"],
                    "updated_at": now - timedelta(days=rng.randint(0, 90)),
                }
            )
    return rows
