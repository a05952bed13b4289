"""Channel activity counted per community, person and day: never the text of a message.

A Slack message becomes one `Tally` (a message, a thread reply or a reaction) or nothing (bot
messages, edits, deletions, joins and leaves). `record` adds it to `activity_daily` with an
upsert that increments the counters; with an event id it first claims the id through
`bot.redelivery.first_time` in the same transaction, so a redelivered event counts once.
"""

from __future__ import annotations

import enum
import math
import re
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot import redelivery
from bot.models import ActivityDaily, ChannelStatus, Community, Person, ProcessedEvent, utcnow


class Kind(enum.StrEnum):
    MESSAGE = "messages"
    REPLY = "replies"
    REACTION = "reactions"


# Message subtypes that are still someone speaking; every other subtype (message_changed,
# message_deleted, channel_join, channel_leave, bot_message, channel_topic…) is not activity.
_SPEAKING_SUBTYPES = frozenset({None, "", "thread_broadcast", "file_share", "me_message"})


def classify_message(message: Mapping[str, Any]) -> Kind | None:
    """What a message event (or a message from history) counts as, if anything."""
    if message.get("bot_id") or message.get("bot_profile"):
        return None
    if message.get("subtype") not in _SPEAKING_SUBTYPES:
        return None
    if not message.get("user"):
        return None
    thread_ts = message.get("thread_ts")
    if thread_ts and thread_ts != message.get("ts"):
        return Kind.REPLY
    return Kind.MESSAGE


# What Slack sends: "1712345678.123456" (seconds since 1970, microseconds), ids of ASCII capitals
# and digits. Anything else in an event did not come from Slack as it documents itself.
_TS = re.compile(r"[0-9]{1,10}(?:\.[0-9]{1,6})?")
_SLACK_ID = re.compile(r"[A-Z0-9]{2,32}")
# Microsoft Teams: the tenant (a GUID), a channel ("19:…@thread.tacv2", older "…@thread.skype")
# and a person ("29:…") as the Bot Connector sends them
_TENANT_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_CHANNEL_ID = re.compile(r"19:[A-Za-z0-9_.-]{1,200}@thread\.(?:tacv2|skype)")
_USER_ID = re.compile(r"29:[A-Za-z0-9_-]{1,200}")
_EVENT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
TS_FLOOR = 946_684_800.0  # 2000-01-01 UTC: no Slack message is older
TS_AHEAD = 86_400.0  # a message stamped more than a day ahead of our clock is not believed


def seconds(ts: Any, *, now: float | None = None) -> float | None:
    """A Slack timestamp as seconds since 1970, or None when it is not one: not Slack's
    digits-and-dot form ("1e20", "nan", "-1", "²²"), before 2000, or more than a day ahead.
    Every path that turns a timestamp into a day goes through here, so one odd value can only
    ever be dropped, never raise in the middle of a batch."""
    if isinstance(ts, bool) or not isinstance(ts, str | int | float):
        return None
    text = ts if isinstance(ts, str) else repr(ts)
    if not _TS.fullmatch(text):
        return None
    value = float(text)
    ceiling = (time.time() if now is None else now) + TS_AHEAD
    if not math.isfinite(value) or not TS_FLOOR <= value <= ceiling:
        return None
    return value


def day_of(ts: str | float, tz: str | None = None) -> date:
    """The calendar day of a Slack timestamp in the given zone (the community's, else the
    programme's; UTC without either)."""
    moment = datetime.fromtimestamp(float(ts), tz=UTC)
    return moment.astimezone(ZoneInfo(tz)).date() if tz else moment.date()


@dataclass(frozen=True, slots=True)
class Tally:
    """Counts to add for one person in one community on one day."""

    community_id: int
    slack_user_id: str
    day: date
    messages: int = 0
    replies: int = 0
    reactions: int = 0

    @classmethod
    def one(cls, *, community_id: int, slack_user_id: str, day: date, kind: Kind) -> Tally:
        return cls(community_id, slack_user_id, day, **{kind.value: 1})


async def community_for_channel(
    session: AsyncSession, *, workspace_id: str, channel_id: str
) -> tuple[int, str | None] | None:
    """(community id, zone) of a live community channel; None for any other channel."""
    row = (
        await session.execute(
            sa.select(Community.id, Community.tz).where(
                Community.workspace_id == workspace_id,
                Community.channel_id == channel_id,
                Community.channel_status == ChannelStatus.OK,
            )
        )
    ).first()
    return (row[0], row[1]) if row else None


async def _person_ids(
    session: AsyncSession, *, workspace_id: str, slack_user_ids: Iterable[str]
) -> dict[str, int]:
    """Person ids for these users, inserting bare rows for people not seen before."""
    wanted = set(slack_user_ids)
    if not wanted:
        return {}

    async def known(ids: set[str]) -> dict[str, int]:
        rows = await session.execute(
            sa.select(Person.slack_user_id, Person.id).where(
                Person.workspace_id == workspace_id, Person.slack_user_id.in_(ids)
            )
        )
        return {row[0]: row[1] for row in rows}

    found = await known(wanted)  # nearly always everyone: one cached SELECT per batch
    missing = wanted - found.keys()
    if missing:
        insert = redelivery.upsert_for(session)
        await session.execute(
            insert(Person).on_conflict_do_nothing(index_elements=["workspace_id", "slack_user_id"]),
            [{"workspace_id": workspace_id, "slack_user_id": uid} for uid in sorted(missing)],
        )
        found |= await known(missing)
    return found


async def add(session: AsyncSession, *, workspace_id: str, tallies: Iterable[Tally]) -> int:
    """Add tallies to the daily counters (one upsert per person × community × day)."""
    merged: dict[tuple[int, str, date], Counter[str]] = {}
    for tally in tallies:
        counter = merged.setdefault((tally.community_id, tally.slack_user_id, tally.day), Counter())
        counter.update(messages=tally.messages, replies=tally.replies, reactions=tally.reactions)
    if not merged:
        return 0
    people = await _person_ids(
        session, workspace_id=workspace_id, slack_user_ids={k[1] for k in merged}
    )
    rows = [
        {
            "workspace_id": workspace_id,
            "community_id": community_id,
            "person_id": people[uid],
            "day": day,
            "messages": counts["messages"],
            "replies": counts["replies"],
            "reactions": counts["reactions"],
        }
        for (community_id, uid, day), counts in merged.items()
    ]
    insert = redelivery.upsert_for(session)
    statement = insert(ActivityDaily)
    statement = statement.on_conflict_do_update(
        index_elements=["community_id", "person_id", "day"],
        set_={
            "messages": ActivityDaily.messages + statement.excluded.messages,
            "replies": ActivityDaily.replies + statement.excluded.replies,
            "reactions": ActivityDaily.reactions + statement.excluded.reactions,
        },
    )
    for start in range(0, len(rows), 500):
        await session.execute(statement, rows[start : start + 500])
    return len(rows)


async def record(
    session: AsyncSession,
    *,
    workspace_id: str,
    channel_id: str,
    slack_user_id: str,
    kind: Kind,
    ts: str,
    event_id: str | None = None,
    default_tz: str | None = None,
) -> bool:
    """Count one message, reply or reaction; False when the channel is not a community or the
    event was already counted (Slack redelivers with the same event id)."""
    found = await community_for_channel(session, workspace_id=workspace_id, channel_id=channel_id)
    if found is None:
        return False
    if event_id is not None and not await redelivery.first_time(
        session, event_id=event_id, workspace_id=workspace_id
    ):
        return False
    community_id, tz = found
    await add(
        session,
        workspace_id=workspace_id,
        tallies=[
            Tally.one(
                community_id=community_id,
                slack_user_id=slack_user_id,
                day=day_of(ts, tz or default_tz),
                kind=kind,
            )
        ],
    )
    return True


@dataclass(frozen=True, slots=True)
class Totals:
    messages: int
    replies: int
    reactions: int
    active_people: int


async def totals(session: AsyncSession, *, community_id: int, start: date, end: date) -> Totals:
    """One community's counters over [start, end) (for tests, the CLI and the demo)."""
    row = (
        await session.execute(
            sa.select(
                sa.func.coalesce(sa.func.sum(ActivityDaily.messages), 0),
                sa.func.coalesce(sa.func.sum(ActivityDaily.replies), 0),
                sa.func.coalesce(sa.func.sum(ActivityDaily.reactions), 0),
                sa.func.count(sa.distinct(ActivityDaily.person_id)),
            ).where(
                ActivityDaily.community_id == community_id,
                ActivityDaily.day >= start,
                ActivityDaily.day < end,
            )
        )
    ).one()
    return Totals(int(row[0]), int(row[1]), int(row[2]), int(row[3]))


@dataclass(frozen=True, slots=True)
class Observed:
    """One countable event as a listener saw it (its Slack event id makes it count once)."""

    channel_id: str
    slack_user_id: str
    kind: Kind
    ts: str
    event_id: str | None = None


def sound(workspace_id: Any, observed: Observed, *, now: float | None = None) -> bool:
    """Whether an event can be counted without harming the others in its batch: ids shaped like
    the platforms' own (and short enough for their columns), a timestamp `seconds` accepts. The listener
    refuses what fails here before it is queued; `record_many` checks again, so a bad event that
    reaches a batch by another road is dropped alone."""
    o = observed
    return (
        _shaped(workspace_id, _SLACK_ID, _TENANT_ID)
        and _shaped(o.channel_id, _SLACK_ID, _CHANNEL_ID)
        and _shaped(o.slack_user_id, _SLACK_ID, _USER_ID)
        and isinstance(o.kind, Kind)
        and (
            o.event_id is None
            or (isinstance(o.event_id, str) and bool(_EVENT_ID.fullmatch(o.event_id)))
        )
        and seconds(o.ts, now=now) is not None
    )


def _shaped(value: Any, *patterns: re.Pattern[str]) -> bool:
    return isinstance(value, str) and any(p.fullmatch(value) for p in patterns)


def observe(
    workspace_id: Any,
    *,
    channel_id: Any,
    slack_user_id: Any,
    kind: Kind,
    ts: Any,
    event_id: Any = None,
) -> Observed | None:
    """An event worth queueing, or None when `sound` refuses it (it is then dropped alone)."""
    observed = Observed(
        channel_id=channel_id, slack_user_id=slack_user_id, kind=kind, ts=ts, event_id=event_id
    )
    return observed if sound(workspace_id, observed) else None


async def record_many(
    session: AsyncSession,
    *,
    workspace_id: str,
    observed: Iterable[Observed],
    default_tz: str | None = None,
) -> int:
    """Count a batch of events in one transaction, set-based: channels that are not live
    communities are ignored, and event ids already handled (Slack's redeliveries, or the same
    id twice in the batch) count once. Returns how many events were counted."""
    items = [o for o in observed if sound(workspace_id, o)]
    channels = {o.channel_id for o in items}
    if not channels:
        return 0
    found = {
        row[0]: (row[1], row[2])
        for row in await session.execute(
            sa.select(Community.channel_id, Community.id, Community.tz).where(
                Community.workspace_id == workspace_id,
                Community.channel_id.in_(channels),
                Community.channel_status == ChannelStatus.OK,
            )
        )
    }
    items = [o for o in items if o.channel_id in found]
    ids = sorted({o.event_id for o in items if o.event_id})
    fresh: set[str] = set()
    if ids:
        insert = redelivery.upsert_for(session)
        now = utcnow()
        # executemany with RETURNING (SQLAlchemy's "insertmanyvalues"): one statement compiled
        # once and cached, whatever the batch size, rather than a new multi-VALUES each batch
        result = await session.execute(
            insert(ProcessedEvent)
            .on_conflict_do_nothing(index_elements=["event_id"])
            .returning(ProcessedEvent.event_id),
            [{"event_id": eid, "workspace_id": workspace_id, "received_at": now} for eid in ids],
        )
        fresh = {row[0] for row in result}
    tallies: list[Tally] = []
    for o in items:
        if o.event_id is not None:
            if o.event_id not in fresh:
                continue
            fresh.discard(o.event_id)  # the same id twice in one batch counts once
        community_id, tz = found[o.channel_id]
        tallies.append(
            Tally.one(
                community_id=community_id,
                slack_user_id=o.slack_user_id,
                day=day_of(o.ts, tz or default_tz),
                kind=o.kind,
            )
        )
    await add(session, workspace_id=workspace_id, tallies=tallies)
    return len(tallies)
