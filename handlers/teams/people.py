"""Who and where, for every Teams activity, before any other handler: the workspace (the
tenant), the conversation reference (bot.teams.conversations: where the bot can write later) and
the person (name, language, time zone as their Teams client reports them).

Every channel message reaches the bot (RSC), so the same details arrive again and again: what
this process last wrote is remembered (conversations.Recent) and an activity that changes
nothing costs no database round trip. The handlers after this one read
`turn.info["workspace_id"]`, `turn.info["person_id"]`, and `turn.info["reference_changed"]`
when the conversation was first seen (or its details changed).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from bot import db, people
from bot.teams import conversations
from bot.teams.conversations import Recent, Reference

if TYPE_CHECKING:
    from bot.deps import Deps
    from bot.teams.edge import TeamsEdge, Turn


logger = logging.getLogger(__name__)


def reference(turn: Turn) -> Reference | None:
    """The conversation the activity came from, as the bot will need it to write there."""
    conversation = turn.activity.get("conversation") or {}
    if not turn.conversation_id or not turn.service_url:
        return None
    data: dict[str, Any] = turn.activity.get("channelData") or {}
    team: dict[str, Any] = data["team"] if isinstance(data.get("team"), dict) else {}
    channel: dict[str, Any] = data["channel"] if isinstance(data.get("channel"), dict) else {}
    kind = str(conversation.get("conversationType") or "")
    kind = kind if kind in {conversations.PERSONAL, conversations.GROUP} else conversations.CHANNEL
    conversation_id = conversations.channel_of(turn.conversation_id)
    same_channel = channel.get("id") == conversation_id
    return Reference(
        conversation_id=conversation_id,
        kind=kind,
        service_url=turn.service_url,
        team_id=str(team["id"]) if kind == conversations.CHANNEL and team.get("id") else None,
        user_id=turn.user_id if kind == conversations.PERSONAL else None,
        name=str(channel.get("name") or "") if same_channel else "",
    )


def is_person(user_id: str) -> bool:
    """A person's id ("29:…"), not a bot's ("28:…") or nothing."""
    return bool(user_id) and not user_id.startswith("28:")


def seen(turn: Turn, where: Reference | None) -> people.Seen:
    sender: dict[str, Any] = turn.activity.get("from") or {}
    locale = turn.activity.get("locale")
    personal = where.conversation_id if where and where.kind == conversations.PERSONAL else None
    return people.Seen(
        user_id=turn.user_id,
        name=str(sender["name"]) if sender.get("name") else None,
        locale=str(locale) if locale else None,
        tz=turn.timezone,
        dm_channel_id=personal,
    )


def register(edge: TeamsEdge, deps: Deps) -> None:
    recent = Recent()

    @edge.before
    async def who_and_where(turn: Turn) -> None:
        tenant = turn.tenant_id
        if not tenant:
            return
        turn.info["workspace_id"] = tenant
        where = reference(turn)
        person = seen(turn, where) if is_person(turn.user_id) else None
        key = (tenant, where.conversation_id if where else "", turn.user_id)
        fingerprint = (where, person)
        known = recent.get(key, fingerprint)
        if known is not None:
            if known:
                turn.info["person_id"] = known
            return
        person_id = 0
        try:
            async with deps.sessions.begin() as session:
                await people.ensure_workspace(session, tenant)
                if where is not None and await conversations.keep(
                    session, workspace_id=tenant, reference=where
                ):
                    turn.info["reference_changed"] = True  # first seen, or moved: communities
                if person is not None:
                    found = await people.learn(session, workspace_id=tenant, seen=[person])
                    person_id = found[person.user_id].id
        except Exception as exc:
            if not db.unavailable(exc):
                raise
            # the database away or busy: the activity goes on (its counting waits for the
            # database in the batcher); these details come again with the next activity
            logger.warning("Teams activity: who and where not recorded (%r)", exc)
            return
        recent.put(key, fingerprint, person_id)
        if person_id:
            turn.info["person_id"] = person_id
