"""Answers close when an event starts: its announcement is re-rendered without the RSVP buttons.

Every tick, the events that started (within bot.events.CLOSING_LOOKBACK) and whose announcement
has not been re-rendered for their current start are handed to the chat side (the
"event_started:<platform>" hook each platform's handlers set on Deps — Slack's chat.update, the
Teams card PUT in its channel); each one it re-rendered is recorded (the audit
log's "event.rsvp_closed", keyed by the event and its start), so the next tick leaves it alone,
and a rescheduled event that starts again later is closed again. A failed re-render is tried
again at the next tick. A click that comes before the tick is refused anyway (bot.events.rsvp).
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot import events, installation
from bot.deps import Deps

logger = logging.getLogger(__name__)

HOOK = "event_started"  # deps.hooks[f"{HOOK}:{platform}"]: (workspace id, event id) → closed


def hook_name(platform: str) -> str:
    """The key of a platform's hook in Deps.hooks ("slack", "teams": installation.Platform)."""
    return f"{HOOK}:{platform}"


async def close(deps: Deps, *, now: datetime) -> int:
    """Re-render the announcements of the events that started; returns how many."""
    if not any(name.startswith(f"{HOOK}:") for name in deps.hooks):
        return 0  # no chat side in this process (a CLI run): nothing to re-render
    async with deps.sessions() as session:
        due = [(e.workspace_id, e.id) for e in await events.started_unclosed(session, now=now)]
    closed = 0
    for workspace_id, event_id in due:
        hook = deps.hooks.get(hook_name(installation.platform_of(workspace_id)))
        if hook is None:  # a platform this process does not speak (Teams not configured)
            continue
        try:
            with installation.speaking_in(workspace_id):  # many workspaces: its token
                done = await hook(workspace_id, event_id)
        except Exception:
            logger.exception("could not close the answers of event %s", event_id)
            continue
        if not done:
            continue
        async with deps.sessions.begin() as session:
            event = await events.get(session, workspace_id=workspace_id, event_id=event_id)
            await events.mark_rsvp_closed(session, event=event)
        closed += 1
    return closed
