"""Demo scene: the lifecycle. The leader of Data Science reads `/cop étape` — the charter, the
core team and the kick-off the previous scene made have ticked the launch checklist off — a
member may only read it, and the leader moves the community from démarrage to croissance.

`history` gives the large demo's communities a plausible past: the stages they went through,
who moved them and why, some lying dormant, one or two closed."""

from __future__ import annotations

import itertools
import random
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot.demo import Demo
from bot.demo.cast import DATA, LEADER, MEMBER
from bot.models import Community, CommunityStatus, Stage, StageChange
from bot.slack.blocks import lifecycle as screens

_WORDS = {
    "fr": {"stage": "étape", "growth": "croissance"},
    "en": {"stage": "stage", "growth": "growth"},
}


def _language(demo: Demo, user: str) -> str:
    return demo.cast.people[user].language


async def scene(demo: Demo) -> None:
    demo.title("demo.lifecycle.title")
    lw, mw = _WORDS[_language(demo, LEADER)], _WORDS[_language(demo, MEMBER)]
    demo.say("demo.lifecycle.checklist", who=demo.first_name(LEADER))
    reply = await demo.command(lw["stage"], user=LEADER, channel=DATA)
    demo.say("demo.lifecycle.member", member=demo.first_name(MEMBER))
    await demo.command(f"{mw['stage']} {mw['growth']}", user=MEMBER, channel=DATA)
    demo.say("demo.lifecycle.move", who=demo.first_name(LEADER))
    shown = demo.emulator.add_message(
        demo.emulator.dm_channel_for(LEADER), user="UBOT", blocks=reply.get("blocks") or []
    )
    await demo.settle()
    before = len(demo.emulator.messages.get(DATA, []))
    await demo.slack.click(
        user=LEADER,
        action_id=screens.APPLY,
        message=(demo.emulator.dm_channel_for(LEADER), shown["ts"]),
    )
    await demo.settle()
    key = (demo.slack.last_response_url or "").rsplit("/", 1)[-1]
    replies = [r for r in demo.emulator.responses if r.get("key") == key]
    for answer in replies:
        demo.show_message(answer)
    demo.say("demo.lifecycle.channel", channel=demo.where(DATA))
    for message in demo.emulator.messages.get(DATA, [])[before:]:
        demo.show_message(message)


# --- the large demo: a history for each community -------------------------------------------

_REASONS = {
    Stage.LAUNCH: ("Charte rédigée, sponsor trouvé", "Charter written, sponsor found"),
    Stage.GROWTH: ("Réunion de lancement tenue", "Kick-off held"),
    Stage.REORIENTATION: ("Plus d'activité depuis des mois", "No activity for months"),
}


async def history(
    session: AsyncSession,
    *,
    workspace_id: str,
    community_ids: list[int],
    rng: random.Random,
    now: datetime,
) -> int:
    """Stage changes leading to each community's stored stage (created before `now`), a few
    dormant, one in a hundred closed. Returns how many changes were written."""
    rows: list[dict[str, Any]] = []
    found = await session.execute(
        sa.select(Community.id, Community.stage, Community.created_at, Community.language).where(
            Community.id.in_(community_ids)
        )
    )
    for cid, stage, created, language in found:
        english = language == "en"
        path = [Stage.PREPARATION, Stage.LAUNCH]
        if stage in (Stage.GROWTH, Stage.REORIENTATION):
            path.append(Stage.GROWTH)
        if stage == Stage.REORIENTATION:
            path.append(Stage.REORIENTATION)
        at, changed_at = created, created
        status = CommunityStatus.ACTIVE
        for before, after in itertools.pairwise(path):
            at = min(at + timedelta(days=rng.randint(15, 200)), now - timedelta(days=1))
            rows.append(_change(workspace_id, cid, before, after, status, status, at, english))
            changed_at = at
        final = stage
        if stage == Stage.REORIENTATION and rng.random() < 0.5:
            at = min(at + timedelta(days=rng.randint(5, 60)), now)
            rows.append(
                _change(
                    workspace_id, cid, final, final, status, CommunityStatus.DORMANT, at, english
                )
            )
            status = CommunityStatus.DORMANT
        elif rng.random() < 0.01:
            at = min(at + timedelta(days=rng.randint(5, 60)), now)
            rows.append(
                _change(
                    workspace_id, cid, final, final, status, CommunityStatus.CLOSED, at, english
                )
            )
            status = CommunityStatus.CLOSED
        await session.execute(
            sa.update(Community)
            .where(Community.id == cid)
            .values(stage=final, status=status, stage_changed_at=changed_at)
        )
    if rows:
        await session.execute(sa.insert(StageChange), rows)
    return len(rows)


def _change(
    workspace_id: str,
    community_id: int,
    before: Stage,
    after: Stage,
    from_status: CommunityStatus,
    to_status: CommunityStatus,
    at: datetime,
    english: bool,
) -> dict[str, Any]:
    reasons = _REASONS.get(after, ("", "")) if before != after else ("", "")
    return {
        "workspace_id": workspace_id,
        "community_id": community_id,
        "from_stage": before,
        "to_stage": after,
        "from_status": from_status,
        "to_status": to_status,
        "by_person_id": None,
        "reason": reasons[1] if english else reasons[0],
        "at": at,
    }
