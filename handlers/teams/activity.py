"""Channel activity from Microsoft Teams: messages, thread replies and reactions counted into the
same daily counters as Slack's (bot.activity), never their text.

With the resource-specific consent ChannelMessage.Read.Group (bot/teams/manifest.py) Teams
delivers every message of a standard channel of the teams the bot is in, @mentioned or not. Each
is classified here and handed to the process's batcher (bot.activity_batch, as
handlers/activity.py `take` does for Slack), which records the activity's id in the same
transaction as the counts: Teams redelivers what was not acknowledged in time, it counts once.
The bot's own messages, the commands @mentioning it (Slack's /cop is not a message either), 1:1
and group chats are not community activity. Teams sends a reaction
only when it is on a message the bot posted (README, "What Teams delivers and what it does not").
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot import activity
from bot.teams import conversations

if TYPE_CHECKING:
    from bot.deps import Deps
    from bot.teams.edge import TeamsEdge, Turn

logger = logging.getLogger(__name__)

THREAD = ";messageid="


def when(turn: Turn) -> str | None:
    """The activity's time as seconds since 1970 ("1712345678.123000"), the form bot.activity
    checks and turns into a day."""
    stamp = turn.activity.get("timestamp")
    if not isinstance(stamp, str) or not stamp:
        return None
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return f"{moment.timestamp():.6f}"


def kind_of_message(turn: Turn) -> activity.Kind:
    """A thread's reply, or a new post: a post's conversation id names its own id as the
    thread ("…;messageid=<its id>"), a reply names the post it answers (and replyToId)."""
    _, _, root = turn.conversation_id.partition(THREAD)
    if root and root != str(turn.activity.get("id") or ""):
        return activity.Kind.REPLY
    if not root and turn.activity.get("replyToId"):
        return activity.Kind.REPLY
    return activity.Kind.MESSAGE


def channel_id(turn: Turn) -> str:
    data: dict[str, Any] = turn.activity.get("channelData") or {}
    channel = data.get("channel")
    if isinstance(channel, dict) and channel.get("id"):
        return str(channel["id"])
    return conversations.channel_of(turn.conversation_id)


def in_channel(turn: Turn) -> bool:
    return (turn.activity.get("conversation") or {}).get("conversationType") == "channel"


def register(edge: TeamsEdge, deps: Deps) -> None:
    def observe(turn: Turn, kind: activity.Kind) -> None:
        tenant = turn.tenant_id
        observed = activity.observe(
            tenant,
            channel_id=channel_id(turn),
            slack_user_id=turn.user_id,
            kind=kind,
            ts=when(turn),
            event_id=conversations.event_id(
                tenant, turn.conversation_id, str(turn.activity.get("id") or ""), what="activity"
            ),
        )
        if observed is None:
            logger.info("Teams activity %r refused: not shaped as Teams sends them", kind)
            deps.metrics.slack_events.labels(type="activity", result="refused").inc()
            return
        deps.activity_batcher.submit(tenant, observed)

    @edge.on("message")
    async def message(turn: Turn) -> None:
        if not in_channel(turn) or not turn.user_id.startswith("29:"):
            return  # a 1:1, a group chat, or a bot (its own messages are not activity)
        if turn.addressed:
            return  # `@cop …` is a command to the bot, as Slack's /cop is: not a conversation
        observe(turn, kind_of_message(turn))

    @edge.on("messageReaction")
    async def reaction(turn: Turn) -> None:
        if not in_channel(turn) or not turn.user_id.startswith("29:"):
            return
        if turn.activity.get("reactionsAdded"):  # one taken back is not negative activity
            observe(turn, activity.Kind.REACTION)
