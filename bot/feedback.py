"""The guides' « animation » checklist: after an event, its organiser says how it went.

The federal guide's toolbox (source 003) lists « une check-list ‘Animation’ comme outil de
feed-back à utiliser après avoir animé une discussion »; its items are not in the sources, so
ours are six short ones in the guides' spirit (a clear objective, a topic from the members,
everyone could speak, practices were shared, the time was kept, a summary and a next step),
each answered yes / partly / no, with an optional comment.

The bot asks once per event, by DM to the organiser, shortly after the event ended (only events
that ended within ASK_WITHIN: an upgrade never floods organisers with old events; not cancelled
ones; not in a closed or archived community). Answers are kept one per person and event (and
may be changed); together they are one voice in the community's compass (bot.compass, through
`record_external_voice`, as the annual survey is): each item informs one dimension.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot import compass, people
from bot import messages as m
from bot.errors import CopError, InvalidFields, InvalidInput
from bot.models import (
    Community,
    CommunityStatus,
    Event,
    EventFeedback,
    EventStatus,
    Person,
)
from bot.permissions import Actor, require_event_feedback

KIND = "event_feedback"  # the outbox kind of the DM (quiet hours apply, bot's mute too)
OPEN_ACTION = "event_feedback.open"  # the DM's button (routed by the Slack edge)
ASK_WITHIN = timedelta(days=2)  # an event that ended longer ago is not asked about
LONGEST_EVENT = timedelta(days=7)  # multi-day events last a week at most
COMMENT_MAX = 1000
# item → the compass dimension it informs (bot.compass.DIMENSIONS)
ITEMS: dict[str, str] = {
    "objective": "animation",  # the objective was clear and said at the start
    "topic": "purpose",  # the topic came from the members' needs and questions
    "voice": "members",  # everyone who wished could speak
    "exchange": "practice",  # people shared their practices, helped each other
    "time": "animation",  # the time was kept
    "next_step": "practice",  # a summary and a next step were shared
}
# an answer on the compass's 1–4 scale (« pas encore » … « exemplaire »)
ANSWERS: dict[str, float] = {"yes": 4.0, "partly": 2.5, "no": 1.0}


def key(event_id: int, person_id: int) -> str:
    """The outbox key of the checklist DM: one per event and organiser, ever."""
    return f"{KIND}:{event_id}:{person_id}"


# --- asking -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Due:
    event_id: int
    workspace_id: str
    community_id: int
    community: str
    title: str
    starts_at: datetime
    tz: str
    organiser_id: int
    language: str | None  # the community's


async def due(session: AsyncSession, *, now: datetime) -> list[Due]:
    """Events that ended within ASK_WITHIN and whose organiser was not asked yet."""
    rows = await session.execute(
        sa.select(Event, Community.name, Community.language)
        .join(Community, Community.id == Event.community_id)
        .where(
            Event.feedback_requested_at.is_(None),
            Event.status == EventStatus.SCHEDULED,
            Event.created_by_person_id.is_not(None),
            Event.starts_at <= now,
            Event.starts_at > now - ASK_WITHIN - LONGEST_EVENT,
            Community.archived_at.is_(None),
            Community.status != CommunityStatus.CLOSED,
        )
        .order_by(Event.starts_at, Event.id)
    )
    found = []
    for event, name, language in rows:
        ends = event.starts_at + timedelta(minutes=event.duration_minutes)
        if now - ASK_WITHIN < ends <= now and event.created_by_person_id is not None:
            found.append(
                Due(
                    event.id,
                    event.workspace_id,
                    event.community_id,
                    name,
                    event.title,
                    event.starts_at,
                    event.tz,
                    event.created_by_person_id,
                    language,
                )
            )
    return found


async def mark_asked(session: AsyncSession, *, event_id: int, now: datetime) -> None:
    await session.execute(
        sa.update(Event).where(Event.id == event_id).values(feedback_requested_at=now)
    )


def request_message(item: Due) -> m.Message:
    """The DM: which event, why, and the button that opens the checklist."""
    title = m.Say("feedback.request_title", event=item.title)
    return m.Message(
        title,
        [
            m.Paragraph(
                m.Lines(
                    [
                        m.Strong(title),
                        m.Say(
                            "feedback.request_intro",
                            community=item.community,
                            day=m.Moment(item.starts_at, tz=item.tz, style="date"),
                        ),
                    ]
                )
            ),
            m.Choices(
                (
                    m.Choice(
                        OPEN_ACTION,
                        m.Say("feedback.open"),
                        value=str(item.event_id),
                        style="primary",
                    ),
                )
            ),
            m.Note(m.Say("feedback.request_why")),
        ],
    )


def thanks_message(
    *, event_id: int, event: str, answers: Mapping[str, str], changed: bool
) -> m.Message:
    """What the DM becomes once answered (updated in place): thanks, and the answers."""
    title = m.Say("feedback.thanks", event=event)
    lines: list[m.Text] = [m.Strong(title)]
    lines += [
        m.Join(
            [
                m.Say(f"feedback.mark.{answers[item]}"),
                " ",
                m.Say(f"feedback.item.{item}"),
            ]
        )
        for item in ITEMS
        if item in answers
    ]
    return m.Message(
        title,
        [
            m.Paragraph(m.Lines(lines)),
            m.Choices((m.Choice(OPEN_ACTION, m.Say("feedback.change"), value=str(event_id)),)),
            m.Note(m.Say("feedback.changed" if changed else "feedback.compass_note")),
        ],
    )


# --- answering --------------------------------------------------------------------------------


def validate(answers: Mapping[str, object], comment: object) -> tuple[dict[str, str], str | None]:
    """Every item answered with yes / partly / no (the modal offers nothing else), and an
    optional comment of at most COMMENT_MAX characters."""
    clean: dict[str, str] = {}
    errors: list[InvalidInput] = []
    for item in ITEMS:
        value = answers.get(item)
        if value in (None, ""):
            errors.append(InvalidInput("feedback.answer_each", field=item))
        elif str(value) not in ANSWERS:
            errors.append(InvalidInput("error.invalid", field=item))
        else:
            clean[item] = str(value)
    unknown = set(answers) - set(ITEMS)
    if unknown:
        errors.append(InvalidInput("error.invalid", field=sorted(unknown)[0]))
    text = str(comment or "").strip()
    if len(text) > COMMENT_MAX:
        errors.append(InvalidInput("feedback.comment_too_long", field="comment", most=COMMENT_MAX))
    if errors:
        raise InvalidFields(errors)
    return clean, text or None


@dataclass(frozen=True, slots=True)
class Asked:
    """An event as the checklist needs it."""

    id: int
    workspace_id: str
    community_id: int
    title: str
    organiser_id: int | None


async def event_of(session: AsyncSession, *, workspace_id: str, event_id: int) -> Asked:
    """The event, if it is of this workspace and a checklist may be given for it."""
    event = await session.get(Event, event_id)
    if event is None or event.workspace_id != workspace_id:
        raise CopError("error.not_found")
    community = await session.get(Community, event.community_id)
    if community is None or community.archived_at is not None:
        raise CopError("error.not_found")
    return Asked(
        event.id, event.workspace_id, event.community_id, event.title, event.created_by_person_id
    )


async def answers_of(
    session: AsyncSession, *, event_id: int, person_id: int
) -> tuple[dict[str, str], str | None]:
    """A person's answers for an event (to pre-fill the modal); empty when none."""
    row = await session.scalar(
        sa.select(EventFeedback).where(
            EventFeedback.event_id == event_id, EventFeedback.person_id == person_id
        )
    )
    if row is None:
        return {}, None
    return {k: str(v) for k, v in (row.answers or {}).items() if k in ITEMS}, row.comment


async def record(
    session: AsyncSession,
    *,
    event: Asked,
    person_id: int,
    answers: Mapping[str, str],
    comment: str | None,
    now: datetime,
) -> bool:
    """Save (or change) a person's checklist for an event, then the community's compass voice.
    Returns True when it changed an earlier answer. The same modal sent twice at once meets the
    unique constraint, and the second becomes a change."""
    mine = (EventFeedback.event_id == event.id, EventFeedback.person_id == person_id)
    row = await session.scalar(sa.select(EventFeedback).where(*mine).with_for_update())
    changed = row is not None
    if row is None:
        try:
            async with session.begin_nested():
                session.add(
                    EventFeedback(
                        workspace_id=event.workspace_id,
                        event_id=event.id,
                        person_id=person_id,
                        answers=dict(answers),
                        comment=comment,
                        submitted_at=now,
                        updated_at=now,
                    )
                )
        except IntegrityError:
            row = await session.scalar(sa.select(EventFeedback).where(*mine))
            if row is None:
                raise
            changed = True
    if row is not None:
        row.answers = dict(answers)
        row.comment = comment
        row.updated_at = now
    await session.flush()
    heard = await compass_input(
        session, community_id=event.community_id, since=now - timedelta(days=compass.ROUND_DAYS)
    )
    if heard:
        await compass.record_external_voice(
            session,
            workspace_id=event.workspace_id,
            community_id=event.community_id,
            source=compass.FEEDBACK,
            dimension_scores=heard,
            now=now,
        )
    return changed


def dimension_scores(checklists: Sequence[Mapping[str, object]]) -> dict[str, float]:
    """Checklists → per compass dimension the mean of the answers to the items informing it."""
    sums: dict[str, list[float]] = {}
    for answers in checklists:
        for item, value in answers.items():
            dimension = ITEMS.get(item)
            if dimension is not None and str(value) in ANSWERS:
                sums.setdefault(dimension, []).append(ANSWERS[str(value)])
    return {d: round(sum(v) / len(v), 2) for d, v in sums.items() if v}


async def compass_input(
    session: AsyncSession, *, community_id: int, since: datetime
) -> dict[str, float]:
    """What the organisers' checklists for the community's events since `since` say of the
    compass dimensions they inform ({} when there are none)."""
    rows = await session.scalars(
        sa.select(EventFeedback.answers)
        .join(Event, Event.id == EventFeedback.event_id)
        .where(Event.community_id == community_id, Event.starts_at >= since)
    )
    return dimension_scores([dict(a or {}) for a in rows])


async def organiser_reachable(session: AsyncSession, *, person_id: int) -> Person | None:
    person = await session.get(Person, person_id)
    if person is None or person.is_bot or person.deleted or person.erased_at:
        return None
    if person.unreachable_reason:
        return None
    return person


# --- what the Slack edge calls ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Checklist:
    """What the modal shows: the event, its community, the person's earlier answers."""

    event_id: int
    event: str
    community: str
    mine: dict[str, str]
    comment: str | None


async def _allowed(session: AsyncSession, *, actor: Actor, event_id: int) -> tuple[Asked, Person]:
    """The event and the person answering, once they may: its organiser, or a runner of its
    community (bot.permissions); anyone else replaying the button or the modal is refused."""
    event = await event_of(session, workspace_id=actor.workspace_id, event_id=event_id)
    await require_event_feedback(
        session,
        actor=actor,
        community_id=event.community_id,
        organiser_person_id=event.organiser_id,
    )
    person = await people.find(
        session, workspace_id=actor.workspace_id, slack_user_id=actor.slack_user_id
    )
    if person is None:
        raise CopError("error.not_found")
    return event, person


async def checklist(session: AsyncSession, *, actor: Actor, event_id: int) -> Checklist:
    event, person = await _allowed(session, actor=actor, event_id=event_id)
    community = await session.get(Community, event.community_id)
    assert community is not None
    mine, comment = await answers_of(session, event_id=event.id, person_id=person.id)
    return Checklist(event.id, event.title, community.name, mine, comment)


async def answer(
    session: AsyncSession,
    *,
    actor: Actor,
    event_id: int,
    answers: Mapping[str, str],
    comment: str | None,
    now: datetime,
) -> tuple[Asked, bool]:
    """Save the person's checklist (validated answers) and the compass voice; (event, changed)."""
    event, person = await _allowed(session, actor=actor, event_id=event_id)
    changed = await record(
        session, event=event, person_id=person.id, answers=answers, comment=comment, now=now
    )
    return event, changed
