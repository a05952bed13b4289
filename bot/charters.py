"""Community charters: versioned (saving adds a version, never overwrites), roles from memberships.

A charter states why the community exists, what it aims at, this year's objectives and what it
brings; the KPIs later look at whether the objectives are for the current year.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import communities, objectives, people
from bot.audit import record
from bot.errors import InvalidFields, InvalidInput
from bot.models import CharterVersion, Person, Role
from bot.numbers import whole
from bot.permissions import Action, Actor, require

# Per-field limits, below Block Kit's 3000 characters per section so the charter always renders.
TEXT_MAX = 1500
LIST_MAX_ITEMS = 12
LIST_ITEM_MAX = 200
# every field in the order a leader fills them in (Slack's modal, Teams' dialog) and reads them
ORDER = (
    "mission",
    "ambition",
    "objectives",
    "objectives_year",
    "values",
    "member_benefits",
    "collective_benefits",
    "organisation_benefits",
    "stakeholders",
    "resource_needs",
    "animation_plan",
    "indicators",
)
LIST_FIELDS = ("objectives", "indicators")
TEXT_FIELDS = tuple(name for name in ORDER if name not in LIST_FIELDS and name != "objectives_year")
OBJECTIVES_YEAR_MIN = 2000  # charters are this century's; an older year is a forged value
STALE_DAYS = 365  # app.yaml health.charter_stale_days, when not given


@dataclass(frozen=True, slots=True)
class CharterDraft:
    """What a leader typed in the charter modal."""

    mission: str = ""
    ambition: str = ""
    objectives: tuple[str, ...] = ()
    objectives_year: int | None = None
    values: str = ""
    member_benefits: str = ""  # what each member gains
    organisation_benefits: str = ""
    indicators: tuple[str, ...] = ()
    collective_benefits: str = ""  # what the members gain together
    stakeholders: str = ""  # « parties prenantes »
    resource_needs: str = ""  # « besoins en ressources, tant matérielles qu'humaines »
    animation_plan: str = ""  # « plan d'animation »


@dataclass(frozen=True, slots=True)
class Roles:
    """Who holds which role now (Slack user ids), read from memberships."""

    leaders: tuple[str, ...] = ()
    core_team: tuple[str, ...] = ()
    sponsors: tuple[str, ...] = ()

    def listed(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """Each role (its catalogue name, `charter.role_<name>`) with its holders, in the order a
        charter shows them."""
        return (
            ("leaders", self.leaders),
            ("core_team", self.core_team),
            ("sponsors", self.sponsors),
        )


@dataclass(frozen=True, slots=True)
class CharterView:
    community_id: int
    version: int
    draft: CharterDraft
    author_user_id: str | None
    author_name: str | None
    created_at: datetime
    roles: Roles = field(default_factory=Roles)

    def state(self, *, today: date, stale_days: int = STALE_DAYS) -> CharterState:
        return state_of(
            saved_on=self.created_at.date(),
            objectives=bool(self.draft.objectives),
            objectives_year=self.draft.objectives_year,
            today=today,
            stale_days=stale_days,
        )


@dataclass(frozen=True, slots=True)
class VersionSummary:
    version: int
    author_user_id: str | None
    author_name: str | None
    created_at: datetime
    objectives_year: int | None


class CharterState(enum.StrEnum):
    """Where a community's charter stands: the one answer the Home, /cop charter show,
    /cop health (reasons and the overview's "charters up to date") and the KPIs all give."""

    MISSING = "missing"  # no charter saved yet
    DRAFT = "draft"  # saved, but with no objectives for a given year
    CURRENT = "current"  # this year's (or next year's) objectives, saved within stale_days
    STALE = "stale"  # to review: objectives of a past year, or not saved for stale_days

    @property
    def to_review(self) -> bool:
        return self != CharterState.CURRENT


def state_of(
    *,
    saved_on: date | None,
    objectives: bool,
    objectives_year: int | None,
    today: date,
    stale_days: int = STALE_DAYS,
) -> CharterState:
    """The state of the latest version (saved on `saved_on`, None when there is none)."""
    if saved_on is None:
        return CharterState.MISSING
    if not objectives or objectives_year is None:
        return CharterState.DRAFT
    if objectives_year < today.year or (today - saved_on).days > stale_days:
        return CharterState.STALE
    return CharterState.CURRENT


def lines(text: str | None) -> tuple[str, ...]:
    """One objective (or indicator) per line; bullets and blank lines dropped."""
    out = []
    for raw in (text or "").splitlines():
        line = raw.strip().lstrip("•-*·").strip()
        if line:
            out.append(line)
    return tuple(out)


def offered_year(stored: int | None, this_year: int) -> int:
    """The objectives year a form opens on: the charter's own, unless it is over — a charter
    whose objectives are of a past year is being rewritten for this one: never file new
    objectives under a year that is over (their statuses would go)."""
    return stored if stored is not None and stored >= this_year else this_year


def draft_from(
    text: Callable[[str], str],
    listed: Callable[[str], tuple[str, ...]],
    picked_year: str,
    *,
    this_year: int,
) -> CharterDraft:
    """A form sent back → the draft: `text(name)` each text field as typed, `listed(name)` each
    list's lines, `picked_year` the objectives year chosen ("" none). A year the form could not
    offer (last year to next year, or the charter's own, never before the programme's era) is a
    forged payload, "²²²²" and 9999 alike. The limits are checked by `validate`."""
    year = whole(picked_year, max_digits=4) if picked_year else None
    if picked_year and (year is None or not OBJECTIVES_YEAR_MIN <= year <= this_year + 1):
        raise InvalidFields([InvalidInput("error.invalid", field="objectives_year")])
    return CharterDraft(
        mission=text("mission"),
        ambition=text("ambition"),
        objectives=listed("objectives"),
        values=text("values"),
        member_benefits=text("member_benefits"),
        organisation_benefits=text("organisation_benefits"),
        indicators=listed("indicators"),
        objectives_year=year,
        collective_benefits=text("collective_benefits"),
        stakeholders=text("stakeholders"),
        resource_needs=text("resource_needs"),
        animation_plan=text("animation_plan"),
    )


def validate(draft: CharterDraft) -> CharterDraft:
    """Check limits; raise every field error at once. A past objectives year is allowed (the
    charter is then flagged "to review", see `state_of`), so an old charter stays editable."""
    errors: list[InvalidInput] = []
    for name in TEXT_FIELDS:
        value = getattr(draft, name)
        if len(value) > TEXT_MAX:
            errors.append(
                InvalidInput("charter.too_long", field=name, max=TEXT_MAX, length=len(value))
            )
    for name in LIST_FIELDS:
        items = getattr(draft, name)
        if len(items) > LIST_MAX_ITEMS:
            errors.append(InvalidInput("charter.too_many_lines", field=name, max=LIST_MAX_ITEMS))
        elif any(len(item) > LIST_ITEM_MAX for item in items):
            errors.append(InvalidInput("charter.line_too_long", field=name, max=LIST_ITEM_MAX))
    if not draft.mission.strip():
        errors.append(InvalidInput("charter.mission_missing", field="mission"))
    if errors:
        raise InvalidFields(errors)
    return draft


def _draft_of(row: CharterVersion) -> CharterDraft:
    return CharterDraft(
        mission=row.mission,
        ambition=row.ambition,
        objectives=tuple(row.objectives or ()),
        objectives_year=row.objectives_year,
        values=row.values,
        member_benefits=row.member_benefits,
        organisation_benefits=row.organisation_benefits,
        indicators=tuple(row.indicators or ()),
        collective_benefits=row.collective_benefits or "",
        stakeholders=row.stakeholders or "",
        resource_needs=row.resource_needs or "",
        animation_plan=row.animation_plan or "",
    )


async def roles(session: AsyncSession, *, community_id: int) -> Roles:
    held = await communities.people_with_roles(
        session, community_id=community_id, roles=(Role.LEADER, Role.CORE_TEAM, Role.SPONSOR)
    )

    def of(role: Role) -> tuple[str, ...]:
        return tuple(p.slack_user_id for r, p in held if r == role)

    return Roles(leaders=of(Role.LEADER), core_team=of(Role.CORE_TEAM), sponsors=of(Role.SPONSOR))


async def current(session: AsyncSession, *, community_id: int) -> CharterView | None:
    """The latest version with today's roles, or None when the community has no charter yet."""
    row = await session.execute(
        sa.select(CharterVersion, Person)
        .outerjoin(Person, Person.id == CharterVersion.author_person_id)
        .where(CharterVersion.community_id == community_id)
        .order_by(CharterVersion.version.desc())
        .limit(1)
    )
    found = row.first()
    if found is None:
        return None
    version, author = found
    return CharterView(
        community_id=community_id,
        version=version.version,
        draft=_draft_of(version),
        author_user_id=author.slack_user_id if author else None,
        author_name=people.display_name(author) if author else None,
        created_at=version.created_at,
        roles=await roles(session, community_id=community_id),
    )


async def history(session: AsyncSession, *, community_id: int) -> list[VersionSummary]:
    rows = await session.execute(
        sa.select(CharterVersion, Person)
        .outerjoin(Person, Person.id == CharterVersion.author_person_id)
        .where(CharterVersion.community_id == community_id)
        .order_by(CharterVersion.version.desc())
    )
    return [
        VersionSummary(
            version=v.version,
            author_user_id=p.slack_user_id if p else None,
            author_name=people.display_name(p) if p else None,
            created_at=v.created_at,
            objectives_year=v.objectives_year,
        )
        for v, p in rows
    ]


@dataclass(frozen=True, slots=True)
class Saved:
    version: int
    created: bool  # False when the draft equals the current version (e.g. a modal sent twice)


async def save(
    session: AsyncSession,
    *,
    workspace_id: str,
    community_id: int,
    author_slack_user_id: str,
    draft: CharterDraft,
) -> Saved:
    """Add a version (validated); an unchanged draft adds nothing."""
    validate(draft)
    await communities.get(session, workspace_id=workspace_id, community_id=community_id)
    latest = await session.scalar(
        sa.select(CharterVersion)
        .where(CharterVersion.community_id == community_id)
        .order_by(CharterVersion.version.desc())
        .limit(1)
    )
    if latest is not None and _draft_of(latest) == draft:
        return Saved(version=latest.version, created=False)
    author = (
        await people.ensure_many(
            session, workspace_id=workspace_id, slack_user_ids=[author_slack_user_id]
        )
    )[author_slack_user_id]
    held = await communities.people_with_roles(
        session, community_id=community_id, roles=(Role.LEADER, Role.CORE_TEAM, Role.SPONSOR)
    )
    number = (latest.version if latest else 0) + 1
    session.add(
        CharterVersion(
            workspace_id=workspace_id,
            community_id=community_id,
            version=number,
            mission=draft.mission,
            ambition=draft.ambition,
            objectives=list(draft.objectives),
            objectives_year=draft.objectives_year,
            values=draft.values,
            member_benefits=draft.member_benefits,
            organisation_benefits=draft.organisation_benefits,
            roles=role_snapshot([(role, person.id) for role, person in held]),
            indicators=list(draft.indicators),
            collective_benefits=draft.collective_benefits,
            stakeholders=draft.stakeholders,
            resource_needs=draft.resource_needs,
            animation_plan=draft.animation_plan,
            author_person_id=author.id,
        )
    )
    await session.flush()
    if draft.objectives_year is not None:
        # this year's objectives as rows that are followed up (bot/objectives.py)
        await objectives.sync(
            session,
            workspace_id=workspace_id,
            community_id=community_id,
            year=draft.objectives_year,
            texts=draft.objectives,
            person_id=author.id,
        )
    return Saved(version=number, created=True)


@dataclass(frozen=True, slots=True)
class Submitted:
    """A charter modal's outcome: the version it is now, and where to say so."""

    version: int
    created: bool  # False when the draft equals the current version
    channel_id: str
    community_name: str


async def submit(
    sessions: async_sessionmaker[AsyncSession],
    *,
    actor: Actor,
    community_id: int,
    draft: CharterDraft,
) -> Submitted | None:
    """A leader's charter modal, in its own transaction: the permission, the new version (if the
    draft changed) and its audit line. None when it was already saved: the same modal sent twice
    at once, the other request added the version (the unique version number refused this one)
    and answers the person. NotAllowed / NotFound as CopErrors."""
    try:
        async with sessions.begin() as session:
            await require(
                session, actor=actor, action=Action.EDIT_CHARTER, community_id=community_id
            )
            community = await communities.get(
                session, workspace_id=actor.workspace_id, community_id=community_id
            )
            channel, name = community.channel_id, community.name
            saved = await save(
                session,
                workspace_id=actor.workspace_id,
                community_id=community_id,
                author_slack_user_id=actor.slack_user_id,
                draft=draft,
            )
            if saved.created:
                await record(
                    session,
                    workspace_id=actor.workspace_id,
                    actor=actor.slack_user_id,
                    action="charter.saved",
                    community_id=community_id,
                    detail={"version": saved.version},
                )
    except sa.exc.IntegrityError:
        return None
    return Submitted(
        version=saved.version, created=saved.created, channel_id=channel, community_name=name
    )


# --- the role snapshot ------------------------------------------------------------------------
# Each version records who held the roles when it was written, as internal person numbers
# ("leader: person:12 person:14; sponsor: person:9"), never Slack ids: an erased person's number
# points at their tombstone, so the history stays readable and names nobody. Versions written
# before this held Slack ids; erasure rewrites them (`rewrite_snapshots`).

SNAPSHOT_ROLES = (Role.LEADER, Role.CORE_TEAM, Role.SPONSOR)
_PERSON_TOKEN = "person:"


def role_snapshot(held: list[tuple[Role, int]]) -> str:
    parts = []
    for role in SNAPSHOT_ROLES:
        ids = sorted(pid for r, pid in held if r == role)
        if ids:
            parts.append(f"{role.value}: {' '.join(f'{_PERSON_TOKEN}{pid}' for pid in ids)}")
    return "; ".join(parts)


async def rewrite_snapshots(session: AsyncSession, *, workspace_id: str) -> int:
    """Rewrite the workspace's snapshots that still hold Slack ids into person numbers (an id
    the bot no longer knows becomes `erased`); returns how many versions changed."""
    changed = 0
    rows = await session.scalars(
        sa.select(CharterVersion).where(
            CharterVersion.workspace_id == workspace_id, CharterVersion.roles != ""
        )
    )
    for version in list(rows):
        parsed = [
            (name.strip(), ids.split())
            for name, _, ids in (part.partition(":") for part in version.roles.split(";"))
        ]
        slack_ids = {i for _, ids in parsed for i in ids if not i.startswith(_PERSON_TOKEN)}
        if not slack_ids:
            continue
        known = dict(
            (
                await session.execute(
                    sa.select(Person.slack_user_id, Person.id).where(
                        Person.workspace_id == workspace_id,
                        Person.slack_user_id.in_(sorted(slack_ids)),
                    )
                )
            ).all()
        )

        def token(i: str, known: dict[str, int] = known) -> str:
            if i.startswith(_PERSON_TOKEN):
                return i
            return f"{_PERSON_TOKEN}{known[i]}" if i in known else "erased"

        version.roles = "; ".join(
            f"{name}: {' '.join(token(i) for i in ids)}" for name, ids in parsed if name
        )
        changed += 1
    await session.flush()
    return changed
