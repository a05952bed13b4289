"""Pulse polls: opening, answering (anonymously), closing and results.

Anonymity (docs/privacy.md has the threat model):
- An answer carries `ballot = HMAC(ballot key, poll salt ‖ person id)`. The ballot key is not in
  the database (bot/config.py: COP_BALLOT_KEY or derived from the signing secret), so a ballot
  lets a member change their answer while the poll is open, and the bot remind those who have
  not answered, while an operator holding the database alone cannot recompute anyone's ballot.
- Nothing records when a person answered: `poll_delivery` says who was asked, never who
  answered or when; answers carry random ids, no date, and no order that follows the answering.
- At close the salt is wiped and the answers are rewritten in a shuffled order under fresh
  random ids and ballots, in one transaction: from then on no one, not even with the key, can
  link an answer to a person, nor order the answers by when they came.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot import disclosure, people
from bot.errors import Conflict, CopError, InvalidInput, NotFound
from bot.models import (
    Delivery,
    Poll,
    PollDelivery,
    PollKind,
    PollResponse,
    PollStatus,
    random_row_id,
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
    """Who was asked (kept only to stop double answers and to remind): one statement executed
    for every person (compiled once, sent in batches), however large the audience."""
    if not person_ids:
        return
    insert = upsert_for(session)
    conn = await session.connection()
    await conn.execute(
        insert(PollDelivery).on_conflict_do_nothing(index_elements=["poll_id", "person_id"]),
        [
            {
                "workspace_id": poll.workspace_id,
                "poll_id": poll.id,
                "person_id": pid,
                "delivered_at": now,
            }
            for pid in person_ids
        ],
    )


def ballot(key: bytes, salt: str, person_id: int) -> str:
    """A member's ballot in one poll: needs the key (outside the database) and the poll's salt
    (wiped at close)."""
    return hmac.new(key, f"{salt}:{person_id}".encode(), hashlib.sha256).hexdigest()


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
    key: bytes,
    poll_id: int,
    person_id: int,
    question_key: str,
    score: int | None = None,
    comment: str | None = None,
    now: datetime | None = None,
    workspace_id: str | None = None,
) -> Poll:
    """Record (or change) one answer of one member; refused once the poll is closed (and, given
    `workspace_id`, when the poll belongs to another workspace).

    Nothing about the person is written: only the answer, under their ballot. (Who was asked is
    in poll_delivery since the poll went out; whether they answered is known only to someone
    holding the key.)"""
    now = now or utcnow()
    # a share lock (PostgreSQL): answers go side by side, but never across a close, which takes
    # the row for update — an answer is in the shuffle, or refused as late, never left behind
    poll = await session.get(Poll, poll_id, with_for_update={"read": True}, populate_existing=True)
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
    asked = await session.scalar(
        sa.select(PollDelivery.id).where(
            PollDelivery.poll_id == poll_id, PollDelivery.person_id == person_id
        )
    )
    if asked is None and poll.delivery == Delivery.DM:
        raise Conflict("polls.not_asked")
    # A poll posted in the channel asks whoever answers: nobody is recorded as asked, the
    # response rate of such a poll is its number of ballots.
    insert = upsert_for(session)
    await session.execute(
        insert(PollResponse)
        .values(
            id=random_row_id(),
            workspace_id=poll.workspace_id,
            poll_id=poll_id,
            ballot=ballot(key, poll.ballot_salt, person_id),
            question_key=question_key,
            score=score,
            comment=comment,
        )
        .on_conflict_do_update(
            index_elements=["poll_id", "ballot", "question_key"],
            set_={"score": score, "comment": comment},
        )
    )
    await session.flush()
    return poll


async def answer_as(
    session: AsyncSession,
    *,
    key: bytes,
    workspace_id: str,
    user_id: str,
    poll_id: int,
    question_key: str,
    score: int | None = None,
    comment: str | None = None,
) -> Poll:
    """A click on a poll's button, by the person's platform id (Slack's "U…", Teams' "29:…"):
    their id only finds their ballot; someone we do not know was not asked."""
    person = await people.find(session, workspace_id=workspace_id, slack_user_id=user_id)
    if person is None:
        raise CopError("polls.not_asked")
    return await answer(
        session,
        key=key,
        workspace_id=workspace_id,
        poll_id=poll_id,
        person_id=person.id,
        question_key=question_key,
        score=score,
        comment=comment,
    )


async def answered(
    session: AsyncSession, *, key: bytes, polls: Iterable[Poll], person_id: int
) -> set[int]:
    """Which of these open polls this person has answered (for their Home)."""
    mine = {poll.id: ballot(key, poll.ballot_salt, person_id) for poll in polls if poll.ballot_salt}
    if not mine:
        return set()
    found = await session.execute(
        sa.select(PollResponse.poll_id, PollResponse.ballot)
        .where(PollResponse.poll_id.in_(list(mine)), PollResponse.ballot.in_(list(mine.values())))
        .distinct()
    )
    return {poll_id for poll_id, b in found if mine.get(poll_id) == b}


@dataclass(frozen=True, slots=True)
class QuestionResult:
    """One question's results as the disclosure rule lets them show (`figure.withheld` says
    why not, when not)."""

    key: str
    kind: str
    text: dict[str, str]
    figure: disclosure.Figure
    comments: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Results:
    poll_id: int
    community_id: int
    period_key: str
    asked: int
    respondents: int
    questions: list[QuestionResult]

    @property
    def response_rate(self) -> float:
        return self.respondents / self.asked if self.asked else 0.0

    @property
    def shown(self) -> bool:
        """Whether any question's results may be shown."""
        return any(q.figure.shown for q in self.questions)


async def results(session: AsyncSession, *, poll: Poll, rule: disclosure.Rule) -> Results:
    """The poll's results, question by question, through the disclosure rule."""
    asked = int(
        await session.scalar(
            sa.select(sa.func.count())
            .select_from(PollDelivery)
            .where(PollDelivery.poll_id == poll.id)
        )
        or 0
    )
    counted = await disclosure.respondents(session, where=Poll.id == poll.id)
    respondents = counted.get(poll.id, 0)
    found = {c.question_key: c for c in await disclosure.cells(session, where=Poll.id == poll.id)}
    out = []
    for q in poll.questions:
        cell = found.get(q["key"]) or disclosure.Cell(
            poll_id=poll.id,
            community_id=poll.community_id,
            question_key=q["key"],
            closed=poll.status == PollStatus.CLOSED,
            answers=0,
        )
        figure = rule.for_community([cell], nps=q["kind"] == "nps")
        out.append(
            QuestionResult(
                key=q["key"],
                kind=q["kind"],
                text=q["text"],
                figure=figure,
                comments=await disclosure.comments(session, rule=rule, cell=cell)
                if q["kind"] == "text"
                else [],
            )
        )
    return Results(
        poll_id=poll.id,
        community_id=poll.community_id,
        period_key=poll.period_key,
        asked=asked if poll.delivery == Delivery.DM else max(asked, respondents),
        respondents=respondents,
        questions=out,
    )


async def close(session: AsyncSession, *, poll: Poll, now: datetime) -> None:
    """Close, wipe the salt and rewrite the answers shuffled, under fresh random ids and ballots:
    from now on no answer can be linked to anyone, nor ordered by when it came."""
    await session.refresh(poll, with_for_update=True)  # answers being written finish first
    if poll.status == PollStatus.CLOSED:
        return  # another replica closed it meanwhile: its answers are already shuffled
    poll.status = PollStatus.CLOSED
    poll.closed_at = now
    poll.ballot_salt = None
    rows = (
        await session.execute(
            sa.select(
                PollResponse.workspace_id,
                PollResponse.ballot,
                PollResponse.question_key,
                PollResponse.score,
                PollResponse.comment,
            ).where(PollResponse.poll_id == poll.id)
        )
    ).all()
    fresh = {b: secrets.token_hex(32) for b in {r.ballot for r in rows}}
    shuffled = list(rows)
    random.SystemRandom().shuffle(shuffled)
    await session.execute(sa.delete(PollResponse).where(PollResponse.poll_id == poll.id))
    if shuffled:
        await session.execute(
            sa.insert(PollResponse),
            [
                {
                    "id": random_row_id(),
                    "workspace_id": r.workspace_id,
                    "poll_id": poll.id,
                    "ballot": fresh[r.ballot],
                    "question_key": r.question_key,
                    "score": r.score,
                    "comment": r.comment,
                }
                for r in shuffled
            ],
        )
    await session.flush()


async def due_to_close(
    session: AsyncSession, *, now: datetime, kind: PollKind = PollKind.PULSE
) -> list[Poll]:
    """Open polls of this kind past their closing time (the survey closes its own: rituals/survey.py)."""
    return list(
        await session.scalars(
            sa.select(Poll).where(
                Poll.status == PollStatus.OPEN, Poll.closes_at <= now, Poll.kind == kind
            )
        )
    )


async def due_for_reminder(session: AsyncSession, *, now: datetime, after_days: int) -> list[Poll]:
    return list(
        await session.scalars(
            sa.select(Poll).where(
                Poll.kind == PollKind.PULSE,
                Poll.status == PollStatus.OPEN,
                Poll.reminder_sent_at.is_(None),
                Poll.opens_at <= now - timedelta(days=after_days),
                Poll.closes_at > now,
            )
        )
    )


async def not_answered(session: AsyncSession, *, key: bytes, poll: Poll) -> list[int]:
    """Who was asked and has not answered yet: each asked person's ballot is recomputed with the
    key and looked for among the answers (no table says who answered)."""
    if poll.ballot_salt is None:
        return []
    asked = list(
        await session.scalars(
            sa.select(PollDelivery.person_id).where(
                PollDelivery.poll_id == poll.id, PollDelivery.person_id.is_not(None)
            )
        )
    )
    cast = set(
        await session.scalars(
            sa.select(PollResponse.ballot).where(PollResponse.poll_id == poll.id).distinct()
        )
    )
    return [
        pid for pid in asked if pid is not None and ballot(key, poll.ballot_salt, pid) not in cast
    ]


async def retract(
    session: AsyncSession, *, key: bytes, poll: Poll, person_id: int, question_keys: list[str]
) -> None:
    """A member takes back their answers to these questions while the poll is open (an
    optional question cleared on a second submission)."""
    if poll.ballot_salt is None or poll.status != PollStatus.OPEN or not question_keys:
        return
    await session.execute(
        sa.delete(PollResponse).where(
            PollResponse.poll_id == poll.id,
            PollResponse.ballot == ballot(key, poll.ballot_salt, person_id),
            PollResponse.question_key.in_(question_keys),
        )
    )


async def own_answers(
    session: AsyncSession, *, key: bytes, poll: Poll, person_id: int
) -> dict[str, tuple[int | None, str | None]]:
    """A member's own answers while the poll is open (to prefill their form): found by
    recomputing their ballot, which only the bot holding the key can do, and nobody after close."""
    if poll.ballot_salt is None or poll.status != PollStatus.OPEN:
        return {}
    rows = await session.execute(
        sa.select(PollResponse.question_key, PollResponse.score, PollResponse.comment).where(
            PollResponse.poll_id == poll.id,
            PollResponse.ballot == ballot(key, poll.ballot_salt, person_id),
        )
    )
    return {k: (s, c) for k, s, c in rows}
