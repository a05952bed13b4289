"""The outbox drain against the emulator over HTTP: once and only once, 429s, 5xx, people and
channels that are gone, the crash window, quiet hours."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from bot.app import build_deps
from bot.config import QuietHours
from bot.models import ChannelStatus, Community, Outbox, OutboxStatus, Person
from rituals.outbox import Drain, enqueue
from rituals.outbox.quiet_hours import next_allowed
from tests import factories
from tests.conftest import Bot, eventually


async def _person_id(bot: Bot, user: str) -> int:
    async with bot.sessions() as session:
        pid = await session.scalar(sa.select(Person.id).where(Person.slack_user_id == user))
    assert pid is not None
    return pid


async def _owe(
    bot: Bot, key: str, *, person: int | None = None, channel: str | None = None, kind: str = "test"
) -> bool:
    async with bot.sessions.begin() as session:
        return await enqueue(
            session,
            workspace_id=factories.WORKSPACE,
            key=key,
            kind=kind,
            text=f"bonjour {key}",
            person_id=person,
            channel_id=channel,
        )


async def _row(bot: Bot, key: str) -> Outbox:
    async with bot.sessions() as session:
        row = await session.scalar(sa.select(Outbox).where(Outbox.idempotency_key == key))
    assert row is not None
    return row


def _tagged(bot: Bot, channel: str, key: str) -> list[dict]:
    return [
        m
        for m in bot.emulator.messages.get(channel, [])
        if (m.get("metadata") or {}).get("event_payload", {}).get("key") == key
    ]


async def test_a_message_owed_twice_is_sent_once_and_tagged_with_its_key(bot: Bot) -> None:
    await factories.community(bot.sessions, emulator=bot.emulator)
    lucas = await _person_id(bot, "U0LUCAS")
    assert await _owe(bot, "k1", person=lucas)
    assert not await _owe(bot, "k1", person=lucas)
    drain = Drain(bot.deps, rate_per_minute=6000)
    await drain.run_once()
    await drain.run_once()
    row = await _row(bot, "k1")
    assert row.status == OutboxStatus.SENT and row.message_ts
    assert len(_tagged(bot, "D0LUCAS", "k1")) == 1
    async with bot.sessions() as session:
        assert (await session.get(Person, lucas)).dm_channel_id == "D0LUCAS"  # type: ignore[union-attr]


async def test_429_for_a_while_is_honoured_and_nothing_is_doubled(bot: Bot) -> None:
    await factories.community(bot.sessions, emulator=bot.emulator)
    bot.emulator.inject_failure("chat.postMessage", status=429, times=3)
    await _owe(bot, "k429", channel="C0DATA")
    drain = Drain(bot.deps, rate_per_minute=6000)
    await drain.run_once()
    assert (await _row(bot, "k429")).status == OutboxStatus.SENT
    assert len(_tagged(bot, "C0DATA", "k429")) == 1
    assert len([c for c in bot.emulator.calls_to("chat.postMessage") if c.status == 429]) == 3


async def test_server_errors_are_retried_with_backoff(bot: Bot) -> None:
    await factories.community(bot.sessions, emulator=bot.emulator)
    bot.emulator.inject_failure("chat.postMessage", status=503, times=2)
    await _owe(bot, "k5xx", channel="C0DATA")
    drain = Drain(bot.deps, rate_per_minute=6000)
    await drain.run_once()
    row = await _row(bot, "k5xx")
    assert row.status == OutboxStatus.PENDING and row.attempts >= 1 and row.last_error

    async def sent() -> bool:
        await drain.run_once()
        return (await _row(bot, "k5xx")).status == OutboxStatus.SENT

    await eventually(sent, timeout=10, interval=0.2)
    assert len(_tagged(bot, "C0DATA", "k5xx")) == 1


async def test_a_deactivated_user_and_an_archived_channel_fail_for_good_with_a_reason(
    bot: Bot,
) -> None:
    await factories.community(bot.sessions, emulator=bot.emulator, members=("U0PIERRE", "U0LUCAS"))
    await factories.community(bot.sessions, channel="C0OLD", name="Ancien projet")
    pierre = await _person_id(bot, "U0PIERRE")
    await _owe(bot, "dm-pierre", person=pierre)
    await _owe(bot, "old-channel", channel="C0OLD")
    async with bot.sessions.begin() as session:
        old = await session.scalar(sa.select(Community).where(Community.channel_id == "C0OLD"))
        await session.execute(
            sa.update(Outbox)
            .where(Outbox.idempotency_key == "old-channel")
            .values(community_id=old.id)  # type: ignore[union-attr]
        )
    drain = Drain(bot.deps, rate_per_minute=6000)
    await drain.run_once()
    await drain.run_once()
    pierre_row, old_row = await _row(bot, "dm-pierre"), await _row(bot, "old-channel")
    assert (pierre_row.status, pierre_row.last_error) == (OutboxStatus.FAILED, "user_disabled")
    assert (old_row.status, old_row.last_error) == (OutboxStatus.FAILED, "is_archived")
    async with bot.sessions() as session:
        assert (await session.get(Person, pierre)).unreachable_reason == "user_disabled"  # type: ignore[union-attr]
        old = await session.scalar(sa.select(Community).where(Community.channel_id == "C0OLD"))
        assert old is not None and old.channel_status == ChannelStatus.ARCHIVED
    posts = bot.emulator.calls_to("chat.postMessage")
    assert len(posts) == 2  # tried once each, never again


async def test_a_row_left_sending_by_a_dead_sender_is_found_in_slack_not_sent_again(
    bot: Bot,
) -> None:
    await factories.community(bot.sessions, emulator=bot.emulator)
    await _owe(bot, "crashed", channel="C0DATA")
    # the first sender posted it, then died before recording it
    await bot.deps.messenger.post(
        channel="C0DATA", text="bonjour crashed", metadata={"key": "crashed"}
    )
    async with bot.sessions.begin() as session:
        await session.execute(
            sa.update(Outbox)
            .where(Outbox.idempotency_key == "crashed")
            .values(
                status=OutboxStatus.SENDING,
                claimed_by="dead",
                claimed_at=datetime.now(UTC) - timedelta(seconds=30),
            )
        )
    drain = Drain(bot.deps, rate_per_minute=6000, lease_seconds=10)
    await drain.run_once()
    row = await _row(bot, "crashed")
    assert row.status == OutboxStatus.SENT and row.last_error == "recovered"
    assert len(_tagged(bot, "C0DATA", "crashed")) == 1
    assert drain.stats.recovered == 1 and drain.stats.sent == 0


async def test_a_row_left_sending_that_never_reached_slack_is_sent_after_the_lease(
    bot: Bot,
) -> None:
    await factories.community(bot.sessions, emulator=bot.emulator)
    await _owe(bot, "lost", channel="C0DATA")
    async with bot.sessions.begin() as session:
        await session.execute(
            sa.update(Outbox)
            .where(Outbox.idempotency_key == "lost")
            .values(
                status=OutboxStatus.SENDING, claimed_at=datetime.now(UTC) - timedelta(seconds=3)
            )
        )
    drain = Drain(bot.deps, rate_per_minute=6000, lease_seconds=10)
    await drain.run_once()
    assert (await _row(bot, "lost")).status == OutboxStatus.SENDING  # still within its lease
    async with bot.sessions.begin() as session:
        await session.execute(
            sa.update(Outbox)
            .where(Outbox.idempotency_key == "lost")
            .values(claimed_at=datetime.now(UTC) - timedelta(seconds=30))
        )
    await drain.run_once()
    assert (await _row(bot, "lost")).status == OutboxStatus.SENT
    assert len(_tagged(bot, "C0DATA", "lost")) == 1


def test_quiet_hours_follow_the_member_zone_weekends_and_daylight_saving() -> None:
    quiet = QuietHours()
    # Friday 27 March 2026, 19:30 in Paris (18:30 UTC): next opening is Monday 30 March 09:00 CEST
    friday_evening = datetime(2026, 3, 27, 18, 30, tzinfo=UTC)
    opens = next_allowed(friday_evening, tz="Europe/Paris", quiet=quiet, default_tz="Europe/Paris")
    assert opens == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
    # the same moment is 14:30 in New York: allowed now
    assert (
        next_allowed(friday_evening, tz="America/New_York", quiet=quiet, default_tz="Europe/Paris")
        == friday_evening
    )


async def test_ritual_dms_wait_for_working_hours_unless_quiet_hours_are_off(bot: Bot) -> None:
    await factories.community(bot.sessions, emulator=bot.emulator)
    lucas = await _person_id(bot, "U0LUCAS")
    await _owe(bot, "pulse-lucas", person=lucas, kind="pulse")
    settings = dataclasses.replace(bot.deps.config.settings, quiet_hours=True)
    deps = build_deps(dataclasses.replace(bot.deps.config, settings=settings))
    try:
        drain = Drain(deps, rate_per_minute=6000)
        await drain.run_once()
        row = await _row(bot, "pulse-lucas")
        expected = next_allowed(
            datetime.now(UTC), tz="Europe/Paris", quiet=QuietHours(), default_tz="Europe/Paris"
        )
        if expected > datetime.now(UTC) + timedelta(seconds=5):
            assert row.status == OutboxStatus.PENDING
            assert abs((row.next_attempt_at - expected).total_seconds()) < 5
        else:
            assert row.status == OutboxStatus.SENT
    finally:
        await deps.engine.dispose()


async def test_two_replicas_draining_together_never_send_a_row_twice(bot: Bot) -> None:
    await factories.community(bot.sessions, emulator=bot.emulator)
    for i in range(60):
        await _owe(bot, f"many-{i}", channel="C0DATA")
    first = Drain(bot.deps, rate_per_minute=60000, concurrency=4, instance_id="replica-a")
    second = Drain(bot.deps, rate_per_minute=60000, concurrency=4, instance_id="replica-b")
    await asyncio.gather(first.run_once(), second.run_once(), first.run_once())
    keys = [
        (m.get("metadata") or {}).get("event_payload", {}).get("key")
        for m in bot.emulator.messages["C0DATA"]
    ]
    assert sorted(keys) == sorted(f"many-{i}" for i in range(60))
    assert first.stats.sent + second.stats.sent == 60
