"""App Homes after a change: one event created in a 300-member community, views.publish counted.

    python -m tests.perf.bench_homes [--members 300] [--looking 0,10] [--no-old]
                                     [--backends sqlite,postgresql]

The bot is served in this process (uvicorn, as the tests do) against the Slack emulator, whose
views.publish answers 429 + Retry-After beyond Slack's Tier 4 (100 a minute, a burst of 20 as in
bench_pulse). A leader creates an event with `/cop événement` (signed command, then the modal's
submission); `--looking` members had opened their Home just before. Reported per scenario: the
views.publish calls the change made, how many Slack refused (429), and the time to settle (the
submission to the last views.publish; none: the author's confirmation).

`old` replays the behaviour before issue 16 (point 3): the author's Home then up to 200 members'
(runners first), one after another through the request-path client (slack_sdk waits Retry-After
and tries once more). `new` is today's (handlers/home.py): only Homes opened in the last
`home.window_minutes`, at most `home.max_per_change`, paced, a Retry-After honoured by all.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot import db
from bot.config import normalise_database_url
from bot.home import RUNNERS
from bot.models import Membership, Person
from bot.people import IS_PERSON
from bot.slack.emulator import SlackEmulator, User, default_workspace
from handlers import home as home_handlers
from tests import factories
from tests.conftest import make_config, running_bot
from tests.perf import databases

PER_MINUTE = 100  # views.publish: Tier 4
BURST = 20
LEADER = "U0LUCAS"
QUIET = 3.0  # seconds without a views.publish: the change has settled


async def _old_audience(
    session: AsyncSession, *, community_id: int, runners_only: bool = False, limit: int = 200
) -> list[str]:
    """The behaviour before issue 16, replayed: whose Home showed this community's events (its
    members) or charter flag (its runners).

    Runners first, then members, at most `limit`: a Home refresh is a courtesy to people who
    may be looking at it; anyone else gets a fresh Home when they next open the tab.
    """
    query = (
        sa.select(Person.slack_user_id)
        .join(Membership, Membership.person_id == Person.id)
        .where(
            Membership.community_id == community_id,
            Membership.left_at.is_(None),
            IS_PERSON,
        )
    )
    if runners_only:
        query = query.where(Membership.role.in_(RUNNERS))
    is_runner = sa.case((Membership.role.in_(RUNNERS), 0), else_=1)
    rows = await session.scalars(query.order_by(is_runner, Person.id).limit(limit))
    return list(rows)


class _OldPublisher:
    """Before: views.publish straight through the request-path client, no pace of our own."""

    async def send(self, client: Any, *, user_id: str, view: Any) -> None:
        await client.views_publish(user_id=user_id, view=view)


async def _old_refresh_community(
    deps: Any,
    client: Any,
    *,
    workspace_id: str,
    community_id: int,
    author: str,
    runners_only: bool = False,
) -> None:
    async with deps.sessions() as session:
        concerned = await _old_audience(
            session, community_id=community_id, runners_only=runners_only
        )
    for user_id in dict.fromkeys([author, *concerned]):
        with contextlib.suppress(Exception):  # as before: best effort, logged by publish
            await home_handlers.publish(deps, client, workspace_id=workspace_id, user_id=user_id)


@contextmanager
def old_behaviour() -> Iterator[None]:
    saved = home_handlers.refresh_community, home_handlers.publisher
    home_handlers.refresh_community = _old_refresh_community  # type: ignore[assignment]
    home_handlers.publisher = lambda deps, workspace_id: _OldPublisher()  # type: ignore[assignment,return-value]
    try:
        yield
    finally:
        home_handlers.refresh_community, home_handlers.publisher = saved


async def scenario(backend: str, *, members: int, looking: int, old: bool) -> dict[str, Any]:
    name = f"bench_homes_{'old' if old else 'new'}_{looking}"
    async with databases.fresh(backend, name) as plain:
        url = normalise_database_url(plain)
        engine = db.make_engine(url)
        await db.upgrade(engine)
        await engine.dispose()
        emulator = SlackEmulator(default_workspace())
        await emulator.start()
        try:
            channel = emulator.workspace.channels["C0DATA"]
            for i in range(members - len(channel.members)):
                uid = f"U0M{i:04d}"
                emulator.workspace.users[uid] = User(uid, f"membre.{i}", f"Membre {i}")
                channel.members.append(uid)
            with old_behaviour() if old else _nothing():
                async with running_bot(make_config(url, emulator), emulator) as bot:
                    await factories.community(bot.sessions, emulator=emulator, leaders=(LEADER,))
                    for uid in channel.members[-looking:] if looking else []:
                        await bot.slack.open_home(user=uid)
                    await _noted(bot, looking)
                    await asyncio.sleep(BURST / (PER_MINUTE / 60))  # the bucket full again
                    emulator.set_rate_limit("views.publish", per_minute=PER_MINUTE, burst=BURST)
                    return await _create_event(bot, emulator)
        finally:
            await emulator.stop()


@contextmanager
def _nothing() -> Iterator[None]:
    yield


async def _noted(bot: Any, looking: int) -> None:
    for _ in range(500):
        async with bot.sessions() as session:
            n = await session.scalar(
                sa.select(sa.func.count()).where(Person.home_opened_at.is_not(None))
            )
        if n >= looking:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the Homes opened were not noted")


async def _create_event(bot: Any, emulator: SlackEmulator) -> dict[str, Any]:
    before = len(emulator.calls_to("views.open"))
    await bot.slack.command("événement", user=LEADER, channel="C0DATA")
    opened = await emulator.wait_for("views.open", count=before + 1)
    since = len(emulator.calls)
    day = (datetime.now(UTC) + timedelta(days=3)).date()
    started = time.monotonic()
    await bot.slack.submit_view(
        opened[-1].response["view"]["id"],
        user=LEADER,
        values={"event_title": "Webinaire MLOps", "event_date": day, "event_time": "14:00"},
    )
    await emulator.wait_for("chat.postEphemeral", since=since, timeout=30)
    told = time.monotonic()
    last = told
    while time.monotonic() - last < QUIET:
        calls = [c for c in emulator.calls[since:] if c.method == "views.publish"]
        if calls and calls[-1].at > last:
            last = calls[-1].at
        await asyncio.sleep(0.05)
    calls = [c for c in emulator.calls[since:] if c.method == "views.publish"]
    return {
        "calls": len(calls),
        "refused": sum(c.status == 429 for c in calls),
        "published": sum(c.status == 200 and c.response.get("ok") for c in calls),
        "settle": (max((c.at for c in calls), default=told) - started),
    }


def run_backend(
    backend: str, *, members: int = 300, looking: tuple[int, ...] = (0, 10), old: bool = False
) -> dict[str, Any]:
    """For tests.perf.run_all: each scenario on a fresh database of `backend`, figures by name
    ("new_0", "new_10", "old_0")."""
    plan = [(0, True)] if old else []
    plan += [(n, False) for n in looking]
    figures = {}
    for n, is_old in plan:
        result = asyncio.run(scenario(backend, members=members, looking=n, old=is_old))
        figures[f"{'old' if is_old else 'new'}_{n}"] = result
        print(f"{'old' if is_old else 'new'} looking={n}: {result}", flush=True)
    return {"members": members, **figures}


async def main(args: argparse.Namespace) -> None:
    rows = []
    for backend in args.backends.split(","):
        plan = [(int(n), False) for n in args.looking.split(",")]
        if not args.no_old:
            plan.insert(0, (0, True))
        for looking, old in plan:
            figures = await scenario(backend, members=args.members, looking=looking, old=old)
            rows.append((backend, "old" if old else "new", looking, figures))
            print(
                f"{backend:10} {'old' if old else 'new':3}  looking={looking:<3} "
                f"views.publish={figures['calls']:<4} 429={figures['refused']:<3} "
                f"published={figures['published']:<4} settle={figures['settle']:.1f}s",
                flush=True,
            )
    print()
    print("| database | behaviour | Homes open | views.publish calls | 429 | settle |")
    print("|---|---|---|---|---|---|")
    for backend, kind, looking, f in rows:
        print(
            f"| {backend} | {kind} | {looking} | {f['calls']} | {f['refused']} | "
            f"{f['settle']:.1f} s |"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=300)
    parser.add_argument("--looking", default="0,10", help="Homes opened before, per scenario")
    parser.add_argument("--no-old", action="store_true", help="skip the old behaviour (~1 min)")
    parser.add_argument("--backends", default="sqlite,postgresql")
    asyncio.run(main(parser.parse_args()))
