"""Conversation references: where the bot may write in Teams unprompted (table teams_conversation).

A proactive message needs the conversation's id and the service URL Teams gave with it; a
person's 1:1 chat (`kind` "personal", their "29:…" id) or a team's channel ("channel", the team
whose roster is its members). They are learnt from the activities Teams sends (`from_activity`,
`remember`; for every activity, `keep`, through handlers/teams/people.py) and from the 1:1 chats
the bot opens itself (bot/teams/messenger.py). Also here: which communities a team holds, and the
ids under which Teams activities are recorded as handled.

Activities come with every message of every channel (RSC), so `Recent` remembers what was last
written and the database is only touched when something changed.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from dataclasses import replace as dataclass_replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot import people
from bot.models import ChannelStatus, Community, TeamsConversation, utcnow
from bot.redelivery import upsert_for

PERSONAL = "personal"
CHANNEL = "channel"
GROUP = "groupChat"


def from_activity(activity: dict[str, Any]) -> dict[str, Any] | None:
    """What an activity says of its conversation, as `remember`'s arguments (None for a group
    chat, or an activity without a tenant or a service URL)."""
    conversation = activity.get("conversation") or {}
    data = activity.get("channelData") or {}
    tenant = (data.get("tenant") or {}).get("id") or conversation.get("tenantId")
    service_url = activity.get("serviceUrl")
    kind = conversation.get("conversationType")
    if (
        not tenant
        or not service_url
        or not conversation.get("id")
        or kind
        not in (
            PERSONAL,
            CHANNEL,
        )
    ):
        return None
    found: dict[str, Any] = {
        "workspace_id": str(tenant),
        "conversation_id": str(conversation["id"]),
        "kind": kind,
        "service_url": str(service_url),
    }
    if kind == PERSONAL:
        found["user_id"] = str((activity.get("from") or {}).get("id") or "") or None
    else:
        found["team_id"] = (data.get("team") or {}).get("id")
        found["name"] = str((data.get("channel") or {}).get("name") or "")
    return found


async def remember(
    session: AsyncSession,
    *,
    workspace_id: str,
    conversation_id: str,
    kind: str,
    service_url: str,
    user_id: str | None = None,
    team_id: str | None = None,
    name: str = "",
) -> None:
    """Keep (or refresh: Teams may move a tenant to another service URL) a reference."""
    await people.ensure_workspace(session, workspace_id)
    postgres = session.get_bind().dialect.name == "postgresql"
    insert = pg_insert if postgres else sqlite_insert
    values = {
        "kind": kind,
        "service_url": service_url.rstrip("/"),
        "user_id": user_id,
        "team_id": team_id,
        "name": name[:200],
        "updated_at": utcnow(),
    }
    keep = {k: v for k, v in values.items() if v or k in ("service_url", "updated_at")}
    await session.execute(
        insert(TeamsConversation)
        .values(workspace_id=workspace_id, conversation_id=conversation_id, **values)
        .on_conflict_do_update(index_elements=["workspace_id", "conversation_id"], set_=keep)
    )


async def find(
    session: AsyncSession, *, workspace_id: str, conversation_id: str
) -> TeamsConversation | None:
    return await session.get(TeamsConversation, (workspace_id, conversation_id))


async def personal(
    session: AsyncSession, *, workspace_id: str, user_id: str
) -> TeamsConversation | None:
    """The person's 1:1 chat with the bot, when known."""
    return await session.scalar(
        sa.select(TeamsConversation)
        .where(
            TeamsConversation.workspace_id == workspace_id,
            TeamsConversation.kind == PERSONAL,
            TeamsConversation.user_id == user_id,
        )
        .order_by(TeamsConversation.updated_at.desc())
        .limit(1)
    )


async def channels(session: AsyncSession, *, workspace_id: str) -> list[TeamsConversation]:
    return list(
        await session.scalars(
            sa.select(TeamsConversation)
            .where(
                TeamsConversation.workspace_id == workspace_id, TeamsConversation.kind == CHANNEL
            )
            .order_by(TeamsConversation.updated_at.desc())
        )
    )


async def service_url(session: AsyncSession, *, workspace_id: str) -> str | None:
    """The service URL Teams gave most recently for this tenant (one per tenant's region)."""
    found = await session.scalar(
        sa.select(TeamsConversation.service_url)
        .where(TeamsConversation.workspace_id == workspace_id)
        .order_by(TeamsConversation.updated_at.desc())
        .limit(1)
    )
    return str(found) if found else None


async def forget(session: AsyncSession, *, workspace_id: str, conversation_id: str) -> None:
    """Teams says the conversation is gone (404): the reference is dropped."""
    await session.execute(
        sa.delete(TeamsConversation).where(
            TeamsConversation.workspace_id == workspace_id,
            TeamsConversation.conversation_id == conversation_id,
        )
    )


# --- teams-community: every activity's reference, a team's communities, handled ids ---


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


async def keep(session: AsyncSession, *, workspace_id: str, reference: Reference) -> bool:
    """Keep the reference up to date, as `remember` does, but read first: False (and no write)
    when it already was (activities come often, their conversation seldom changes)."""
    r = dataclass_replace(reference, service_url=reference.service_url.rstrip("/"))
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
