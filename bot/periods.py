"""Calendar periods of the programme: a day, an ISO week, a month, a quarter or a year, and the
windows of days they cover in the programme's time zone."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


class Period(enum.StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


@dataclass(frozen=True, slots=True)
class Window:
    """Calendar days [start, end) in the programme's zone; `period` names its kind."""

    start: date
    end: date
    period: Period = Period.DAY
    tz: str = "UTC"

    def bounds(self) -> tuple[datetime, datetime]:
        zone = ZoneInfo(self.tz)
        return (
            datetime.combine(self.start, time(), zone).astimezone(UTC),
            datetime.combine(self.end, time(), zone).astimezone(UTC),
        )

    @property
    def running(self) -> bool:
        """A period cut short of its end (`so_far`, `to_date`): « à date », never the whole."""
        return self.period != Period.DAY and self.end < period_end(self.period, self.start)

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def label(self) -> str:
        if self.period == Period.QUARTER:
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        if self.period == Period.MONTH:
            return f"{self.start:%Y-%m}"
        if self.period == Period.YEAR:
            return f"{self.start.year}"
        if self.period == Period.WEEK:
            iso = self.start.isocalendar()
            return f"{iso.year}-W{iso.week:02d}"
        return self.start.isoformat()


def period_start(period: Period, day: date) -> date:
    if period == Period.WEEK:
        return day - timedelta(days=day.weekday())
    if period == Period.MONTH:
        return day.replace(day=1)
    if period == Period.QUARTER:
        return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    if period == Period.YEAR:
        return day.replace(month=1, day=1)
    return day


def period_end(period: Period, start: date) -> date:
    if period == Period.DAY:
        return start + timedelta(days=1)
    if period == Period.WEEK:
        return start + timedelta(days=7)
    months = {Period.MONTH: 1, Period.QUARTER: 3, Period.YEAR: 12}[period]
    month = start.month - 1 + months
    return date(start.year + month // 12, month % 12 + 1, 1)


def to_date(period: Period, as_of: date, tz: str = "UTC") -> Window:
    """The period containing `as_of`, up to and including that day."""
    return Window(period_start(period, as_of), as_of + timedelta(days=1), period, tz)


def so_far(window: Window, today: date) -> Window:
    """The window up to and including `today`: a period still running is counted and charted
    only up to today, never with the days to come as zeros (the report, and /cop report's
    period). A period over, or not begun (no data yet), is left whole."""
    if not window.start <= today < window.end:
        return window
    return Window(window.start, today + timedelta(days=1), window.period, window.tz)


def previous(window: Window) -> Window:
    """The window a comparison is made against: the same days of the previous period, so a
    month to date (1–12 November) is compared with 1–12 October, never with all of October."""
    if window.period in (Period.DAY, Period.WEEK):
        length = window.end - window.start
        return Window(window.start - length, window.start, window.period, window.tz)
    months_back = {Period.MONTH: 1, Period.QUARTER: 3, Period.YEAR: 12}[window.period]
    start = _months_before(window.start, months_back)
    full_end = period_end(window.period, start)
    days = window.end - window.start
    return Window(start, min(start + days, full_end), window.period, window.tz)


def _months_before(day: date, count: int) -> date:
    month = day.month - 1 - count
    return date(day.year + month // 12, month % 12 + 1, 1)


def parse_period(text: str, tz: str = "UTC") -> Window:
    """`2026-Q4`, `2026-11`, `2026-W47` or `2026` → the whole period."""
    text = text.strip().upper()
    try:
        if "-Q" in text:
            year, quarter = text.split("-Q")
            if not 1 <= int(quarter) <= 4:
                raise ValueError(text)
            start = date(int(year), (int(quarter) - 1) * 3 + 1, 1)
            return Window(start, period_end(Period.QUARTER, start), Period.QUARTER, tz)
        if "-W" in text:
            year, week = text.split("-W")
            start = date.fromisocalendar(int(year), int(week), 1)
            return Window(start, start + timedelta(days=7), Period.WEEK, tz)
        if len(text) == 7 and text[4] == "-":
            start = date(int(text[:4]), int(text[5:]), 1)
            return Window(start, period_end(Period.MONTH, start), Period.MONTH, tz)
        if len(text) == 4:
            start = date(int(text), 1, 1)
            return Window(start, period_end(Period.YEAR, start), Period.YEAR, tz)
    except ValueError:
        pass
    raise ValueError(f"expected a period such as 2026-Q4, 2026-11, 2026-W47 or 2026, got {text!r}")


def months(window: Window) -> list[Window]:
    """The calendar months the window touches, each cut to the window."""
    found, start = [], period_start(Period.MONTH, window.start)
    while start < window.end:
        end = period_end(Period.MONTH, start)
        found.append(Window(start, min(end, window.end), Period.MONTH, window.tz))
        start = end
    return found
