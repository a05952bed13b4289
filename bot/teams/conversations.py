"""Conversation references: where the bot may write in Teams unprompted (table teams_conversation).

A proactive message needs the conversation's id and the service URL Teams gave with it; a
person's 1:1 chat (`kind` "personal", their "29:…" id) or a team's channel ("channel", the team
whose roster is its members). They are learnt from the activities Teams sends (`from_activity`,
`remember`) and from the 1:1 chats the bot opens itself (bot/teams/messenger.py).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot import people
from bot.models import TeamsConversation, utcnow

PERSONAL = "personal"
CHANNEL = "channel"


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
