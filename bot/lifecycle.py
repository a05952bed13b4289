"""The lifecycle as the guides name it (sources/003): préparation → démarrage → croissance →
réorientation, with "dormant" and "closed" as a status beside the stage.

A leader or a programme manager sets the stage (`set_stage`, which keeps the history in
stage_change and the audit log); the bot only suggests a move, from health's signals and each
stage's checklist, and says why (`suggest`). Each stage has a short checklist of next actions,
ticked from the data wherever the data can tell (`facts` reads what it needs for many
communities in a fixed number of queries; `checklist` is a pure function of it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot import audit, people
from bot.config import Programme
from bot.errors import Conflict, InvalidInput
from bot.health import Health, Reason, Status
from bot.models import (
    AuditLog,
    CharterVersion,
    Community,
    CommunityStatus,
    CompassAssessment,
    Event,
    EventStatus,
    Membership,
    Person,
    Ritual,
    RitualSetting,
    Role,
    Stage,
    StageChange,
    StoryStatus,
    SuccessStory,
    utcnow,
)
from bot.permissions import Action, Actor, require
from bot.programme import Workspaces
from bot.programme import where as in_workspaces

ORDER = (Stage.PREPARATION, Stage.LAUNCH, Stage.GROWTH, Stage.REORIENTATION)
RECENT_EVENT_DAYS = 90  # growth: "an event in the last 90 days"
REDESIGN_TALK = "lifecycle.redesign_talk"  # the audit action a redesign conversation leaves
STAGE_SET = "lifecycle.stage_set"
# What people type (/cop stage, the CLI): English and French, with or without accents.
STAGE_WORDS: dict[str, Stage] = {
    "preparation": Stage.PREPARATION,
    "préparation": Stage.PREPARATION,
    "prep": Stage.PREPARATION,
    "launch": Stage.LAUNCH,
    "demarrage": Stage.LAUNCH,
    "démarrage": Stage.LAUNCH,
    "lancement": Stage.LAUNCH,
    "growth": Stage.GROWTH,
    "croissance": Stage.GROWTH,
    "reorientation": Stage.REORIENTATION,
    "réorientation": Stage.REORIENTATION,
    "redesign": Stage.REORIENTATION,
}
STATUS_WORDS: dict[str, CommunityStatus] = {
    "active": CommunityStatus.ACTIVE,
    "actif": CommunityStatus.ACTIVE,
    "active_again": CommunityStatus.ACTIVE,
    "rouvrir": CommunityStatus.ACTIVE,
    "rouverte": CommunityStatus.ACTIVE,
    "reopen": CommunityStatus.ACTIVE,
    "dormant": CommunityStatus.DORMANT,
    "sommeil": CommunityStatus.DORMANT,
    "en_sommeil": CommunityStatus.DORMANT,
    "closed": CommunityStatus.CLOSED,
    "close": CommunityStatus.CLOSED,
    "fermee": CommunityStatus.CLOSED,
    "fermée": CommunityStatus.CLOSED,
}
# The guides' kick-off meeting (sources/000: « réunion de lancement »; sources/003: the
# 'Scénario réunion kick-off' template), as the steps a leader can paste into the event.
KICKOFF_OUTLINE = (
    "lifecycle.kickoff.welcome",
    "lifecycle.kickoff.sponsor",
    "lifecycle.kickoff.charter",
    "lifecycle.kickoff.round",
    "lifecycle.kickoff.rituals",
    "lifecycle.kickoff.next",
)


def parse_stage(word: str) -> Stage:
    found = STAGE_WORDS.get(word.strip().lower())
    if found is None:
        raise InvalidInput("lifecycle.bad_stage", value=word[:40])
    return found


def parse_status(word: str) -> CommunityStatus:
    found = STATUS_WORDS.get(word.strip().lower())
    if found is None:
        raise InvalidInput("lifecycle.bad_status", value=word[:40])
    return found


# --- what the data says of one community --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Facts:
    """What the checklists look at, for one community, as of `now`."""

    community_id: int
    stage: Stage
    status: CommunityStatus
    stage_changed_at: datetime | None
    now: datetime
    leaders: int = 0
    core_team: int = 0
    sponsors: int = 0
    charter_saved: bool = False
    charter_objectives: bool = False
    events: int = 0  # not cancelled, ever
    last_event_at: datetime | None = None  # held (started before now)
    pulse_on: bool = False
    stories_on: bool = False
    stories_validated: int = 0
    redesign_talk_at: datetime | None = None  # since the stage last changed
    compass_since_change: bool = False


@dataclass(frozen=True, slots=True)
class Item:
    """One next action of a stage's checklist; `done` None when no data can tell."""

    key: str
    done: bool | None
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Checklist:
    stage: Stage
    items: tuple[Item, ...]

    @property
    def open_items(self) -> tuple[Item, ...]:
        return tuple(i for i in self.items if not i.done)

    @property
    def complete(self) -> bool:
        return all(i.done for i in self.items)


def checklist(f: Facts) -> Checklist:
    """The next actions of the community's stage, each ticked from the data."""
    items: tuple[Item, ...]
    if f.stage == Stage.PREPARATION:
        items = (
            Item("lifecycle.item.leader", f.leaders > 0),
            Item("lifecycle.item.charter_draft", f.charter_saved),
            Item("lifecycle.item.sponsor", f.sponsors > 0),
        )
    elif f.stage == Stage.LAUNCH:
        items = (
            Item("lifecycle.item.charter_objectives", f.charter_saved and f.charter_objectives),
            Item("lifecycle.item.core_team", f.core_team > 0),
            Item("lifecycle.item.kickoff", f.events > 0),
        )
    elif f.stage == Stage.GROWTH:
        recent = f.last_event_at is not None and f.now - f.last_event_at <= timedelta(
            days=RECENT_EVENT_DAYS
        )
        items = (
            Item("lifecycle.item.rituals", f.pulse_on and f.stories_on),
            Item("lifecycle.item.first_story", f.stories_validated > 0),
            Item("lifecycle.item.recent_event", recent, {"days": RECENT_EVENT_DAYS}),
        )
    else:
        items = (
            Item("lifecycle.item.redesign_talk", f.redesign_talk_at is not None),
            Item("lifecycle.item.compass", f.compass_since_change),
        )
    return Checklist(f.stage, items)


def ritual_defaults(programme: Programme) -> dict[Ritual, bool]:
    """Whether pulse and stories run where a community has not changed them (app.yaml)."""
    r = programme.rituals
    return {Ritual.PULSE: r.pulse.enabled, Ritual.STORIES: r.stories.enabled}


async def facts(
    session: AsyncSession,
    *,
    workspace_id: Workspaces,
    community_ids: Iterable[int],
    defaults: Mapping[Ritual, bool],
    now: datetime | None = None,
) -> dict[int, Facts]:
    """The checklists' facts for these communities, in a fixed number of queries."""
    now = now or utcnow()
    ids = list(community_ids)
    if not ids:
        return {}
    base: dict[int, dict[str, Any]] = {}
    for cid, stage, status, changed in await session.execute(
        sa.select(
            Community.id, Community.stage, Community.status, Community.stage_changed_at
        ).where(in_workspaces(Community.workspace_id, workspace_id), Community.id.in_(ids))
    ):
        base[cid] = {
            "community_id": cid,
            "stage": stage,
            "status": status,
            "stage_changed_at": changed,
            "now": now,
            "pulse_on": defaults.get(Ritual.PULSE, False),
            "stories_on": defaults.get(Ritual.STORIES, False),
        }
    ids = list(base)
    if not ids:
        return {}
    roles = {Role.LEADER: "leaders", Role.CORE_TEAM: "core_team", Role.SPONSOR: "sponsors"}
    for cid, role, n in await session.execute(
        sa.select(Membership.community_id, Membership.role, sa.func.count())
        .join(Person, Person.id == Membership.person_id)
        .where(
            Membership.community_id.in_(ids),
            Membership.left_at.is_(None),
            Membership.role.in_(list(roles)),
            people.IS_PERSON,
        )
        .group_by(Membership.community_id, Membership.role)
    ):
        base[cid][roles[role]] = int(n)
    latest = (
        sa.select(CharterVersion.community_id, sa.func.max(CharterVersion.version).label("v"))
        .where(CharterVersion.community_id.in_(ids))
        .group_by(CharterVersion.community_id)
        .subquery()
    )
    for cid, objectives in await session.execute(
        sa.select(CharterVersion.community_id, CharterVersion.objectives).join(
            latest,
            sa.and_(
                latest.c.community_id == CharterVersion.community_id,
                latest.c.v == CharterVersion.version,
            ),
        )
    ):
        base[cid] |= {"charter_saved": True, "charter_objectives": bool(objectives)}
    for cid, n, last in await session.execute(
        sa.select(
            Event.community_id,
            sa.func.count(),
            sa.func.max(sa.case((Event.starts_at < now, Event.starts_at))),
        )
        .where(Event.community_id.in_(ids), Event.status != EventStatus.CANCELLED)
        .group_by(Event.community_id)
    ):
        base[cid] |= {"events": int(n), "last_event_at": _as_datetime(last)}
    for cid, ritual, enabled in await session.execute(
        sa.select(RitualSetting.community_id, RitualSetting.ritual, RitualSetting.enabled).where(
            RitualSetting.community_id.in_(ids),
            RitualSetting.ritual.in_([Ritual.PULSE, Ritual.STORIES]),
        )
    ):
        base[cid]["pulse_on" if ritual == Ritual.PULSE else "stories_on"] = bool(enabled)
    for cid, n in await session.execute(
        sa.select(SuccessStory.community_id, sa.func.count())
        .where(SuccessStory.community_id.in_(ids), SuccessStory.status == StoryStatus.VALIDATED)
        .group_by(SuccessStory.community_id)
    ):
        base[cid]["stories_validated"] = int(n)
    entered = sa.func.coalesce(Community.stage_changed_at, Community.created_at)
    for talked_in, at in await session.execute(
        sa.select(AuditLog.community_id, sa.func.max(AuditLog.at))
        .join(Community, Community.id == AuditLog.community_id)
        .where(
            AuditLog.community_id.in_(ids), AuditLog.action == REDESIGN_TALK, AuditLog.at >= entered
        )
        .group_by(AuditLog.community_id)
    ):
        if talked_in is not None:
            base[talked_in]["redesign_talk_at"] = _as_datetime(at)
    for (assessed,) in await session.execute(
        sa.select(CompassAssessment.community_id)
        .join(Community, Community.id == CompassAssessment.community_id)
        .where(CompassAssessment.community_id.in_(ids), CompassAssessment.opened_at >= entered)
        .distinct()
    ):
        base[assessed]["compass_since_change"] = True
    return {cid: Facts(**fields) for cid, fields in base.items()}


def _as_datetime(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(str(value))  # SQLite gives MAX of a CASE as text
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# --- the suggestion --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A move the bot suggests, and why (health's reasons or the ticked checklist)."""

    stage: Stage
    reasons: tuple[Reason, ...]


_DORMANT_REASONS = frozenset(
    {"health.reason.inactive", "health.reason.no_event", "health.reason.no_event_ever"}
)


def suggest(health: Health, f: Facts | None = None) -> Suggestion | None:
    """The stage the signals point to when it is not the stored one, with why; None otherwise.

    A community that health finds dormant is pointed to reorientation (the guides' redesign);
    a stage whose checklist is complete is pointed to the next one (launch → growth once the
    charter, the core team and a held kick-off are there; reorientation → growth once the
    redesign talk and the compass are done and the community is alive again)."""
    stage = f.stage if f is not None else health.signals.stage
    if f is not None and f.status == CommunityStatus.CLOSED:
        return None  # closed by people: nothing to move on to
    if health.status == Status.DORMANT and stage != Stage.REORIENTATION:
        why = tuple(r for r in health.reasons if r.key in _DORMANT_REASONS)
        return Suggestion(Stage.REORIENTATION, why or (Reason("lifecycle.why.dormant"),))
    if f is None:
        return None
    done = checklist(f)
    if not done.complete:
        return None
    if stage == Stage.PREPARATION:
        return Suggestion(Stage.LAUNCH, (Reason("lifecycle.why.prepared"),))
    if stage == Stage.LAUNCH and f.last_event_at is not None:
        return Suggestion(Stage.GROWTH, (Reason("lifecycle.why.launched"),))
    if stage == Stage.REORIENTATION and health.status in (Status.STEADY, Status.THRIVING):
        return Suggestion(Stage.GROWTH, (Reason("lifecycle.why.redesigned"),))
    return None


@dataclass(frozen=True, slots=True)
class Review:
    """A community's place in its lifecycle: the facts, the checklist, the suggestion."""

    facts: Facts
    checklist: Checklist
    suggestion: Suggestion | None


async def reviews(
    session: AsyncSession,
    *,
    workspace_id: Workspaces,
    items: Sequence[Health],
    defaults: Mapping[Ritual, bool],
    now: datetime | None = None,
) -> dict[int, Review]:
    """Each assessed community's review (the rows of /cop health, the Home, the exports)."""
    found = await facts(
        session,
        workspace_id=workspace_id,
        community_ids=[h.signals.community_id for h in items],
        defaults=defaults,
        now=now,
    )
    out: dict[int, Review] = {}
    for h in items:
        f = found.get(h.signals.community_id)
        if f is not None:
            out[f.community_id] = Review(f, checklist(f), suggest(h, f))
    return out


# --- changing the stage ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Change:
    """A stage change as written: for the confirmation and the channel's message."""

    community_id: int
    community_name: str
    channel_id: str
    from_stage: Stage
    to_stage: Stage
    from_status: CommunityStatus
    to_status: CommunityStatus
    reason: str
    at: datetime

    @property
    def stage_moved(self) -> bool:
        return self.from_stage != self.to_stage


MAX_REASON = 500


async def set_stage(
    session: AsyncSession,
    *,
    community: Community,
    actor: str,
    by_person_id: int | None,
    stage: Stage | None = None,
    status: CommunityStatus | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> Change:
    """Move the community to `stage` and/or `status`, keep the history and the audit trail.

    The caller has checked the permission (bot.permissions: SET_STAGE, and CLOSE_COMMUNITY to
    close). Asking for what is already there is refused (Conflict), so a double click or a
    repeated command writes nothing."""
    now = now or utcnow()
    # the row as it is now, locked (PostgreSQL): two clicks at once move it once, the second
    # finds it already there
    await session.refresh(community, with_for_update=True)
    to_stage = stage or community.stage
    to_status = status or community.status
    reason = reason.strip()
    if len(reason) > MAX_REASON:
        raise InvalidInput("lifecycle.reason_too_long", field="reason", max=MAX_REASON)
    if to_stage == community.stage and to_status == community.status:
        raise Conflict("lifecycle.unchanged")
    change = Change(
        community.id,
        community.name,
        community.channel_id,
        community.stage,
        to_stage,
        community.status,
        to_status,
        reason,
        now,
    )
    session.add(
        StageChange(
            workspace_id=community.workspace_id,
            community_id=community.id,
            from_stage=community.stage,
            to_stage=to_stage,
            from_status=community.status,
            to_status=to_status,
            by_person_id=by_person_id,
            reason=reason,
            at=now,
        )
    )
    if to_stage != community.stage:
        community.stage_changed_at = now
    community.stage = to_stage
    community.status = to_status
    await audit.record(
        session,
        workspace_id=community.workspace_id,
        actor=actor,
        action=STAGE_SET,
        community_id=community.id,
        detail={
            "from_stage": change.from_stage.value,
            "to_stage": to_stage.value,
            "from_status": change.from_status.value,
            "to_status": to_status.value,
            "reason": reason,
        },
    )
    return change


async def change(
    session: AsyncSession,
    *,
    actor: Actor,
    community: Community,
    stage: Stage | None = None,
    status: CommunityStatus | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> Change:
    """A person's change, once bot.permissions allows it: the stage and dormancy are the
    leaders' (SET_STAGE); closing a community, or reopening a closed one, the programme's
    (CLOSE_COMMUNITY)."""
    await require(session, actor=actor, action=Action.SET_STAGE, community_id=community.id)
    closing = CommunityStatus.CLOSED in (status, community.status) and status not in (
        None,
        community.status,
    )
    if closing:
        await require(
            session, actor=actor, action=Action.CLOSE_COMMUNITY, community_id=community.id
        )
    person = await people.find(
        session, workspace_id=actor.workspace_id, slack_user_id=actor.slack_user_id
    )
    return await set_stage(
        session,
        community=community,
        actor=actor.slack_user_id,
        by_person_id=person.id if person is not None else None,
        stage=stage,
        status=status,
        reason=reason,
        now=now,
    )


async def record_redesign_talk(
    session: AsyncSession, *, community: Community, actor: str, now: datetime | None = None
) -> None:
    """The reorientation checklist's conversation with the sponsor, as people say it was held
    (the caller has checked SET_STAGE)."""
    session.add(
        AuditLog(
            workspace_id=community.workspace_id,
            actor=actor,
            action=REDESIGN_TALK,
            community_id=community.id,
            detail={"stage": community.stage.value},
            at=now or utcnow(),
        )
    )


@dataclass(frozen=True, slots=True)
class LastChange:
    at: datetime
    by_user_id: str | None
    by_name: str | None
    reason: str


async def last_change(session: AsyncSession, *, community_id: int) -> LastChange | None:
    """Who set the current stage or status, when, and why."""
    row = (
        await session.execute(
            sa.select(StageChange.at, Person.slack_user_id, Person.real_name, StageChange.reason)
            .outerjoin(Person, Person.id == StageChange.by_person_id)
            .where(StageChange.community_id == community_id)
            .order_by(StageChange.at.desc(), StageChange.id.desc())
            .limit(1)
        )
    ).first()
    if row is None:
        return None
    at, uid, name, reason = row
    return LastChange(at, uid, name, reason or "")


@dataclass(frozen=True, slots=True)
class Step:
    """One line of a community's stage history."""

    at: datetime
    from_stage: Stage | None
    to_stage: Stage
    from_status: CommunityStatus | None
    to_status: CommunityStatus
    by_user_id: str | None
    reason: str


async def history(session: AsyncSession, *, community_id: int, limit: int = 20) -> list[Step]:
    """The community's latest stage changes, newest first."""
    rows = await session.execute(
        sa.select(StageChange, Person.slack_user_id)
        .outerjoin(Person, Person.id == StageChange.by_person_id)
        .where(StageChange.community_id == community_id)
        .order_by(StageChange.at.desc(), StageChange.id.desc())
        .limit(limit)
    )
    return [
        Step(c.at, c.from_stage, c.to_stage, c.from_status, c.to_status, uid, c.reason or "")
        for c, uid in rows
    ]


def since(f: Facts, created: date) -> date:
    """The day the community entered its current stage (its creation if never moved)."""
    return f.stage_changed_at.date() if f.stage_changed_at else created
