"""Channel activity from the Events API: messages, replies and reactions counted, never stored.

Bolt acknowledges events before these run. Listeners only classify the event and hand it to the
process's batcher (bot.activity_batch, deps.activity_batcher), which counts everything that
arrived in the last few milliseconds in one transaction (bot.activity.record_many): the event
ids are recorded in that same transaction, so Slack's redeliveries change nothing, and a busy
channel costs one commit per batch rather than one per message.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot import activity
from bot.deps import Deps
from handlers.commands import Subcommand
from handlers.context import workspace_of

logger = logging.getLogger(__name__)

SUBCOMMANDS: list[Subcommand] = []


def _observe(
    deps: Deps, body: dict[str, Any], *, channel: Any, user: Any, kind: activity.Kind, ts: Any
) -> None:
    """Queue the event for the next batch, unless it is malformed (an odd timestamp, a missing
    or strange id): that one is refused here, alone, and counted as refused."""
    workspace_id = workspace_of(body)
    observed = activity.observe(
        workspace_id,
        channel_id=channel,
        slack_user_id=user,
        kind=kind,
        ts=ts,
        event_id=body.get("event_id"),
    )
    if observed is None:
        logger.info("activity event %r refused: not shaped like Slack's", body.get("event_id"))
        deps.metrics.slack_events.labels(type="activity", result="refused").inc()
        return
    deps.activity_batcher.submit(workspace_id, observed)


async def handle_message(event: dict[str, Any], body: dict[str, Any], deps: Deps) -> None:
    """A message or thread reply in a channel; DMs, bots, edits, deletions and joins don't count."""
    if event.get("channel_type") == "im" or str(event.get("channel", "")).startswith("D"):
        return
    kind = activity.classify_message(event)
    if kind is None:
        return
    _observe(
        deps,
        body,
        channel=event.get("channel"),
        user=event.get("user"),
        kind=kind,
        ts=event.get("ts") or event.get("event_ts"),
    )


async def handle_reaction_added(event: dict[str, Any], body: dict[str, Any], deps: Deps) -> None:
    item = event.get("item") or {}
    if item.get("type") != "message" or not event.get("user") or not item.get("channel"):
        return
    _observe(
        deps,
        body,
        channel=item.get("channel"),
        user=event.get("user"),
        kind=activity.Kind.REACTION,
        ts=event.get("event_ts") or item.get("ts"),
    )


async def handle_ignored(body: dict[str, Any]) -> None:
    """A reaction taken back is not negative activity: nothing to do, but Bolt must ack it."""


def register(app: AsyncApp) -> None:
    app.event("message")(handle_message)
    app.event("reaction_added")(handle_reaction_added)
    app.event("reaction_removed")(handle_ignored)
