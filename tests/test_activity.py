"""Activity ingestion end to end: Slack events in, daily counters out, never message text."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import activity
from bot.models import ActivityDaily, Base, Community, Person
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


@pytest.mark.parametrize(
    ("extra", "counted_as"),
    [
        pytest.param({}, activity.Kind.MESSAGE, id="a message"),
        pytest.param({"thread_ts": "1.0"}, activity.Kind.MESSAGE, id="a thread's first message"),
        pytest.param({"thread_ts": "0.5"}, activity.Kind.REPLY, id="a reply in a thread"),
        pytest.param(
            {"subtype": "thread_broadcast"}, activity.Kind.MESSAGE, id="a broadcast reply"
        ),
        pytest.param({"subtype": "message_changed"}, None, id="an edit"),
        pytest.param({"subtype": "message_deleted"}, None, id="a deletion"),
        pytest.param({"subtype": "channel_join"}, None, id="someone joining"),
        pytest.param({"subtype": "channel_leave"}, None, id="someone leaving"),
        pytest.param({"bot_id": "B1"}, None, id="a bot's message"),
        pytest.param({"subtype": "bot_message"}, None, id="a bot_message"),
    ],
)
def test_what_counts_as_activity(extra: dict[str, str], counted_as: activity.Kind | None) -> None:
    base = {"type": "message", "user": "U1", "ts": "1.0"}
    assert activity.classify_message(base | extra) == counted_as


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


# --- one bad event never drops a batch ---------------------------------------------------------

POSTERS = ("U0LUCAS", "U0CHLOE", "U0HUGO", "U0EMILY")
# Timestamps and ids no Slack event carries; each must be refused alone, the others counted.
BAD_FIELDS: list[dict[str, Any]] = [
    {"ts": "1e20"},  # year 3 trillion: datetime.fromtimestamp raised and the batch was lost
    {"ts": "nan"},
    {"ts": "-1"},
    {"ts": "abc"},
    {"ts": "inf"},
    {"ts": "²²²²²²²²²²"},  # str.isdigit() says yes, float() says no
    {"ts": 1e20},  # a JSON number rather than Slack's string
    {"ts": "4102444800.000001"},  # 2100-01-01: not a message of today
    {"channel": "c0data; drop"},
    {"channel": "C" * 200},  # longer than any channel id column
    {"user": {"id": "U0LUCAS"}},
]


async def _activity(bot: Bot, result: str) -> float:
    """cop_events_total{type="activity",result=…} from the bot's /metrics page, over HTTP."""
    async with httpx.AsyncClient() as http:
        text = (await http.get(f"{bot.url}/metrics")).text
    for line in text.splitlines():
        found = re.fullmatch(r"cop_events_total\{([^}]*)\} (\S+)", line)
        if found and set(found.group(1).split(",")) == {
            'type="activity"',
            f'result="{result}"',
        }:
            return float(found.group(2))
    return 0.0


async def test_one_bad_event_never_drops_the_good_ones_of_its_batch(bot: Bot) -> None:
    await factories.community(bot.sessions, emulator=bot.emulator, channel="C0DATA")
    good = [message_event(bot, user=POSTERS[i % len(POSTERS)], channel="C0DATA") for i in range(29)]
    bad = [
        {**message_event(bot, user="U0LUCAS", channel="C0DATA"), **fields} for fields in BAD_FIELDS
    ]
    sent = list(good)
    for position, event in enumerate(bad):  # spread through the burst, so each has companions
        sent.insert(position * 4 + 2, event)
    assert len(sent) == 40
    # all at once: they arrive within the batcher's few milliseconds and share batches
    ids = [f"Ev{i:02d}BURST" for i in range(len(sent))]
    responses = await asyncio.gather(
        *(bot.slack.event(e, event_id=i) for e, i in zip(sent, ids, strict=True))
    )
    # a timestamp that is not even text is refused by the HTTP edge (400: bot/slack/edge.py);
    # the listener's check refuses the rest, one by one
    shaped = [e for e in bad if isinstance(e["ts"], str)]
    assert [r.status_code for r in responses] == [
        200 if e in good or e in shaped else 400 for e in sent
    ]
    wanted = {u: (sum(1 for e in good if e["user"] == u), 0, 0) for u in POSTERS}
    await eventually(lambda: _expect(bot, wanted))
    assert await eventually(lambda: _activity_is(bot, "refused", len(shaped)))
    assert await eventually(lambda: _activity_is(bot, "handled", len(good)))
    assert await _activity(bot, "failed") == 0
    # Slack redelivers the whole burst (same event ids): nothing counts twice
    await asyncio.gather(
        *(bot.slack.event(e, event_id=i, retry_num=1) for e, i in zip(sent, ids, strict=True))
    )
    assert await eventually(lambda: _activity_is(bot, "ignored", len(good)))
    assert await counters(bot) == wanted


async def _activity_is(bot: Bot, result: str, value: float) -> bool:
    return await _activity(bot, result) == value


async def test_a_batch_that_gets_a_bad_event_by_another_road_counts_the_rest(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """`record_many` checks each event again: a bad one handed to it directly is dropped alone."""
    await factories.community(sessions, channel="C0DATA", members=POSTERS)
    now = time.time()
    good = [
        activity.Observed(
            "C0DATA", POSTERS[i % 4], activity.Kind.MESSAGE, f"{now - i:.6f}", f"Ev{i}"
        )
        for i in range(36)
    ]
    bad = [
        activity.Observed("C0DATA", "U0LUCAS", activity.Kind.MESSAGE, ts, f"EvBAD{n}")
        for n, ts in enumerate(("1e20", "nan", "-1", "abc"))
    ]
    async with sessions.begin() as session:
        counted = await activity.record_many(
            session, workspace_id=factories.WORKSPACE, observed=[*bad[:2], *good, *bad[2:]]
        )
    assert counted == 36
    async with sessions() as session:
        total = await session.scalar(sa.select(sa.func.sum(ActivityDaily.messages)))
    assert total == 36


async def test_events_of_a_community_that_cannot_be_counted_do_not_take_the_others_down(
    bot: Bot,
) -> None:
    """A fault the listener cannot see (a community row holding a zone that no longer loads, as an
    older version could store): the batch is counted event by event, only that community's lost."""
    await factories.community(bot.sessions, emulator=bot.emulator, channel="C0DATA")
    broken = await factories.community(
        bot.sessions, emulator=bot.emulator, channel="C0AGILE", name="Agilité"
    )
    async with bot.sessions.begin() as session:
        await session.execute(
            sa.update(Community).where(Community.id == broken.id).values(tz="Mars/Olympus")
        )
    good = [message_event(bot, user=POSTERS[i % 4], channel="C0DATA") for i in range(30)]
    lost = [message_event(bot, user="U0LEA", channel="C0AGILE") for _ in range(10)]
    sent = [e for pair in zip(good[:10], lost, strict=True) for e in pair] + good[10:]
    responses = await asyncio.gather(*(bot.slack.event(e) for e in sent))
    assert [r.status_code for r in responses] == [200] * 40
    wanted = {u: (sum(1 for e in good if e["user"] == u), 0, 0) for u in POSTERS}
    await eventually(lambda: _expect(bot, wanted))
    assert await eventually(lambda: _activity_is(bot, "failed", len(lost)))
    assert await _activity(bot, "handled") == len(good)
