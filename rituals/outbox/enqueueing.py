"""Owing a message: a row written in the caller's transaction, once per idempotency key.

A row carries a neutral message (`bot.messages`, stored as data with the reader it is for) and
its target, a channel id or a person (sent as a DM). Rows from older producers carry a payload
already rendered (`payload.text`, `payload.blocks`) and go out as they are. Writing the same key
twice is a no-op.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot import messages
from bot.messages import Message, Reader
from bot.messages import dump as messages_dump
from bot.models import Outbox, OutboxStatus, utcnow
from bot.redelivery import upsert_for


async def enqueue(
    session: AsyncSession,
    *,
    workspace_id: str,
    key: str,
    kind: str,
    message: Message | None = None,
    reader: Reader | None = None,
    text: str = "",
    blocks: list[dict[str, Any]] | None = None,
    channel_id: str | None = None,
    person_id: int | None = None,
    community_id: int | None = None,
    not_before: datetime | None = None,
) -> bool:
    """Owe a message; returns False when a message with this key is already owed or sent.

    A neutral `message` is stored as data and rendered when it goes out, for `reader` (the
    language and zone the ritual chose; a person's own zone wins when the row is a DM)."""
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
            payload=_payload(message, reader, text, blocks),
            status=OutboxStatus.PENDING,
            attempts=0,
            next_attempt_at=not_before or utcnow(),
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _payload(
    message: Message | None,
    reader: Reader | None,
    text: str,
    blocks: list[dict[str, Any]] | None,
) -> dict[str, Any]:
    """What a row stores: a neutral message and its reader, or (older producers) a platform
    payload already rendered."""
    if message is None:
        return {"text": text, "blocks": blocks or []}
    if reader is None:
        raise ValueError("a neutral message needs its reader")
    return {
        "message": messages.dump(message),
        "reader": {"language": reader.language, "tz": reader.tz},
    }


@dataclass(frozen=True, slots=True)
class Owed:
    """One message for `enqueue_many` (a fan-out writes thousands in a few statements)."""

    key: str
    kind: str
    message: Message | None = None
    reader: Reader | None = None
    text: str = ""
    blocks: list[dict[str, Any]] = field(default_factory=list)
    channel_id: str | None = None
    person_id: int | None = None
    not_before: datetime | None = None
    expires_at: datetime | None = None  # past this, sending is pointless (an event has started)


async def enqueue_many(
    session: AsyncSession, *, workspace_id: str, community_id: int | None, messages: Sequence[Owed]
) -> int:
    """Owe many messages at once; keys already owed are left alone. Returns how many are new.

    A fan-out owes one message to thousands of readers: each distinct message is turned into
    data once, and the rows go out as one statement executed many times (compiled once,
    sent in batches of a thousand rows), not a fresh statement per chunk."""
    insert = upsert_for(session)
    now = utcnow()
    stored: dict[int, dict[str, Any]] = {}  # id(message) → its data, dumped once

    def message_data(m: Owed) -> dict[str, Any]:
        if m.message is None:
            return _payload(None, m.reader, m.text, m.blocks)
        if m.reader is None:
            raise ValueError("a neutral message needs its reader")
        data = stored.get(id(m.message))
        if data is None:
            data = stored[id(m.message)] = messages_dump(m.message)
        return {"message": data, "reader": {"language": m.reader.language, "tz": m.reader.tz}}

    rows = [
        {
            "workspace_id": workspace_id,
            "idempotency_key": m.key,
            "kind": m.kind,
            "community_id": community_id,
            "person_id": m.person_id,
            "channel_id": m.channel_id,
            "payload": {
                **message_data(m),
                **({"expires_at": m.expires_at.isoformat()} if m.expires_at else {}),
            },
            "status": OutboxStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": m.not_before or now,
            "created_at": now,
        }
        for m in messages
    ]
    if not rows:
        return 0
    conn = await session.connection()  # Core: no ORM bookkeeping for thousands of rows
    result = await conn.execute(
        insert(Outbox)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(Outbox.id),
        rows,
    )
    return len(result.all())


async def cancel(session: AsyncSession, *, keys_like: str, keep: Sequence[str] = ()) -> int:
    """Cancel pending rows whose key starts with `keys_like` (e.g. a rescheduled event's reminders)."""
    stmt = sa.update(Outbox).where(
        Outbox.idempotency_key.startswith(keys_like, autoescape=True),
        Outbox.status == OutboxStatus.PENDING,
    )
    if keep:
        stmt = stmt.where(Outbox.idempotency_key.not_in(list(keep)))
    result = await session.execute(
        stmt.values(status=OutboxStatus.CANCELLED, last_error="cancelled").execution_options(
            synchronize_session=False
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
