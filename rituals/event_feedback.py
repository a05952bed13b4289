"""After each event, its organiser gets the « animation » checklist by DM (bot.feedback).

Programme-wide, like the annual survey: the tick calls `maintain`. An event is asked about once
(`Event.feedback_requested_at`, and the outbox key per event and organiser), only when it ended
within the last two days (so the first tick after an upgrade does not flood organisers with
their past events), never when cancelled or in a closed or archived community. The DM waits for
the organiser's working hours (rituals.outbox.quiet_hours), and an organiser who muted it
(`/cop mute feedback off`) is not asked.
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot import feedback, preferences
from bot import messages as m
from bot.deps import Deps
from bot.i18n import language_of
from bot.models import Ritual, utcnow
from rituals.outbox import enqueue

logger = logging.getLogger(__name__)


async def maintain(deps: Deps, *, now: datetime | None = None) -> int:
    """Ask the organisers of the events that just ended; returns how many DMs were owed."""
    now = now or utcnow()
    programme = deps.programme
    owed = 0
    async with deps.sessions.begin() as session:
        found = await feedback.due(session, now=now)
        if not found:
            return 0
        muted = await preferences.muted_people(session, ritual=Ritual.EVENT_FEEDBACK, now=now)
        for item in found:
            await feedback.mark_asked(session, event_id=item.event_id, now=now)
            person = await feedback.organiser_reachable(session, person_id=item.organiser_id)
            if person is None or person.id in muted:
                continue
            default = item.language or programme.language
            language = language_of(person.locale, default) if person.locale else default
            owed += await enqueue(
                session,
                workspace_id=item.workspace_id,
                key=feedback.key(item.event_id, person.id),
                kind=feedback.KIND,
                message=feedback.request_message(item),
                reader=m.Reader(language, person.tz or programme.timezone),
                person_id=person.id,
                community_id=item.community_id,
            )
    if owed:
        logger.info("event feedback: %d organiser(s) asked", owed)
    return owed
