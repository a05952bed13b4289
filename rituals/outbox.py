"""The outbox: every message a ritual (or a change people must hear about) owes, written first.

Contract (shared by every feature): a row carries the rendered message (`payload.text`,
`payload.blocks`) and its target — a channel id, or a person (sent as a DM). The idempotency
key names what the message is for (ritual, community, person, period) so writing it twice is a
no-op; the drain sends each row once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Outbox, OutboxStatus, utcnow
from bot.redelivery import upsert_for


async def enqueue(
    session: AsyncSession,
    *,
    workspace_id: str,
    key: str,
    kind: str,
    text: str,
    blocks: list[dict[str, Any]] | None = None,
    channel_id: str | None = None,
    person_id: int | None = None,
    community_id: int | None = None,
    not_before: datetime | None = None,
) -> bool:
    """Owe a message; returns False when a message with this key is already owed or sent."""
    if channel_id is None and person_id is None:
        raise ValueError("an outbox row needs a channel or a person")
    insert = upsert_for(session)
    result = await session.execute(
        insert(Outbox)
        .values(
            workspace_id=workspace_id,
            idempotency_key=key,
            kind=kind,
            community_id=community_id,
            person_id=person_id,
            channel_id=channel_id,
            payload={"text": text, "blocks": blocks or []},
            status=OutboxStatus.PENDING,
            attempts=0,
            next_attempt_at=not_before or utcnow(),
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
