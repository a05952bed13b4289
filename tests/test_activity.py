"""Activity ingestion end to end: Slack events in, daily counters out, never message text."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from bot import activity
from bot.models import ActivityDaily, Base, Person
from tests import factories
from tests.conftest import Bot, eventually


async def counters(bot: Bot) -> dict[str, tuple[int, int, int]]:
    """{slack user: (messages, replies, reactions)} summed over days and communities."""
    async with bot.sessions() as session:
        rows = await session.execute(
            sa.select(
                Person.slack_user_id,
                sa.func.sum(ActivityDaily.messages),
                sa.func.sum(ActivityDaily.replies),
                sa.func.sum(ActivityDaily.reactions),
            )
            .join(Person, Person.id == ActivityDaily.person_id)
            .group_by(Person.slack_user_id)
        )
        return {uid: (int(m), int(r), int(x)) for uid, m, r, x in rows}


def message_event(bot: Bot, *, user: str, channel: str, **extra: Any) -> dict[str, Any]:
    stored = bot.emulator.add_message(channel, user=user, text="texte confidentiel", **extra)
    return {**stored, "channel": channel, "event_ts": stored["ts"], "channel_type": "channel"}


def test_what_counts_as_activity() -> None:
    base = {"type": "message", "user": "U1", "ts": "1.0"}
    assert activity.classify_message(base) == activity.Kind.MESSAGE
    assert activity.classify_message(base | {"thread_ts": "1.0"}) == activity.Kind.MESSAGE
    assert activity.classify_message(base | {"thread_ts": "0.5"}) == activity.Kind.REPLY
    assert (
        activity.classify_message(base | {"subtype": "thread_broadcast"}) == activity.Kind.MESSAGE
    )
    for subtype in ("message_changed", "message_deleted", "channel_join", "channel_leave"):
        assert activity.classify_message(base | {"subtype": subtype}) is None
    assert activity.classify_message(base | {"bot_id": "B1"}) is None
    assert activity.classify_message(base | {"subtype": "bot_message"}) is None


async def test_messages_replies_and_reactions_are_counted(bot: Bot) -> None:
    await factories.community(bot.sessions, emulator=bot.emulator, channel="C0DATA")
    await bot.slack.message(user="U0LUCAS", channel="C0DATA", text="Bonjour à tous")
    first = bot.slack.last_message
    assert first is not None
    await bot.slack.message(user="U0LUCAS", channel="C0DATA")
    await bot.slack.message(user="U0CHLOE", channel="C0DATA", thread_ts=first["ts"])
    await bot.slack.reaction(user="U0HUGO", channel="C0DATA", ts=first["ts"])
    await eventually(
        lambda: _expect(bot, {"U0LUCAS": (2, 0, 0), "U0CHLOE": (0, 1, 0), "U0HUGO": (0, 0, 1)})
    )


async def _expect(bot: Bot, wanted: dict[str, tuple[int, int, int]]) -> bool:
    return await counters(bot) == wanted


async def test_bots_edits_deletions_joins_dms_and_other_channels_do_not_count(bot: Bot) -> None:
    await factories.community(bot.sessions, emulator=bot.emulator, channel="C0DATA")
    await bot.slack.message(user="U0JIRA", channel="C0DATA", bot_id="B0JIRA")
    await bot.slack.message(user="U0LUCAS", channel="C0DATA", subtype="message_changed")
    await bot.slack.message(user="U0LUCAS", channel="C0DATA", subtype="message_deleted")
    await bot.slack.message(user="U0LUCAS", channel="C0DATA", subtype="channel_join")
    await bot.slack.message(user="U0LUCAS", channel="C0GEN")  # not a community
    await bot.slack.message(user="U0LUCAS", channel="D0LUCAS")
    await bot.slack.message(user="U0CHLOE", channel="C0DATA")  # the one that counts
    await eventually(lambda: _expect(bot, {"U0CHLOE": (1, 0, 0)}))
    assert await counters(bot) == {"U0CHLOE": (1, 0, 0)}


async def test_a_redelivered_event_counts_once(bot: Bot) -> None:
    await factories.community(bot.sessions, emulator=bot.emulator, channel="C0DATA")
    event = message_event(bot, user="U0LUCAS", channel="C0DATA")
    for retry in (None, 1, 2):
        response = await bot.slack.event(event, event_id="Ev0SAME", retry_num=retry)
        assert response.status_code == 200
    await bot.slack.message(user="U0CHLOE", channel="C0DATA")  # a marker: processed after
    await eventually(lambda: _expect(bot, {"U0LUCAS": (1, 0, 0), "U0CHLOE": (1, 0, 0)}))


async def test_message_text_is_never_stored(bot: Bot) -> None:
    await factories.community(bot.sessions, emulator=bot.emulator, channel="C0DATA")
    await bot.slack.event(message_event(bot, user="U0LUCAS", channel="C0DATA"))
    await eventually(lambda: _expect(bot, {"U0LUCAS": (1, 0, 0)}))
    async with bot.sessions() as session:
        for table in Base.metadata.sorted_tables:
            for row in (await session.execute(sa.select(table))).all():
                assert not any("confidentiel" in str(value) for value in row), table.name


async def test_an_unknown_poster_gets_a_person_row_and_is_counted(bot: Bot) -> None:
    await factories.community(bot.sessions, emulator=bot.emulator, channel="C0DATA")
    await bot.slack.message(user="U0NATHAN", channel="C0DATA")  # not a member yet
    await eventually(lambda: _expect(bot, {"U0NATHAN": (1, 0, 0)}))
