"""Quiet hours, on their own: a ritual DM due outside working hours waits until they open in
the reader's zone (the programme's when Slack gives none that is a place), across midnight,
weekends and the days the clocks change."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.config import QuietHours
from rituals.outbox.quiet_hours import next_allowed

WORKDAYS = QuietHours()  # 09:00-18:00, Monday to Friday
EVERY_DAY = QuietHours(days=["mon", "tue", "wed", "thu", "fri", "sat", "sun"])


def _utc(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def _paris(
    now: datetime, quiet: QuietHours = WORKDAYS, tz: str | None = "Europe/Paris"
) -> datetime:
    return next_allowed(now, tz=tz, quiet=quiet, default_tz="Europe/Paris")


def test_in_working_hours_it_goes_now() -> None:
    tuesday_noon = _utc(2026, 3, 24, 11, 0)  # 12:00 in Paris
    assert _paris(tuesday_noon) == tuesday_noon


def test_the_evening_waits_for_the_next_morning_in_the_reader_zone() -> None:
    tuesday_evening = _utc(2026, 3, 24, 19, 0)  # 20:00 in Paris
    assert _paris(tuesday_evening) == _utc(2026, 3, 25, 8, 0)  # Wednesday 09:00 CET


def test_working_hours_open_at_the_start_and_close_at_the_end() -> None:
    assert _paris(_utc(2026, 3, 24, 8, 0)) == _utc(2026, 3, 24, 8, 0)  # 09:00 sharp: goes
    assert _paris(_utc(2026, 3, 24, 7, 59)) == _utc(2026, 3, 24, 8, 0)  # 08:59: a minute
    assert _paris(_utc(2026, 3, 24, 17, 0)) == _utc(2026, 3, 25, 8, 0)  # 18:00 sharp: tomorrow


def test_across_midnight_it_waits_for_the_same_local_morning() -> None:
    # 23:30 Tuesday and 00:30 Wednesday in Paris (both still Tuesday in UTC): Wednesday 09:00
    assert _paris(_utc(2026, 3, 24, 22, 30)) == _utc(2026, 3, 25, 8, 0)
    assert _paris(_utc(2026, 3, 24, 23, 30)) == _utc(2026, 3, 25, 8, 0)
    # Tokyo is already Wednesday 08:30 when UTC says Tuesday 23:30: opens at 09:00 JST
    tokyo = next_allowed(
        _utc(2026, 3, 24, 23, 30), tz="Asia/Tokyo", quiet=WORKDAYS, default_tz="Europe/Paris"
    )
    assert tokyo == _utc(2026, 3, 25, 0, 0)


def test_friday_night_waits_for_monday() -> None:
    assert _paris(_utc(2026, 3, 27, 22, 0)) == _utc(2026, 3, 30, 7, 0)  # Monday 09:00 CEST
    saturday = _utc(2026, 3, 28, 10, 0)
    assert _paris(saturday) == _utc(2026, 3, 30, 7, 0)
    assert _paris(saturday, quiet=EVERY_DAY) == saturday


def test_the_day_the_clocks_change_opens_at_nine_local() -> None:
    # Sunday 29 March 2026, Paris moves to summer time at 02:00: 09:00 is 07:00 UTC, not 08:00
    assert _paris(_utc(2026, 3, 28, 20, 0), quiet=EVERY_DAY) == _utc(2026, 3, 29, 7, 0)
    # Sunday 25 October 2026, back to winter time: 09:00 is 08:00 UTC
    assert _paris(_utc(2026, 10, 24, 20, 0), quiet=EVERY_DAY) == _utc(2026, 10, 25, 8, 0)


def test_the_reader_zone_counts_in_the_weeks_only_one_side_has_changed() -> None:
    # Friday 20 March 2026, 12:30 UTC: New York is on summer time (since 8 March), Paris not yet
    friday = _utc(2026, 3, 20, 12, 30)
    assert _paris(friday) == friday  # 13:30 in Paris
    new_york = next_allowed(
        friday, tz="America/New_York", quiet=WORKDAYS, default_tz="Europe/Paris"
    )
    assert new_york == _utc(2026, 3, 20, 13, 0)  # 08:30 EDT: opens at 09:00 EDT


def test_without_a_zone_that_is_a_place_the_community_zone_is_used() -> None:
    tuesday_evening = _utc(2026, 3, 24, 19, 0)
    paris_morning = _utc(2026, 3, 25, 8, 0)
    for tz in (None, "", "Factory", "localtime", "Mars/Olympus"):
        assert _paris(tuesday_evening, tz=tz) == paris_morning, tz
    assert _paris(tuesday_evening, tz="europe/paris") == paris_morning
