"""Events API listeners for channel membership and archiving (activity: handlers/activity.py).

Bolt acknowledges events before these run; each listener does its work and records the
event id in one transaction, so a redelivered event changes nothing. Slack does not redeliver
an event we acknowledged, so when the database is unreachable the transaction is tried again
in the background, with backoff, for up to RETRY_FOR seconds (while the database is known to
be down, new events are refused with a 503 instead and Slack redelivers them: bot/app.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from slack_bolt.async_app import AsyncApp

from bot import communities, redelivery, roster
from bot.deps import Deps
from bot.models import ChannelStatus
from handlers.context import DATABASE_DOWN
from rituals import welcome

logger = logging.getLogger(__name__)
RETRY_FOR = 600.0  # seconds an acknowledged event keeps being retried while the database is away
T = TypeVar("T")


async def until_recorded(deps: Deps, what: str, work: Callable[[], Awaitable[T]]) -> T:
    """Run one transaction; while the database is unreachable, wait and try again (0.5 s, 1 s,
    2 s… up to 30 s apart). When it never came back, the last error goes up to the listener's
    error handler (logged with its traceback and counted in the errors metric)."""
    delay, deadline = 0.5, time.monotonic() + RETRY_FOR
    while True:
        try:
            result = await work()
        except DATABASE_DOWN as exc:
            if deps.database is not None:
                deps.database.mark_down()
            if time.monotonic() + delay > deadline:
                logger.error("database unavailable for %.0f s: %s lost", RETRY_FOR, what)
                raise
            logger.warning("database unavailable (%r): %s retried in %.1f s", exc, what, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)
            continue
        if deps.database is not None:
            deps.database.mark_up()
        return result


async def handle_member_joined(event: dict[str, Any], body: dict[str, Any], deps: Deps) -> None:
    workspace_id = body.get("team_id") or event.get("team", "T0")

    async def record() -> tuple[int, communities.JoinResult] | None:
        async with deps.sessions.begin() as session:
            community = await communities.by_channel(
                session, workspace_id=workspace_id, channel_id=event.get("channel", "")
            )
            if community is None or not await redelivery.first_time(
                session, event_id=body["event_id"], workspace_id=workspace_id
            ):
                return None
            joined = await communities.member_joined(
                session, community=community, slack_user_id=event["user"]
            )
            return community.id, joined

    recorded = await until_recorded(deps, "member_joined_channel", record)
    if recorded is None:
        deps.metrics.events.labels(type="member_joined_channel", result="ignored").inc()
        return
    community_id, joined = recorded
    deps.metrics.events.labels(type="member_joined_channel", result="handled").inc()
    await roster.refresh_people(deps.sessions, deps.directory, workspace_id, [event["user"]])
    await welcome.on_join(deps, community_id=community_id, joined=joined)


async def handle_member_left(event: dict[str, Any], body: dict[str, Any], deps: Deps) -> None:
    workspace_id = body.get("team_id") or event.get("team", "T0")

    async def record() -> None:
        async with deps.sessions.begin() as session:
            community = await communities.by_channel(
                session, workspace_id=workspace_id, channel_id=event.get("channel", "")
            )
            if community is None or not await redelivery.first_time(
                session, event_id=body["event_id"], workspace_id=workspace_id
            ):
                return
            await communities.member_left(session, community=community, slack_user_id=event["user"])

    await until_recorded(deps, "member_left_channel", record)


async def _set_channel_status(body: dict[str, Any], deps: Deps, status: ChannelStatus) -> None:
    event = body["event"]
    workspace_id = body.get("team_id", "T0")

    async def record() -> None:
        async with deps.sessions.begin() as session:
            community = await communities.by_channel(
                session, workspace_id=workspace_id, channel_id=event.get("channel", "")
            )
            if community is not None:
                await communities.mark_channel(session, community=community, status=status)

    await until_recorded(deps, str(event.get("type", "channel")), record)


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
