"""Who a ritual DM may go to: members who are reachable, have not muted it and are under the cap."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import language_of
from bot.models import ActivityDaily, Community, Membership, Outbox, OutboxStatus, Person, Role
from bot.preferences import muted_people
from rituals.outbox.quiet_hours import RITUAL_DM_KINDS


@dataclass(frozen=True, slots=True)
class Recipient:
    person_id: int
    slack_user_id: str
    name: str
    language: str
    tz: str | None
    role: Role


def language_for(person_locale: str | None, community: Community, default: str) -> str:
    if person_locale:
        return language_of(person_locale, default)
    return community.language or default


async def members(
    session: AsyncSession,
    *,
    community: Community,
    default_language: str,
    roles: tuple[Role, ...] | None = None,
) -> list[Recipient]:
    """Active members who can be written to (not bots, not deleted, not erased, not unreachable)."""
    stmt = (
        sa.select(Person, Membership.role)
        .join(Membership, Membership.person_id == Person.id)
        .where(
            Membership.community_id == community.id,
            Membership.left_at.is_(None),
            Person.is_bot.is_(False),
            Person.deleted.is_(False),
            Person.erased_at.is_(None),
            Person.unreachable_reason.is_(None),
        )
        .order_by(Person.id)
    )
    if roles:
        stmt = stmt.where(Membership.role.in_(list(roles)))
    return [
        Recipient(
            person_id=p.id,
            slack_user_id=p.slack_user_id,
            name=p.real_name or p.name or p.slack_user_id,
            language=language_for(p.locale, community, default_language),
            tz=p.tz,
            role=role,
        )
        for p, role in await session.execute(stmt)
    ]


async def active_since(session: AsyncSession, *, community: Community, since: datetime) -> set[int]:
    """People who posted, replied or reacted in the community since `since` (the "active" audience)."""
    rows = await session.scalars(
        sa.select(ActivityDaily.person_id)
        .where(
            ActivityDaily.community_id == community.id,
            ActivityDaily.person_id.is_not(None),
            ActivityDaily.day >= since.date(),
        )
        .distinct()
    )
    return {pid for pid in rows if pid is not None}


async def over_cap(session: AsyncSession, *, cap: int, now: datetime) -> set[int]:
    """People who already got `cap` ritual DMs in the last seven days."""
    rows = await session.execute(
        sa.select(Outbox.person_id)
        .where(
            Outbox.kind.in_(sorted(RITUAL_DM_KINDS)),
            Outbox.person_id.is_not(None),
            Outbox.channel_id.is_(None),
            Outbox.created_at > now - timedelta(days=7),
            Outbox.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING, OutboxStatus.SENT]),
        )
        .group_by(Outbox.person_id)
        .having(sa.func.count() >= cap)
    )
    return {pid for (pid,) in rows if pid is not None}


async def for_ritual_dm(
    session: AsyncSession,
    *,
    community: Community,
    ritual: str,
    default_language: str,
    cap: int,
    now: datetime,
    active_days: int | None = None,
) -> tuple[list[Recipient], int]:
    """Recipients of a ritual DM, and how many were left out (muted, over the weekly cap, or — when
    `active_days` is given — silent over that many days)."""
    everyone = await members(session, community=community, default_language=default_language)
    if active_days is not None:
        active = await active_since(
            session, community=community, since=now - timedelta(days=active_days)
        )
        silent = len(everyone) - len(everyone := [r for r in everyone if r.person_id in active])
    else:
        silent = 0
    muted = await muted_people(session, ritual=ritual, now=now)
    capped = await over_cap(session, cap=cap, now=now)
    kept = [r for r in everyone if r.person_id not in muted and r.person_id not in capped]
    return kept, len(everyone) - len(kept) + silent
