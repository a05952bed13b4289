"""The programme registry: communities, their channels, and who belongs with which role."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot import people
from bot.db import refresh_statistics
from bot.errors import Conflict, InvalidInput, NotFound
from bot.i18n import collation_key
from bot.models import (
    ChannelStatus,
    Community,
    CommunityKind,
    CommunityStatus,
    Membership,
    Person,
    Role,
    utcnow,
)
from bot.zones import find_zone

NAME_MAX = 80
# A live community: its channel is there and people have not closed it (bot.lifecycle). Health,
# the KPIs and the rituals count only these; an archived channel or a closed community is history.
LIVE = sa.and_(
    Community.channel_status == ChannelStatus.OK, Community.status != CommunityStatus.CLOSED
)
# A sync that adds or closes this many memberships refreshes the planner's statistics at once
# (PostgreSQL), rather than leave them at "nearly empty" until autovacuum's next ANALYZE.
BULK_CHANGE = 200


def slugify(name: str) -> str:
    """'Data Science' → 'data-science'; 'Agilité & Lean' → 'agilite-lean'."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:60].strip("-") or "community"


@dataclass(frozen=True, slots=True)
class CommunityView:
    id: int
    workspace_id: str
    name: str
    slug: str
    channel_id: str
    kind: CommunityKind
    language: str | None
    tz: str | None
    channel_status: ChannelStatus

    @classmethod
    def of(cls, c: Community) -> CommunityView:
        return cls(
            id=c.id,
            workspace_id=c.workspace_id,
            name=c.name,
            slug=c.slug,
            channel_id=c.channel_id,
            kind=c.kind,
            language=c.language,
            tz=c.tz,
            channel_status=c.channel_status,
        )


def clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise InvalidInput("community.name_missing", field="name")
    if len(name) > NAME_MAX:
        raise InvalidInput("community.name_too_long", field="name", max=NAME_MAX)
    return name


async def _unique_slug(session: AsyncSession, workspace_id: str, name: str) -> str:
    base = slugify(name)
    taken = set(
        await session.scalars(
            sa.select(Community.slug).where(
                Community.workspace_id == workspace_id,
                sa.or_(Community.slug == base, Community.slug.like(f"{base}-%")),
            )
        )
    )
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


async def by_channel(
    session: AsyncSession, *, workspace_id: str, channel_id: str
) -> Community | None:
    return await session.scalar(
        sa.select(Community).where(
            Community.workspace_id == workspace_id, Community.channel_id == channel_id
        )
    )


async def by_slug(session: AsyncSession, *, workspace_id: str, slug: str) -> Community | None:
    return await session.scalar(
        sa.select(Community).where(
            Community.workspace_id == workspace_id, Community.slug == slug.lower()
        )
    )


async def get(session: AsyncSession, *, workspace_id: str, community_id: int) -> Community:
    community = await session.get(Community, community_id)
    if community is None or community.workspace_id != workspace_id:
        raise NotFound("community.not_found")
    return community


async def all_active(session: AsyncSession, *, workspace_id: str | None = None) -> list[Community]:
    query = sa.select(Community).where(Community.channel_status == ChannelStatus.OK)
    if workspace_id:
        query = query.where(Community.workspace_id == workspace_id)
    return list(await session.scalars(query.order_by(Community.id)))


@dataclass(frozen=True, slots=True)
class Listed:
    """A line of `cop communities list`."""

    slug: str
    name: str
    channel_id: str
    kind: str
    stage: str
    status: str  # active, dormant or closed (bot.lifecycle)
    members: int


async def listing(session: AsyncSession, *, workspace_id: str) -> list[Listed]:
    """Every community of the workspace by slug, with its current member count; a community
    whose channel is gone shows that instead of its stage."""
    members = (
        sa.select(Membership.community_id, sa.func.count().label("n"))
        .where(Membership.workspace_id == workspace_id, Membership.left_at.is_(None))
        .group_by(Membership.community_id)
        .subquery()
    )
    rows = await session.execute(
        sa.select(Community, sa.func.coalesce(members.c.n, 0))
        .outerjoin(members, members.c.community_id == Community.id)
        .where(Community.workspace_id == workspace_id)
        .order_by(Community.slug)
    )
    return [
        Listed(
            slug=c.slug,
            name=c.name,
            channel_id=c.channel_id,
            kind=c.kind.value,
            stage=c.stage.value if c.channel_status == ChannelStatus.OK else c.channel_status.value,
            status=c.status.value,
            members=int(n),
        )
        for c, n in rows
    ]


async def create(
    session: AsyncSession,
    *,
    workspace_id: str,
    name: str,
    channel_id: str,
    kind: CommunityKind = CommunityKind.SPONTANEOUS,
    language: str | None = None,
    tz: str | None = None,
) -> Community:
    """Make a channel a community; a channel can hold only one community."""
    name = clean_name(name)
    if language is not None and language not in ("fr", "en"):
        raise InvalidInput("community.bad_language", field="language", value=language)
    if tz is not None:
        tz = check_tz(tz)
    await people.ensure_workspace(session, workspace_id)
    existing = await by_channel(session, workspace_id=workspace_id, channel_id=channel_id)
    if existing is not None:
        raise Conflict("community.channel_taken", name=existing.name, slug=existing.slug)
    community = Community(
        workspace_id=workspace_id,
        name=name,
        slug=await _unique_slug(session, workspace_id, name),
        channel_id=channel_id,
        kind=kind,
        language=language,
        tz=tz,
    )
    session.add(community)
    await session.flush()
    return community


def check_tz(tz: str) -> str:
    """The zone's canonical name; a name that is not a place's zone (bot.zones) is refused."""
    zone = find_zone(tz)
    if zone is None:
        raise InvalidInput("common.bad_timezone", field="tz", value=tz[:60])
    return zone


# --- membership -------------------------------------------------------------------------------


async def active_memberships(
    session: AsyncSession, *, community_id: int
) -> list[tuple[Membership, Person]]:
    rows = await session.execute(
        sa.select(Membership, Person)
        .join(Person, Person.id == Membership.person_id)
        .where(Membership.community_id == community_id, Membership.left_at.is_(None))
        .order_by(Person.real_name, Person.name, Person.slack_user_id)
    )
    return [(m, p) for m, p in rows]


@dataclass(frozen=True, slots=True)
class SyncReport:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    kept: int = 0


async def sync_members(
    session: AsyncSession,
    *,
    community: Community,
    member_ids: Iterable[str],
    bot_user_ids: Iterable[str] = (),
    now: datetime | None = None,
) -> SyncReport:
    """Make memberships match the channel's member list: open stints for newcomers, close leavers."""
    now = now or utcnow()
    skip = set(bot_user_ids)
    wanted = {uid for uid in member_ids if uid not in skip}
    current = {
        p.slack_user_id: m for m, p in await active_memberships(session, community_id=community.id)
    }
    persons = await people.ensure_many(
        session, workspace_id=community.workspace_id, slack_user_ids=wanted
    )
    added = sorted(wanted - current.keys())
    # bots, apps and deactivated accounts the bot already knows are not members
    added = [uid for uid in added if people.is_person(persons[uid])]
    session.add_all(
        Membership(
            workspace_id=community.workspace_id,
            community_id=community.id,
            person_id=persons[uid].id,
            role=Role.MEMBER,
            joined_at=now,
            source="sync",
        )
        for uid in added
    )
    removed = sorted(current.keys() - wanted)
    for uid in removed:
        current[uid].left_at = now
    await session.flush()
    if len(added) + len(removed) >= BULK_CHANGE:
        await refresh_statistics(session, Person, Membership)
    return SyncReport(added=added, removed=removed, kept=len(current) - len(removed))


@dataclass(frozen=True, slots=True)
class JoinResult:
    person_id: int
    joined: bool
    previous_left_at: datetime | None


async def member_joined(
    session: AsyncSession, *, community: Community, slack_user_id: str, now: datetime | None = None
) -> JoinResult:
    """Open a stint (idempotent: already a member → nothing changes). A bot, an app or a
    deactivated account the bot already knows opens none."""
    now = now or utcnow()
    person = (
        await people.ensure_many(
            session, workspace_id=community.workspace_id, slack_user_ids=[slack_user_id]
        )
    )[slack_user_id]
    if not people.is_person(person):
        return JoinResult(person_id=person.id, joined=False, previous_left_at=None)
    active = await session.scalar(
        sa.select(Membership).where(
            Membership.community_id == community.id,
            Membership.person_id == person.id,
            Membership.left_at.is_(None),
        )
    )
    previous_left_at = await session.scalar(
        sa.select(sa.func.max(Membership.left_at)).where(
            Membership.community_id == community.id, Membership.person_id == person.id
        )
    )
    if active is not None:
        return JoinResult(person_id=person.id, joined=False, previous_left_at=previous_left_at)
    session.add(
        Membership(
            workspace_id=community.workspace_id,
            community_id=community.id,
            person_id=person.id,
            role=Role.MEMBER,
            joined_at=now,
            source="event",
        )
    )
    await session.flush()
    return JoinResult(person_id=person.id, joined=True, previous_left_at=previous_left_at)


async def member_left(
    session: AsyncSession, *, community: Community, slack_user_id: str, now: datetime | None = None
) -> bool:
    person = await people.find(
        session, workspace_id=community.workspace_id, slack_user_id=slack_user_id
    )
    if person is None:
        return False
    result = await session.execute(
        sa.update(Membership)
        .where(
            Membership.community_id == community.id,
            Membership.person_id == person.id,
            Membership.left_at.is_(None),
        )
        .values(left_at=now or utcnow())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def rejoined_recently(previous_left_at: datetime | None, *, now: datetime, days: int) -> bool:
    return previous_left_at is not None and now - previous_left_at <= timedelta(days=days)


async def set_role(
    session: AsyncSession,
    *,
    community: Community,
    slack_user_id: str,
    role: Role,
    now: datetime | None = None,
) -> Membership:
    """Give someone a role; naming a person who is not in the channel yet makes them a member too
    (the CSV import names leaders that way). `/cop role` checks with Slack first that the person
    exists, is human and is in the channel (handlers/commands.py); here, a bot or a deactivated
    account the bot already knows is refused whatever the caller."""
    person = (
        await people.ensure_many(
            session, workspace_id=community.workspace_id, slack_user_ids=[slack_user_id]
        )
    )[slack_user_id]
    if not people.is_person(person):
        raise InvalidInput("role.not_a_person", user=slack_user_id)
    membership = await session.scalar(
        sa.select(Membership).where(
            Membership.community_id == community.id,
            Membership.person_id == person.id,
            Membership.left_at.is_(None),
        )
    )
    if membership is None:
        membership = Membership(
            workspace_id=community.workspace_id,
            community_id=community.id,
            person_id=person.id,
            role=role,
            joined_at=now or utcnow(),
            source="role",
        )
        session.add(membership)
    else:
        membership.role = role
    await session.flush()
    return membership


async def people_with_roles(
    session: AsyncSession, *, community_id: int, roles: Iterable[Role]
) -> list[tuple[Role, Person]]:
    rows = await session.execute(
        sa.select(Membership.role, Person)
        .join(Person, Person.id == Membership.person_id)
        .where(
            Membership.community_id == community_id,
            Membership.left_at.is_(None),
            Membership.role.in_(list(roles)),
            people.IS_PERSON,
        )
        .order_by(Membership.role, Person.real_name)
    )
    return [(r, p) for r, p in rows]


async def mark_channel(
    session: AsyncSession, *, community: Community, status: ChannelStatus
) -> None:
    community.channel_status = status
    if status != ChannelStatus.OK and community.archived_at is None:
        community.archived_at = utcnow()
    if status == ChannelStatus.OK:
        community.archived_at = None
    await session.flush()


async def memberships_of(
    session: AsyncSession, *, person_id: int
) -> list[tuple[Membership, Community]]:
    rows = await session.execute(
        sa.select(Membership, Community)
        .join(Community, Community.id == Membership.community_id)
        .where(Membership.person_id == person_id, Membership.left_at.is_(None))
    )
    return sorted(((m, c) for m, c in rows), key=lambda mc: collation_key(mc[1].name))


async def current_role(
    session: AsyncSession, *, workspace_id: str, community_id: int, slack_user_id: str
) -> Role | None:
    """The person's role in the community, or None when they are not (or no longer) in it."""
    return await session.scalar(
        sa.select(Membership.role)
        .join(Person, Person.id == Membership.person_id)
        .where(
            Membership.community_id == community_id,
            Membership.left_at.is_(None),
            Person.workspace_id == workspace_id,
            Person.slack_user_id == slack_user_id,
        )
    )
