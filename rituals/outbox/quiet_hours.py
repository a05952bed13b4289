"""Quiet hours: a ritual DM goes out in its reader's working hours, in the reader's own zone.

Pure: the drain asks `next_allowed` when a ritual DM is due and, if the answer is later, puts
the row back to wait until then. A zone Slack reports that is not a place (`bot.zones`) counts
as unknown: the programme's zone is used.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.config import QuietHours
from bot.zones import find_zone

# Kinds of DM that are rituals: quiet hours, the weekly cap and people's mute choices apply.
RITUAL_DM_KINDS = frozenset(
    {"welcome", "reminder", "pulse", "pulse_reminder", "story_prompt", "survey", "survey_reminder"}
)
# Kinds of DM that wait for their reader's working hours: the ritual DMs, and the sponsor digest
# with its preview (sent to sponsors and leaders as part of their role: no cap, no mute).
WORKING_HOURS_KINDS = RITUAL_DM_KINDS | {
    "sponsor_digest",
    "sponsor_preview",
    "objectives_review",  # the leaders' quarterly objectives review (rituals/objectives.py)
    "objectives_nudge",
    "event_feedback",  # the organiser's « animation » checklist after an event (bot.feedback)
}

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def next_allowed(now: datetime, *, tz: str | None, quiet: QuietHours, default_tz: str) -> datetime:
    """`now` if it falls in the person's working hours (their own zone), else the next start."""
    zone = ZoneInfo(find_zone(tz) or default_tz)
    start = time.fromisoformat(quiet.start)
    end = time.fromisoformat(quiet.end)
    local = now.astimezone(zone)
    days = set(quiet.days)
    for offset in range(8):
        day = (local + timedelta(days=offset)).date()
        if _DAYS[day.weekday()] not in days:
            continue
        opens = datetime.combine(day, start, tzinfo=zone)
        closes = datetime.combine(day, end, tzinfo=zone)
        if offset == 0 and opens <= local < closes:
            return now
        if local < opens:
            return opens.astimezone(now.tzinfo)
    return now
