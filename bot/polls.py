"""Pulse polls: opening, answering (anonymously), closing and results.

Anonymity: an answer carries `ballot = HMAC(poll.ballot_salt, person_id)`, which lets a member
change their answer while the poll is open; `poll_delivery.answered_at` only stops double
reminders. At close the salt is wiped, after which no answer can be linked back to anyone.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import Conflict, InvalidInput, NotFound
from bot.models import (
    Delivery,
    Poll,
    PollDelivery,
    PollResponse,
    PollStatus,
    utcnow,
)
from bot.redelivery import upsert_for


@dataclass(frozen=True, slots=True)
class PollView:
    id: int
    community_id: int
    period_key: str
    questions: list[dict[str, Any]]
    closes_at: datetime
    status: PollStatus

    @classmethod
    def of(cls, poll: Poll) -> PollView:
        return cls(
            poll.id, poll.community_id, poll.period_key, poll.questions, poll.closes_at, poll.status
        )


async def open_poll(
    session: AsyncSession,
    *,
    workspace_id: str,
    community_id: int,
    period_key: str,
    questions: list[dict[str, Any]],
    delivery: Delivery,
    open_days: int,
    share_summary: bool,
    now: datetime,
) -> tuple[Poll, bool]:
    """The community's poll for this period (created once; a rerun returns the same poll)."""
    insert = upsert_for(session)
    result = await session.execute(
        insert(Poll)
        .values(
            workspace_id=workspace_id,
            community_id=community_id,
            period_key=period_key,
            questions=questions,
            anonymous=True,
            delivery=delivery,
            ballot_salt=secrets.token_hex(32),
            opens_at=now,
            closes_at=now + timedelta(days=open_days),
            status=PollStatus.OPEN,
            share_summary=share_summary,
        )
        .on_conflict_do_nothing(index_elements=["community_id", "period_key"])
    )
    poll = await session.scalar(
        sa.select(Poll)
        .where(Poll.community_id == community_id, Poll.period_key == period_key)
        .execution_options(populate_existing=True)
    )
    assert poll is not None
    return poll, bool(result.rowcount)  # type: ignore[attr-defined]


async def add_deliveries(
    session: AsyncSession, *, poll: Poll, person_ids: list[int], now: datetime
) -> None:
    """Who was asked (kept only to stop double answers and to remind)."""
    insert = upsert_for(session)
    for start in range(0, len(person_ids), 500):
        chunk = person_ids[start : start + 500]
        if not chunk:
            continue
        await session.execute(
            insert(PollDelivery)
            .values(
                [
                    {
                        "workspace_id": poll.workspace_id,
                        "poll_id": poll.id,
                        "person_id": pid,
                        "delivered_at": now,
                    }
                    for pid in chunk
                ]
            )
            .on_conflict_do_nothing(index_elements=["poll_id", "person_id"])
        )


def ballot(salt: str, person_id: int) -> str:
    return hmac.new(salt.encode(), str(person_id).encode(), hashlib.sha256).hexdigest()


async def get(session: AsyncSession, *, workspace_id: str, poll_id: int) -> Poll:
    """A poll of this workspace (NotFound otherwise)."""
    poll = await session.get(Poll, poll_id)
    if poll is None or poll.workspace_id != workspace_id:
        raise NotFound("polls.not_found")
    return poll


COMMENT_MAX = 2000  # the comment modal's limit, refused (not cut) when a payload exceeds it


def check_comment(comment: str | None) -> str:
    """A free-text answer as it will be stored, or InvalidInput: needs no database, so the
    comment modal can refuse it in its acknowledgement."""
    comment = (comment or "").strip()
    if not comment:
        raise InvalidInput("polls.empty_comment", field="comment")
    if len(comment) > COMMENT_MAX:
        raise InvalidInput("polls.comment_too_long", field="comment", max=COMMENT_MAX)
    return comment


async def answer(
    session: AsyncSession,
    *,
    poll_id: int,
    person_id: int,
    question_key: str,
    score: int | None = None,
    comment: str | None = None,
    now: datetime | None = None,
    workspace_id: str | None = None,
) -> Poll:
    """Record (or change) one answer of one member; refused once the poll is closed (and, given
    `workspace_id`, when the poll belongs to another workspace)."""
    now = now or utcnow()
    poll = await session.get(Poll, poll_id)
    if poll is None or (workspace_id is not None and poll.workspace_id != workspace_id):
        raise NotFound("polls.not_found")
    if poll.status != PollStatus.OPEN or poll.ballot_salt is None or now >= poll.closes_at:
        raise Conflict("polls.closed")
    question = next((q for q in poll.questions if q["key"] == question_key), None)
    if question is None:
        raise InvalidInput("polls.bad_answer")
    if question["kind"] == "text":
        comment = check_comment(comment)
        score = None
    elif score is None or not question["min"] <= score <= question["max"]:
        raise InvalidInput("polls.bad_answer")
    delivery = await session.scalar(
        sa.select(PollDelivery).where(
            PollDelivery.poll_id == poll_id, PollDelivery.person_id == person_id
        )
    )
    if delivery is None:
        if poll.delivery == Delivery.DM:
            raise Conflict("polls.not_asked")
        delivery = PollDelivery(
            workspace_id=poll.workspace_id, poll_id=poll_id, person_id=person_id
        )
        session.add(delivery)
    delivery.answered_at = delivery.answered_at or now
    insert = upsert_for(session)
    values = {
        "workspace_id": poll.workspace_id,
        "poll_id": poll_id,
        "ballot": ballot(poll.ballot_salt, person_id),
        "question_key": question_key,
        "score": score,
        "comment": comment,
        "answered_on": now.date(),
    }
    await session.execute(
        insert(PollResponse)
        .values(**values)
        .on_conflict_do_update(
            index_elements=["poll_id", "ballot", "question_key"],
            set_={"score": score, "comment": comment},
        )
    )
    await session.flush()
    return poll


@dataclass(frozen=True, slots=True)
class QuestionResult:
    key: str
    kind: str
    text: dict[str, str]
    answers: int
    mean: float | None
    distribution: dict[int, int] = field(default_factory=dict)
    enps: float | None = None
    comments: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Results:
    poll_id: int
    community_id: int
    period_key: str
    asked: int
    respondents: int
    shown: bool  # False below min_answers: only the programme totals include these answers
    questions: list[QuestionResult]

    @property
    def response_rate(self) -> float:
        return self.respondents / self.asked if self.asked else 0.0


def enps(scores: list[int]) -> float | None:
    """Promoters (9–10) minus detractors (0–6), in points."""
    if not scores:
        return None
    promoters = sum(1 for s in scores if s >= 9)
    detractors = sum(1 for s in scores if s <= 6)
    return round(100 * (promoters - detractors) / len(scores), 1)


async def results(session: AsyncSession, *, poll: Poll, min_answers: int) -> Results:
    asked = await session.scalar(
        sa.select(sa.func.count()).select_from(PollDelivery).where(PollDelivery.poll_id == poll.id)
    )
    rows = list(
        await session.execute(
            sa.select(
                PollResponse.ballot,
                PollResponse.question_key,
                PollResponse.score,
                PollResponse.comment,
            ).where(PollResponse.poll_id == poll.id)
        )
    )
    respondents = len({r.ballot for r in rows})
    shown = respondents >= min_answers
    out = []
    for q in poll.questions:
        mine = [r for r in rows if r.question_key == q["key"]]
        scores = [r.score for r in mine if r.score is not None]
        out.append(
            QuestionResult(
                key=q["key"],
                kind=q["kind"],
                text=q["text"],
                answers=len(mine),
                mean=round(sum(scores) / len(scores), 2) if scores else None,
                distribution=dict(sorted(Counter(scores).items())),
                enps=enps(scores) if q["kind"] == "nps" else None,
                comments=sorted(r.comment for r in mine if r.comment) if shown else [],
            )
        )
    return Results(
        poll_id=poll.id,
        community_id=poll.community_id,
        period_key=poll.period_key,
        asked=int(asked or 0),
        respondents=respondents,
        shown=shown,
        questions=out,
    )


async def close(session: AsyncSession, *, poll: Poll, now: datetime) -> None:
    """Close and wipe the salt: from now on no answer can be linked back to anyone."""
    poll.status = PollStatus.CLOSED
    poll.closed_at = now
    poll.ballot_salt = None
    await session.flush()


async def due_to_close(session: AsyncSession, *, now: datetime) -> list[Poll]:
    return list(
        await session.scalars(
            sa.select(Poll).where(Poll.status == PollStatus.OPEN, Poll.closes_at <= now)
        )
    )


async def due_for_reminder(session: AsyncSession, *, now: datetime, after_days: int) -> list[Poll]:
    return list(
        await session.scalars(
            sa.select(Poll).where(
                Poll.status == PollStatus.OPEN,
                Poll.reminder_sent_at.is_(None),
                Poll.opens_at <= now - timedelta(days=after_days),
                Poll.closes_at > now,
            )
        )
    )


async def not_answered(session: AsyncSession, *, poll_id: int) -> list[int]:
    return list(
        await session.scalars(
            sa.select(PollDelivery.person_id).where(
                PollDelivery.poll_id == poll_id,
                PollDelivery.answered_at.is_(None),
                PollDelivery.person_id.is_not(None),
            )
        )
    )
