"""When cadenced rituals run: local wall-clock times in the community's zone, and their settings rows.

Times are computed in the community's own zone and stored in UTC, so a 10:00 ritual stays at
10:00 local across daylight-saving changes. Settings rows are created on first use from app.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Programme
from bot.models import Community, Delivery, Ritual, RitualSetting
from bot.redelivery import upsert_for

CADENCES: dict[Ritual, tuple[str, ...]] = {
    Ritual.PULSE: ("weekly", "monthly", "quarterly"),
    Ritual.STORIES: ("monthly", "quarterly", "yearly"),
    Ritual.DIGEST: ("weekly", "off"),
    Ritual.SPONSOR_DIGEST: ("quarterly", "off"),
    Ritual.OBJECTIVES: ("quarterly", "off"),
}
# Cadenced rituals run on this weekday (Tuesday: not the Monday rush, not the Friday lull).
RUN_WEEKDAY = 1


def zone_of(community: Community, programme: Programme) -> ZoneInfo:
    return ZoneInfo(community.tz or programme.timezone)


def _first_weekday(year: int, month: int) -> date:
    day = date(year, month, 1)
    return day + timedelta(days=(RUN_WEEKDAY - day.weekday()) % 7)


def _occurrence_dates(cadence: str, after: date) -> list[date]:
    """Candidate run days from the month (or week) of `after` onwards, in order."""
    if cadence == "weekly":
        start = after - timedelta(days=(after.weekday() - RUN_WEEKDAY) % 7)
        return [start + timedelta(weeks=i) for i in range(3)]
    months = {"monthly": 1, "quarterly": 3, "yearly": 12}[cadence]
    out = []
    year, month = after.year, after.month
    month -= (month - 1) % months
    for _ in range(3):
        out.append(_first_weekday(year, month))
        month += months
        while month > 12:
            month -= 12
            year += 1
    return out


def next_run(cadence: str, *, after: datetime, zone: ZoneInfo, hour: int) -> datetime | None:
    """The first run strictly after `after`, at `hour`:00 local time, returned in UTC."""
    if cadence == "off":
        return None
    local_after = after.astimezone(zone)
    for day in _occurrence_dates(cadence, local_after.date()):
        moment = datetime(day.year, day.month, day.day, hour, tzinfo=zone)
        if moment > local_after:
            return moment.astimezone(after.tzinfo)
    raise AssertionError("no occurrence found")  # pragma: no cover - three candidates suffice


def period_key(cadence: str, due: datetime, zone: ZoneInfo) -> str:
    """Names the period a run belongs to (the idempotency of polls, prompts and outbox keys)."""
    local = due.astimezone(zone).date()
    if cadence == "weekly":
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"
    if cadence == "quarterly":
        return f"{local.year}-Q{(local.month - 1) // 3 + 1}"
    if cadence == "yearly":
        return f"{local.year}"
    return f"{local.year}-{local.month:02d}"


@dataclass(frozen=True, slots=True)
class Defaults:
    enabled: bool
    cadence: str | None
    delivery: Delivery
    options: dict[str, Any]


def defaults(ritual: Ritual, programme: Programme) -> Defaults:
    r = programme.rituals
    if ritual == Ritual.WELCOME:
        return Defaults(r.welcome.enabled, None, Delivery(r.welcome.delivery), {})
    if ritual == Ritual.REMINDERS:
        return Defaults(
            r.reminders.enabled,
            None,
            Delivery.CHANNEL,
            {"offsets_hours": r.reminders.offsets_hours},
        )
    if ritual == Ritual.PULSE:
        return Defaults(
            r.pulse.enabled,
            r.pulse.cadence,
            Delivery(r.pulse.delivery),
            {"audience": r.pulse.audience, "share_summary": False},
        )
    if ritual == Ritual.STORIES:
        return Defaults(r.stories.enabled, r.stories.cadence, Delivery(r.stories.delivery), {})
    if ritual == Ritual.SPONSOR_DIGEST:
        return Defaults(r.sponsor_digest.enabled, "quarterly", Delivery.DM, {})
    if ritual == Ritual.OBJECTIVES:
        return Defaults(r.objectives.enabled, r.objectives.cadence, Delivery.DM, {})
    if ritual in (Ritual.LEADERS_DIGEST, Ritual.EVENT_FEEDBACK):
        # programme-wide (rituals/leaders_digest.py, rituals/event_feedback.py): the row is
        # created like every ritual's, with no cadence of its own and outside `/cop rituals`
        return Defaults(True, None, Delivery.DM, {})
    return Defaults(r.welcome.digest_cadence != "off", r.welcome.digest_cadence, Delivery.DM, {})


async def settings_of(
    session: AsyncSession, *, community: Community, programme: Programme, now: datetime
) -> dict[Ritual, RitualSetting]:
    """The community's ritual settings, creating missing ones from app.yaml (first run at the next slot)."""

    def select() -> sa.Select[RitualSetting]:
        return sa.select(RitualSetting).where(RitualSetting.community_id == community.id)

    rows = {s.ritual: s for s in await session.scalars(select())}
    missing = [r for r in Ritual if r not in rows]
    if not missing:
        return rows
    zone = zone_of(community, programme)
    insert = upsert_for(session)
    values = []
    for ritual in missing:
        d = defaults(ritual, programme)
        values.append(
            {
                "workspace_id": community.workspace_id,
                "community_id": community.id,
                "ritual": ritual,
                "enabled": d.enabled,
                "cadence": d.cadence,
                "delivery": d.delivery,
                "options": d.options,
                "next_run_at": (
                    next_run(d.cadence, after=now, zone=zone, hour=programme.rituals.run_hour)
                    if d.cadence and d.cadence != "off"
                    else None
                ),
            }
        )
    # another request may be creating them at the same moment: first one wins, both read it
    await session.execute(
        insert(RitualSetting)
        .values(values)
        .on_conflict_do_nothing(index_elements=["community_id", "ritual"])
    )
    return {s.ritual: s for s in await session.scalars(select())}


async def change(
    session: AsyncSession,
    *,
    community: Community,
    programme: Programme,
    ritual: Ritual,
    now: datetime,
    enabled: bool | None = None,
    cadence: str | None = None,
    share_summary: bool | None = None,
) -> RitualSetting:
    """A leader turns a ritual on or off, or changes its cadence (the next run moves with it)."""
    from bot.errors import InvalidInput

    setting = (await settings_of(session, community=community, programme=programme, now=now))[
        ritual
    ]
    if enabled is not None:
        setting.enabled = enabled
    if cadence is not None:
        if cadence not in CADENCES.get(ritual, ()):
            raise InvalidInput("rituals.bad_cadence", cadence=cadence[:20])
        setting.cadence = cadence
    if share_summary is not None:
        setting.options = {**setting.options, "share_summary": share_summary}
    if setting.cadence and setting.cadence != "off":
        setting.next_run_at = next_run(
            setting.cadence,
            after=now,
            zone=zone_of(community, programme),
            hour=programme.rituals.run_hour,
        )
    else:
        setting.next_run_at = None
    await session.flush()
    return setting


class LeadershipLost(Exception):
    """This replica no longer holds the scheduler lock: whatever the leader's work was doing
    must stop, and no per-community or per-workspace error handler may swallow it."""
