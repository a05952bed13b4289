"""Uninstall and reinstall: Slack's `app_uninstalled` / `tokens_revoked` (or a call answering that
our token is dead) make the bot go quiet in that workspace — messages wait without spending
their attempts, rituals are skipped, the data stays under the retention rules — and when Slack
accepts the token again it speaks again, without a flood of stale messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from bot import privacy
from bot.models import (
    ActivityDaily,
    AuditLog,
    Community,
    Event,
    Membership,
    Outbox,
    OutboxStatus,
    Person,
    Poll,
    Ritual,
    RitualSetting,
    Workspace,
)
from rituals import reminders, scheduler
from rituals.outbox import Drain, Owed, enqueue_many
from tests import factories
from tests.conftest import Bot, eventually

POST = "chat.postMessage"


async def revoked_at(bot: Bot) -> datetime | None:
    async with bot.sessions() as session:
        return await session.scalar(
            sa.select(Workspace.token_revoked_at).where(Workspace.id == "T0COP")
        )


async def outbox(bot: Bot) -> dict[str, tuple[str, int, str | None]]:
    """key → (status, attempts, last error)."""
    async with bot.sessions() as session:
        rows = await session.execute(
            sa.select(Outbox.idempotency_key, Outbox.status, Outbox.attempts, Outbox.last_error)
        )
        return {key: (status, attempts, error) for key, status, attempts, error in rows}


async def owe_old_message(bot: Bot, community: Community, days: int) -> None:
    """A message owed `days` ago to the channel (e.g. held since then)."""
    async with bot.sessions.begin() as session:
        await enqueue_many(
            session,
            workspace_id="T0COP",
            community_id=community.id,
            messages=[Owed(key="old:announce", kind="test", text="Old news", channel_id="C0DATA")],
        )
        await session.execute(
            sa.update(Outbox)
            .where(Outbox.idempotency_key == "old:announce")
            .values(created_at=datetime.now(UTC) - timedelta(days=days))
        )


async def due_pulse(bot: Bot, community: Community) -> None:
    """The monthly pulse poll of the community is due (a minute ago)."""
    now = datetime.now(UTC)
    async with bot.sessions.begin() as session:
        await scheduler.settings_of(
            session, community=community, programme=bot.deps.programme, now=now
        )
        await session.execute(
            sa.update(RitualSetting)
            .where(RitualSetting.ritual == Ritual.PULSE)
            .values(next_run_at=now - timedelta(minutes=1))
        )


async def polls(bot: Bot) -> int:
    async with bot.sessions() as session:
        return int(await session.scalar(sa.select(sa.func.count()).select_from(Poll)) or 0)


def posts(bot: Bot) -> int:
    return len(bot.emulator.calls_to(POST))


async def test_uninstalled_the_bot_goes_quiet_and_reinstalled_it_resumes_without_stale_messages(
    bot: Bot,
) -> None:
    community = await factories.community(
        bot.sessions, emulator=bot.emulator, leaders=("U0CAMILLE",)
    )
    drain = Drain(bot.deps, rate_per_minute=60000)
    await owe_old_message(bot, community, days=3)
    await due_pulse(bot, community)
    # an event scheduled days ago, about to start: its reminder is owed now, and will be
    # useless in a moment
    starts_at = datetime.now(UTC) + timedelta(seconds=2)
    async with bot.sessions.begin() as session:
        session.add(
            Event(
                workspace_id="T0COP",
                community_id=community.id,
                title="Point rapide",
                starts_at=starts_at,
                tz="Europe/Paris",
                channel_id="C0DATA",
                created_at=datetime.now(UTC) - timedelta(days=3),
            )
        )
    await reminders.plan(bot.deps, now=datetime.now(UTC))
    # a newcomer just arrived: a welcome is owed
    await bot.slack.join(user="U0LEA", channel="C0DATA")
    await eventually(lambda: welcome_owed(bot))
    before = posts(bot)

    # the workspace uninstalls the app: Slack sends both events
    for event in bot.emulator.uninstall():
        response = await bot.slack.event(event)
        assert response.status_code == 200
    await eventually(lambda: revoked_at(bot))

    await drain.run_once()
    assert posts(bot) == before  # nothing sent: not even tried
    held = await outbox(bot)
    assert held and all(
        status == OutboxStatus.PENDING and attempts == 0 for status, attempts, _ in held.values()
    )
    # the scheduler skips the community's rituals (the due pulse is not run) …
    assert await scheduler.tick(bot.deps) == 0
    assert await polls(bot) == 0
    # … and the data stays, still under the retention rules
    async with bot.sessions.begin() as session:
        lucas = await session.scalar(sa.select(Person).where(Person.slack_user_id == "U0LUCAS"))
        assert lucas is not None
        session.add(
            ActivityDaily(
                workspace_id="T0COP",
                community_id=community.id,
                person_id=lucas.id,
                day=datetime.now(UTC).date() - timedelta(days=1000),
                messages=4,
            )
        )
    async with bot.sessions.begin() as session:
        assert await privacy.apply_retention(session, months=24) == 1
    async with bot.sessions() as session:
        assert await session.scalar(
            sa.select(sa.func.count()).select_from(Membership).where(Membership.left_at.is_(None))
        )
        assert await session.scalar(sa.select(ActivityDaily.person_id)) is None
    # still uninstalled: Slack says so to the scheduler's check, nothing changes
    await scheduler.tick(bot.deps)
    assert await revoked_at(bot) is not None

    # reinstalled: the next tick finds the token working and the bot speaks again
    await eventually(lambda: datetime.now(UTC) > starts_at)  # the event started meanwhile
    bot.emulator.reinstall()
    assert await scheduler.tick(bot.deps) == 1  # the pulse poll, due during the outage, runs
    assert await revoked_at(bot) is None
    await drain.run_once()
    after = await outbox(bot)
    assert after["old:announce"] == (OutboxStatus.CANCELLED, 0, "stale_after_reinstall")
    reminder = next(v for k, v in after.items() if k.startswith("reminder:"))
    assert reminder == (OutboxStatus.CANCELLED, 0, "expired")
    welcome = next(v for k, v in after.items() if k.startswith("welcome:"))
    assert welcome[0] == OutboxStatus.SENT
    assert "Old news" not in str(bot.emulator.messages["C0DATA"])
    assert bot.emulator.messages["D0LEA"]  # the welcome, late by minutes, not days
    assert await polls(bot) == 1 and bot.emulator.messages["D0LUCAS"]  # the poll went out
    async with bot.sessions() as session:
        actions = list(await session.scalars(sa.select(AuditLog.action).order_by(AuditLog.id)))
    assert actions.count("workspace.token_revoked") == 1  # two events, one record
    assert actions[-1] == "workspace.resumed"


async def welcome_owed(bot: Bot) -> bool:
    return any(key.startswith("welcome:") for key in await outbox(bot))


async def test_only_the_bot_token_matters_in_tokens_revoked(bot: Bot) -> None:
    await factories.community(bot.sessions, emulator=bot.emulator)
    await bot.slack.event({"type": "tokens_revoked", "tokens": {"oauth": ["U0LUCAS"], "bot": []}})
    await bot.slack.event({"type": "app_home_opened", "user": "U0LUCAS", "tab": "home"})
    await bot.emulator.wait_for("views.publish")  # the events before it were handled
    assert await revoked_at(bot) is None
    bot_user = bot.emulator.workspace.bot_user_id
    await bot.slack.event({"type": "tokens_revoked", "tokens": {"oauth": [], "bot": [bot_user]}})
    await eventually(lambda: revoked_at(bot))


@pytest.mark.parametrize("error", ["token_revoked", "account_inactive", "invalid_auth"])
async def test_a_dead_token_met_while_sending_holds_the_message_and_marks_the_workspace(
    bot: Bot, error: str
) -> None:
    """Slack's events were missed (the bot was down when it was uninstalled): the first send
    tells it. The message is not failed, it waits; the others are not even tried."""
    community = await factories.community(bot.sessions, emulator=bot.emulator)
    async with bot.sessions.begin() as session:
        await enqueue_many(
            session,
            workspace_id="T0COP",
            community_id=community.id,
            messages=[
                Owed(key=f"news:{i}", kind="test", text=f"News {i}", channel_id="C0DATA")
                for i in range(5)
            ],
        )
    bot.emulator.uninstall(error=error)
    drain = Drain(bot.deps, rate_per_minute=60000, concurrency=1)
    await drain.run_once()
    assert await revoked_at(bot) is not None
    tried = posts(bot)
    assert tried == 1  # the first answer says it all: the rest of the batch waits untried
    assert all(
        (status, attempts) == (OutboxStatus.PENDING, 0)
        for status, attempts, _ in (await outbox(bot)).values()
    )
    await drain.run_once()
    assert posts(bot) == tried  # nothing more is tried
    bot.emulator.reinstall()
    await scheduler.tick(bot.deps)
    await drain.run_once()
    sent = await outbox(bot)
    assert {status for status, _, _ in sent.values()} == {OutboxStatus.SENT}
    assert len([m for m in bot.emulator.messages["C0DATA"] if m["text"].startswith("News")]) == 5
