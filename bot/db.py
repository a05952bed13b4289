"""The async engine, the session factory and schema migrations (Alembic) for SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

logger = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
MIGRATION_LOCK = 0x636F_6D69  # "comi"


# How long a request a person is waiting on (a command, a click, a modal) waits for a locked
# database before they are told "busy, try again". Their ack has gone already (acks never wait
# for the database), so this bounds how long they wait for the answer itself: long enough for
# ordinary contention to pass (a write holds SQLite's lock for milliseconds; fifty people at
# once queue for well under a second), short enough that they hear back within a few seconds,
# and that a button which opens a modal still has its trigger (valid 3 s after the click).
PERSON_LOCK_WAIT = 2.0
# Work nobody is waiting on (rituals, the outbox, migrations, the CLI) may wait much longer for a
# lock rather than fail: 30 s on SQLite (its busy timeout), no limit on PostgreSQL (its default).
BACKGROUND_SQLITE_LOCK_WAIT = 30.0

_lock_wait: ContextVar[float | None] = ContextVar("cop_lock_wait", default=None)


def serve_a_person() -> None:
    """From here on (this task and those it starts), database lock waits are bounded by
    PERSON_LOCK_WAIT: a lock held longer raises an error that `is_busy` recognises.

    Called by the Slack middleware for commands, clicks and modals; the setting follows the
    work into every connection it checks out (see `_apply_lock_wait`)."""
    _lock_wait.set(PERSON_LOCK_WAIT)


def is_busy(exc: BaseException) -> bool:
    """The database is there but could not serve in time (a lock held too long, no free
    connection, a statement cancelled for time, too many clients): "busy, try again", not an
    outage. Looks through SQLAlchemy's wrapper at the driver's error."""
    if isinstance(exc, (asyncio.TimeoutError, sa.exc.TimeoutError)):
        return True
    if isinstance(exc, sa.exc.DBAPIError):
        orig = exc.orig
        if getattr(orig, "sqlstate", None) in _PG_BUSY:
            return True
        # SQLite: SQLITE_BUSY / SQLITE_LOCKED ("database is locked", "database table is locked")
        return "is locked" in str(orig) or "database is busy" in str(orig)
    return False


def unreachable(exc: BaseException) -> bool:
    """A lost or refused database connection (restart, fail-over, network), as opposed to a bug
    in a statement (IntegrityError, DataError, ProgrammingError: those are not the database's
    absence, and must not be answered "database down" nor make the bot refuse Slack's events)."""
    if isinstance(exc, sa.exc.DBAPIError):
        return bool(exc.connection_invalidated) or isinstance(
            exc, sa.exc.OperationalError | sa.exc.InterfaceError
        )
    return isinstance(exc, OSError | ConnectionError | TimeoutError | sa.exc.TimeoutError)


def unavailable(exc: BaseException) -> bool:
    """The database cannot serve now: away (`unreachable`) or only busy (`is_busy`)."""
    return unreachable(exc) or is_busy(exc)


# lock_not_available (lock_timeout), query_canceled (statement_timeout), deadlock_detected,
# too_many_connections: all pass if one tries again shortly (a server starting or shutting down,
# 57P03, is an outage: events must then be refused so that Slack redelivers them)
_PG_BUSY = frozenset({"55P03", "57014", "40P01", "53300"})


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """One engine per process. SQLite gets WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        engine = create_async_engine(
            url, connect_args={"timeout": BACKGROUND_SQLITE_LOCK_WAIT}, **kwargs
        )

        @sa.event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        _apply_lock_wait(engine, sqlite=True)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_timeout", 5)
    engine = create_async_engine(url, **kwargs)
    _apply_lock_wait(engine, sqlite=False)
    return engine


def _apply_lock_wait(engine: AsyncEngine, *, sqlite: bool) -> None:
    """At each checkout, give the connection the lock wait of the work checking it out (SQLite's
    busy_timeout, PostgreSQL's lock_timeout), so one pool serves people and background work.

    Set only when it differs from what the connection already has (remembered per connection),
    so a run of requests of one kind costs nothing. On PostgreSQL it is set outside any
    transaction, on the driver's connection, so a rollback cannot undo it behind our back."""

    @sa.event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        seconds = _lock_wait.get()
        if sqlite:
            millis = int(1000 * (BACKGROUND_SQLITE_LOCK_WAIT if seconds is None else seconds))
        else:
            millis = 0 if seconds is None else int(1000 * seconds)  # 0: no limit
        if record.info.get("cop_lock_wait_ms") == millis:
            return
        if sqlite:
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA busy_timeout={millis}")
            cur.close()
        else:
            dbapi_conn.run_async(lambda conn: conn.execute(f"SET lock_timeout = {millis}"))
        record.info["cop_lock_wait_ms"] = millis


async def refresh_statistics(session: AsyncSession, *tables: Any) -> None:
    """PostgreSQL: ANALYZE these tables (models or Table objects) now, after a bulk change.

    Until autovacuum gets to it (a minute or more), the planner keeps the row counts of the
    tables as they were, and a join may then loop over thousands of rows per lookup (seen under
    load: 1.2 s instead of 0.03 ms for a role lookup). SQLite plans without statistics: no-op.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in tables:
        name = getattr(table, "__tablename__", None) or table.name
        await session.execute(sa.text(f'ANALYZE "{name}"'))


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config() -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema to `revision` over the engine's own connection (shared with env.py)."""
    await _migrate(engine, lambda cfg: command.upgrade(cfg, revision))


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    """Take the schema back to `revision` (operators rolling back a release; tests)."""
    await _migrate(engine, lambda cfg: command.downgrade(cfg, revision))


async def _migrate(engine: AsyncEngine, step: Callable[[AlembicConfig], None]) -> None:
    def _run(sync_conn: sa.Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = sync_conn
        step(cfg)

    async with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            # SQLite alters a table by copying it: with foreign keys on, dropping the old copy of
            # a parent (community, poll…) would cascade-delete its children. Off for the
            # migration (a PRAGMA outside the transaction), checked, then on again.
            await conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        try:
            if conn.dialect.name == "postgresql":
                # replicas starting together migrate one after the other
                await conn.execute(
                    sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
                )
            await conn.run_sync(_run)
            if sqlite and (
                broken := (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all()
            ):
                raise RuntimeError(f"the migration left {len(broken)} dangling reference(s)")
            await conn.commit()
        except BaseException:
            await conn.invalidate()  # never hand back a connection with foreign keys off
            raise
        if sqlite:
            await conn.exec_driver_sql("PRAGMA foreign_keys=ON")


async def check(engine: AsyncEngine) -> None:
    """Raise when the models and the migrations disagree (alembic autogenerate finds a diff)."""

    def _run(sync_conn: sa.Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = sync_conn
        command.check(cfg)

    async with engine.connect() as conn:
        await conn.run_sync(_run)


async def ping(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(sa.text("SELECT 1"))


class Availability:
    """Whether the database answers, as last seen by this process.

    Listeners mark it down when a write fails for want of the database; while it is down the
    HTTP endpoint answers Slack's events with 503 so that Slack redelivers them later (it does
    not retry an event we acknowledged with 200). A probe, at most once a second, brings it back.
    """

    PROBE_EVERY = 1.0

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.down_since: float | None = None
        self._last_probe = 0.0
        self._probe_lock = asyncio.Lock()

    def mark_down(self) -> None:
        if self.down_since is None:
            self.down_since = time.monotonic()
            logger.warning("database unavailable: answering Slack events with 503 until it is back")

    def mark_up(self) -> None:
        """A write just succeeded: the database is back."""
        if self.down_since is not None:
            logger.warning("database back after %.1f s", time.monotonic() - self.down_since)
            self.down_since = None

    async def is_up(self) -> bool:
        if self.down_since is None:
            return True
        async with self._probe_lock:
            if self.down_since is None:
                return True
            if time.monotonic() - self._last_probe < self.PROBE_EVERY:
                return False
            self._last_probe = time.monotonic()
            try:
                await asyncio.wait_for(ping(self.engine), 1.0)
            except Exception:
                return False
            self.mark_up()
            return True
