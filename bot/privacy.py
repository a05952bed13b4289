"""Privacy on request: export what the bot holds about a person, erase them, and retention.

Erasure keeps the programme's anonymous aggregates right: the person's row becomes a tombstone
with no Slack id, name, zone or language (memberships, RSVPs and attendance stay attached to it,
so member and attendance counts do not change); their daily activity is folded into the
community's anonymous totals; everything else that names them is cleared or deleted.

Then `scrub` walks every table of the schema (bot.models.Base.metadata) and every text and JSON
column in it, and replaces the person's Slack id, their mentions and their names wherever they
still appear: audit payloads, other people's messages, stories typed by others, a table or a
column added next year. Nothing has to remember to register itself, so nothing can be forgotten.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot import charters, compass, installation, people, redelivery
from bot.errors import NotFound
from bot.models import (
    ActivityDaily,
    AuditLog,
    Base,
    CharterObjective,
    CharterVersion,
    Community,
    Event,
    EventAttendance,
    EventFeedback,
    EventRsvp,
    Membership,
    Outbox,
    OutboxStatus,
    Person,
    Poll,
    PollDelivery,
    RitualPreference,
    SuccessStory,
    TeamsConversation,
    utcnow,
)

ERASED = "erased"


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "value") and isinstance(getattr(value, "value", None), str):
        return value.value
    return value


def _row(obj: Base, *, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        c.key: _plain(getattr(obj, c.key))
        for c in sa.inspect(obj).mapper.column_attrs
        if c.key not in skip
    }


async def _person(session: AsyncSession, workspace_id: str, slack_user_id: str) -> Person:
    person = await people.find(session, workspace_id=workspace_id, slack_user_id=slack_user_id)
    if person is None:
        raise NotFound("privacy.unknown_person")
    return person


async def export(session: AsyncSession, *, workspace_id: str, slack_user_id: str) -> dict[str, Any]:
    """Everything held about one person, as plain JSON-ready data."""
    person = await _person(session, workspace_id, slack_user_id)
    pid = person.id

    async def rows(query: Any) -> list[dict[str, Any]]:
        return [_row(r) for r in await session.scalars(query)]

    memberships = await session.execute(
        sa.select(Membership, Community.name)
        .join(Community, Community.id == Membership.community_id)
        .where(Membership.person_id == pid)
    )
    deliveries = await session.execute(
        sa.select(PollDelivery, Poll.period_key, Poll.status)
        .join(Poll, Poll.id == PollDelivery.poll_id)
        .where(PollDelivery.person_id == pid)
    )
    return {
        "exported_at": utcnow().isoformat(),
        "person": _row(person),
        "memberships": [{**_row(m), "community": name} for m, name in memberships],
        "charter_versions_written": await rows(
            sa.select(CharterVersion).where(CharterVersion.author_person_id == pid)
        ),
        "charter_objectives_updated": await rows(
            sa.select(CharterObjective).where(CharterObjective.updated_by_person_id == pid)
        ),
        "events_created": await rows(sa.select(Event).where(Event.created_by_person_id == pid)),
        "event_answers": await rows(sa.select(EventRsvp).where(EventRsvp.person_id == pid)),
        "events_attended": await rows(
            sa.select(EventAttendance).where(EventAttendance.person_id == pid)
        ),
        "polls_sent": [
            {**_row(d), "poll": period, "poll_status": _plain(status)}
            for d, period, status in deliveries
        ],
        "poll_answers": "Answers are stored apart from who answered and cannot be linked to a person "
        "once the poll has closed; while a poll is open, your own answer is shown on the poll message.",
        "success_stories": await rows(
            sa.select(SuccessStory).where(SuccessStory.author_person_id == pid)
        ),
        "daily_activity_counts": await rows(
            sa.select(ActivityDaily)
            .where(ActivityDaily.person_id == pid)
            .order_by(ActivityDaily.day)
        ),
        "ritual_preferences": await rows(
            sa.select(RitualPreference).where(RitualPreference.person_id == pid)
        ),
        "messages_sent_to_you": [
            {
                k: v
                for k, v in _row(o).items()
                if k in {"kind", "status", "created_at", "sent_at", "last_error"}
            }
            for o in await session.scalars(sa.select(Outbox).where(Outbox.person_id == pid))
        ],
        "actions_you_took": await rows(sa.select(AuditLog).where(AuditLog.actor == slack_user_id)),
        "compass_answers": await compass.answers_for_export(session, person_id=pid),
        # the « animation » checklists they answered after their events (bot.feedback)
        "event_feedback": await rows(
            sa.select(EventFeedback).where(EventFeedback.person_id == pid)
        ),
    }


@dataclass(frozen=True, slots=True)
class ErasureReport:
    activity_rows_folded: int
    messages_cleared: int
    stories_detached: int
    cells_scrubbed: int = 0  # text or JSON cells elsewhere that still named them
    messages_cancelled: int = 0  # messages owed to others that named them, not sent now


# --- scrubbing every text and JSON cell ----------------------------------------------------------

# Tables whose rows are someone's own identity or the tenant itself: the erased person's row is
# rewritten by `erase`; another person's row is theirs (a namesake keeps their name).
_NOT_SCRUBBED = frozenset({"person", "workspace"})
_HANDLE = re.compile(r"[._\-0-9]")
NAME_MIN = 3  # shorter "names" (initials, "Al") are fragments of words more often than names
NAMED_ERASED = "names_erased_person"  # why a message owed to someone else was not sent


@dataclass(frozen=True, slots=True)
class _Needles:
    """What identifies the person in text: their id (and its mentions) and their names."""

    slack_user_id: str
    names: tuple[str, ...]

    @property
    def id_patterns(self) -> list[re.Pattern[str]]:
        """The Slack id and its mentions: looked for in every text and JSON cell."""
        uid = re.escape(self.slack_user_id)
        return [
            re.compile(rf"<@{uid}(?:\|[^>]*)?>"),  # a mention, with or without its label
            re.compile(rf"(?<![A-Za-z0-9]){uid}(?![A-Za-z0-9])"),
        ]

    @property
    def name_patterns(self) -> list[re.Pattern[str]]:
        """The names: looked for only in prose columns (models.PROSE), as whole words."""
        return [
            re.compile(rf"(?<!\w){re.escape(name)}(?!\w)", re.IGNORECASE) for name in self.names
        ]

    def likes(self) -> list[str]:
        """Lower-cased substrings for a first, coarse SQL filter; JSON may store é as \\u00e9."""
        out = set()
        for text in (self.slack_user_id, *self.names):
            out.add(text.lower())
            out.add(json.dumps(text)[1:-1].lower())
        return sorted(out)


def _kind(column: sa.Column[Any]) -> str | None:
    """'text' or 'json' for columns that can hold free text; None for the rest (enums too)."""
    kind = column.type
    if isinstance(kind, sa.types.TypeDecorator):
        kind = kind.impl_instance
    if isinstance(kind, sa.Enum):
        return None
    if isinstance(kind, sa.JSON):
        return "json"
    if isinstance(kind, sa.String):
        return "text"
    return None


def _scrub_value(value: Any, patterns: list[re.Pattern[str]]) -> Any:
    """The value with every match replaced; in JSON, values only: keys are our own names for
    things (`max`, `text`, `user`), never someone's."""
    if isinstance(value, str):
        for pattern in patterns:
            value = pattern.sub(ERASED, value)
        return value
    if isinstance(value, list):
        return [_scrub_value(v, patterns) for v in value]
    if isinstance(value, dict):
        return {k: _scrub_value(v, patterns) for k, v in value.items()}
    return value


async def scrub(
    session: AsyncSession, *, workspace_id: str, slack_user_id: str, names: Iterable[str] = ()
) -> tuple[int, int]:
    """Replace the person's id, mentions and names in every text and JSON cell of the
    workspace's rows, in every table; a message still owed to someone else that named them is
    cancelled (a digest greeting them, a welcome naming them as leader) rather than sent with a
    hole in it. Returns (cells changed, messages cancelled)."""
    needles = _Needles(
        slack_user_id=slack_user_id,
        names=tuple(sorted({n.strip() for n in names if len(n.strip()) >= NAME_MIN})),
    )
    ids, names_ = needles.id_patterns, needles.id_patterns + needles.name_patterns
    likes = needles.likes()
    outbox = Outbox.__table__
    cells = cancelled = 0
    for table in Base.metadata.sorted_tables:
        if table.name in _NOT_SCRUBBED:
            continue
        columns = [(c, k) for c in table.columns if (k := _kind(c)) is not None]
        if not columns:
            continue
        coarse = sa.or_(
            *(
                sa.func.lower(sa.cast(c, sa.Text), type_=sa.Text).contains(like, autoescape=True)
                for c, k in columns
                for like in likes
            )
        )
        query = sa.select(table).where(coarse)
        if "workspace_id" in table.columns:
            query = query.where(table.columns["workspace_id"] == workspace_id)
        for row in (await session.execute(query)).mappings().all():
            changes = {}
            for column, _ in columns:
                value = row[column.name]
                if value is None:
                    continue
                scrubbed = _scrub_value(value, names_ if column.info.get("prose") else ids)
                if scrubbed != value:
                    changes[column.name] = scrubbed
            if not changes:
                continue
            cells += len(changes)
            if table is outbox and row["status"] == OutboxStatus.PENDING:
                changes.update(status=OutboxStatus.CANCELLED, last_error=NAMED_ERASED)
                cancelled += 1
            await session.execute(
                table.update()
                .where(*(pk == row[pk.name] for pk in table.primary_key.columns))
                .values(**changes)
            )
    return cells, cancelled


async def fold_activity(session: AsyncSession, *, where: Any) -> int:
    """Fold per-person activity rows matching `where` into the anonymous per-community totals."""
    totals = (
        await session.execute(
            sa.select(
                ActivityDaily.workspace_id,
                ActivityDaily.community_id,
                ActivityDaily.day,
                sa.func.sum(ActivityDaily.messages),
                sa.func.sum(ActivityDaily.replies),
                sa.func.sum(ActivityDaily.reactions),
                sa.func.count(),
            )
            .where(ActivityDaily.person_id.is_not(None), where)
            .group_by(ActivityDaily.workspace_id, ActivityDaily.community_id, ActivityDaily.day)
        )
    ).all()
    folded = 0
    for workspace_id, community_id, day, messages, replies, reactions, count in totals:
        anonymous = await session.scalar(
            sa.select(ActivityDaily).where(
                ActivityDaily.community_id == community_id,
                ActivityDaily.day == day,
                ActivityDaily.person_id.is_(None),
            )
        )
        if anonymous is None:
            session.add(
                ActivityDaily(
                    workspace_id=workspace_id,
                    community_id=community_id,
                    person_id=None,
                    day=day,
                    messages=int(messages or 0),
                    replies=int(replies or 0),
                    reactions=int(reactions or 0),
                )
            )
        else:
            anonymous.messages += int(messages or 0)
            anonymous.replies += int(replies or 0)
            anonymous.reactions += int(reactions or 0)
        folded += int(count)
    await session.execute(
        sa.delete(ActivityDaily).where(ActivityDaily.person_id.is_not(None), where)
    )
    await session.flush()
    return folded


async def erase(session: AsyncSession, *, workspace_id: str, slack_user_id: str) -> ErasureReport:
    """Remove a person's identity and what is attributable to them; aggregates stay right."""
    person = await _person(session, workspace_id, slack_user_id)
    pid = person.id
    # the full name, and the Slack handle when it is one ("lucas.bernard", "lb42"): a handle
    # that is a plain word ("max", "paris") would rewrite other people's sentences
    names = (person.real_name, *([person.name] if _HANDLE.search(person.name or "") else []))
    # old charter versions held Slack ids in their role snapshot: person numbers from now on
    await charters.rewrite_snapshots(session, workspace_id=workspace_id)
    folded = await fold_activity(session, where=ActivityDaily.person_id == pid)
    await session.execute(
        sa.update(CharterVersion)
        .where(CharterVersion.author_person_id == pid)
        .values(author_person_id=None)
    )
    await session.execute(
        sa.update(Event).where(Event.created_by_person_id == pid).values(created_by_person_id=None)
    )
    stories = await session.execute(
        sa.update(SuccessStory)
        .where(SuccessStory.author_person_id == pid)
        .values(author_person_id=None)
    )
    await session.execute(
        sa.update(SuccessStory)
        .where(SuccessStory.validated_by_person_id == pid)
        .values(validated_by_person_id=None)
    )
    await session.execute(
        sa.update(PollDelivery).where(PollDelivery.person_id == pid).values(person_id=None)
    )
    await session.execute(  # a survey's results held back: the reason stays, not who
        sa.update(Poll)
        .where(Poll.results_held_by_person_id == pid)
        .values(results_held_by_person_id=None)
    )
    await session.execute(sa.delete(RitualPreference).where(RitualPreference.person_id == pid))
    await compass.detach(session, person_id=pid)
    await session.execute(
        sa.delete(Outbox).where(
            Outbox.person_id == pid, Outbox.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING])
        )
    )
    cleared = 0
    for message in await session.scalars(sa.select(Outbox).where(Outbox.person_id == pid)):
        message.person_id = None
        message.channel_id = None
        message.message_channel = None
        message.payload = {}
        message.idempotency_key = f"{ERASED}:{message.id}"
        cleared += 1
    await session.execute(
        sa.update(AuditLog).where(AuditLog.actor == slack_user_id).values(actor=ERASED)
    )
    person.slack_user_id = f"{ERASED}-{secrets.token_hex(8)}"
    person.name = ""
    person.real_name = ""
    person.email = None
    person.tz = None
    person.locale = None
    person.dm_channel_id = None
    # a 1:1 chat's reference names the person (Microsoft Teams: their id, their chat)
    await session.execute(
        sa.delete(TeamsConversation).where(
            TeamsConversation.workspace_id == workspace_id,
            TeamsConversation.user_id == slack_user_id,
        )
    )
    person.unreachable_reason = None
    person.home_opened_at = None
    person.erased_at = utcnow()
    await session.flush()
    cells, cancelled = await scrub(
        session, workspace_id=workspace_id, slack_user_id=slack_user_id, names=names
    )
    session.add(
        AuditLog(workspace_id=workspace_id, actor="privacy", action="person.erased", detail={})
    )
    await session.flush()
    return ErasureReport(
        activity_rows_folded=folded,
        messages_cleared=cleared,
        stories_detached=int(stories.rowcount),  # type: ignore[attr-defined]
        cells_scrubbed=cells,
        messages_cancelled=cancelled,
    )


OUTBOX_KEEP_DAYS = 90


async def apply_retention(session: AsyncSession, *, months: int, today: date | None = None) -> int:
    """Fold per-person activity older than `months` into community totals (returns rows folded);
    forget delivered or abandoned messages after OUTBOX_KEEP_DAYS and handled event ids after a week.
    Messages held for a workspace that uninstalled the bot are forgotten after OUTBOX_KEEP_DAYS
    too: they would be dropped as stale on reinstall anyway (bot.installation)."""
    today = today or utcnow().date()
    cutoff = today - timedelta(days=round(months * 30.44))
    folded = await fold_activity(session, where=ActivityDaily.day < cutoff)
    old = datetime.combine(
        today - timedelta(days=OUTBOX_KEEP_DAYS), datetime.min.time(), tzinfo=UTC
    )
    await session.execute(
        sa.delete(Outbox).where(
            sa.or_(
                Outbox.status.in_([OutboxStatus.SENT, OutboxStatus.FAILED, OutboxStatus.CANCELLED]),
                Outbox.workspace_id.in_(installation.revoked_ids()),
            ),
            Outbox.created_at < old,
        )
    )
    await redelivery.forget_older_than(session, days=7)
    return folded
