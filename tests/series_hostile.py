"""Recurring series' screens for tests/test_safe_echo.py: titles, descriptions and community
names as typed (hostile) text."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bot import series
from bot.events import Counts, EventView
from bot.i18n import Translator
from bot.messages import Reader
from bot.models import (
    Event,
    EventKind,
    EventStatus,
    SeriesAnnounce,
    SeriesFrequency,
)
from bot.slack.blocks import series as screens
from bot.slack.messages import render

NOW = datetime(2030, 3, 4, 9, 30, tzinfo=UTC)
LINK = "https://meet.example.com/room?a=1&b=2"


def _event(x: str, *, id: int, days: int, status: EventStatus) -> EventView:
    return EventView(
        id=id,
        community_id=3,
        community_name=x,
        community_tz="Europe/Paris",
        community_language="fr",
        channel_id="C0HOME",
        message_ts=None,
        title=x,
        kind=EventKind.MEETING,
        starts_at=NOW + timedelta(days=days),
        duration_minutes=60,
        tz="Europe/Paris",
        link=LINK,
        description=x,
        status=status,
        sequence=1,
        attendance_count=None,
        counts=Counts(going=1, maybe=0, declined=2),
    )


def _series(x: str, *, announce: SeriesAnnounce, status: EventStatus) -> series.SeriesView:
    coming = (
        series.Occurrence(_event(x, id=7, days=1, status=EventStatus.SCHEDULED), NOW, False),
        series.Occurrence(_event(x, id=8, days=8, status=EventStatus.CANCELLED), NOW, False),
        series.Occurrence(_event(x, id=9, days=16, status=EventStatus.SCHEDULED), NOW, True),
    )
    return series.SeriesView(
        id=4,
        community_id=3,
        community_name=x,
        community_tz="Europe/Paris",
        community_language="fr",
        channel_id="C0HOME",
        message_ts="1700000000.000100",
        title=x,
        kind=EventKind.MEETING.value,
        description=x,
        link=LINK,
        tz="Europe/Paris",
        first_starts_at=NOW + timedelta(days=1),
        duration_minutes=90,
        frequency=SeriesFrequency.MONTHLY,
        nth=-1,
        until=date(2030, 12, 31),
        count=None,
        announce=announce,
        status=status,
        sequence=2,
        coming=coming,
        exceptions=(),
        last=None,
    )


def _row(x: str) -> Event:
    return Event(
        id=7,
        title=x,
        kind=EventKind.MEETING,
        starts_at=NOW,
        duration_minutes=60,
        tz="Europe/Paris",
        link=LINK,
        description=x,
    )


CASES: dict[str, Callable[[Translator, str], list[Any]]] = {
    "series.build_message": lambda t, x: [
        screens.build_message(t, _series(x, announce=announce, status=status))
        for announce in SeriesAnnounce
        for status in EventStatus
    ],
    "series.occurrence_message": lambda t, x: [
        render(series.occurrence_message(_row(x), series_title=x), Reader(t.language, "Asia/Tokyo"))
    ],
}
# parsers, and screens that show no typed text (the rule in words, the Repeat section)
NOT_BUILDERS = {
    "series.add_scope",
    "series.field_block",
    "series.next_dates",
    "series.parse",
    "series.parse_scope",
    "series.place",
    "series.repeat_blocks",
    "series.rule_text",
}
