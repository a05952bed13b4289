"""Discover and join: the programme's live communities as anyone may browse them, and the
requests to join a community whose channel is private.

A listing reads every live community's name and mission once (a programme has a few hundred),
matches the words typed without regard to case or accents, then loads leaders, sizes and next
events for the page shown only. A closed community or an archived channel is never listed.

A request to join a private community has no table: it is an audit-log row ("join.requested"),
its id travels in the leaders' Accept / Decline buttons, and the decision is a second row
("join.accepted" / "join.declined") naming it, so a second leader's click finds it decided.
"""

from __future__ import annotations

import enum
import math
import unicodedata
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot import audit, communities, people
from bot.errors import CopError, NotFound
from bot.i18n import collation_key
from bot.models import (
    AuditLog,
    ChannelStatus,
    CharterVersion,
    Community,
    CommunityKind,
    CommunityStatus,
    Event,
    EventStatus,
    Membership,
    Person,
    Role,
    Stage,
)
from bot.permissions import Action, Actor, require

PAGE_SIZE = 10  # a message: 10 cards and 4 blocks around them, well under Block Kit's 50
HOME_PAGE_SIZE = 5  # the Home shares its 100 blocks with the person's own communities
QUERY_MAX = 60  # characters of search kept (they travel in buttons' values)
REQUESTED, ACCEPTED, DECLINED = "join.requested", "join.accepted", "join.declined"
ASKED = "join.asked"  # where each leader was asked: their messages are redrawn once decided


def fold(text: str) -> str:
    """Lower case without accents: « Sécurité » is found by "securite"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@dataclass(frozen=True, slots=True)
class Filters:
    query: str = ""
    kind: CommunityKind | None = None
    page: int = 0

    def words(self) -> list[str]:
        return fold(self.query).split()


@dataclass(frozen=True, slots=True)
class NextEvent:
    title: str
    starts_at: datetime


@dataclass(frozen=True, slots=True)
class Card:
    """One community as a newcomer sees it."""

    id: int
    name: str
    channel_id: str
    kind: CommunityKind
    stage: Stage
    mission: str
    leaders: tuple[str, ...]  # their names
    members: int
    next_event: NextEvent | None
    is_member: bool


@dataclass(frozen=True, slots=True)
class Listing:
    cards: tuple[Card, ...]
    total: int
    filters: Filters
    page: int
    pages: int
    page_size: int

    @property
    def first(self) -> int:
        return self.page * self.page_size + 1


async def listing(
    session: AsyncSession,
    *,
    workspace_id: str,
    slack_user_id: str,
    filters: Filters,
    now: datetime,
    page_size: int = PAGE_SIZE,
) -> Listing:
    """The live communities matching every word typed (in the name or the mission) and the kind,
    by name, one page of them with their leaders, size, next event and whether the reader is in."""
    latest = (
        sa.select(CharterVersion.community_id, sa.func.max(CharterVersion.version).label("v"))
        .where(CharterVersion.workspace_id == workspace_id)
        .group_by(CharterVersion.community_id)
        .subquery()
    )
    query = (
        sa.select(Community, CharterVersion.mission)
        .outerjoin(latest, latest.c.community_id == Community.id)
        .outerjoin(
            CharterVersion,
            sa.and_(
                CharterVersion.community_id == Community.id,
                CharterVersion.version == latest.c.v,
            ),
        )
        .where(Community.workspace_id == workspace_id, communities.LIVE)
    )
    if filters.kind is not None:
        query = query.where(Community.kind == filters.kind)
    words = filters.words()
    found = [
        (community, mission or "")
        for community, mission in await session.execute(query)
        if all(w in fold(f"{community.name} {community.slug} {mission or ''}") for w in words)
    ]
    found.sort(key=lambda row: collation_key(row[0].name))
    pages = max(1, math.ceil(len(found) / page_size))
    page = min(max(filters.page, 0), pages - 1)
    shown = found[page * page_size : (page + 1) * page_size]
    ids = [c.id for c, _ in shown]
    sizes, leaders, events, mine = await _details(
        session, workspace_id=workspace_id, slack_user_id=slack_user_id, ids=ids, now=now
    )
    cards = tuple(
        Card(
            id=c.id,
            name=c.name,
            channel_id=c.channel_id,
            kind=c.kind,
            stage=c.stage,
            mission=mission,
            leaders=tuple(leaders.get(c.id, ())),
            members=sizes.get(c.id, 0),
            next_event=events.get(c.id),
            is_member=c.id in mine,
        )
        for c, mission in shown
    )
    return Listing(
        cards=cards,
        total=len(found),
        filters=Filters(filters.query, filters.kind, page),
        page=page,
        pages=pages,
        page_size=page_size,
    )


async def _details(
    session: AsyncSession, *, workspace_id: str, slack_user_id: str, ids: list[int], now: datetime
) -> tuple[dict[int, int], dict[int, list[str]], dict[int, NextEvent], set[int]]:
    if not ids:
        return {}, {}, {}, set()
    active = sa.and_(Membership.community_id.in_(ids), Membership.left_at.is_(None))
    sizes = {
        cid: int(n)
        for cid, n in await session.execute(
            sa.select(Membership.community_id, sa.func.count())
            .join(Person, Person.id == Membership.person_id)
            .where(active, people.COUNTED)
            .group_by(Membership.community_id)
        )
    }
    leaders: dict[int, list[str]] = {}
    for cid, real_name, name in await session.execute(
        sa.select(Membership.community_id, Person.real_name, Person.name)
        .join(Person, Person.id == Membership.person_id)
        .where(active, Membership.role == Role.LEADER, people.IS_PERSON)
        .order_by(Person.real_name)
    ):
        leaders.setdefault(cid, []).append(real_name or name)
    events: dict[int, NextEvent] = {}
    for cid, title, starts_at in await session.execute(
        sa.select(Event.community_id, Event.title, Event.starts_at)
        .where(
            Event.community_id.in_(ids),
            Event.status == EventStatus.SCHEDULED,
            Event.starts_at >= now,
        )
        .order_by(Event.starts_at)
    ):
        events.setdefault(cid, NextEvent(title, starts_at))
    mine = set(
        await session.scalars(
            sa.select(Membership.community_id)
            .join(Person, Person.id == Membership.person_id)
            .where(
                active,
                Person.workspace_id == workspace_id,
                Person.slack_user_id == slack_user_id,
            )
        )
    )
    return sizes, leaders, events, mine


async def joinable(session: AsyncSession, *, workspace_id: str, community_id: int) -> Community:
    """A community someone may ask to join: live (not closed, its channel there)."""
    community = await communities.get(session, workspace_id=workspace_id, community_id=community_id)
    if community.status == CommunityStatus.CLOSED or community.channel_status != ChannelStatus.OK:
        raise CopError("discover.not_joinable", name=community.name)
    return community


async def leaders_of(session: AsyncSession, *, community_id: int) -> list[str]:
    """The Slack ids of the community's leaders (who decide on requests to join)."""
    rows = await communities.people_with_roles(
        session, community_id=community_id, roles=[Role.LEADER]
    )
    return [person.slack_user_id for _, person in rows]


class Decision(enum.StrEnum):
    ACCEPTED = "accepted"
    DECLINED = "declined"


@dataclass(frozen=True, slots=True)
class Request:
    id: int
    community_id: int
    community_name: str
    channel_id: str
    requester: str
    decided: Decision | None  # already decided (by someone else, or a double click)
    decided_by: str | None = None


async def request(
    session: AsyncSession, *, workspace_id: str, community: Community, requester: str
) -> tuple[int, bool]:
    """Record a request to join (or find the one still waiting): (its id, True if new)."""
    pending = await _pending(session, community_id=community.id, requester=requester)
    if pending is not None:
        return pending, False
    row = AuditLog(
        workspace_id=workspace_id,
        actor=requester,
        action=REQUESTED,
        community_id=community.id,
        detail={"user": requester},
    )
    session.add(row)
    await session.flush()
    return row.id, True


async def _pending(session: AsyncSession, *, community_id: int, requester: str) -> int | None:
    rows = await session.execute(
        sa.select(AuditLog.id, AuditLog.action, AuditLog.detail)
        .where(
            AuditLog.community_id == community_id,
            AuditLog.action.in_([REQUESTED, ACCEPTED, DECLINED]),
        )
        .order_by(AuditLog.id)
    )
    asked: list[int] = []
    done: set[int] = set()
    for row_id, action, detail in rows:
        detail = detail or {}
        if action == REQUESTED and detail.get("user") == requester:
            asked.append(row_id)
        elif action != REQUESTED and isinstance(detail.get("request"), int):
            done.add(detail["request"])
    waiting = [i for i in asked if i not in done]
    return waiting[-1] if waiting else None


async def decide(
    session: AsyncSession, *, actor: Actor, request_id: int, decision: Decision
) -> Request:
    """A leader's (or a manager's) answer, written once: a later click gets the first answer back
    (`decided` set) and writes nothing.

    Two leaders clicking at the same moment: the request row is written first (a no-op update),
    which takes its row lock on PostgreSQL and the write lock on SQLite, so the second click
    waits for the first to commit and then reads its decision."""
    await session.execute(
        sa.update(AuditLog)
        .where(AuditLog.id == request_id, AuditLog.action == REQUESTED)
        .values(actor=AuditLog.actor)
    )
    row = await session.get(AuditLog, request_id)
    if (
        row is None
        or row.action != REQUESTED
        or row.workspace_id != actor.workspace_id
        or row.community_id is None
    ):
        raise NotFound("error.not_found")
    await require(session, actor=actor, action=Action.DECIDE_JOIN, community_id=row.community_id)
    community = await communities.get(
        session, workspace_id=actor.workspace_id, community_id=row.community_id
    )
    requester = str((row.detail or {}).get("user") or row.actor)
    closed = community.status == CommunityStatus.CLOSED
    if decision == Decision.ACCEPTED and (closed or community.channel_status != ChannelStatus.OK):
        raise CopError("discover.not_joinable", name=community.name)
    earlier = await session.execute(
        sa.select(AuditLog.action, AuditLog.actor, AuditLog.detail).where(
            AuditLog.community_id == row.community_id, AuditLog.action.in_([ACCEPTED, DECLINED])
        )
    )
    for action, by, detail in earlier:
        if (detail or {}).get("request") == request_id:
            return Request(
                request_id,
                community.id,
                community.name,
                community.channel_id,
                requester,
                Decision.ACCEPTED if action == ACCEPTED else Decision.DECLINED,
                by,
            )
    await audit.record(
        session,
        workspace_id=actor.workspace_id,
        actor=actor.slack_user_id,
        action=ACCEPTED if decision == Decision.ACCEPTED else DECLINED,
        community_id=community.id,
        detail={"request": request_id, "user": requester},
    )
    return Request(request_id, community.id, community.name, community.channel_id, requester, None)


async def record_asked(
    session: AsyncSession,
    *,
    workspace_id: str,
    community_id: int,
    request_id: int,
    messages: list[tuple[str, str, str]],
) -> None:
    """The messages that asked the leaders (leader, channel, ts), to redraw once decided."""
    await audit.record(
        session,
        workspace_id=workspace_id,
        actor="bot",
        action=ASKED,
        community_id=community_id,
        detail={"request": request_id, "messages": [list(m) for m in messages]},
    )


async def asked(
    session: AsyncSession, *, community_id: int, request_id: int
) -> list[tuple[str, str, str]]:
    """(leader, channel, ts) of each message that asked about this request."""
    rows = await session.scalars(
        sa.select(AuditLog.detail).where(
            AuditLog.community_id == community_id, AuditLog.action == ASKED
        )
    )
    found: list[tuple[str, str, str]] = []
    for detail in rows:
        if (detail or {}).get("request") != request_id:
            continue
        for item in detail.get("messages") or []:
            if isinstance(item, list) and len(item) == 3:
                found.append((str(item[0]), str(item[1]), str(item[2])))
    return found
