"""Backfill from conversations.history/replies: paginated, rate-limit aware, resumable."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import activity, backfill
from bot.app import make_web_client
from bot.models import BackfillState, utcnow
from bot.slack.client import SlackHistory
from bot.slack.emulator import SlackEmulator
from tests import factories


def seed(emulator: SlackEmulator) -> None:
    """5 messages (one by a bot, one an edit), a thread of 3 replies, 2 reactions."""
    first = emulator.add_message("C0DATA", user="U0LUCAS", text="secret")
    first["reactions"] = [{"name": "tada", "users": ["U0CHLOE", "U0HUGO"], "count": 2}]
    for uid in ("U0CHLOE", "U0HUGO", "U0LUCAS"):
        emulator.add_message("C0DATA", user=uid, thread_ts=first["ts"])
    emulator.add_message("C0DATA", user="U0CHLOE")
    emulator.add_message("C0DATA", user="U0JIRA", bot_id="B0JIRA")
    emulator.add_message("C0DATA", user="U0LUCAS", subtype="channel_join")
    emulator.add_message("C0DATA", user="U0HUGO")


def history(emulator: SlackEmulator) -> SlackHistory:
    client = make_web_client(
        token=emulator.workspace.bot_token, base_url=emulator.api_url, background=True
    )
    return SlackHistory(client)


async def totals(sessions: async_sessionmaker[AsyncSession], community_id: int) -> tuple:
    today = utcnow().date()
    async with sessions() as session:
        got = await activity.totals(
            session,
            community_id=community_id,
            start=today.replace(day=1).replace(year=today.year - 1),
            end=today.replace(year=today.year + 1),
        )
    return got.messages, got.replies, got.reactions, got.active_people


async def test_backfill_counts_the_past_across_pages_and_threads(
    sessions: async_sessionmaker[AsyncSession], emulator: SlackEmulator
) -> None:
    data = await factories.community(sessions, emulator=emulator, channel="C0DATA")
    seed(emulator)
    progress = await backfill.backfill_community(
        sessions, history(emulator), community_id=data.id, days=30, page_size=2
    )
    assert progress.finished and progress.pages == 3  # 6 top-level messages, 2 per page
    assert (progress.messages, progress.replies, progress.reactions) == (3, 3, 2)
    assert await totals(sessions, data.id) == (3, 3, 2, 3)
    assert emulator.calls_to("conversations.replies")
    again = await backfill.backfill_community(
        sessions, history(emulator), community_id=data.id, days=30
    )
    assert again.finished and again.pages == 0  # nothing left: no double count
    assert await totals(sessions, data.id) == (3, 3, 2, 3)


async def test_an_interrupted_backfill_resumes_where_it_stopped(
    sessions: async_sessionmaker[AsyncSession], emulator: SlackEmulator
) -> None:
    data = await factories.community(sessions, emulator=emulator, channel="C0DATA")
    seed(emulator)
    first = await backfill.backfill_community(
        sessions, history(emulator), community_id=data.id, days=30, page_size=2, max_pages=1
    )
    assert not first.finished
    async with sessions() as session:
        state = await session.scalar(sa.select(BackfillState))
    assert state is not None and state.cursor and state.finished_at is None
    rest = await backfill.backfill_community(
        sessions, history(emulator), community_id=data.id, days=30, page_size=2
    )
    assert rest.resumed and rest.finished and rest.pages == 2
    assert await totals(sessions, data.id) == (3, 3, 2, 3)


async def test_rate_limits_are_waited_out(
    sessions: async_sessionmaker[AsyncSession], emulator: SlackEmulator
) -> None:
    data = await factories.community(sessions, emulator=emulator, channel="C0DATA")
    seed(emulator)
    emulator.inject_failure("conversations.history", status=429)
    emulator.inject_failure("conversations.replies", status=503)
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    progress = await backfill.backfill_community(
        sessions, history(emulator), community_id=data.id, days=30, sleep=record
    )
    assert progress.finished and waits == [1.0, 1.0]  # Retry-After: 1, then backoff
    assert await totals(sessions, data.id) == (3, 3, 2, 3)
