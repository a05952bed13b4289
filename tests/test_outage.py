"""Events while the database is away: none lost — held and retried, or refused so Slack redelivers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import sqlalchemy as sa

from bot import db
from bot.models import Membership, Outbox, Person
from tests import factories
from tests.conftest import Bot, eventually
from tests.test_activity import counters, message_event


class Outage:
    """The bot's database made unreachable (a file that cannot exist, a closed port), then back."""

    def __init__(self, bot: Bot) -> None:
        self.deps = bot.deps
        self.sessions, self.engine = self.deps.sessions, self.deps.engine
        self.broken = db.make_engine(
            "sqlite+aiosqlite:////nonexistent-dir/cop.db"
            if self.engine.url.get_backend_name() == "sqlite"
            else self.engine.url.set(port=1).render_as_string(hide_password=False)
        )
        assert self.deps.database is not None
        self.database = self.deps.database

    def begin(self) -> None:
        broken = db.make_sessionmaker(self.broken)
        object.__setattr__(self.deps, "sessions", broken)
        self.deps.activity_batcher.sessions = broken  # the process's activity writer too
        self.database.engine = self.broken

    def end(self) -> None:
        object.__setattr__(self.deps, "sessions", self.sessions)
        self.deps.activity_batcher.sessions = self.sessions
        self.database.engine = self.engine


@pytest.fixture
async def outage(bot: Bot) -> AsyncIterator[Outage]:
    """Ends the outage and closes the broken engine even when the test fails half-way."""
    made = Outage(bot)
    yield made
    made.end()
    await made.broken.dispose()


async def test_events_during_a_database_outage_are_counted_once_it_is_back(
    bot: Bot, outage: Outage
) -> None:
    await factories.community(bot.sessions, emulator=bot.emulator)
    outage.begin()
    first = await bot.slack.event(message_event(bot, user="U0LUCAS", channel="C0DATA"))
    assert first.status_code == 200  # acknowledged before the write was tried: held in memory
    await eventually(lambda: outage.database.down_since is not None)
    refused = await bot.slack.event(message_event(bot, user="U0CHLOE", channel="C0DATA"))
    assert refused.status_code == 503  # Slack will redeliver this one
    refused_id = bot.slack.last_event_id
    async with httpx.AsyncClient() as http:
        assert (
            await http.get(f"{bot.url}/healthz")
        ).status_code == 200  # /healthz uses deps.engine
    outage.end()
    await eventually(lambda: _counted(bot, {"U0LUCAS": (1, 0, 0)}), timeout=20)
    # Slack's redelivery of the refused event (same id) is accepted and counted, once
    redelivered = await bot.slack.event(
        message_event(bot, user="U0CHLOE", channel="C0DATA"), event_id=refused_id, retry_num=1
    )
    assert redelivered.status_code == 200
    again = await bot.slack.event(
        message_event(bot, user="U0CHLOE", channel="C0DATA"), event_id=refused_id, retry_num=2
    )
    assert again.status_code == 200
    await eventually(lambda: _counted(bot, {"U0LUCAS": (1, 0, 0), "U0CHLOE": (1, 0, 0)}))


async def test_a_member_who_joins_while_the_database_is_away_is_recorded_and_welcomed_after(
    bot: Bot, outage: Outage
) -> None:
    community = await factories.community(bot.sessions, emulator=bot.emulator)
    outage.begin()
    # acknowledged (Bolt acks events first): Slack will not send it again, so the bot keeps it
    joined = await bot.slack.join(user="U0LEA", channel="C0DATA")
    assert joined.status_code == 200
    await eventually(lambda: outage.database.down_since is not None)
    outage.end()
    # back: the stint is opened, once, and the newcomer gets the welcome
    await eventually(lambda: _active_member(bot, community.id, "U0LEA"), timeout=20)
    await eventually(lambda: _welcome_owed(bot, "U0LEA"))
    assert outage.database.down_since is None


async def _active_member(bot: Bot, community_id: int, user: str) -> bool:
    async with bot.sessions() as session:
        rows = await session.scalars(
            sa.select(Membership.id)
            .join(Person, Person.id == Membership.person_id)
            .where(
                Membership.community_id == community_id,
                Membership.left_at.is_(None),
                Person.slack_user_id == user,
            )
        )
        return len(list(rows)) == 1


async def _welcome_owed(bot: Bot, user: str) -> bool:
    async with bot.sessions() as session:
        rows = await session.scalars(
            sa.select(Outbox.id)
            .join(Person, Person.id == Outbox.person_id)
            .where(Outbox.kind.startswith("welcome"), Person.slack_user_id == user)
        )
        return len(list(rows)) == 1


async def _counted(bot: Bot, expected: dict[str, tuple[int, int, int]]) -> bool:
    return await counters(bot) == expected
