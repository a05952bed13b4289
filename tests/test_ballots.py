"""Unlinkable ballots: the test plays an operator who holds the database and tries to link the
members of a pulse poll to their answers — by order, by timing, by recomputing ballots — while
the poll is open and after it closed (docs/privacy.md, "What an operator can learn")."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from bot import polls
from bot.config import ConfigError, ballot_key, load_settings
from bot.models import Base, Person, Poll, PollDelivery, PollResponse, Ritual
from rituals import pulse, scheduler
from rituals.outbox import Drain
from tests import factories
from tests.conftest import Bot, eventually

# eight members answer, in this order, each with a score of their own (1..5 then 0..10)
ORDER = ("U0NATHAN", "U0LUCAS", "U0MANON", "U0CHLOE", "U0HUGO", "U0JAMES", "U0CAMILLE", "U0EMILY")
SCORES = dict(zip(ORDER, (1, 2, 3, 4, 5, 1, 2, 3), strict=True))
RECOMMEND = dict(zip(ORDER, (0, 1, 2, 3, 4, 5, 6, 7), strict=True))


async def dump(bot: Bot, *, skip: tuple[str, ...] = ()) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, as an operator with the database sees it."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    async with bot.sessions() as session:
        for table in Base.metadata.sorted_tables:
            if table.name in skip:
                continue
            rows = await session.execute(sa.select(table).order_by(*table.primary_key.columns))
            out[table.name] = [tuple(r) for r in rows]
    return out


async def answers(bot: Bot, poll_id: int) -> list[Any]:
    """The answer rows, with PostgreSQL's xmin (the writing transaction) when there is one."""
    xmin = (
        [sa.literal_column("xmin::text::bigint").label("xmin")]
        if bot.deps.engine.dialect.name == "postgresql"
        else []
    )
    async with bot.sessions() as session:
        return list(
            await session.execute(
                sa.select(
                    PollResponse.id,
                    PollResponse.ballot,
                    PollResponse.question_key,
                    PollResponse.score,
                    *xmin,
                ).where(PollResponse.poll_id == poll_id)
            )
        )


def strings_in(data: dict[str, list[tuple[Any, ...]]]) -> set[bytes]:
    found: set[bytes] = set()

    def walk(value: Any) -> None:
        if isinstance(value, str) and value:
            found.add(value.encode())
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(k)
                walk(v)
        elif isinstance(value, list | tuple):
            for v in value:
                walk(v)

    for rows in data.values():
        for row in rows:
            walk(row)
    return found


async def _click(bot: Bot, user: str, action_id: str) -> None:
    channel = bot.emulator.dm_channel_for(user)
    message = bot.emulator.messages[channel][0]
    before = len(bot.emulator.responses)
    await bot.slack.click(user=user, action_id=action_id, message=(channel, message["ts"]))
    await eventually(lambda: bot.emulator.responses[before:], timeout=20)


async def test_an_operator_with_the_database_cannot_link_answers_to_people(bot: Bot) -> None:
    community = await factories.community(
        bot.sessions, emulator=bot.emulator, channel="C0GEN", name="Général", leaders=("U0LEA",)
    )
    await scheduler.run_now(bot.deps, ritual=Ritual.PULSE, community_id=community.id)
    await Drain(bot.deps, rate_per_minute=60000).run_once()
    async with bot.sessions() as session:
        poll = await session.scalar(sa.select(Poll))
        assert poll is not None
        person = dict((await session.execute(sa.select(Person.slack_user_id, Person.id))).all())
    salt = poll.ballot_salt
    assert salt is not None
    before = await dump(bot, skip=("poll_response",))

    for user in ORDER:  # one after the other, as people do
        await _click(bot, user, f"pulse_answer:value:{SCORES[user]}")
        await _click(bot, user, f"pulse_answer:recommend:{RECOMMEND[user]}")

    # 1. timing: answering wrote nothing anywhere but the answers (no answered_at, no "last seen")
    assert await dump(bot, skip=("poll_response",)) == before

    # 2. order: answer ids do not follow the answering order
    rows = await answers(bot, poll.id)
    # (the NPS answers: eight different scores, so chance alone matches 2 orders in 40,320)
    nps_rows = [r for r in rows if r.question_key == "recommend"]
    by_id = [r.score for r in sorted(nps_rows, key=lambda r: r.id)]
    answered = [RECOMMEND[u] for u in ORDER]
    assert by_id not in (answered, answered[::-1])
    assert not any(hasattr(r, "answered_on") for r in rows)

    # 3. keys: every string the database holds, tried as the key of every member's ballot
    ballots = {r.ballot for r in rows}
    everything = await dump(bot)
    candidates = strings_in(everything)
    for pid in person.values():
        for key in candidates:
            assert polls.ballot(key, salt, pid) not in ballots
        legacy = hmac.new(salt.encode(), str(pid).encode(), hashlib.sha256).hexdigest()
        assert legacy not in ballots  # the old scheme, salt as the key, links no one any more
    # …whereas the bot, holding the key outside the database, finds each member's own ballot
    key = bot.deps.ballot_key
    assert key not in candidates
    mine = {u: polls.ballot(key, salt, person[u]) for u in ORDER}
    assert set(mine.values()) == ballots

    # 4. the poll closes: the salt is gone and the answers are rewritten, shuffled
    await pulse.maintain(bot.deps, now=poll.closes_at + timedelta(minutes=1))
    closed = await answers(bot, poll.id)
    assert sorted((r.question_key, r.score) for r in closed) == sorted(
        (r.question_key, r.score) for r in rows
    )
    # even with the key and a copy of the salt taken while the poll was open, no ballot matches
    assert not {r.ballot for r in closed} & set(mine.values())
    assert not {r.id for r in closed} & {r.id for r in rows}
    per_ballot: dict[str, dict[str, int]] = {}
    for r in closed:
        per_ballot.setdefault(r.ballot, {})[r.question_key] = r.score
    # answers of one person still belong together (the poll's own analysis needs it)…
    assert sorted((b["value"], b["recommend"]) for b in per_ballot.values()) == sorted(
        (SCORES[u], RECOMMEND[u]) for u in ORDER
    )
    # …but their ids tell nothing of the order they came in
    in_id_order = [
        r.score for r in sorted(closed, key=lambda r: r.id) if r.question_key == "recommend"
    ]
    assert in_id_order not in (answered, answered[::-1])
    if bot.deps.engine.dialect.name == "postgresql":
        # every answer now carries the same writing transaction: no order left in xmin either
        assert len({r.xmin for r in closed}) == 1
        assert len({r.xmin for r in rows}) > 1  # (while open, each answer had its own)
    async with bot.sessions() as session:
        assert (await session.get(Poll, poll.id)).ballot_salt is None  # type: ignore[union-attr]
        delivery_columns = set(PollDelivery.__table__.columns.keys())
    assert delivery_columns == {"id", "workspace_id", "poll_id", "person_id", "delivered_at"}


async def test_a_member_changes_an_answer_without_a_second_ballot(bot: Bot) -> None:
    community = await factories.community(bot.sessions, emulator=bot.emulator)
    await scheduler.run_now(bot.deps, ritual=Ritual.PULSE, community_id=community.id)
    await Drain(bot.deps, rate_per_minute=60000).run_once()
    for score in (1, 4, 5):
        await _click(bot, "U0LUCAS", f"pulse_answer:value:{score}")
    async with bot.sessions() as session:
        rows = list(await session.execute(sa.select(PollResponse.ballot, PollResponse.score)))
        poll = await session.scalar(sa.select(Poll))
        assert poll is not None
        waiting = await polls.not_answered(session, key=bot.deps.ballot_key, poll=poll)
        lucas = await session.scalar(sa.select(Person.id).where(Person.slack_user_id == "U0LUCAS"))
    assert [r.score for r in rows] == [5] and lucas not in waiting and len(waiting) == 4


def test_the_ballot_key_lives_outside_the_database() -> None:
    env = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s3cret"}
    derived = load_settings(env).ballot_key
    assert derived is not None and derived != b"s3cret"
    assert load_settings(env).ballot_key == derived  # stable across restarts
    explicit = load_settings({**env, "COP_BALLOT_KEY": "0123456789abcdef0123"}).ballot_key
    assert explicit == b"0123456789abcdef0123"
    assert load_settings({"SLACK_APP_TOKEN": "xapp-1"}).ballot_key is not None  # Socket Mode
    # Teams alone (cop serve --platform teams): derived from the Teams app password
    teams_only = {
        "TEAMS_APP_ID": "00000000-0000-4000-8000-00000000c0b0",
        "TEAMS_APP_PASSWORD": "pw",
    }
    from_teams = load_settings(teams_only).ballot_key
    assert from_teams is not None and from_teams != b"pw"
    assert load_settings(teams_only).dashboard_key is not None
    assert ballot_key(None, None) is None
    with pytest.raises(ConfigError, match="COP_BALLOT_KEY: expected at least 16 characters"):
        load_settings({**env, "COP_BALLOT_KEY": "short"})
