"""A member's proposal of a new community, and the programme managers' decision on it.

Anyone proposes (a name, a purpose, who else is interested, the channel: a new name or an
existing channel); every programme manager gets it with Accept / Decline / Ask for more, and the
first decision is the only one: the proposal row is locked while it is read (a no-op update,
which takes its row lock on PostgreSQL and the write lock on SQLite), so a second click, or two
managers at once, find it decided and change nothing.

Accepting calls Slack (the channel is created or joined) between two transactions, never inside
one: `claim` marks the proposal accepted by the manager, the handler makes the channel, then
`register` makes it a community in the préparation stage with the proposer as its leader; when
Slack refuses (a name taken meanwhile), `release` puts the proposal back to pending.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot import audit, communities, people
from bot.discover import fold
from bot.errors import Conflict, InvalidFields, InvalidInput, NotAllowed, NotFound
from bot.models import (
    Community,
    CommunityKind,
    CommunityProposal,
    Person,
    ProposalStatus,
    Role,
    Stage,
    utcnow,
)
from bot.permissions import Action, Actor, require

NAME_MAX = communities.NAME_MAX  # the community's name, as /cop community create allows it
PURPOSE_MAX = 1000
NOTE_MAX = 500  # a manager's reason or question
INTERESTED_MAX = 30
CHANNEL_MAX = 80  # Slack's limit for a channel name
# Slack's channel names: lower-case letters, digits, hyphens and underscores (no spaces, no dots)
_CHANNEL_NAME = re.compile(r"[a-z0-9_-]+")
_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{2,}")
OPEN = (ProposalStatus.PENDING, ProposalStatus.MORE_INFO)
SUBMITTED = "proposal.submitted"
COMPLETED = "proposal.completed"
ACCEPTED = "proposal.accepted"
DECLINED = "proposal.declined"
MORE_ASKED = "proposal.more_asked"
RELEASED = "proposal.accept_failed"


class Decision(enum.StrEnum):
    ACCEPT = "accept"
    DECLINE = "decline"
    MORE = "more"


_STATUS_OF = {
    Decision.ACCEPT: ProposalStatus.ACCEPTED,
    Decision.DECLINE: ProposalStatus.DECLINED,
    Decision.MORE: ProposalStatus.MORE_INFO,
}
_AUDIT_OF = {Decision.ACCEPT: ACCEPTED, Decision.DECLINE: DECLINED, Decision.MORE: MORE_ASKED}


@dataclass(frozen=True, slots=True)
class Draft:
    """What the proposal form says. `channel` is a wished new channel's name, or the id of an
    existing channel (then `existing` is True)."""

    name: str
    purpose: str
    interested: tuple[str, ...] = ()
    channel: str = ""
    existing: bool = False


@dataclass(frozen=True, slots=True)
class Proposal:
    """A proposal as the screens show it (Slack ids, not person rows)."""

    id: int
    workspace_id: str
    name: str
    purpose: str
    interested: tuple[str, ...]
    channel: str  # a new channel's name, or an existing channel's id
    existing_channel: bool
    status: ProposalStatus
    proposer: str
    decided_by: str | None
    decision_note: str
    community_id: int | None
    manager_messages: tuple[tuple[str, str, str], ...]  # (channel, ts, manager)


def channel_of(name: str) -> str:
    """The channel a proposal gets when no name was typed: the community's name, as Slack
    allows it ('Cuisine durable' → 'cuisine-durable')."""
    return communities.slugify(name)[:CHANNEL_MAX]


def channel_problem(channel: str, *, community_name: str) -> InvalidInput | None:
    """Slack's rules for a new channel's name, as one clear refusal (None when it is fine); the
    refusal suggests a name that follows them."""
    if len(channel) > CHANNEL_MAX:
        return InvalidInput("proposal.channel_too_long", field="channel", max=CHANNEL_MAX)
    if not _CHANNEL_NAME.fullmatch(channel) or not channel.strip("-_"):
        hint = channel_of(channel) if channel.strip("-_ ") else channel_of(community_name)
        return InvalidInput(
            "proposal.channel_invalid", field="channel", value=channel[:40], hint=hint
        )
    return None


def check(draft: Draft, *, proposer: str) -> Draft:
    """The form's values cleaned, or every field's mistake at once (InvalidFields); no database.
    The proposer and duplicates are taken out of those also interested."""
    errors: list[InvalidInput] = []
    name = " ".join(draft.name.split())
    if not name:
        errors.append(InvalidInput("proposal.name_missing", field="name"))
    elif len(name) > NAME_MAX:
        errors.append(InvalidInput("proposal.name_too_long", field="name", max=NAME_MAX))
    purpose = draft.purpose.strip()
    if not purpose:
        errors.append(InvalidInput("proposal.purpose_missing", field="purpose"))
    elif len(purpose) > PURPOSE_MAX:
        errors.append(InvalidInput("proposal.purpose_too_long", field="purpose", max=PURPOSE_MAX))
    channel = draft.channel.strip()
    if draft.existing:
        if not _CHANNEL_ID.fullmatch(channel):
            errors.append(InvalidInput("proposal.channel_unknown", field="channel"))
    else:
        channel = channel.removeprefix("#") or (channel_of(name) if name else "")
        if name and (problem := channel_problem(channel, community_name=name)) is not None:
            errors.append(problem)
    interested = tuple(dict.fromkeys(u for u in draft.interested if u and u != proposer))
    if len(interested) > INTERESTED_MAX:
        errors.append(
            InvalidInput("proposal.too_many_interested", field="interested", max=INTERESTED_MAX)
        )
    if errors:
        raise InvalidFields(errors)
    return Draft(name, purpose, interested, channel, draft.existing)


async def conflicts(
    session: AsyncSession, *, workspace_id: str, draft: Draft, proposal_id: int | None = None
) -> list[InvalidInput]:
    """What the registry already holds: a community of that name (or one proposed and still
    open), an existing channel that is already a community's."""
    found: list[InvalidInput] = []
    wanted = fold(draft.name)
    slug = communities.slugify(draft.name)
    for name, community_slug in await session.execute(
        sa.select(Community.name, Community.slug).where(Community.workspace_id == workspace_id)
    ):
        if fold(name) == wanted or community_slug == slug:
            found.append(InvalidInput("proposal.name_exists", field="name", name=name))
            break
    else:
        for other_id, name in await session.execute(
            sa.select(CommunityProposal.id, CommunityProposal.name).where(
                CommunityProposal.workspace_id == workspace_id,
                CommunityProposal.status.in_(OPEN),
            )
        ):
            if other_id != proposal_id and fold(name) == wanted:
                found.append(InvalidInput("proposal.name_pending", field="name", name=name))
                break
    if draft.existing:
        taken = await communities.by_channel(
            session, workspace_id=workspace_id, channel_id=draft.channel
        )
        if taken is not None:
            found.append(
                InvalidInput("proposal.channel_registered", field="channel", name=taken.name)
            )
    return found


async def _proposer(session: AsyncSession, actor: Actor) -> Person:
    """The person proposing: anyone the bot knows as a person (a bot, a deactivated or an
    erased account holds no right, as bot.permissions has it)."""
    await people.ensure_workspace(session, actor.workspace_id)
    person = (
        await people.ensure_many(
            session, workspace_id=actor.workspace_id, slack_user_ids=[actor.slack_user_id]
        )
    )[actor.slack_user_id]
    if not people.is_person(person):
        raise NotAllowed("proposal.not_a_person")
    return person


async def submit(
    session: AsyncSession,
    *,
    actor: Actor,
    draft: Draft,
    submission_key: str | None = None,
    proposal_id: int | None = None,
) -> tuple[Proposal, bool]:
    """A new proposal, or one completed after a manager asked for more (`proposal_id`): back to
    pending. (the proposal, True) the first time; (it, False) when this very submission was
    already recorded (the same modal sent twice)."""
    if submission_key:
        done = await session.scalar(
            sa.select(CommunityProposal).where(CommunityProposal.submission_key == submission_key)
        )
        if done is not None:
            return await _view(session, done), False
    person = await _proposer(session, actor)
    draft = check(draft, proposer=actor.slack_user_id)
    problems = await conflicts(
        session, workspace_id=actor.workspace_id, draft=draft, proposal_id=proposal_id
    )
    if problems:
        raise InvalidFields(problems)
    if proposal_id is not None:
        row = await _locked(session, workspace_id=actor.workspace_id, proposal_id=proposal_id)
        if row.proposer_person_id != person.id:
            raise NotFound("proposal.not_found")
        if row.status != ProposalStatus.MORE_INFO:
            raise Conflict("proposal.not_to_complete", name=row.name)
        row.status = ProposalStatus.PENDING
        row.decided_by_person_id = None
        row.decided_at = None
        action = COMPLETED
    else:
        row = CommunityProposal(workspace_id=actor.workspace_id, proposer_person_id=person.id)
        session.add(row)
        action = SUBMITTED
    row.name = draft.name
    row.purpose = draft.purpose
    row.interested = list(draft.interested)
    row.channel_name = draft.channel
    row.submission_key = submission_key
    row.updated_at = utcnow()
    await session.flush()
    await audit.record(
        session,
        workspace_id=actor.workspace_id,
        actor=actor.slack_user_id,
        action=action,
        detail={"proposal": row.id, "name": row.name},
    )
    return await _view(session, row), True


async def _locked(
    session: AsyncSession, *, workspace_id: str, proposal_id: int
) -> CommunityProposal:
    """The proposal, its row locked until the transaction ends (see the module's docstring)."""
    await session.execute(
        sa.update(CommunityProposal)
        .where(CommunityProposal.id == proposal_id)
        .values(status=CommunityProposal.status)
    )
    row = await session.get(CommunityProposal, proposal_id, populate_existing=True)
    if row is None or row.workspace_id != workspace_id:
        raise NotFound("proposal.not_found")
    return row


async def get(session: AsyncSession, *, workspace_id: str, proposal_id: int) -> Proposal:
    row = await session.get(CommunityProposal, proposal_id)
    if row is None or row.workspace_id != workspace_id:
        raise NotFound("proposal.not_found")
    return await _view(session, row)


async def mine_to_complete(session: AsyncSession, *, actor: Actor, proposal_id: int) -> Proposal:
    """The proposer's own proposal a manager asked more about (the "Complete" button)."""
    found = await get(session, workspace_id=actor.workspace_id, proposal_id=proposal_id)
    if found.proposer != actor.slack_user_id:
        raise NotFound("proposal.not_found")
    if found.status != ProposalStatus.MORE_INFO:
        raise Conflict("proposal.not_to_complete", name=found.name)
    return found


async def _view(session: AsyncSession, row: CommunityProposal) -> Proposal:
    ids = [i for i in (row.proposer_person_id, row.decided_by_person_id) if i is not None]
    found = await session.execute(
        sa.select(Person.id, Person.slack_user_id).where(Person.id.in_(ids))
    )
    slack_ids: dict[int, str] = {}
    for person_id, slack_id in found:
        slack_ids[person_id] = slack_id
    existing = bool(_CHANNEL_ID.fullmatch(row.channel_name or ""))
    messages = tuple(
        (str(m[0]), str(m[1]), str(m[2]) if len(m) > 2 else "")
        for m in row.manager_messages or []
        if isinstance(m, list) and len(m) >= 2
    )
    return Proposal(
        id=row.id,
        workspace_id=row.workspace_id,
        name=row.name,
        purpose=row.purpose or "",
        interested=tuple(str(u) for u in row.interested or []),
        channel=row.channel_name or "",
        existing_channel=existing,
        status=row.status,
        proposer=slack_ids.get(row.proposer_person_id or 0, ""),
        decided_by=slack_ids.get(row.decided_by_person_id or 0),
        decision_note=row.decision_note or "",
        community_id=row.community_id,
        manager_messages=messages,
    )


async def record_messages(
    session: AsyncSession,
    *,
    workspace_id: str,
    proposal_id: int,
    messages: Iterable[tuple[str, str, str]],
) -> None:
    """Where each manager was told (channel, ts, manager), to redraw every copy once decided."""
    row = await session.get(CommunityProposal, proposal_id)
    if row is None or row.workspace_id != workspace_id:
        raise NotFound("proposal.not_found")
    row.manager_messages = [list(m) for m in messages]


def check_note(decision: Decision, note: str) -> str:
    """The reason (declining) or the question (asking for more): needed, and not too long."""
    note = note.strip()
    if decision == Decision.ACCEPT:
        return note
    if not note:
        raise InvalidInput("proposal.note_missing", field="note")
    if len(note) > NOTE_MAX:
        raise InvalidInput("proposal.note_too_long", field="note", max=NOTE_MAX)
    return note


async def to_decide(session: AsyncSession, *, actor: Actor, proposal_id: int) -> Proposal:
    """A proposal a programme manager is about to decide on (the reason form opens only then)."""
    await require(session, actor=actor, action=Action.DECIDE_PROPOSAL)
    return await get(session, workspace_id=actor.workspace_id, proposal_id=proposal_id)


@dataclass(frozen=True, slots=True)
class Decided:
    proposal: Proposal
    already: bool  # someone decided first (or the same click twice): nothing was written


async def decide(
    session: AsyncSession,
    *,
    actor: Actor,
    proposal_id: int,
    decision: Decision,
    note: str = "",
    now: datetime | None = None,
) -> Decided:
    """A programme manager's decision, written once. Accepting only claims the proposal (the
    community is registered by `register` once its channel exists); declining and asking for
    more need a note (the reason, the question), which the proposer reads."""
    await require(session, actor=actor, action=Action.DECIDE_PROPOSAL)
    note = check_note(decision, note)
    row = await _locked(session, workspace_id=actor.workspace_id, proposal_id=proposal_id)
    if row.status != ProposalStatus.PENDING:
        return Decided(await _view(session, row), already=True)
    manager = (
        await people.ensure_many(
            session, workspace_id=actor.workspace_id, slack_user_ids=[actor.slack_user_id]
        )
    )[actor.slack_user_id]
    row.status = _STATUS_OF[decision]
    row.decided_by_person_id = manager.id
    row.decided_at = now or utcnow()
    row.decision_note = note or None
    await session.flush()
    await audit.record(
        session,
        workspace_id=actor.workspace_id,
        actor=actor.slack_user_id,
        action=_AUDIT_OF[decision],
        detail={"proposal": row.id, "name": row.name, "note": note},
    )
    return Decided(await _view(session, row), already=False)


async def release(session: AsyncSession, *, actor: Actor, proposal_id: int, reason: str) -> None:
    """The channel could not be made: the accepted proposal is pending again, for another try."""
    row = await _locked(session, workspace_id=actor.workspace_id, proposal_id=proposal_id)
    if row.status != ProposalStatus.ACCEPTED or row.community_id is not None:
        return
    row.status = ProposalStatus.PENDING
    row.decided_by_person_id = None
    row.decided_at = None
    await audit.record(
        session,
        workspace_id=actor.workspace_id,
        actor=actor.slack_user_id,
        action=RELEASED,
        detail={"proposal": row.id, "reason": reason[:200]},
    )


async def register(
    session: AsyncSession,
    *,
    actor: Actor,
    proposal_id: int,
    channel_id: str,
    language: str | None = None,
    now: datetime | None = None,
) -> tuple[Proposal, Community]:
    """The accepted proposal becomes a community: in `channel_id`, at the préparation stage,
    with its proposer as leader. Conflict when that channel already holds a community."""
    await require(session, actor=actor, action=Action.DECIDE_PROPOSAL)
    row = await _locked(session, workspace_id=actor.workspace_id, proposal_id=proposal_id)
    if row.status != ProposalStatus.ACCEPTED or row.community_id is not None:
        raise Conflict("proposal.not_accepted", name=row.name)
    community = await communities.create(
        session,
        workspace_id=actor.workspace_id,
        name=row.name,
        channel_id=channel_id,
        kind=CommunityKind.SPONTANEOUS,
        language=language,
    )
    community.stage = Stage.PREPARATION
    community.stage_changed_at = now or utcnow()
    shown = await _view(session, row)
    if shown.proposer:
        await communities.set_role(
            session, community=community, slack_user_id=shown.proposer, role=Role.LEADER, now=now
        )
    row.community_id = community.id
    row.channel_name = channel_id
    await session.flush()
    await audit.record(
        session,
        workspace_id=actor.workspace_id,
        actor=actor.slack_user_id,
        action="proposal.registered",
        community_id=community.id,
        detail={"proposal": row.id, "channel": channel_id},
    )
    return await _view(session, row), community
