"""Who is asking, from where, in which language: what every listener needs first."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from bot import communities, people
from bot.communities import CommunityView
from bot.deps import Deps
from bot.i18n import Translator, language_of, translate
from bot.permissions import Actor

logger = logging.getLogger(__name__)

# The database refusing connections, versus the bot being too busy to get one in time: the first
# is an outage, the second an overload, and people are told which.
DATABASE_OUTAGE = (OperationalError, DBAPIError, ConnectionError, OSError)
BUSY = (PoolTimeout, asyncio.TimeoutError)
DATABASE_DOWN = DATABASE_OUTAGE + BUSY  # everything that means "cannot reach the data now"


def unavailable_key(exc: BaseException) -> str:
    """The message key for an unreachable database: busy (try again shortly) or down."""
    return "error.busy" if isinstance(exc, BUSY) else "error.database_down"


LOOKUP_TIMEOUT = 2.5


@dataclass(frozen=True)
class Caller:
    """The person behind a request and the community of the channel they are in (if any)."""

    deps: Deps
    workspace_id: str
    user_id: str
    channel_id: str | None
    actor: Actor
    community: CommunityView | None
    language: str

    @property
    def t(self) -> Translator:
        return translate(self.language)


def pick_language(
    *, person_locale: str | None, community_language: str | None, default: str
) -> str:
    """The caller's own Slack language first, then the community's, then the programme's."""
    if person_locale:
        return language_of(person_locale, default)
    return community_language or default


async def load_caller(
    deps: Deps, *, workspace_id: str, user_id: str, channel_id: str | None
) -> Caller:
    """Look the caller up (and learn their name, zone and language the first time we see them)."""

    async def _load() -> Caller:
        async with deps.sessions.begin() as session:
            person = await people.find(session, workspace_id=workspace_id, slack_user_id=user_id)
            community = (
                await communities.by_channel(
                    session, workspace_id=workspace_id, channel_id=channel_id
                )
                if channel_id
                else None
            )
            view = CommunityView.of(community) if community else None
            known_locale = person.locale if person and person.name else None
            is_new = person is None or not person.name
        if is_new:
            info = await _lookup_user(deps, user_id)
            if info is not None:
                async with deps.sessions.begin() as session:
                    # the workspace row only matters once someone is written under it
                    await people.ensure_workspace(session, workspace_id)
                    await people.upsert(session, workspace_id=workspace_id, info=info)
                known_locale = info.locale
        return Caller(
            deps=deps,
            workspace_id=workspace_id,
            user_id=user_id,
            channel_id=channel_id,
            actor=Actor(
                workspace_id=workspace_id,
                slack_user_id=user_id,
                is_manager=deps.is_manager(user_id),
            ),
            community=view,
            language=pick_language(
                person_locale=known_locale,
                community_language=view.language if view else None,
                default=deps.programme.language,
            ),
        )

    return await asyncio.wait_for(_load(), LOOKUP_TIMEOUT)


async def _lookup_user(deps: Deps, user_id: str) -> Any:
    try:
        return await deps.directory.user(user_id)
    except Exception:
        logger.warning("could not look up user %s", user_id, exc_info=True)
        return None


def workspace_of(body: dict[str, Any]) -> str:
    team = (
        body.get("team_id")
        or (body.get("team") or {}).get("id")
        or body.get("user", {}).get("team_id")
    )
    return str(team or "T0")


async def caller_of(deps: Deps, body: dict[str, Any], channel_id: str | None = None) -> Caller:
    """The caller of an interaction payload (button, modal) or of an event."""
    user = body.get("user", {})
    return await load_caller(
        deps,
        workspace_id=workspace_of(body),
        user_id=user.get("id") or body.get("user_id", ""),
        channel_id=channel_id,
    )


async def caller_here(deps: Deps, body: dict[str, Any]) -> Caller:
    """The caller of a button or modal, in the channel the payload came from (if any)."""
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
        "channel_id"
    )
    return await caller_of(deps, body, channel_id=channel)


async def zone_of(deps: Deps, caller: Caller) -> str:
    """The reader's zone (Slack profile), else the programme's."""
    async with deps.sessions() as session:
        person = await people.find(
            session, workspace_id=caller.workspace_id, slack_user_id=caller.user_id
        )
    return (person.tz if person and person.tz else None) or deps.programme.timezone
