"""Events API listeners for channel membership, archiving, people's accounts and uninstalling
(activity: handlers/activity.py).

Bolt acknowledges events before these run; each listener does its work and records the
event id in one transaction, so a redelivered event changes nothing. Slack does not redeliver
an event we acknowledged, so when the database is unreachable the transaction is tried again
in the background, with backoff, for up to ten minutes (bot.retry.through_outage; while the
database is known to be down, new events are refused with a 503 instead and Slack redelivers
them: bot/app.py).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext

from bot import communities, installation, people, redelivery, retry, roster
from bot.deps import Deps
from bot.models import ChannelStatus
from bot.slack.client import user_info
from rituals import welcome

logger = logging.getLogger(__name__)


def bot_user_id(context: AsyncBoltContext, body: dict[str, Any]) -> str | None:
    """The bot's own user id: from auth.test (Bolt's context), else the event's authorisation."""
    if context.bot_user_id:
        return context.bot_user_id
    for auth in body.get("authorizations") or []:
        if auth.get("is_bot") and auth.get("user_id"):
            return str(auth["user_id"])
    return None


async def handle_member_joined(
    event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext, deps: Deps
) -> None:
    workspace_id = body.get("team_id") or event.get("team", "T0")
    if event.get("user") == bot_user_id(context, body):
        # the bot itself invited into a channel (Bolt passes this one on): not a member, no welcome
        deps.metrics.slack_events.labels(type="member_joined_channel", result="ignored").inc()
        return

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

    recorded = await retry.through_outage(
        record, what="member_joined_channel", availability=deps.database
    )
    if recorded is None:
        deps.metrics.slack_events.labels(type="member_joined_channel", result="ignored").inc()
        return
    community_id, joined = recorded
    deps.metrics.slack_events.labels(type="member_joined_channel", result="handled").inc()
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

    await retry.through_outage(record, what="member_left_channel", availability=deps.database)


async def handle_user_change(event: dict[str, Any], body: dict[str, Any], deps: Deps) -> None:
    """Someone's Slack account changed: deactivated, reactivated, renamed, moved zone. Only people
    the bot already knows are updated (it keeps no directory of the whole workspace); a
    deactivated account loses its memberships, so every right, count and DM (bot.people.upsert)."""
    user = event.get("user")
    if not isinstance(user, dict) or not user.get("id"):
        return
    info = user_info(user)
    workspace_id = str(body.get("team_id") or user.get("team_id") or "T0")

    async def record() -> None:
        async with deps.sessions.begin() as session:
            if await people.find(session, workspace_id=workspace_id, slack_user_id=info.user_id):
                await people.upsert(session, workspace_id=workspace_id, info=info)

    await retry.through_outage(record, what="user_change", availability=deps.database)


async def handle_uninstalled(
    event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext, deps: Deps
) -> None:
    """`app_uninstalled`, or `tokens_revoked` naming our bot token: the bot stops sending to this
    workspace (the outbox holds its messages, the scheduler skips its rituals) and keeps its
    data, still under the retention rules; it resumes when Slack accepts the token again
    (rituals/scheduler.py: reconnect). In OAuth mode (many workspaces) the workspace's
    installation is deleted too — that workspace's only: the others keep theirs — and it comes
    back by installing again (/slack/install); an org-wide install goes for the organisation."""
    if event.get("type") == "tokens_revoked" and not (event.get("tokens") or {}).get("bot"):
        return  # only user tokens were revoked: the bot uses none
    workspace_id = str(body.get("team_id") or "T0")
    oauth = deps.installations is not None
    enterprise_id = context.enterprise_id or ""
    org_wide = bool(context.is_enterprise_install) and bool(enterprise_id)

    async def record() -> None:
        async with deps.sessions.begin() as session:
            silenced = {workspace_id}
            if org_wide:  # the organisation's token goes: every workspace of it falls silent
                silenced.update(
                    await installation.workspaces_of(session, enterprise_id=enterprise_id)
                )
            for silent in sorted(silenced):
                await installation.mark_revoked(
                    session, workspace_id=silent, reason=str(event.get("type"))
                )
            if oauth:
                await installation.delete_installation(
                    session,
                    workspace_id=workspace_id,
                    enterprise_id=enterprise_id,
                    org_wide=org_wide,
                )
        if oauth:
            deps.installations.forget_tokens()

    await retry.through_outage(record, what=str(event.get("type")), availability=deps.database)
    deps.metrics.slack_events.labels(type=str(event.get("type")), result="handled").inc()


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

    await retry.through_outage(
        record, what=str(event.get("type", "channel")), availability=deps.database
    )


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
    app.event("user_change")(handle_user_change)
    app.event("app_uninstalled")(handle_uninstalled)
    app.event("tokens_revoked")(handle_uninstalled)
