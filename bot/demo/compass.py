"""Demo scene: the compass (« la boussole »). Two of Data Science's runners answer, the leader
reads the medians, the weakest dimensions and their actions, and gets the radar chart; the
programme manager looks at the heatmap. Also `fill_rounds`, the large demo's year of rounds."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot import compass
from bot.demo import Demo
from bot.demo.cast import CORE, DATA, GENERAL, LEADER, MANAGER
from bot.demo.leaders import open_modal, submit
from bot.models import CompassAssessment, CompassResponse, Membership, Role
from bot.slack.blocks import compass as screens

WORD = {"fr": "boussole", "en": "compass"}
RADAR_FILE = "cop-demo-compass-radar.png"

# what each of them answers, dimension by dimension (every statement of a dimension alike,
# but one: nobody answers a questionnaire that evenly)
CHLOE = {"purpose": 3, "members": 3, "practice": 3, "animation": 2, "governance": 2, "value": 1}
LUCAS = {"purpose": 4, "members": 3, "practice": 2, "animation": 3, "governance": 1, "value": 2}


def _values(levels: dict[str, int]) -> dict[str, str]:
    values = {}
    for dim in compass.DIMENSIONS:
        for i, statement in enumerate(dim.statements):
            level = levels[dim.key] + (1 if i == 1 and levels[dim.key] < 4 else 0)
            values[screens.block_of(statement)] = str(level)
    return values


async def scene(demo: Demo) -> None:
    demo.title("demo.compass.title")
    for user, levels in ((CORE, CHLOE), (LEADER, LUCAS)):
        word = WORD[demo.cast.people[user].language]
        demo.say("demo.compass.answers", who=demo.first_name(user))
        uploads = len(demo.emulator.uploads)
        if user == CORE:  # the questionnaire, once
            view = await open_modal(demo, word, user=user, channel=DATA)
        else:
            demo.say("demo.types", who=demo.who(user), command=word, channel=demo.where(DATA))
            before = len(demo.emulator.calls_to("views.open"))
            await demo.quietly(word, user=user, channel=DATA)
            view = dict(demo.emulator.calls_to("views.open")[before].response["view"])
        await submit(demo, view, user=user, values=_values(levels))
        if user == LEADER:
            demo.say("demo.compass.result", who=demo.first_name(user))
            notes = [e for e in demo.emulator.ephemerals if e["user"] == user]
            if notes:  # the result, under the command (the radar follows in the DM)
                demo.show_message(notes[-1])
            if len(demo.emulator.uploads) > uploads:
                upload = demo.emulator.uploads[-1]
                (demo.folder / RADAR_FILE).write_bytes(upload["content"])
                demo.show(demo.t("demo.uploaded", file=upload["filename"]))
                demo.say("demo.compass.saved_radar", file=RADAR_FILE)
    word = WORD[demo.cast.people[MANAGER].language]
    demo.say("demo.compass.heatmap", who=demo.first_name(MANAGER))
    await demo.command(f"{word} programme", user=MANAGER, channel=GENERAL)


# --- the large demo: a year of quarterly rounds -----------------------------------------------


async def fill_rounds(
    session: AsyncSession,
    *,
    workspace_id: str,
    community_ids: list[int],
    profiles: dict[int, tuple[str, float, float]],
    rng: random.Random,
    now: datetime,
    share: float = 0.8,
) -> int:
    """Four quarterly compass rounds over the past year for most communities (`share`), each
    answered by its leaders and core team (up to four), levels following the community's
    profile (lively ones mature, fading ones slipping); deterministic with the demo's rng.
    Returns the number of responses written."""
    runners: dict[int, list[int]] = {}
    for community_id, person_id in await session.execute(
        sa.select(Membership.community_id, Membership.person_id)
        .where(
            Membership.community_id.in_(community_ids),
            Membership.role.in_([Role.LEADER, Role.CORE_TEAM]),
            Membership.left_at.is_(None),
        )
        .order_by(Membership.community_id, Membership.person_id)
    ):
        runners.setdefault(community_id, []).append(person_id)
    base = {"lively": 3.0, "steady": 2.6, "fading": 2.4, "dormant": 1.7, "new": 1.9}
    slope = {"lively": 0.25, "steady": 0.1, "fading": -0.2, "dormant": -0.15, "new": 0.35}
    responses: list[dict[str, Any]] = []
    for community_id in community_ids:
        people = runners.get(community_id, [])
        if not people or rng.random() > share:
            continue
        trend = profiles.get(community_id, ("steady", 0.0, 0.0))[0]
        bias = {d.key: rng.uniform(-0.7, 0.7) for d in compass.DIMENSIONS}
        for quarter in range(4):
            # a quarter apart, the last one a few days ago (still open)
            opened = now - timedelta(days=90 * (3 - quarter) + rng.randint(3, 20))
            row = CompassAssessment(
                workspace_id=workspace_id,
                community_id=community_id,
                opened_at=opened,
                opened_by_person_id=people[0],
                closed_at=None if quarter == 3 else opened + timedelta(days=compass.ROUND_DAYS),
            )
            session.add(row)
            await session.flush()
            level = base[trend] + slope[trend] * quarter
            for person_id in people[:4]:
                scores = {
                    s: max(1, min(4, round(level + bias[d.key] + rng.gauss(0, 0.6))))
                    for d in compass.DIMENSIONS
                    for s in d.statements
                }
                responses.append(
                    {
                        "workspace_id": workspace_id,
                        "assessment_id": row.id,
                        "person_id": person_id,
                        "source": compass.SELF,
                        "scores": scores,
                        "submitted_at": min(now, opened + timedelta(days=rng.randint(0, 2))),
                        "updated_at": min(now, opened + timedelta(days=3)),
                    }
                )
    for start in range(0, len(responses), 5000):
        await session.execute(sa.insert(CompassResponse), responses[start : start + 5000])
    return len(responses)


async def fill_rounds_positional(
    session: AsyncSession,
    workspace_id: str,
    community_ids: list[int],
    profiles: dict[int, tuple[str, float, float]],
    rng: random.Random,
    now: datetime,
) -> int:
    """`fill_rounds` as large.py calls it, in one short line."""
    return await fill_rounds(
        session,
        workspace_id=workspace_id,
        community_ids=community_ids,
        profiles=profiles,
        rng=rng,
        now=now,
    )
