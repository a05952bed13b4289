"""Backfill: count a channel's past activity from its history, so a programme that installs the
bot today sees its past months.

Each history page (with the replies of its threads) is counted and the cursor saved in one
transaction, so an interrupted backfill resumes at the next page without counting any message
twice. The range is fixed when a run starts (`latest` = that moment): what happens after is
counted live from events. Slack's 429 answers are honoured (Retry-After) and other transient
failures retried with backoff (bot.retry).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import activity, retry
from bot.models import BackfillState, Community, utcnow
from bot.ports import History, HistoryPage, PastMessage

logger = logging.getLogger(__name__)

PAGE_SIZE = 200


@dataclass
class Progress:
    slug: str
    pages: int = 0
    messages: int = 0
    replies: int = 0
    reactions: int = 0
    finished: bool = False
    resumed: bool = False


def _kind(message: PastMessage) -> activity.Kind | None:
    return activity.classify_message(
        {
            "ts": message.ts,
            "user": message.user,
            "thread_ts": message.thread_ts,
            "subtype": message.subtype,
            "bot_id": "bot" if message.is_bot else None,
        }
    )


def tallies_of(
    messages: list[PastMessage], *, community_id: int, tz: str | None, oldest: float, latest: float
) -> list[activity.Tally]:
    """Tallies for messages inside (oldest, latest]; reactions count on the message's day."""
    out: list[activity.Tally] = []
    for m in messages:
        moment = activity.seconds(m.ts)  # a timestamp Slack would not send is skipped, alone
        if moment is None or not oldest < moment <= latest:
            continue
        day = activity.day_of(moment, tz)
        kind = _kind(m)
        if kind is not None and m.user:
            out.append(
                activity.Tally.one(
                    community_id=community_id, slack_user_id=m.user, day=day, kind=kind
                )
            )
        for _, users in m.reactions:
            out += [
                activity.Tally.one(
                    community_id=community_id, slack_user_id=u, day=day, kind=activity.Kind.REACTION
                )
                for u in users
            ]
    return out


async def _state(
    session: AsyncSession, *, community: Community, oldest: datetime, now: datetime
) -> tuple[BackfillState | None, bool]:
    """The run to continue (resumed=True), a new one, or None when the range is already done."""
    state = await session.scalar(
        sa.select(BackfillState).where(BackfillState.community_id == community.id)
    )
    wanted = f"{oldest.timestamp():.6f}"
    if state is not None and state.finished_at is None:
        return state, True
    if state is None:
        state = BackfillState(
            workspace_id=community.workspace_id,
            community_id=community.id,
            oldest=wanted,
            latest=f"{now.timestamp():.6f}",
        )
        session.add(state)
        await session.flush()
        return state, False
    if float(wanted) >= float(state.oldest):
        return None, False
    # Further back than before: the new run ends where the previous one began.
    state.latest, state.oldest, state.cursor, state.finished_at = state.oldest, wanted, None, None
    return state, False


async def backfill_community(
    sessions: async_sessionmaker[AsyncSession],
    history: History,
    *,
    community_id: int,
    days: int,
    now: datetime | None = None,
    page_size: int = PAGE_SIZE,
    max_pages: int | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    default_tz: str | None = None,
) -> Progress:
    """Count up to `days` of past activity of one community; safe to interrupt and run again."""
    now = now or utcnow()
    async with sessions.begin() as session:
        community = await session.get(Community, community_id)
        if community is None:
            raise LookupError(community_id)
        progress = Progress(slug=community.slug)
        state, progress.resumed = await _state(
            session, community=community, oldest=now - timedelta(days=days), now=now
        )
        if state is None:
            progress.finished = True
            return progress
        state_id, channel, tz = state.id, community.channel_id, community.tz or default_tz
        oldest, latest, cursor = state.oldest, state.latest, state.cursor
    while max_pages is None or progress.pages < max_pages:
        page: HistoryPage = await retry.slack_call(
            lambda c=cursor: history.history(  # type: ignore[misc]
                channel, oldest=oldest, latest=latest, cursor=c, limit=page_size
            ),
            what="backfill",
            sleep=sleep,
        )
        messages = list(page.messages)
        for parent in page.messages:
            if parent.reply_count <= 0:
                continue
            thread_cursor: str | None = None
            while True:
                thread: HistoryPage = await retry.slack_call(
                    lambda ts=parent.ts, c=thread_cursor: history.replies(  # type: ignore[misc]
                        channel, ts, cursor=c, limit=page_size
                    ),
                    what="backfill",
                    sleep=sleep,
                )
                messages += [m for m in thread.messages if m.ts != parent.ts]
                thread_cursor = thread.next_cursor
                if not thread_cursor:
                    break
        tallies = tallies_of(
            messages, community_id=community_id, tz=tz, oldest=float(oldest), latest=float(latest)
        )
        async with sessions.begin() as session:
            await activity.add(session, workspace_id=community.workspace_id, tallies=tallies)
            state = await session.get(BackfillState, state_id)
            assert state is not None
            state.cursor = page.next_cursor
            if not page.next_cursor:
                state.finished_at = utcnow()
        progress.pages += 1
        for tally in tallies:
            progress.messages += tally.messages
            progress.replies += tally.replies
            progress.reactions += tally.reactions
        cursor = page.next_cursor
        if not cursor:
            progress.finished = True
            break
    return progress
