"""Events API listeners for channel membership and archiving (activity: handlers/activity.py).

Bolt acknowledges events before these run; each listener does its work and records the
event id in one transaction, so a redelivered event changes nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot import communities, redelivery, roster
from bot.deps import Deps
from bot.models import ChannelStatus
from rituals import welcome

logger = logging.getLogger(__name__)


async def handle_member_joined(event: dict[str, Any], body: dict[str, Any], deps: Deps) -> None:
    workspace_id = body.get("team_id") or event.get("team", "T0")
    async with deps.sessions.begin() as session:
        community = await communities.by_channel(
            session, workspace_id=workspace_id, channel_id=event.get("channel", "")
        )
        if community is None or not await redelivery.first_time(
            session, event_id=body["event_id"], workspace_id=workspace_id
        ):
            deps.metrics.events.labels(type="member_joined_channel", result="ignored").inc()
            return
        joined = await communities.member_joined(
            session, community=community, slack_user_id=event["user"]
        )
        community_id = community.id
    deps.metrics.events.labels(type="member_joined_channel", result="handled").inc()
    await roster.refresh_people(deps.sessions, deps.directory, workspace_id, [event["user"]])
    await welcome.on_join(deps, community_id=community_id, joined=joined)


async def handle_member_left(event: dict[str, Any], body: dict[str, Any], deps: Deps) -> None:
    workspace_id = body.get("team_id") or event.get("team", "T0")
    async with deps.sessions.begin() as session:
        community = await communities.by_channel(
            session, workspace_id=workspace_id, channel_id=event.get("channel", "")
        )
        if community is None or not await redelivery.first_time(
            session, event_id=body["event_id"], workspace_id=workspace_id
        ):
            return
        await communities.member_left(session, community=community, slack_user_id=event["user"])


async def _set_channel_status(body: dict[str, Any], deps: Deps, status: ChannelStatus) -> None:
    event = body["event"]
    workspace_id = body.get("team_id", "T0")
    async with deps.sessions.begin() as session:
        community = await communities.by_channel(
            session, workspace_id=workspace_id, channel_id=event.get("channel", "")
        )
        if community is not None:
            await communities.mark_channel(session, community=community, status=status)


async def handle_channel_archive(body: dict[str, Any], deps: Deps) -> None:
    await _set_channel_status(body, deps, ChannelStatus.ARCHIVED)


async def handle_channel_unarchive(body: dict[str, Any], deps: Deps) -> None:
    await _set_channel_status(body, deps, ChannelStatus.OK)


async def handle_channel_deleted(body: dict[str, Any], deps: Deps) -> None:
    await _set_channel_status(body, deps, ChannelStatus.GONE)


def register(app: AsyncApp) -> None:
    app.event("member_joined_channel")(handle_member_joined)
    app.event("member_left_channel")(handle_member_left)
    app.event("channel_archive")(handle_channel_archive)
    app.event("group_archive")(handle_channel_archive)
    app.event("channel_unarchive")(handle_channel_unarchive)
    app.event("group_unarchive")(handle_channel_unarchive)
    app.event("channel_deleted")(handle_channel_deleted)
