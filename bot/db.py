"""The async engine, the session factory and schema migrations (Alembic) for SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
import time
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


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """One engine per process. SQLite gets WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)

        @sa.event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_timeout", 5)
    return create_async_engine(url, **kwargs)


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

    def _run(sync_conn: sa.Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = sync_conn
        command.upgrade(cfg, revision)

    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # replicas starting together migrate one after the other
            await conn.execute(
                sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
            )
        await conn.run_sync(_run)


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
