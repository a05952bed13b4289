"""Shared fixtures: a real database (SQLite, and PostgreSQL when COP_TEST_POSTGRES_URL is set),
the Slack emulator over real HTTP, and the real bot served by uvicorn with signed requests."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import fcntl
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import uvicorn
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from bot import db
from bot.app import build_asgi, build_bolt, build_deps
from bot.config import Config, Programme, load_settings, normalise_database_url
from bot.deps import Deps
from bot.models import Base
from bot.slack.driver import SlackDriver
from bot.slack.emulator import SlackEmulator, default_workspace
from bot.teams.emulator import TeamsEmulator

SIGNING_SECRET = "test-signing-secret"
MANAGER = "U0CAMILLE"  # a programme manager in the emulator's default workspace
PG_URL = os.environ.get("COP_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", *(["postgresql"] if PG_URL else [])]


# --- databases --------------------------------------------------------------------------------

# The suite runs in several workers (pytest-xdist) against one PostgreSQL server. A test that
# restarts the server (it asks for `postgres_back_up`) holds this lock alone; the others share it.
PG_LOCK = Path(tempfile.gettempdir()) / f"cop-tests-{os.getuid()}-postgres.lock"


@contextlib.contextmanager
def postgres_lock(*, alone: bool = False) -> Iterator[None]:
    with PG_LOCK.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file per run; each test copies it (running Alembic per test is slow)."""
    path = tmp_path_factory.mktemp("template") / "template.db"

    async def migrate() -> None:
        engine = db.make_engine(f"sqlite+aiosqlite:///{path}")
        await db.upgrade(engine)
        await engine.dispose()

    asyncio.run(migrate())
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str | None]:
    """A fresh PostgreSQL database for this run, migrated once, dropped at the end."""
    if not PG_URL:
        yield None
        return
    base = make_url(normalise_database_url(PG_URL))
    name = f"cop_test_{uuid.uuid4().hex[:8]}"
    admin = base.set(drivername="postgresql+asyncpg")

    async def create() -> None:
        engine = create_async_engine(admin, isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
            # a test database need not wait for the disk at each commit (a crash loses the last
            # few milliseconds, never consistency); the tests that restart the server shut it
            # down cleanly
            await conn.execute(sa.text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
        await engine.dispose()
        target = db.make_engine(base.set(database=name).render_as_string(hide_password=False))
        await db.upgrade(target)
        await target.dispose()

    async def drop() -> None:
        engine = create_async_engine(admin, isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await engine.dispose()

    with postgres_lock():
        asyncio.run(create())
    yield base.set(database=name).render_as_string(hide_password=False)
    with postgres_lock():
        asyncio.run(drop())


@pytest.fixture(params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path, postgres_url: str | None
) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "cop.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    assert postgres_url is not None

    async def empty() -> None:
        """Every table emptied and every id sequence back to 1. DELETE, not TRUNCATE: a TRUNCATE
        gives each table a new file that PostgreSQL fsyncs at commit (sampled during a slow full
        run, the suite was mostly waiting there); the rows a test leaves behind are few."""
        engine = create_async_engine(postgres_url)
        async with engine.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                await conn.execute(sa.text(f'DELETE FROM "{table.name}"'))
            sequences = await conn.scalars(
                sa.text("SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()")
            )
            for sequence in list(sequences):
                await conn.execute(sa.text("SELECT setval(:s, 1, false)"), {"s": f'"{sequence}"'})
        await engine.dispose()

    with postgres_lock(alone="postgres_back_up" in request.fixturenames):
        asyncio.run(empty())
        yield postgres_url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = db.make_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return db.make_sessionmaker(engine)


# --- Slack ------------------------------------------------------------------------------------


@pytest.fixture
async def emulator() -> AsyncIterator[SlackEmulator]:
    emu = SlackEmulator(default_workspace())
    await emu.start()
    yield emu
    await emu.stop()


def make_config(database_url: str, emulator: SlackEmulator, **programme: Any) -> Config:
    settings = load_settings(
        {
            "SLACK_BOT_TOKEN": emulator.workspace.bot_token,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": emulator.api_url,
            "COP_DATABASE_URL": database_url,
            "COP_QUIET_HOURS": "off",
        }
    )
    fields: dict[str, Any] = {"name": "Programme test", "language": "fr", "managers": [MANAGER]}
    fields.update(programme)
    return Config(settings=settings, programme=Programme.model_validate(fields))


@dataclass
class Bot:
    """The real bot, served by uvicorn on a real port, and Slack's side to drive it."""

    deps: Deps
    url: str
    slack: SlackDriver
    emulator: SlackEmulator

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return self.deps.sessions


async def start_bot(
    config: Config, emulator: SlackEmulator
) -> tuple[Bot, uvicorn.Server, asyncio.Task[None]]:
    deps = build_deps(config)
    bolt = build_bolt(deps)
    asgi = build_asgi(deps, bolt)
    server = uvicorn.Server(
        uvicorn.Config(
            asgi, host="127.0.0.1", port=0, log_level="warning", lifespan="on", access_log=False
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes no event for this
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    driver = SlackDriver(emulator, bot_url=f"{url}/slack/events", signing_secret=SIGNING_SECRET)
    return Bot(deps=deps, url=url, slack=driver, emulator=emulator), server, task


@contextlib.asynccontextmanager
async def running_bot(config: Config, emulator: SlackEmulator) -> AsyncIterator[Bot]:
    """The bot served with this configuration; at the end it stops, its background work
    settles, then its engine is disposed (every bot fixture goes through here)."""
    running, server, task = await start_bot(config, emulator)
    try:
        yield running
    finally:
        await running.slack.aclose()
        server.should_exit = True
        await task
        await settle()
        await running.deps.engine.dispose()


@pytest.fixture
async def bot(database_url: str, emulator: SlackEmulator) -> AsyncIterator[Bot]:
    async with running_bot(make_config(database_url, emulator), emulator) as running:
        yield running


async def settle(timeout: float = 5.0) -> None:  # noqa: ASYNC109 - bounds a wait, not I/O
    """Let the bot's background work finish before its engine is disposed: Bolt runs listeners
    after the ack, and the activity batcher flushes a few ms later. Otherwise a listener still
    reading at teardown leaves a connection to the garbage collector (an aiosqlite thread
    outliving the event loop). Bounded: whatever is still running after `timeout` is cancelled."""
    here = asyncio.current_task()

    def bots(task: asyncio.Task[Any]) -> bool:
        code = getattr(task.get_coro(), "cr_code", None)
        where = code.co_filename if code is not None else ""
        return "slack_bolt" in where or f"{os.sep}handlers{os.sep}" in where

    pending = [t for t in asyncio.all_tasks() if t is not here and bots(t)]
    if pending:
        _, late = await asyncio.wait(pending, timeout=timeout)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)


async def eventually(check: Any, *, timeout: float = 5.0, interval: float = 0.02) -> Any:  # noqa: ASYNC109
    """Poll an async or sync check until it returns a truthy value (work done after the ack)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


__all__ = [
    "BACKENDS",
    "MANAGER",
    "SIGNING_SECRET",
    "Base",
    "Bot",
    "eventually",
    "make_config",
    "start_bot",
]


async def command_answer(bot: Bot, text: str, *, user: str, channel: str) -> dict[str, Any]:
    """Type `/cop <text>` and return the bot's last answer to *this* command (by its
    response_url), never a late redraw of an earlier click."""
    response = await bot.slack.command(text, user=user, channel=channel)
    assert response.status_code == 200
    key = bot.slack.last_response_url.rsplit("/", 1)[-1]
    replies = await eventually(lambda: [r for r in bot.emulator.responses if r["key"] == key])
    return dict(replies[-1])


# --- Microsoft Teams: the emulator and the real bot behind /api/messages -------------------


@pytest.fixture
async def teams(request: pytest.FixtureRequest) -> AsyncIterator[TeamsEmulator]:
    """The Teams emulator. One guard for every Teams test: no card the bot sent — posted, or in
    an invoke's answer (a dialog, a card refreshed in place) — failed the Adaptive Card 1.5
    schema. A test that posts bad cards on purpose is marked `bad_cards`."""
    emulator = TeamsEmulator()
    await emulator.start()
    yield emulator
    await emulator.stop()
    if request.node.get_closest_marker("bad_cards") is None:
        assert emulator.card_problems == [], "a card in an answer failed the schema"
        assert emulator.refused_cards == [], "Teams refused a card the bot posted"


@dataclasses.dataclass
class TeamsBot:
    bot: Bot
    teams: TeamsEmulator

    @property
    def url(self) -> str:
        return f"{self.bot.url}/api/messages"

    async def send(self, activity: dict[str, Any], **auth: Any) -> int:
        return await self.teams.deliver(self.url, activity, **auth)

    async def ask(self, activity: dict[str, Any]) -> Any:
        """Deliver an invoke and return what the bot answered (a dialog, a card)."""
        status, body = await self.teams.post(self.url, activity)
        assert status == 200, (status, body)
        return body


def teams_env(teams: TeamsEmulator) -> dict[str, str]:
    return {
        "TEAMS_APP_ID": teams.app_id,
        "TEAMS_APP_PASSWORD": teams.app_password,
        "TEAMS_OPENID_URL": teams.openid_url,
        "TEAMS_TOKEN_URL": teams.token_url,
    }


def both_env(database_url: str, emulator: SlackEmulator, teams: TeamsEmulator) -> dict[str, str]:
    """The environment of a bot serving Slack (the emulator's workspace) and Teams at once."""
    return {
        "SLACK_BOT_TOKEN": emulator.workspace.bot_token,
        "SLACK_SIGNING_SECRET": "test-signing-secret",
        "SLACK_API_URL": emulator.api_url,
        "COP_DATABASE_URL": database_url,
        **teams_env(teams),
    }


@pytest.fixture
async def teams_bot(
    database_url: str, emulator: SlackEmulator, teams: TeamsEmulator
) -> AsyncIterator[TeamsBot]:
    config = make_config(database_url, emulator)
    settings = load_settings(both_env(database_url, emulator, teams))
    config = dataclasses.replace(config, settings=settings)
    async with running_bot(config, emulator) as bot:
        yield TeamsBot(bot, teams)
