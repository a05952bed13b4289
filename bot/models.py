"""The database schema: every table of the domain, keyed by workspace (tenant)."""

from __future__ import annotations

import enum
import secrets
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# Identifiers the chat platforms give. Slack's are short (T0123, C0456, U0789, 1700000000.0001);
# Microsoft Teams' are long: a tenant is a GUID, a person "29:1AbC…" (about 90 characters), a 1:1
# conversation "a:1XyZ…" (over 100), a channel "19:…@thread.tacv2". Hence the widths.
WORKSPACE_ID = sa.String(64)
PLATFORM_ID = sa.String(255)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on both databases (SQLite forgets the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored; use datetime.now(UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# Columns that hold prose — what people typed, or messages the bot composed — as opposed to
# identifiers, codes and settings. Erasure (bot/privacy.py) looks for a person's *names* only in
# these (their Slack id, everywhere): a name like "Max" or "Paris" must not rewrite a poll's
# `max` or a zone's "Europe/Paris".
PROSE = {"prose": True}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        datetime: UTCDateTime(),
        dict[str, Any]: sa.JSON(),
        list[Any]: sa.JSON(),
        Decimal: sa.Numeric(14, 2),
    }


def str_enum(enum_cls: type[enum.StrEnum]) -> sa.Enum:
    """A portable enum column: VARCHAR on both databases, values stored as text."""
    return sa.Enum(
        enum_cls,
        native_enum=False,
        length=24,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


# --- enumerations -----------------------------------------------------------------------------


class Role(enum.StrEnum):
    LEADER = "leader"
    CORE_TEAM = "core_team"
    SPONSOR = "sponsor"
    MEMBER = "member"


class CommunityKind(enum.StrEnum):
    SPONTANEOUS = "spontaneous"
    PILOTED = "piloted"


class Stage(enum.StrEnum):
    """The lifecycle as the guides name it (sources/003): préparation, démarrage, croissance,
    réorientation. Set by a leader or a manager (`/cop stage`); health only suggests."""

    PREPARATION = "preparation"
    LAUNCH = "launch"
    GROWTH = "growth"
    REORIENTATION = "reorientation"


class CommunityStatus(enum.StrEnum):
    """Beside the stage: a community may lie dormant, or be closed, at any stage."""

    ACTIVE = "active"
    DORMANT = "dormant"
    CLOSED = "closed"


class ChannelStatus(enum.StrEnum):
    OK = "ok"
    ARCHIVED = "archived"
    GONE = "gone"


class EventKind(enum.StrEnum):
    WEBINAR = "webinar"
    MEETING = "meeting"
    KICK_OFF = "kick_off"
    WORKSHOP = "workshop"
    ANNUAL_GATHERING = "annual_gathering"
    TRAINING = "training"  # a training session (counted apart from webinars and meetings)


class EventStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class RsvpAnswer(enum.StrEnum):
    GOING = "going"
    MAYBE = "maybe"
    DECLINED = "declined"


class Ritual(enum.StrEnum):
    WELCOME = "welcome"
    REMINDERS = "reminders"
    PULSE = "pulse"
    STORIES = "stories"
    DIGEST = "digest"
    SPONSOR_DIGEST = "sponsor_digest"  # each quarter, a community's value to its sponsor
    OBJECTIVES = "objectives"  # each quarter, leaders update their charter objectives' status
    SURVEY = "survey"  # the programme's annual member survey
    LEADERS_DIGEST = "leaders_digest"  # each month, the leaders' community's digest
    EVENT_FEEDBACK = "event_feedback"  # after an event, the organiser's « animation » checklist


class Delivery(enum.StrEnum):
    DM = "dm"
    CHANNEL = "channel"


class RunStatus(enum.StrEnum):
    DONE = "done"
    SKIPPED = "skipped"
    FAILED = "failed"


class PollStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class StoryStatus(enum.StrEnum):
    SUBMITTED = "submitted"
    VALIDATED = "validated"
    REJECTED = "rejected"


class StoryKind(enum.StrEnum):
    """A success story (context, contribution, benefit) or a one-sentence testimonial."""

    STORY = "story"
    TESTIMONIAL = "testimonial"


class ValueKind(enum.StrEnum):
    IMMEDIATE = "immediate"
    POTENTIAL = "potential"
    APPLIED = "applied"
    REALISED = "realised"
    REFRAMING = "reframing"


class ObjectiveStatus(enum.StrEnum):
    IN_PROGRESS = "in_progress"
    ACHIEVED = "achieved"
    DROPPED = "dropped"


class PollKind(enum.StrEnum):
    PULSE = "pulse"
    SURVEY = "survey"  # one community's share of the annual member survey (a SurveyCampaign)


class ProposalStatus(enum.StrEnum):
    """A member's proposal of a new community, as the programme managers decide on it."""

    PENDING = "pending"
    MORE_INFO = "more_info"  # a manager asked the proposer for more; they may complete it
    ACCEPTED = "accepted"
    DECLINED = "declined"


class SeriesFrequency(enum.StrEnum):
    """How a recurring series of events repeats (an RFC 5545 RRULE, in the organiser's zone)."""

    WEEKLY = "weekly"
    BIWEEKLY = "biweekly"  # every two weeks
    MONTHLY = "monthly"  # monthly on the nth weekday (nth = -1: the last)


class SeriesAnnounce(enum.StrEnum):
    """One announcement per occurrence, or one message for the whole series."""

    EACH = "each"
    SERIES = "series"


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


class PreferenceState(enum.StrEnum):
    OFF = "off"
    SNOOZED = "snoozed"


# --- tables ----------------------------------------------------------------------------------


class Workspace(Base):
    """A Slack workspace (tenant); every other table is keyed by it."""

    __tablename__ = "workspace"

    id: Mapped[str] = mapped_column(WORKSPACE_ID, primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    token_revoked_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Person(Base):
    """A Slack user as the bot knows them: enough to address, never message content."""

    __tablename__ = "person"
    __table_args__ = (sa.UniqueConstraint("workspace_id", "slack_user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(sa.ForeignKey("workspace.id"), index=True)
    # the person's id on their platform (Slack's user id, or Teams' "29:…" id); the column
    # keeps its first name
    slack_user_id: Mapped[str] = mapped_column(PLATFORM_ID)
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    real_name: Mapped[str] = mapped_column(sa.String(200), default="")
    tz: Mapped[str | None] = mapped_column(sa.String(64))
    locale: Mapped[str | None] = mapped_column(sa.String(16))
    is_bot: Mapped[bool] = mapped_column(default=False)
    deleted: Mapped[bool] = mapped_column(default=False)
    dm_channel_id: Mapped[str | None] = mapped_column(PLATFORM_ID)
    # the work e-mail, when the platform gives it: one person in Slack and in Teams is counted
    # once across the programme (bot.kpis), never shown
    email: Mapped[str | None] = mapped_column(sa.String(320), index=True)
    unreachable_reason: Mapped[str | None] = mapped_column(sa.String(64))
    erased_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # when they last opened their App Home (app_home_opened): after a change, only the Homes
    # opened recently are republished (bot.home.recent_viewers); the rest are fresh on next open
    home_opened_at: Mapped[datetime | None]


class Community(Base):
    """A community of practice, living in one Slack channel."""

    __tablename__ = "community"
    __table_args__ = (
        sa.UniqueConstraint("workspace_id", "slug"),
        sa.UniqueConstraint("workspace_id", "channel_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(sa.ForeignKey("workspace.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    slug: Mapped[str] = mapped_column(sa.String(80))
    channel_id: Mapped[str] = mapped_column(PLATFORM_ID)
    kind: Mapped[CommunityKind] = mapped_column(
        str_enum(CommunityKind), default=CommunityKind.SPONTANEOUS
    )
    stage: Mapped[Stage] = mapped_column(str_enum(Stage), default=Stage.LAUNCH)
    status: Mapped[CommunityStatus] = mapped_column(
        str_enum(CommunityStatus), default=CommunityStatus.ACTIVE
    )
    stage_changed_at: Mapped[datetime | None]
    language: Mapped[str | None] = mapped_column(sa.String(8))
    tz: Mapped[str | None] = mapped_column(sa.String(64))
    channel_status: Mapped[ChannelStatus] = mapped_column(
        str_enum(ChannelStatus), default=ChannelStatus.OK
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    archived_at: Mapped[datetime | None]


class Membership(Base):
    """One stint of a person in a community; leaving closes it, rejoining opens a new one."""

    __tablename__ = "membership"
    __table_args__ = (sa.Index("ix_membership_active", "community_id", "person_id", "left_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(sa.ForeignKey("workspace.id"), index=True)
    community_id: Mapped[int] = mapped_column(sa.ForeignKey("community.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(
        sa.ForeignKey("person.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[Role] = mapped_column(str_enum(Role), default=Role.MEMBER)
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)
    left_at: Mapped[datetime | None]
    source: Mapped[str] = mapped_column(sa.String(16), default="sync")


class CharterVersion(Base):
    """A version of a community's charter; saving adds a version, never overwrites one."""

    __tablename__ = "charter_version"
    __table_args__ = (sa.UniqueConstraint("community_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(sa.ForeignKey("workspace.id"), index=True)
    community_id: Mapped[int] = mapped_column(sa.ForeignKey("community.id", ondelete="CASCADE"))
    version: Mapped[int]
    mission: Mapped[str] = mapped_column(sa.Text, default="", info=PROSE)
    ambition: Mapped[str] = mapped_column(sa.Text, default="", info=PROSE)
    objectives: Mapped[list[Any]] = mapped_column(default=list, info=PROSE)
    objectives_year: Mapped[int | None]
    values: Mapped[str] = mapped_column(sa.Text, default="", info=PROSE)
    member_benefits: Mapped[str] = mapped_column(sa.Text, default="", info=PROSE)
    organisation_benefits: Mapped[str] = mapped_column(sa.Text, default="", info=PROSE)
    roles: Mapped[str] = mapped_column(sa.Text, default="", info=PROSE)
    collective_benefits: Mapped[str] = mapped_column(sa.Text, default="", info=PROSE)
    stakeholders: Mapped[str] = mapped_column(sa.Text, default="", info=PROSE)
    resource_needs: Mapped[str] = mapped_column(sa.Text, default="", info=PROSE)
    animation_plan: Mapped[str] = mapped_column(sa.Text, default="", info=PROSE)
    indicators: Mapped[list[Any]] = mapped_column(default=list, info=PROSE)
    author_person_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("person.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StageChange(Base):
    """One move of a community along its lifecycle, or in or out of dormancy: who, when, why."""

    __tablename__ = "stage_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(sa.ForeignKey("workspace.id"), index=True)
    community_id: Mapped[int] = mapped_column(
        sa.ForeignKey("community.id", ondelete="CASCADE"), index=True
    )
    from_stage: Mapped[Stage | None] = mapped_column(str_enum(Stage))
    to_stage: Mapped[Stage] = mapped_column(str_enum(Stage))
    from_status: Mapped[CommunityStatus | None] = mapped_column(str_enum(CommunityStatus))
    to_status: Mapped[CommunityStatus] = mapped_column(str_enum(CommunityStatus))
    by_person_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("person.id", ondelete="SET NULL")
    )
    reason: Mapped[str] = mapped_column(sa.Text, default="", info=PROSE)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class CharterObjective(Base):
    """One objective of a community's charter for a year, with the status its leaders give it
    and, optionally, the bot's figure (bot/figures.py key) that measures it."""

    __tablename__ = "charter_objective"
    __table_args__ = (sa.Index("ix_charter_objective_community_year", "community_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(sa.ForeignKey("workspace.id"), index=True)
    community_id: Mapped[int] = mapped_column(sa.ForeignKey("community.id", ondelete="CASCADE"))
    year: Mapped[int]
    position: Mapped[int] = mapped_column(default=0)
    text: Mapped[str] = mapped_column(sa.Text, info=PROSE)
    status: Mapped[ObjectiveStatus] = mapped_column(
        str_enum(ObjectiveStatus), default=ObjectiveStatus.IN_PROGRESS
    )
    indicator: Mapped[str | None] = mapped_column(sa.String(40))
    target: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 4))  # 62.5 % is 0.625
    updated_by_person_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("person.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CompassAssessment(Base):
    """One round of the maturity compass (la boussole) for a community: each core-team member
    answers once (and may change their answers while it is open); the bot aggregates."""

    __tablename__ = "compass_assessment"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(sa.ForeignKey("workspace.id"), index=True)
    community_id: Mapped[int] = mapped_column(
        sa.ForeignKey("community.id", ondelete="CASCADE"), index=True
    )
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    opened_by_person_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("person.id", ondelete="SET NULL")
    )
    closed_at: Mapped[datetime | None]


class CompassResponse(Base):
    """One person's answers to a compass round (statement key → 1..4), or, with no person and
    source "survey", what the annual survey's answers say of the dimensions they inform."""

    __tablename__ = "compass_response"
    __table_args__ = (sa.UniqueConstraint("assessment_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(sa.ForeignKey("workspace.id"), index=True)
    assessment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("compass_assessment.id", ondelete="CASCADE")
    )
    person_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("person.id", ondelete="SET NULL"), index=True
    )
    source: Mapped[str] = mapped_column(sa.String(16), default="self")
    scores: Mapped[dict[str, Any]] = mapped_column(default=dict)
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SurveyCampaign(Base):
    """The programme's annual member survey for one year: its questionnaire and cover message
    (as the manager last edited them), its window, and its reminder. Each community's share is a
    Poll of kind "survey", answered under the same anonymity as the pulse."""

    __tablename__ = "survey_campaign"
    __table_args__ = (sa.UniqueConstraint("workspace_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(sa.ForeignKey("workspace.id"), index=True)
    year: Mapped[int]
    questions: Mapped[list[Any]] = mapped_column(default=list)
    cover: Mapped[dict[str, Any]] = mapped_column(default=dict, info=PROSE)
    opens_at: Mapped[datetime]
    closes_at: Mapped[datetime]
    status: Mapped[PollStatus] = mapped_column(str_enum(PollStatus), default=PollStatus.OPEN)
    reminder_sent_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Event(Base):
    """A webinar, meeting or gathering of a community; times stored in UTC."""

    __tablename__ = "event"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(sa.ForeignKey("workspace.id"), index=True)
    community_id: Mapped[int] = mapped_column(
        sa.ForeignKey("community.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(sa.String(150), info=PROSE)
    kind: Mapped[EventKind] = mapped_column(str_enum(EventKind), default=EventKind.WEBINAR)
    starts_at: Mapped[datetime] = mapped_column(index=True)
    duration_minutes: Mapped[int] = mapped_column(default=60)
    tz: Mapped[str] = mapped_column(sa.String(64))
    link: Mapped[str | None] = mapped_column(sa.String(1000))
    description: Mapped[str] = mapped_column(sa.Text, default="", info=PROSE)
    status: Mapped[EventStatus] = mapped_column(
        str_enum(EventStatus), default=EventStatus.SCHEDULED
    )
    channel_id: Mapped[str | None] = mapped_column(PLATFORM_ID)
    message_ts: Mapped[str | None] = mapped_column(PLATFORM_ID)
    attendance_count: Mapped[int | None]
    created_by_person_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("person.id", ondelete="SET NULL")
    )
    submission_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    sequence: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # An occurrence of a recurring series; `series_detached` once edited on its own, so that
    # editing the whole series leaves it as it is.
    series_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("event_series.id", ondelete="CASCADE"), index=True
    )
    series_detached: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # When the organiser was sent the guides' « animation » feedback checklist (bot.feedback)
    feedback_requested_at: Mapped[datetime | None]


class EventSeries(Base):
    """A recurring series of a community's events: the rule, and what each occurrence copies.

    Occurrences are Event rows (series_id), created ahead of time over a rolling horizon; the
    rule is kept as fields (an RRULE in the organiser's time zone `tz`) so it can be edited.
    """

    __tablename__ = "event_series"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(sa.ForeignKey("workspace.id"), index=True)
    community_id: Mapped[int] = mapped_column(
        sa.ForeignKey("community.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(sa.String(150), info=PROSE)
    kind: Mapped[EventKind] = mapped_column(str_enum(EventKind), default=EventKind.MEETING)
    description: Mapped[str] = mapped_column(sa.Text, default="", info=PROSE)
    link: Mapped[str | None] = mapped_column(sa.String(1000))
    tz: Mapped[str] = mapped_column(sa.String(64))
    first_starts_at: Mapped[datetime]  # the first occurrence, UTC
    duration_minutes: Mapped[int] = mapped_column(default=60)
    frequency: Mapped[SeriesFrequency] = mapped_column(str_enum(SeriesFrequency))
    nth: Mapped[int | None]  # monthly: 1..4, or -1 for the last such weekday of the month
    until: Mapped[date | None]  # last day (organiser's zone), or None with `count`, or open
    count: Mapped[int | None]
    announce: Mapped[SeriesAnnounce] = mapped_column(
        str_enum(SeriesAnnounce), default=SeriesAnnounce.EACH
    )
    status: Mapped[EventStatus] = mapped_column(
        str_enum(EventStatus), default=EventStatus.SCHEDULED
    )
    channel_id: Mapped[str | None] = mapped_column(PLATFORM_ID)
    message_ts: Mapped[str | None] = mapped_column(PLATFORM_ID)  # the series view, if posted
    created_by_person_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("person.id", ondelete="SET NULL")
    )
    submission_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    sequence: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class EventFeedback(Base):
    """The organiser's answers to the guides' short « animation » checklist after an event
    (item key → answer), which also count as a voice in the community's compass."""

    __tablename__ = "event_feedback"
    __table_args__ = (sa.UniqueConstraint("event_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(sa.ForeignKey("workspace.id"), index=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("event.id", ondelete="CASCADE"))
    person_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("person.id", ondelete="SET NULL"), index=True
    )
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    comment: Mapped[str | None] = mapped_column(sa.Text, info=PROSE)
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CommunityProposal(Base):
    """A member's proposal of a new community (name, purpose, who else is interested), which
    the programme managers accept, decline or send back for more; accepting registers it."""

    __tablename__ = "community_proposal"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(sa.ForeignKey("workspace.id"), index=True)
    proposer_person_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("person.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(120), info=PROSE)
    purpose: Mapped[str] = mapped_column(sa.Text, default="", info=PROSE)
    interested: Mapped[list[Any]] = mapped_column(default=list)  # Slack user ids
    channel_name: Mapped[str | None] = mapped_column(sa.String(80))  # wished, or an existing one
    status: Mapped[ProposalStatus] = mapped_column(
        str_enum(ProposalStatus), default=ProposalStatus.PENDING
    )
    decided_by_person_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("person.id", ondelete="SET NULL")
    )
    decision_note: Mapped[str | None] = mapped_column(sa.Text, info=PROSE)
    community_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("community.id", ondelete="SET NULL")
    )
    # Where the managers were told ([channel, ts] pairs), to update those messages in place
    manager_messages: Mapped[list[Any]] = mapped_column(default=list)
    submission_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    decided_at: Mapped[datetime | None]


class EventRsvp(Base):
    """A person's answer to an event; one row per person, changed in place."""

    __tablename__ = "event_rsvp"
    __table_args__ = (sa.UniqueConstraint("event_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(sa.ForeignKey("workspace.id"), index=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("event.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(
        sa.ForeignKey("person.id", ondelete="CASCADE"), index=True
    )
    answer: Mapped[RsvpAnswer] = mapped_column(str_enum(RsvpAnswer))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class EventAttendance(Base):
    """Who came to an event, when the leader records names rather than a count."""

    __tablename__ = "event_attendance"

    event_id: Mapped[int] = mapped_column(
        sa.ForeignKey("event.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(
        sa.ForeignKey("person.id", ondelete="CASCADE"), primary_key=True
    )
    workspace_id: Mapped[str] = mapped_column(sa.ForeignKey("workspace.id"), index=True)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class RitualSetting(Base):
    """How one ritual runs in one community, and when it runs next (the durable schedule)."""

    __tablename__ = "ritual_setting"
    __table_args__ = (sa.UniqueConstraint("community_id", "ritual"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(sa.ForeignKey("workspace.id"), index=True)
    community_id: Mapped[int] = mapped_column(sa.ForeignKey("community.id", ondelete="CASCADE"))
    ritual: Mapped[Ritual] = mapped_column(str_enum(Ritual))
    enabled: Mapped[bool] = mapped_column(default=True)
    cadence: Mapped[str | None] = mapped_column(sa.String(24))
    delivery: Mapped[Delivery] = mapped_column(str_enum(Delivery), default=Delivery.DM)
    target_channel_id: Mapped[str | None] = mapped_column(PLATFORM_ID)
    template: Mapped[str | None] = mapped_column(sa.Text, info=PROSE)
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    next_run_at: Mapped[datetime | None] = mapped_column(index=True)
    last_run_at: Mapped[datetime | None]
    last_result: Mapped[str | None] = mapped_column(sa.String(200))


class RitualRun(Base):
    """One due run of a ritual: done, or skipped when it was missed beyond the grace period."""

    __tablename__ = "ritual_run"
    __table_args__ = (sa.UniqueConstraint("community_id", "ritual", "period_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(sa.ForeignKey("workspace.id"), index=True)
    community_id: Mapped[int] = mapped_column(sa.ForeignKey("community.id", ondelete="CASCADE"))
    ritual: Mapped[Ritual] = mapped_column(str_enum(Ritual))
    period_key: Mapped[str] = mapped_column(sa.String(40))
    due_at: Mapped[datetime]
    ran_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[RunStatus] = mapped_column(str_enum(RunStatus))
    detail: Mapped[str] = mapped_column(sa.String(500), default="", info=PROSE)


class RitualPreference(Base):
    """A member's own choice to snooze or turn off one kind of ritual DM."""

    __tablename__ = "ritual_preference"
    __table_args__ = (sa.UniqueConstraint("person_id", "ritual"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(sa.ForeignKey("workspace.id"), index=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"))
    ritual: Mapped[Ritual] = mapped_column(str_enum(Ritual))
    state: Mapped[PreferenceState] = mapped_column(str_enum(PreferenceState))
    until: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Poll(Base):
    """A pulse poll of one community for one period.

    Anonymity (bot/polls.py, docs/privacy.md): answers carry a ballot derived from a key kept
    outside the database and `ballot_salt`, which lets a member change their answer while the
    poll is open; at close the salt is wiped and the answers rewritten shuffled under random
    ballots, after which no answer can be linked back to anyone.
    """

    __tablename__ = "poll"
    __table_args__ = (sa.UniqueConstraint("community_id", "period_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(sa.ForeignKey("workspace.id"), index=True)
    community_id: Mapped[int] = mapped_column(sa.ForeignKey("community.id", ondelete="CASCADE"))
    period_key: Mapped[str] = mapped_column(sa.String(40))
    questions: Mapped[list[Any]] = mapped_column(default=list)
    anonymous: Mapped[bool] = mapped_column(default=True)
    delivery: Mapped[Delivery] = mapped_column(str_enum(Delivery), default=Delivery.DM)
    ballot_salt: Mapped[str | None] = mapped_column(sa.String(64))
    opens_at: Mapped[datetime]
    closes_at: Mapped[datetime] = mapped_column(index=True)
    status: Mapped[PollStatus] = mapped_column(str_enum(PollStatus), default=PollStatus.OPEN)
    reminder_sent_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    share_summary: Mapped[bool] = mapped_column(default=False)
    kind: Mapped[PollKind] = mapped_column(str_enum(PollKind), default=PollKind.PULSE)
    campaign_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("survey_campaign.id", ondelete="CASCADE"), index=True
    )
    # A leader may hold a survey's results back from the channel; the manager sees why.
    results_held_reason: Mapped[str | None] = mapped_column(sa.Text, info=PROSE)
    results_held_by_person_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("person.id", ondelete="SET NULL")
    )
    results_posted_ts: Mapped[str | None] = mapped_column(PLATFORM_ID)


class PollDelivery(Base):
    """Who was asked (for the response rate and the reminder): never whether or when they
    answered, which only the ballot key can tell while the poll is open."""

    __tablename__ = "poll_delivery"
    __table_args__ = (sa.UniqueConstraint("poll_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(sa.ForeignKey("workspace.id"), index=True)
    poll_id: Mapped[int] = mapped_column(sa.ForeignKey("poll.id", ondelete="CASCADE"))
    person_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("person.id", ondelete="SET NULL"), index=True
    )
    delivered_at: Mapped[datetime | None]


def random_row_id() -> int:
    """A row id that says nothing of when the row was written (63 bits, positive)."""
    return secrets.randbelow(2**62) + 1


class PollResponse(Base):
    """One answer to one question: no person id, no date, a random id; only a ballot that the
    key outside the database links to a member while the poll is open."""

    __tablename__ = "poll_response"
    __table_args__ = (sa.UniqueConstraint("poll_id", "ballot", "question_key"),)

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        autoincrement=False,
        default=random_row_id,
    )
    workspace_id: Mapped[str] = mapped_column(sa.ForeignKey("workspace.id"), index=True)
    poll_id: Mapped[int] = mapped_column(sa.ForeignKey("poll.id", ondelete="CASCADE"))
    ballot: Mapped[str] = mapped_column(sa.String(64))
    question_key: Mapped[str] = mapped_column(sa.String(40))
    score: Mapped[int | None]
    comment: Mapped[str | None] = mapped_column(sa.Text, info=PROSE)


class SuccessStory(Base):
    """A member's account of value the community created, with its quantified benefit."""

    __tablename__ = "success_story"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(sa.ForeignKey("workspace.id"), index=True)
    community_id: Mapped[int] = mapped_column(
        sa.ForeignKey("community.id", ondelete="CASCADE"), index=True
    )
    author_person_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("person.id", ondelete="SET NULL")
    )
    title: Mapped[str] = mapped_column(sa.String(150), default="", info=PROSE)
    context: Mapped[str] = mapped_column(sa.Text, default="", info=PROSE)
    contribution: Mapped[str] = mapped_column(sa.Text, default="", info=PROSE)
    benefit: Mapped[str] = mapped_column(sa.Text, default="", info=PROSE)
    value_amount: Mapped[Decimal | None]
    value_unit: Mapped[str | None] = mapped_column(sa.String(24))
    people_involved: Mapped[str] = mapped_column(sa.Text, default="", info=PROSE)
    shareable: Mapped[bool] = mapped_column(default=False)
    value_kind: Mapped[ValueKind | None] = mapped_column(str_enum(ValueKind))
    status: Mapped[StoryStatus] = mapped_column(
        str_enum(StoryStatus), default=StoryStatus.SUBMITTED
    )
    validated_by_person_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("person.id", ondelete="SET NULL")
    )
    submission_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    validated_at: Mapped[datetime | None]
    posted_ts: Mapped[str | None] = mapped_column(PLATFORM_ID)
    kind: Mapped[StoryKind] = mapped_column(
        str_enum(StoryKind), default=StoryKind.STORY, server_default=StoryKind.STORY.value
    )


class ActivityDaily(Base):
    """Counters of one person's activity in one community on one day: never message text.

    `person_id` is NULL on rows rolled up by retention or erasure: they keep community totals.
    """

    __tablename__ = "activity_daily"
    __table_args__ = (
        sa.UniqueConstraint("community_id", "person_id", "day"),
        sa.Index("ix_activity_daily_community_day", "community_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(sa.ForeignKey("workspace.id"), index=True)
    community_id: Mapped[int] = mapped_column(sa.ForeignKey("community.id", ondelete="CASCADE"))
    person_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("person.id", ondelete="SET NULL"), index=True
    )
    day: Mapped[date]
    messages: Mapped[int] = mapped_column(default=0)
    replies: Mapped[int] = mapped_column(default=0)
    reactions: Mapped[int] = mapped_column(default=0)


class KpiSnapshot(Base):
    """KPIs of one scope (a community, or the programme) for one period."""

    __tablename__ = "kpi_snapshot"
    __table_args__ = (sa.UniqueConstraint("workspace_id", "scope", "period", "period_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(sa.ForeignKey("workspace.id"), index=True)
    community_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("community.id", ondelete="CASCADE")
    )
    scope: Mapped[str] = mapped_column(sa.String(40))
    period: Mapped[str] = mapped_column(sa.String(8))
    period_start: Mapped[date]
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)


class BackfillState(Base):
    """Where a backfill of one channel stands, so an interrupted one resumes."""

    __tablename__ = "backfill_state"
    __table_args__ = (sa.UniqueConstraint("community_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(sa.ForeignKey("workspace.id"), index=True)
    community_id: Mapped[int] = mapped_column(sa.ForeignKey("community.id", ondelete="CASCADE"))
    oldest: Mapped[str] = mapped_column(sa.String(32))
    latest: Mapped[str] = mapped_column(sa.String(32))
    cursor: Mapped[str | None] = mapped_column(sa.String(500))
    done_ts: Mapped[list[Any]] = mapped_column(default=list)
    finished_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Outbox(Base):
    """A message the bot owes; written before it is sent, so a crash neither loses nor doubles it."""

    __tablename__ = "outbox"
    __table_args__ = (sa.Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(sa.ForeignKey("workspace.id"), index=True)
    idempotency_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    community_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("community.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("person.id", ondelete="SET NULL"), index=True
    )
    channel_id: Mapped[str | None] = mapped_column(PLATFORM_ID)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict, info=PROSE)
    status: Mapped[str] = mapped_column(sa.String(16), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(sa.String(64))
    claimed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.String(200))
    sent_at: Mapped[datetime | None]
    message_channel: Mapped[str | None] = mapped_column(PLATFORM_ID)
    message_ts: Mapped[str | None] = mapped_column(PLATFORM_ID)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProcessedEvent(Base):
    """Slack event ids already handled: Slack redelivers, we count once."""

    __tablename__ = "processed_event"

    event_id: Mapped[str] = mapped_column(PLATFORM_ID, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(WORKSPACE_ID)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class AuditLog(Base):
    """Who changed what: roles, charters, events, rituals, privacy requests."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(sa.ForeignKey("workspace.id"), index=True)
    actor: Mapped[str] = mapped_column(PLATFORM_ID)
    action: Mapped[str] = mapped_column(sa.String(64))
    community_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("community.id", ondelete="SET NULL")
    )
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict, info=PROSE)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class SlackInstallation(Base):
    """The bot's token in one workspace, or in a whole Enterprise Grid organisation (an org-wide
    install: `is_enterprise_install`, workspace_id ""), from Slack's OAuth flow (bot/slack/oauth.py).
    Only in OAuth mode (SLACK_CLIENT_ID / SLACK_CLIENT_SECRET); the single-token mode keeps
    SLACK_BOT_TOKEN and this table empty. An uninstall deletes the row; installing again writes
    it again. `workspace_id` (Slack's team id) and `enterprise_id` are "" rather than NULL so the pair is unique."""

    __tablename__ = "slack_installation"
    __table_args__ = (sa.UniqueConstraint("enterprise_id", "workspace_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(sa.String(32), default="")
    workspace_id: Mapped[str] = mapped_column(sa.String(32), default="", index=True)
    is_enterprise_install: Mapped[bool] = mapped_column(default=False)
    enterprise_name: Mapped[str] = mapped_column(sa.String(200), default="")
    team_name: Mapped[str] = mapped_column(sa.String(200), default="")
    app_id: Mapped[str] = mapped_column(sa.String(32), default="")
    bot_token: Mapped[str] = mapped_column(sa.String(255))
    bot_id: Mapped[str] = mapped_column(sa.String(32), default="")
    bot_user_id: Mapped[str] = mapped_column(sa.String(32), default="")
    bot_scopes: Mapped[str] = mapped_column(sa.Text, default="")
    installer_user_id: Mapped[str] = mapped_column(sa.String(32), default="")
    installed_at: Mapped[datetime] = mapped_column(default=utcnow)


class SlackEnterpriseTeam(Base):
    """Which Enterprise Grid organisation a workspace belongs to, learnt from the requests Slack
    sends: background work (the outbox, the rituals) knows only a workspace id and needs its
    organisation to find an org-wide install's token."""

    __tablename__ = "slack_enterprise_team"

    workspace_id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(sa.String(32))
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class SendPace(Base):
    """One workspace's pace for one Slack method, shared by every process that calls it.

    Times are seconds since the epoch (the processes' wall clocks): `next_at` is the first call
    slot nobody has reserved yet, `paused_until` the end of the latest Retry-After Slack announced
    to any of them (rituals.outbox.pacing.SharedPacer)."""

    __tablename__ = "send_pace"

    workspace_id: Mapped[str] = mapped_column(WORKSPACE_ID, primary_key=True)
    method: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    next_at: Mapped[float] = mapped_column(sa.Float, default=0.0)
    paused_until: Mapped[float] = mapped_column(sa.Float, default=0.0)


class TeamsConversation(Base):
    """Where the bot can write in Microsoft Teams without being spoken to first (a proactive
    message needs the conversation's id and the service URL Teams gave with it): a person's 1:1
    chat with the bot (`kind` "personal", `user_id` theirs) or a team's channel ("channel",
    `team_id` the team whose roster is its members). Learnt from every activity Teams sends."""

    __tablename__ = "teams_conversation"

    workspace_id: Mapped[str] = mapped_column(sa.ForeignKey("workspace.id"), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(PLATFORM_ID, primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    service_url: Mapped[str] = mapped_column(sa.String(500))
    user_id: Mapped[str | None] = mapped_column(PLATFORM_ID, index=True)
    team_id: Mapped[str | None] = mapped_column(PLATFORM_ID)
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
