"""Channel activity from the Events API: messages, replies and reactions counted, never stored.

Acknowledged before anything else. Over HTTP the edge's fast path (bot.slack.dispatch) hands these
events to `take` without Bolt's listener pipeline; over Socket Mode Bolt's listeners call the same
`take`. It only classifies the event and hands it to the process's batcher (bot.activity_batch, deps.activity_batcher), which counts everything that
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


# The event types this module owns: every message, reaction_added and reaction_removed event is
# decided here (counted, refused, or ignored), whether it arrives over HTTP (the edge's fast path,
# bot.slack.dispatch, calls `take` without Bolt) or over Socket Mode (Bolt's listeners below).
TYPES = frozenset({"message", "reaction_added", "reaction_removed"})


def take(deps: Deps, body: dict[str, Any]) -> bool:
    """Decide an Events API callback if it is channel activity: False when it is not one of
    TYPES (Bolt's listeners get it), True when it was handed to the batcher, refused or ignored.

    One guard per rule: DMs, bots, edits, deletions and joins don't count (the message rules are
    bot.activity.classify_message's); a reaction counts on a message in a channel, and a
    reaction taken back is not negative activity."""
    event = body.get("event")
    kind_of_event = event.get("type") if isinstance(event, dict) else None
    if kind_of_event not in TYPES or not isinstance(event, dict):
        return False
    if kind_of_event == "message":
        if event.get("channel_type") == "im" or str(event.get("channel", "")).startswith("D"):
            return True
        kind = activity.classify_message(event)
        if kind is not None:
            _observe(
                deps,
                body,
                channel=event.get("channel"),
                user=event.get("user"),
                kind=kind,
                ts=event.get("ts") or event.get("event_ts"),
            )
    elif kind_of_event == "reaction_added":
        item = event.get("item")
        if (
            isinstance(item, dict)
            and item.get("type") == "message"
            and event.get("user")
            and item.get("channel")
        ):
            _observe(
                deps,
                body,
                channel=item.get("channel"),
                user=event.get("user"),
                kind=activity.Kind.REACTION,
                ts=event.get("event_ts") or item.get("ts"),
            )
    return True


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


async def handle_activity(body: dict[str, Any], deps: Deps) -> None:
    """Over Socket Mode (or anything the HTTP fast path passed on): the same decision, `take`."""
    take(deps, body)


def register(app: AsyncApp) -> None:
    for event_type in sorted(TYPES):
        app.event(event_type)(handle_activity)
