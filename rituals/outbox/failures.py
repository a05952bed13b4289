"""What a failed delivery means for its row: wait out a 429, give up, or try again later.

`bot.slack.client.delivery_error` maps the platform's answer to a `DeliveryError` (a reason,
permanent or not, Slack's Retry-After); the names here decide what the drain does with it.
Our own token dead (`bot.installation.TOKEN_DEAD`) is not the message's failure: the drain
holds the workspace's rows until the bot is reinstalled.
"""

from __future__ import annotations

from bot.models import ChannelStatus
from bot.ports import DeliveryError

MAX_ATTEMPTS = 8
# Failures that say the channel is gone (bot.slack.client.GONE): the community is marked.
CHANNEL_GONE = {"channel_not_found": ChannelStatus.GONE, "is_archived": ChannelStatus.ARCHIVED}
# No answer, yet Slack may have posted it (a timeout, a dropped connection): before sending such
# a row again, look for it in the channel, and give Slack time to finish the first request.
AMBIGUOUS = frozenset({"timeout", "ServerDisconnectedError", "ClientOSError", "ClientPayloadError"})


# Failures that say nothing of the reader (the row's own form): the row fails, the person stays
# reachable. A Slack-form row due in Teams (bot/teams/messenger.py refuses it).
NOT_THE_READER = frozenset({"slack_form_message"})


def pause_for(exc: DeliveryError) -> float | None:
    """Seconds Slack asked every sender of the method to wait (a 429's Retry-After), or None:
    after that pause the same row goes out again, its attempts unspent."""
    return None if exc.permanent else exc.retry_after


def retry_delay(attempts: int, reason: str, *, ambiguous_wait: float, jitter: float) -> float:
    """Seconds before attempt `attempts + 1`: doubling up to five minutes, spread by `jitter`
    (0 to 1, up to half as long again); a send with no answer waits at least `ambiguous_wait`."""
    wait = min(2 ** (attempts - 1), 300) * (1 + jitter / 2)
    if reason in AMBIGUOUS:
        wait = max(wait, ambiguous_wait)
    return wait
