"""Welcome end to end: a real member_joined_channel event, the DM (fr/en) or channel message, and
the cases where nobody is welcomed (bots, rejoins, redeliveries, bulk additions → leaders' digest)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from bot.models import CharterVersion, Community, Delivery, Event, Outbox, Ritual, RitualSetting
from bot.slack.emulator import SlackEmulator, User
from rituals import scheduler
from rituals.outbox import Drain
from tests import factories
from tests.conftest import Bot, eventually, make_config, running_bot


async def _prepare(bot: Bot, **kwargs) -> Community:  # type: ignore[no-untyped-def]
    community = await factories.community(
        bot.sessions, emulator=bot.emulator, leaders=("U0CAMILLE",), **kwargs
    )
    async with bot.sessions.begin() as session:
        session.add(
            CharterVersion(
                workspace_id="T0COP",
                community_id=community.id,
                version=1,
                mission="Partager nos pratiques de data science",
            )
        )
        session.add(
            Event(
                workspace_id="T0COP",
                community_id=community.id,
                title="Atelier MLOps",
                starts_at=datetime.now(UTC) + timedelta(days=10),
                tz="Europe/Paris",
            )
        )
    return community


async def _welcomes(bot: Bot) -> int:
    async with bot.sessions() as session:
        return int(
            await session.scalar(
                sa.select(sa.func.count())
                .select_from(Outbox)
                .where(Outbox.kind.startswith("welcome"))
            )
            or 0
        )


async def _drain(bot: Bot) -> None:
    await Drain(bot.deps, rate_per_minute=60000).run_once()


async def test_a_newcomer_gets_a_welcome_dm_in_their_language(bot: Bot) -> None:
    await _prepare(bot)
    await bot.slack.join(user="U0LEA", channel="C0DATA")
    await bot.slack.join(user="U0JAMES", channel="C0DATA")
    await eventually(lambda: _welcomes(bot), timeout=5)
    await eventually(lambda: _count_is(bot, 2))
    await _drain(bot)
    lea = bot.emulator.messages["D0LEA"][-1]
    assert lea["text"] == "👋 Bienvenue <@U0LEA> dans la communauté *Data Science* !"
    body = str(lea["blocks"])
    assert "Partager nos pratiques de data science" in body
    assert "<@U0CAMILLE>" in body and "Atelier MLOps" in body
    assert "présentez-vous dans <#C0DATA>" in body
    james = bot.emulator.messages["D0JAMES"][-1]
    assert james["text"] == "👋 Welcome <@U0JAMES> to the *Data Science* community!"
    assert "introduce yourself in <#C0DATA>" in str(james["blocks"])


async def _count_is(bot: Bot, n: int) -> bool:
    return await _welcomes(bot) == n


async def test_bots_rejoins_and_redeliveries_are_not_welcomed_again(bot: Bot) -> None:
    await _prepare(bot)
    await bot.slack.join(user="U0LEA", channel="C0DATA")
    event_id = bot.slack.last_event_id
    await bot.slack.event(
        {"type": "member_joined_channel", "user": "U0LEA", "channel": "C0DATA", "team": "T0COP"},
        event_id=event_id,
        retry_num=1,
    )
    await eventually(lambda: _count_is(bot, 1))
    await bot.slack.leave(user="U0LEA", channel="C0DATA")
    await bot.slack.join(user="U0LEA", channel="C0DATA")  # back within 30 days
    await bot.slack.join(user="U0JIRA", channel="C0DATA")  # a bot
    await bot.slack.join(user="U0NATHAN", channel="C0DATA")  # a real newcomer, as a marker
    await eventually(lambda: _count_is(bot, 2))
    await _drain(bot)
    assert len(bot.emulator.messages["D0LEA"]) == 1
    assert "D0JIRA" not in bot.emulator.messages
    assert len(bot.emulator.messages["D0NATHAN"]) == 1


async def test_the_welcome_can_be_posted_in_the_channel(bot: Bot) -> None:
    community = await _prepare(bot, language="en")
    async with bot.sessions.begin() as session:
        await scheduler.settings_of(
            session, community=community, programme=bot.deps.programme, now=datetime.now(UTC)
        )
        await session.execute(
            sa.update(RitualSetting)
            .where(RitualSetting.ritual == Ritual.WELCOME)
            .values(delivery=Delivery.CHANNEL)
        )
    await bot.slack.join(user="U0LEA", channel="C0DATA")
    await eventually(lambda: _count_is(bot, 1))
    await _drain(bot)
    posted = bot.emulator.messages["C0DATA"][-1]
    assert posted["text"] == "👋 Welcome <@U0LEA> to the *Data Science* community!"
    assert "introduce yourself right here" in str(posted["blocks"])
    assert "D0LEA" not in bot.emulator.messages


@pytest.fixture
async def small_bulk_bot(database_url: str, emulator: SlackEmulator) -> AsyncIterator[Bot]:
    config = make_config(database_url, emulator, rituals={"welcome": {"bulk_threshold": 3}})
    async with running_bot(config, emulator) as running:
        yield running


async def test_a_bulk_addition_gets_no_welcomes_but_one_digest_for_the_leader(
    small_bulk_bot: Bot,
) -> None:
    bot = small_bulk_bot
    community = await _prepare(bot)
    newcomers = [f"U0NEW{i}" for i in range(6)]
    for uid in newcomers:
        bot.emulator.workspace.users[uid] = User(
            uid, f"new.{uid.lower()}", f"Nouvelle Recrue {uid[-1]}"
        )
        await bot.slack.join(user=uid, channel="C0DATA")
    await eventually(lambda: _has_members(bot, community.id, 5 + 6))
    welcomed = await _welcomes(bot)
    assert welcomed <= 3  # the first few, before it was clear this was a bulk addition
    detail = await scheduler.run_now(bot.deps, ritual=Ritual.DIGEST, community_id=community.id)
    assert detail == "6 newcomers, 1 leaders"
    await _drain(bot)
    digest = bot.emulator.messages["D0CAMILLE"][-1]
    assert digest["text"] == "Data Science : 6 nouveaux cette semaine"
    buttons = [e for b in digest["blocks"] if b.get("accessory") for e in [b["accessory"]]]
    assert len(buttons) == 6 and all(b["text"]["text"] == "Saluer" for b in buttons)


async def _has_members(bot: Bot, community_id: int, n: int) -> bool:
    from bot.models import Membership

    async with bot.sessions() as session:
        count = await session.scalar(
            sa.select(sa.func.count())
            .select_from(Membership)
            .where(Membership.community_id == community_id, Membership.left_at.is_(None))
        )
    return count == n
