"""The 3-second answer, everywhere (issue 10, point 7), over real HTTP on SQLite and PostgreSQL.

Clicks and modal submissions are acknowledged before any database wait; a database locked for
10 s answers "busy, try again" in the person's language (never a 500, never "database down"),
with nothing half-written; a slow Slack users.info does not eat a command's database budget;
and fifty people at once are never told the database is down.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import time
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from bot import db
from bot.i18n import translate
from bot.models import AuditLog, CharterVersion, EventRsvp, Person
from bot.slack.emulator import Call, User
from tests import factories
from tests.conftest import Bot, eventually
from tests.test_events import create_event

LOCK_SECONDS = 10.0
EMILY = "U0EMILY"  # English-speaking (en-US) member of Data Science
FR, EN = translate("fr"), translate("en")


def said(reply: str) -> str:
    """Which of the apologies a reply is, in either language, or "answer"."""
    for key in ("error.database_down", "error.busy", "error.unexpected"):
        if FR(key) in reply or EN(key) in reply:
            return key
    return "answer"


@contextlib.asynccontextmanager
async def locked(bot: Bot, *tables: type[Any]) -> AsyncIterator[float]:
    """Another connection holds the database for LOCK_SECONDS from entering (whatever the test
    does meanwhile): SQLite `BEGIN EXCLUSIVE` (no other writer), PostgreSQL `LOCK TABLE … IN
    ACCESS EXCLUSIVE MODE` on `tables` (no reader either). Yields when the lock was taken."""
    url = bot.deps.engine.url
    if url.get_backend_name() == "sqlite":
        holder = sqlite3.connect(url.database or "", isolation_level=None, check_same_thread=False)
        await asyncio.to_thread(holder.execute, "BEGIN EXCLUSIVE")
        taken = time.monotonic()
        try:
            yield taken
            await asyncio.sleep(max(0.0, taken + LOCK_SECONDS - time.monotonic()))
        finally:
            await asyncio.to_thread(holder.execute, "ROLLBACK")
            holder.close()
        return
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            await conn.begin()
            names = ", ".join(f'"{t.__tablename__}"' for t in tables)
            await conn.execute(sa.text(f"LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE"))
            taken = time.monotonic()
            yield taken
            await asyncio.sleep(max(0.0, taken + LOCK_SECONDS - time.monotonic()))
            await conn.rollback()
    finally:
        await engine.dispose()


async def timed(request: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    response = await request
    return response, time.perf_counter() - started


def dms_to(bot: Bot, user: str, since: int) -> list[Call]:
    return [
        c
        for c in bot.emulator.calls[since:]
        if c.method == "chat.postMessage" and c.params.get("channel") == user
    ]


async def test_under_a_10s_lock_a_click_and_a_modal_are_acked_at_once_and_told_busy(
    bot: Bot,
) -> None:
    await factories.community(bot.sessions, emulator=bot.emulator, leaders=("U0LUCAS", EMILY))
    announcement = await create_event(bot)
    # Emily opens the charter modal (in English) before the lock
    before = len(bot.emulator.calls_to("views.open"))
    await bot.slack.command("charter", user=EMILY, channel="C0DATA")
    modal = (await bot.emulator.wait_for("views.open", count=before + 1))[-1].response["view"]
    assert modal["title"]["text"] == "Community charter"
    replies_before, since = len(bot.emulator.responses), len(bot.emulator.calls)
    async with locked(bot, Person, EventRsvp, CharterVersion, AuditLog) as taken:
        (click, click_ack), (submit, submit_ack) = await asyncio.gather(
            timed(
                bot.slack.click(
                    user=EMILY, action_id="event_rsvp_going", message=("C0DATA", announcement["ts"])
                )
            ),
            timed(
                bot.slack.submit_view(
                    modal["id"], user=EMILY, values={"charter_mission": "Share what we learn."}
                )
            ),
        )
        print(
            f"\nunder the lock: click acked in {click_ack * 1000:.0f} ms, "
            f"modal in {submit_ack * 1000:.0f} ms"
        )
        assert click.status_code == 200 and submit.status_code == 200
        assert not submit.content  # closed: no field errors, the answer comes by message
        assert click_ack < 1.0 and submit_ack < 1.0  # well under Slack's 3 s
        # both hear back while the lock is still held: the bot did not just wait it out
        reply = (await eventually(lambda: bot.emulator.responses[replies_before:], timeout=8))[-1]
        dm = (await eventually(lambda: dms_to(bot, EMILY, since), timeout=8))[-1]
        heard = time.monotonic() - taken
        print(f"busy answers {heard:.1f} s after the lock was taken")
        assert heard < LOCK_SECONDS
    assert reply["text"] == EN("error.busy")  # in her language, under the button
    assert dm.params["text"] == EN("error.busy")  # the modal has no response_url: by DM
    assert bot.deps.database is not None and bot.deps.database.down_since is None
    async with bot.sessions() as session:  # nothing half-written
        assert await session.scalar(sa.select(sa.func.count()).select_from(EventRsvp)) == 0
        assert await session.scalar(sa.select(sa.func.count()).select_from(CharterVersion)) == 0
        assert not await session.scalar(
            sa.select(sa.func.count()).where(AuditLog.action == "charter.saved")
        )
    # the lock gone, the same click works
    await bot.slack.click(
        user=EMILY, action_id="event_rsvp_going", message=("C0DATA", announcement["ts"])
    )
    await eventually(lambda: "Noted: you're going" in bot.emulator.responses[-1]["text"])


async def test_a_locked_database_waits_for_people_a_bounded_time_and_for_jobs_as_before(
    bot: Bot,
) -> None:
    """One setting, db.PERSON_LOCK_WAIT, for what people wait; background work keeps waiting."""
    await factories.community(bot.sessions, emulator=bot.emulator)

    async def write() -> None:
        async with bot.sessions.begin() as session:
            await session.execute(sa.update(Person).values(name=Person.name))

    async with locked(bot, Person):
        started = time.monotonic()
        background = asyncio.create_task(write())  # the default: no person waiting
        await asyncio.sleep(db.PERSON_LOCK_WAIT + 1)
        assert not background.done()

        async def as_a_person() -> None:
            db.serve_a_person()
            await write()

        with pytest.raises(Exception) as refused:  # noqa: PT011 - a driver error, checked below
            await as_a_person()
        assert db.is_busy(refused.value), repr(refused.value)
        waited = time.monotonic() - started - db.PERSON_LOCK_WAIT - 1
        assert db.PERSON_LOCK_WAIT - 0.5 < waited < db.PERSON_LOCK_WAIT + 3, waited
    await background  # went through once the lock was released


async def test_a_slow_users_info_does_not_count_against_the_database(bot: Bot) -> None:
    """Someone the bot has never seen types /cop help while Slack takes 3 s to say who they are:
    they get their answer (in the programme's language), and are learned once Slack answers."""
    newcomer = "U0NEWCOMER"
    bot.emulator.workspace.users[newcomer] = User(
        newcomer, "new.comer", "New Comer", tz="Europe/London", locale="en-GB"
    )
    bot.emulator.set_latency("users.info", 3.0)
    await bot.slack.command("help", user=newcomer, channel="C0GEN")
    reply = (await eventually(lambda: bot.emulator.responses, timeout=10))[-1]
    assert said(json.dumps(reply, ensure_ascii=False)) == "answer", reply
    assert "Ce que vous pouvez faire avec /cop" in json.dumps(reply, ensure_ascii=False)

    async def learned() -> Person | None:
        async with bot.sessions() as session:
            person = await session.scalar(sa.select(Person).where(Person.slack_user_id == newcomer))
        return person if person is not None and person.name else None

    person = await eventually(learned, timeout=10)
    assert (person.locale, person.tz) == ("en-GB", "Europe/London")
    bot.emulator.set_latency("users.info", 0)
    await bot.slack.command("help", user=newcomer, channel="C0GEN")
    await eventually(
        lambda: "What you can do with /cop" in json.dumps(bot.emulator.responses[-1]), timeout=10
    )


CROWD = 50


async def test_fifty_people_at_once_are_never_told_the_database_is_down(bot: Bot) -> None:
    """Fifty commands at the same moment, from people the bot has never seen (each is looked up
    in Slack and written down): everyone is answered, nobody hears "database down"."""
    await factories.community(bot.sessions, emulator=bot.emulator, leaders=("U0LUCAS",))
    crowd = [f"U0CROWD{n:02d}" for n in range(CROWD)]
    for uid in crowd:
        bot.emulator.workspace.users[uid] = User(uid, uid.lower(), f"Person {uid}")
        bot.emulator.workspace.channels["C0DATA"].members.append(uid)
    texts = ["charter show" if n % 3 == 0 else "help" for n in range(CROWD)]
    acks = await asyncio.gather(
        *(bot.slack.command(t, user=u, channel="C0DATA") for t, u in zip(texts, crowd, strict=True))
    )
    assert [a.status_code for a in acks] == [200] * CROWD
    replies = await eventually(
        lambda: len(bot.emulator.responses) >= CROWD and bot.emulator.responses, timeout=60
    )
    heard = Counter(said(json.dumps(r, ensure_ascii=False)) for r in replies)
    print(f"\n{CROWD} commands at once: {dict(heard)}")
    assert heard["error.database_down"] == 0
    assert heard["error.unexpected"] == 0
    assert len(replies) == CROWD


def test_a_bug_in_a_statement_is_not_the_database_being_away() -> None:
    """One classifier (bot.db.unavailable): an IntegrityError or a DataError is a bug, answered
    as one — never "database down", never a reason to refuse Slack's events."""
    import sqlite3

    import sqlalchemy as sa

    from bot import db
    from handlers.context import database_trouble

    def wrapped(kind: type[sa.exc.DBAPIError], orig: Exception) -> sa.exc.DBAPIError:
        return kind("INSERT …", {}, orig)

    bug = wrapped(sa.exc.IntegrityError, sqlite3.IntegrityError("UNIQUE constraint failed"))
    data = wrapped(sa.exc.DataError, sqlite3.DataError("value too long"))
    gone = wrapped(sa.exc.OperationalError, sqlite3.OperationalError("unable to open database"))
    locked = wrapped(sa.exc.OperationalError, sqlite3.OperationalError("database is locked"))
    assert not db.unavailable(bug) and not database_trouble(data)
    assert db.unreachable(gone) and not db.is_busy(gone)
    assert db.is_busy(locked) and database_trouble(locked)
    assert database_trouble(ConnectionRefusedError()) and database_trouble(TimeoutError())
