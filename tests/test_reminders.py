"""Event reminders: in the channel and by DM to those going or maybe, in their language and zone
(across the spring daylight-saving change); rescheduling moves them, cancelling removes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from bot.models import Event, EventRsvp, EventStatus, Outbox, OutboxStatus, Person, RsvpAnswer
from rituals import reminders
from rituals.outbox import Drain
from tests import factories
from tests.conftest import Bot

# Monday 29 March 2027, 10:00 in Paris — the day after the clocks went forward (08:00 UTC)
STARTS = datetime(2027, 3, 29, 8, 0, tzinfo=UTC)


async def _event(bot: Bot) -> int:
    community = await factories.community(bot.sessions, emulator=bot.emulator, members=(
        "U0CAMILLE", "U0LUCAS", "U0CHLOE", "U0EMILY", "U0JAMES"
    ))  # fmt: skip
    async with bot.sessions.begin() as session:
        event = Event(
            workspace_id="T0COP",
            community_id=community.id,
            title="Webinaire IA générative",
            starts_at=STARTS,
            tz="Europe/Paris",
            link="https://meet.example.com/ia",
        )
        session.add(event)
        await session.flush()
        ids = dict((await session.execute(sa.select(Person.slack_user_id, Person.id))).all())
        for user, answer in (
            ("U0LUCAS", RsvpAnswer.GOING),
            ("U0EMILY", RsvpAnswer.MAYBE),
            ("U0JAMES", RsvpAnswer.GOING),
            ("U0CHLOE", RsvpAnswer.DECLINED),
        ):
            session.add(
                EventRsvp(
                    workspace_id="T0COP", event_id=event.id, person_id=ids[user], answer=answer
                )
            )
        return event.id


async def _rows(bot: Bot) -> dict[str, str]:
    async with bot.sessions() as session:
        return dict((await session.execute(sa.select(Outbox.idempotency_key, Outbox.status))).all())


async def test_reminders_reach_the_channel_and_those_going_in_their_language_and_zone(
    bot: Bot,
) -> None:
    await _event(bot)
    assert await reminders.plan(bot.deps, now=STARTS - timedelta(hours=25)) == 0  # not yet
    assert await reminders.plan(bot.deps, now=STARTS - timedelta(hours=23)) == 4
    assert await reminders.plan(bot.deps, now=STARTS - timedelta(hours=22)) == 0  # once
    await Drain(bot.deps, rate_per_minute=60000).run_once()
    channel = bot.emulator.messages["C0DATA"][-1]["text"]
    assert (
        channel
        == "⏰ Rappel : *Webinaire IA générative* commence lundi 29 mars 2027 à 10:00 (Europe/Paris)."
    )
    assert bot.emulator.messages["D0LUCAS"][-1]["text"] == channel
    assert (
        bot.emulator.messages["D0EMILY"][-1]["text"]
        == "⏰ Reminder: *Webinaire IA générative* starts Monday, 29 March 2027 at 04:00 (America/New_York)."
    )
    assert (
        bot.emulator.messages["D0JAMES"][-1]["text"]
        == "⏰ Reminder: *Webinaire IA générative* starts Monday, 29 March 2027 at 09:00 (Europe/London)."
    )
    assert "D0CHLOE" not in bot.emulator.messages  # declined
    assert "https://meet.example.com/ia" in str(bot.emulator.messages["D0LUCAS"][-1]["blocks"])
    # one hour before: the second reminder
    assert await reminders.plan(bot.deps, now=STARTS - timedelta(minutes=50)) == 4


async def test_rescheduling_moves_the_reminders_and_cancelling_removes_them(bot: Bot) -> None:
    event_id = await _event(bot)
    await reminders.plan(bot.deps, now=STARTS - timedelta(hours=23))
    old = await _rows(bot)
    assert len(old) == 4 and set(old.values()) == {OutboxStatus.PENDING}
    moved = STARTS + timedelta(days=2)
    async with bot.sessions.begin() as session:
        await session.execute(sa.update(Event).where(Event.id == event_id).values(starts_at=moved))
    assert await reminders.plan(bot.deps, now=STARTS - timedelta(hours=22)) == 0
    assert set((await _rows(bot)).values()) == {OutboxStatus.CANCELLED}
    assert await reminders.plan(bot.deps, now=moved - timedelta(hours=23)) == 4
    rows = await _rows(bot)
    fresh = [k for k, s in rows.items() if s == OutboxStatus.PENDING]
    assert len(fresh) == 4 and all(moved.isoformat() in k for k in fresh)
    async with bot.sessions.begin() as session:
        await session.execute(
            sa.update(Event).where(Event.id == event_id).values(status=EventStatus.CANCELLED)
        )
    await reminders.plan(bot.deps, now=moved - timedelta(hours=22))
    assert set((await _rows(bot)).values()) == {OutboxStatus.CANCELLED}
    await Drain(bot.deps, rate_per_minute=60000).run_once()
    assert "C0DATA" not in bot.emulator.messages
