"""Who may do what: the one place roles become permissions.

Programme managers may do everything; a community's leaders and core team run it; sponsors
may read its health and have its value report; everyone may read charters and events. Someone
deactivated in Slack (or a bot, or an erased person) holds no right at all, whatever the
database or app.yaml still say: `role_in` and `require` both apply bot.people.IS_PERSON, and
every check goes through them.
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import NotAllowed
from bot.models import Membership, Person, Role
from bot.people import IS_PERSON


class Action(enum.StrEnum):
    CREATE_COMMUNITY = "create_community"
    IMPORT_COMMUNITIES = "import_communities"
    VIEW_PROGRAMME = "view_programme"
    SET_ROLE = "set_role"
    EDIT_CHARTER = "edit_charter"
    MANAGE_EVENTS = "manage_events"
    MANAGE_RITUALS = "manage_rituals"
    VALIDATE_STORY = "validate_story"
    VIEW_COMMUNITY_HEALTH = "view_community_health"
    PROGRAMME_REPORT = "programme_report"
    COMMUNITY_REPORT = "community_report"
    TRACK_OBJECTIVES = "track_objectives"
    TAKE_COMPASS = "take_compass"
    SET_STAGE = "set_stage"  # the lifecycle stage, or dormant/active (bot.lifecycle)
    CLOSE_COMMUNITY = "close_community"  # closing a community (or reopening it) is the programme's
    MANAGE_SURVEY = "manage_survey"  # the annual survey: cover message, start, close, status
    HOLD_SURVEY_RESULTS = "hold_survey_results"  # keep a community's survey results off its channel
    # accept or decline a request to join a private community (bot.discover); discovering the
    # communities and asking to join one are open to everyone, so they need no entry here
    DECIDE_JOIN = "decide_join"
    # answer the « animation » checklist after an event (bot.feedback): its organiser, whatever
    # their role (`require_event_feedback`), and the community's runners
    GIVE_EVENT_FEEDBACK = "give_event_feedback"
    # accept, decline or ask more about a member's proposal of a new community (bot.proposals);
    # proposing one is open to every person, so it needs no entry here
    DECIDE_PROPOSAL = "decide_proposal"


_RUNNERS = frozenset({Role.LEADER, Role.CORE_TEAM})
_MATRIX: dict[Action, frozenset[Role]] = {
    Action.CREATE_COMMUNITY: frozenset(),
    Action.IMPORT_COMMUNITIES: frozenset(),
    Action.VIEW_PROGRAMME: frozenset(),
    Action.SET_ROLE: frozenset({Role.LEADER}),
    Action.EDIT_CHARTER: _RUNNERS,
    Action.MANAGE_EVENTS: _RUNNERS,
    Action.MANAGE_RITUALS: _RUNNERS,
    Action.VALIDATE_STORY: _RUNNERS,
    Action.VIEW_COMMUNITY_HEALTH: _RUNNERS | {Role.SPONSOR},
    Action.PROGRAMME_REPORT: frozenset(),
    Action.COMMUNITY_REPORT: _RUNNERS | {Role.SPONSOR},
    Action.TRACK_OBJECTIVES: _RUNNERS,
    Action.TAKE_COMPASS: _RUNNERS,
    Action.SET_STAGE: frozenset({Role.LEADER}),
    Action.CLOSE_COMMUNITY: frozenset(),
    Action.MANAGE_SURVEY: frozenset(),
    Action.HOLD_SURVEY_RESULTS: _RUNNERS,
    Action.DECIDE_JOIN: frozenset({Role.LEADER}),
    Action.GIVE_EVENT_FEEDBACK: _RUNNERS,
    Action.DECIDE_PROPOSAL: frozenset(),
}


# What is done for the programme as a whole; every other action is done in one community
# (so /cop help offers it only in that community's channel).
PROGRAMME_WIDE = frozenset(
    {
        Action.CREATE_COMMUNITY,
        Action.IMPORT_COMMUNITIES,
        Action.VIEW_PROGRAMME,
        Action.PROGRAMME_REPORT,
        Action.MANAGE_SURVEY,
        Action.DECIDE_PROPOSAL,
    }
)


@dataclass(frozen=True, slots=True)
class Actor:
    """The person asking, as the request identifies them: their id on their platform and, when
    the platform gives them, their Microsoft Entra object id (Teams) and work e-mail — what
    `names_manager` recognises a programme manager by."""

    workspace_id: str
    slack_user_id: str
    is_manager: bool
    aad_object_id: str | None = None
    email: str | None = None


def names_manager(
    managers: Collection[str],
    *,
    user_id: str,
    aad_object_id: str | None = None,
    email: str | None = None,
) -> bool:
    """Whether app.yaml (or COP_PROGRAMME_MANAGERS) names this person a programme manager: by
    their Slack user id, by their Microsoft Entra object id (Teams: the same whatever the bot,
    where the "29:…" id changes with each bot registration, so config.py refuses those), or by
    their e-mail (as the platform gave it: the Teams roster, Slack's users.info). Every surface
    builds its Actor's `is_manager` here; config.py keeps ids and e-mails in lower case."""
    if user_id in managers:
        return True
    if aad_object_id and aad_object_id.strip().lower() in managers:
        return True
    return bool(email) and str(email).strip().lower() in managers


def allowed(action: Action, *, is_manager: bool, role: Role | None) -> bool:
    """The permission matrix itself, pure so it can be tested as a table."""
    if is_manager:
        return True
    return role is not None and role in _MATRIX[action]


async def role_in(session: AsyncSession, *, actor: Actor, community_id: int) -> Role | None:
    """The actor's role in the community, or None (not a member, or not a person any more)."""
    # The person's id as a scalar subquery (evaluated once), then the membership by its index:
    # two unique lookups whatever the planner's statistics say. As a join, PostgreSQL with stale
    # statistics (a community of 3,000 just synced, before autovacuum's ANALYZE) looped over
    # every membership of the community: 1.2 s per call under load instead of 0.03 ms.
    person_id = (
        sa.select(Person.id)
        .where(
            Person.workspace_id == actor.workspace_id,
            Person.slack_user_id == actor.slack_user_id,
            IS_PERSON,
        )
        .scalar_subquery()
    )
    return await session.scalar(
        sa.select(Membership.role)
        .where(
            Membership.community_id == community_id,
            Membership.person_id == person_id,
            Membership.left_at.is_(None),
        )
        .limit(1)
    )


async def require(
    session: AsyncSession, *, actor: Actor, action: Action, community_id: int | None = None
) -> None:
    """Raise NotAllowed (with a reason key for the user) unless the actor may do this."""
    if actor.is_manager:
        if await _deactivated(session, actor=actor):
            raise NotAllowed(f"permission.{action.value}")
        return
    role = await role_in(session, actor=actor, community_id=community_id) if community_id else None
    if not allowed(action, is_manager=False, role=role):
        raise NotAllowed(f"permission.{action.value}")


async def _deactivated(session: AsyncSession, *, actor: Actor) -> bool:
    """A programme manager named in app.yaml whom Slack has since deactivated (or found to be a
    bot): the configuration does not outlive the account. Unknown to the bot = not deactivated."""
    found = await session.scalar(
        sa.select(sa.not_(IS_PERSON)).where(
            Person.workspace_id == actor.workspace_id,
            Person.slack_user_id == actor.slack_user_id,
        )
    )
    return bool(found)


async def may(
    session: AsyncSession, *, actor: Actor, action: Action, community_id: int | None = None
) -> bool:
    try:
        await require(session, actor=actor, action=action, community_id=community_id)
    except NotAllowed:
        return False
    return True


async def require_event_feedback(
    session: AsyncSession, *, actor: Actor, community_id: int, organiser_person_id: int | None
) -> None:
    """The organiser of an event may answer its checklist whatever their role (a member may
    organise); anyone else needs GIVE_EVENT_FEEDBACK in the event's community."""
    if organiser_person_id is not None:
        organiser = await session.scalar(
            sa.select(Person.id).where(
                Person.id == organiser_person_id,
                Person.workspace_id == actor.workspace_id,
                Person.slack_user_id == actor.slack_user_id,
                IS_PERSON,
            )
        )
        if organiser is not None:
            return
    await require(
        session, actor=actor, action=Action.GIVE_EVENT_FEEDBACK, community_id=community_id
    )
