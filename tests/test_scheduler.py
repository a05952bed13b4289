"""The durable schedule: local times across daylight-saving changes, grace period, one leader."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from bot.models import Poll, Ritual, RitualRun, RitualSetting, RunStatus
from rituals import scheduler
from rituals.cadence import next_run, period_key
from rituals.outbox import Drain, enqueue
from tests import factories
from tests.conftest import Bot, eventually

PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        # spring forward on Sunday 29 March 2026: 10:00 CET = 09:00 UTC, 10:00 CEST = 08:00 UTC
        (datetime(2026, 3, 24, 8, 0, tzinfo=UTC), datetime(2026, 3, 24, 9, 0, tzinfo=UTC)),
        (datetime(2026, 3, 24, 9, 1, tzinfo=UTC), datetime(2026, 3, 31, 8, 0, tzinfo=UTC)),
        # fall back on Sunday 25 October 2026
        (datetime(2026, 10, 20, 8, 1, tzinfo=UTC), datetime(2026, 10, 27, 9, 0, tzinfo=UTC)),
    ],
)
def test_a_weekly_ritual_stays_at_ten_local_across_daylight_saving(
    after: datetime, expected: datetime
) -> None:
    got = next_run("weekly", after=after, zone=PARIS, hour=10)
    assert got == expected
    assert got is not None and got.astimezone(PARIS).hour == 10


def test_monthly_and_quarterly_runs_fall_on_the_first_tuesday() -> None:
    after = datetime(2026, 3, 5, tzinfo=UTC)
    assert next_run("monthly", after=after, zone=PARIS, hour=10) == datetime(
        2026, 4, 7, 8, tzinfo=UTC
    )
    assert next_run("quarterly", after=after, zone=PARIS, hour=10) == datetime(
        2026, 4, 7, 8, tzinfo=UTC
    )
    assert period_key("quarterly", datetime(2026, 4, 7, 8, tzinfo=UTC), PARIS) == "2026-Q2"
    assert next_run("off", after=after, zone=PARIS, hour=10) is None


async def _weekly_pulse(bot: Bot, due: datetime) -> None:
    async with bot.sessions.begin() as session:
        await session.execute(
            sa.update(RitualSetting)
            .where(RitualSetting.ritual == Ritual.PULSE)
            .values(cadence="weekly", next_run_at=due)
        )
        await session.execute(
            sa.update(RitualSetting)
            .where(RitualSetting.ritual != Ritual.PULSE)
            .values(enabled=False)
        )


async def _setting(bot: Bot, ritual: Ritual) -> RitualSetting:
    async with bot.sessions() as session:
        row = await session.scalar(sa.select(RitualSetting).where(RitualSetting.ritual == ritual))
    assert row is not None
    return row


async def test_the_tick_runs_a_due_ritual_once_then_again_at_ten_after_the_clocks_change(
    bot: Bot,
) -> None:
    await factories.community(bot.sessions, emulator=bot.emulator, tz="Europe/Paris")
    first = datetime(2026, 3, 24, 9, 0, tzinfo=UTC)
    await scheduler.tick(bot.deps, now=first - timedelta(hours=1))  # settings rows appear
    await _weekly_pulse(bot, first)
    assert await scheduler.tick(bot.deps, now=first + timedelta(minutes=1)) == 1
    assert await scheduler.tick(bot.deps, now=first + timedelta(minutes=2)) == 0  # not twice
    setting = await _setting(bot, Ritual.PULSE)
    assert setting.next_run_at == datetime(2026, 3, 31, 8, 0, tzinfo=UTC)  # 10:00 CEST
    assert setting.last_result and setting.last_result.startswith("done")
    assert await scheduler.tick(bot.deps, now=datetime(2026, 3, 31, 8, 1, tzinfo=UTC)) == 1
    async with bot.sessions() as session:
        periods = sorted(await session.scalars(sa.select(Poll.period_key)))
        runs = list(await session.scalars(sa.select(RitualRun.status)))
    assert periods == ["2026-W13", "2026-W14"]
    assert runs == [RunStatus.DONE, RunStatus.DONE]
    # both polls reached every member, in their language, plus one reminder of the first
    await Drain(bot.deps, rate_per_minute=60000).run_once()
    lucas = [m["text"] for m in bot.emulator.messages["D0LUCAS"]]
    emily = [m["text"] for m in bot.emulator.messages["D0EMILY"]]
    assert (
        sorted(lucas)
        == ["Petit rappel : sondage pulse — Data Science"] + ["Sondage pulse — Data Science"] * 2
    )
    assert (
        sorted(emily)
        == ["Gentle reminder: pulse poll — Data Science"] + ["Pulse poll — Data Science"] * 2
    )


async def test_a_ritual_missed_beyond_the_grace_period_is_recorded_as_skipped(bot: Bot) -> None:
    await factories.community(bot.sessions, emulator=bot.emulator, tz="Europe/Paris")
    due = datetime(2026, 3, 24, 9, 0, tzinfo=UTC)
    await scheduler.tick(bot.deps, now=due - timedelta(hours=1))
    await _weekly_pulse(bot, due)
    assert await scheduler.tick(bot.deps, now=due + timedelta(hours=30)) == 0  # grace is 24 h
    async with bot.sessions() as session:
        run = await session.scalar(sa.select(RitualRun))
        polls = await session.scalar(sa.select(sa.func.count()).select_from(Poll))
    assert run is not None and run.status == RunStatus.SKIPPED and run.period_key == "2026-W13"
    assert polls == 0
    assert (await _setting(bot, Ritual.PULSE)).next_run_at == datetime(
        2026, 3, 31, 8, 0, tzinfo=UTC
    )


async def test_a_ritual_missed_within_the_grace_period_runs_once_on_return(bot: Bot) -> None:
    await factories.community(bot.sessions, emulator=bot.emulator, tz="Europe/Paris")
    due = datetime(2026, 3, 24, 9, 0, tzinfo=UTC)
    await scheduler.tick(bot.deps, now=due - timedelta(hours=1))
    await _weekly_pulse(bot, due)
    assert await scheduler.tick(bot.deps, now=due + timedelta(hours=5)) == 1
    async with bot.sessions() as session:
        run = await session.scalar(sa.select(RitualRun))
    assert run is not None and run.status == RunStatus.DONE


async def test_the_running_scheduler_drains_the_outbox(bot: Bot) -> None:
    await factories.community(bot.sessions, emulator=bot.emulator)
    async with scheduler.running(bot.deps, drain_seconds=0.2, tick_seconds=3600) as running:
        ids = {job.id for job in running.scheduler.get_jobs()}
        assert {"rituals.tick", "outbox.drain", "snapshots.daily", "scheduler.leader"} <= ids
        async with bot.sessions.begin() as session:
            await enqueue(
                session,
                workspace_id="T0COP",
                key="sched",
                kind="test",
                text="hop",
                channel_id="C0DATA",
            )
        await eventually(lambda: bot.emulator.messages.get("C0DATA"), timeout=5)


async def test_exactly_one_replica_leads_and_another_takes_over_when_it_dies(bot: Bot) -> None:
    if bot.deps.engine.dialect.name != "postgresql":
        leader = scheduler.Leadership(bot.deps)
        assert await leader.try_acquire() and leader.is_leader  # SQLite: one process, always leads
        return
    first, second = scheduler.Leadership(bot.deps), scheduler.Leadership(bot.deps)
    assert await first.try_acquire()
    assert not await second.try_acquire()
    assert first._conn is not None
    await first._conn.invalidate()  # the holder's connection dies (process killed)
    await eventually(second.try_acquire, timeout=5, interval=0.2)
    assert second.is_leader
    await second.release()


async def _command(bot: Bot, text: str, user: str) -> dict:
    before = len(bot.emulator.responses)
    await bot.slack.command(text, user=user, channel="C0DATA")
    return (await eventually(lambda: bot.emulator.responses[before:]))[-1]


async def test_cop_rituals_shows_next_runs_and_leaders_change_them(bot: Bot) -> None:
    await factories.community(
        bot.sessions, emulator=bot.emulator, leaders=("U0LUCAS",), tz="Europe/Paris"
    )
    screen = await _command(bot, "rituels", "U0LUCAS")
    assert screen["text"] == "Rituels de la communauté Data Science"
    body = str(screen["blocks"])
    assert "Sondage pulse" in body and "chaque mois" in body and "Prochain passage" in body
    # a leader turns the pulse off, then makes it weekly
    bot.emulator.add_message("C0DATA", user="UBOT", text=screen["text"], blocks=screen["blocks"])
    ts = bot.emulator.messages["C0DATA"][-1]["ts"]
    before = len(bot.emulator.responses)
    await bot.slack.click(user="U0LUCAS", action_id="rituals_toggle:pulse", message=("C0DATA", ts))
    await eventually(lambda: bot.emulator.responses[before:])
    assert not (await _setting(bot, Ritual.PULSE)).enabled
    before = len(bot.emulator.responses)
    await bot.slack.click(
        user="U0LUCAS",
        action_id="rituals_cadence:pulse",
        message=("C0DATA", ts),
        selected=f"{(await _setting(bot, Ritual.PULSE)).community_id}|pulse|weekly",
    )
    await eventually(lambda: bot.emulator.responses[before:])
    setting = await _setting(bot, Ritual.PULSE)
    assert setting.cadence == "weekly"
    assert setting.next_run_at is not None
    assert setting.next_run_at.astimezone(PARIS).hour == 10
    assert setting.next_run_at.astimezone(PARIS).weekday() == 1
    assert setting.next_run_at - datetime.now(UTC) <= timedelta(days=7)


async def test_members_see_rituals_but_cannot_change_them(bot: Bot) -> None:
    community = await factories.community(bot.sessions, emulator=bot.emulator, leaders=("U0LUCAS",))
    screen = await _command(bot, "rituals", "U0EMILY")
    assert screen["text"] == "Rituals of the Data Science community"
    assert "rituals_toggle" not in str(screen["blocks"])
    # a forged click is refused, in English
    screen_leader = await _command(bot, "rituals", "U0LUCAS")
    bot.emulator.add_message("C0DATA", user="UBOT", text="x", blocks=screen_leader["blocks"])
    ts = bot.emulator.messages["C0DATA"][-1]["ts"]
    before = len(bot.emulator.responses)
    await bot.slack.click(user="U0EMILY", action_id="rituals_toggle:pulse", message=("C0DATA", ts))
    refusal = (await eventually(lambda: bot.emulator.responses[before:]))[-1]["text"]
    assert "core team" in refusal or "leaders" in refusal
    assert (await _setting(bot, Ritual.PULSE)).enabled
    assert community.id
