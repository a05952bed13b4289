"""The outbox: every message a ritual (or a change people must hear about) owes, written first.

Contract (shared by every feature): a row carries a neutral message (`bot.messages`, stored as
data with the reader it is for) and its target — a channel id, or a person (sent as a DM). The
message is rendered for the platform when it goes out. The idempotency key names what the
message is for (ritual, community, person, period) so writing it twice is a no-op; the drain
sends each row once.

One module per job:

- `enqueueing`: owe a message (`enqueue`, `enqueue_many`, `Owed`), cancel pending ones;
- `quiet_hours`: when a ritual DM may go out, in its reader's zone (pure);
- `pacing`: the token bucket per Slack method and its Retry-After pause;
- `failures`: what a failed delivery means (wait, give up, retry when);
- `drain`: claim due rows, send them, record each result;
- `statuses`: the outbox by status (`cop rituals status`).

The names below are re-exported so `from rituals.outbox import …` keeps working.
"""

from __future__ import annotations

from rituals.outbox.drain import ON_SENT, Drain, DrainStats
from rituals.outbox.enqueueing import Owed, cancel, enqueue, enqueue_many
from rituals.outbox.failures import AMBIGUOUS, MAX_ATTEMPTS
from rituals.outbox.pacing import Pacer
from rituals.outbox.quiet_hours import RITUAL_DM_KINDS, next_allowed
from rituals.outbox.statuses import StatusLine, status

__all__ = [
    "AMBIGUOUS",
    "MAX_ATTEMPTS",
    "ON_SENT",
    "RITUAL_DM_KINDS",
    "Drain",
    "DrainStats",
    "Owed",
    "Pacer",
    "StatusLine",
    "cancel",
    "enqueue",
    "enqueue_many",
    "next_allowed",
    "status",
]
