"""Where the bot is in Microsoft Teams: the conversation references (table `teams_conversation`)
learnt from the activities, and which communities a team holds.

Teams gives, with every activity, the conversation's id and the service URL to answer it at; a
proactive message needs both, and a channel's roster is its team's. Activities come with every
message of every channel (RSC), so `Recent` remembers what was last written and the database is
only touched when something changed.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import ChannelStatus, Community, TeamsConversation, utcnow
from bot.redelivery import upsert_for

PERSONAL = "personal"
CHANNEL = "channel"
GROUP = "groupChat"


@dataclass(frozen=True, slots=True)
class Reference:
    """A conversation as an activity describes it."""

    conversation_id: str  # a channel's own id: without a thread's ";messageid=…"
    kind: str  # personal, channel or groupChat
    service_url: str
    team_id: str | None = None
    user_id: str | None = None  # the person of a 1:1
    name: str = ""


def event_id(tenant_id: str, conversation_id: str, activity_id: str, *, what: str) -> str | None:
    """The id under which an activity is recorded as handled for one purpose (`what`: its
    counting, a membership change, a command) in bot.redelivery: Teams redelivers with the same
    activity id, which is unique in its conversation only, so the tenant and the conversation
    are part of it; one activity may be handled for two purposes (a command is also a message
    counted). Shaped like the ids processed_event already holds."""
    if not activity_id:
        return None
    key = f"{what}|{tenant_id}|{conversation_id}|{activity_id}"
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"teams-{digest[:40]}"


def channel_of(conversation_id: str) -> str:
    """A channel's id from a conversation id: a thread is "<channel>;messageid=<root>"."""
    return conversation_id.split(";", 1)[0]


async def remember(session: AsyncSession, *, workspace_id: str, reference: Reference) -> bool:
    """Keep the reference up to date; False (and no write) when it already was."""
    r = reference
    row = await session.get(TeamsConversation, (workspace_id, r.conversation_id))
    if row is not None:
        wanted = {
            "kind": r.kind,
            "service_url": r.service_url[:500],
            "team_id": r.team_id or row.team_id,
            "user_id": r.user_id or row.user_id,
            "name": (r.name or row.name)[:200],
        }
        changed = {k: v for k, v in wanted.items() if getattr(row, k) != v}
        for column, value in changed.items():
            setattr(row, column, value)
        return bool(changed)
    await session.execute(
        upsert_for(session)(TeamsConversation)
        .values(
            workspace_id=workspace_id,
            conversation_id=r.conversation_id,
            kind=r.kind,
            service_url=r.service_url[:500],
            team_id=r.team_id,
            user_id=r.user_id,
            name=r.name[:200],
            updated_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["workspace_id", "conversation_id"])
    )
    return True


async def team_of(
    session: AsyncSession, *, workspace_id: str, channel_id: str
) -> TeamsConversation | None:
    """The channel's reference (its team and service URL), if the bot has seen it."""
    return await session.get(TeamsConversation, (workspace_id, channel_id))


async def communities_of_team(
    session: AsyncSession, *, workspace_id: str, team_id: str, live_only: bool = True
) -> list[Community]:
    """The communities whose channel is in this team (a standard channel's members are its
    team's); the team's General channel has the team's own id."""
    channels = sa.select(TeamsConversation.conversation_id).where(
        TeamsConversation.workspace_id == workspace_id,
        TeamsConversation.team_id == team_id,
        TeamsConversation.kind == CHANNEL,
    )
    query = sa.select(Community).where(
        Community.workspace_id == workspace_id,
        sa.or_(Community.channel_id.in_(channels), Community.channel_id == team_id),
    )
    if live_only:
        query = query.where(Community.channel_status == ChannelStatus.OK)
    return list(await session.scalars(query.order_by(Community.id)))


class Recent:
    """What this process last wrote for a key (a person in a conversation), for a while: the
    same activity details again cost no database round trip. Bounded, oldest forgotten first."""

    def __init__(self, *, size: int = 20_000, ttl: float = 600.0) -> None:
        self.size = size
        self.ttl = ttl
        self._seen: OrderedDict[Hashable, tuple[float, Hashable, object]] = OrderedDict()

    def get(self, key: Hashable, fingerprint: Hashable) -> object | None:
        """The value stored with this key when its fingerprint is the same and still fresh."""
        found = self._seen.get(key)
        if found is None:
            return None
        at, known, value = found
        if known != fingerprint or time.monotonic() - at > self.ttl:
            return None
        self._seen.move_to_end(key)
        return value

    def put(self, key: Hashable, fingerprint: Hashable, value: object) -> None:
        self._seen[key] = (time.monotonic(), fingerprint, value)
        self._seen.move_to_end(key)
        while len(self._seen) > self.size:
            self._seen.popitem(last=False)

    def forget(self, key: Hashable) -> None:
        self._seen.pop(key, None)
