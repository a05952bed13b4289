"""Fresh, throw-away databases for the benchmarks: a SQLite file or a PostgreSQL database.

The PostgreSQL server is `COP_BENCH_POSTGRES_URL` (default postgresql://postgres@127.0.0.1:5432/postgres);
each benchmark gets its own database there, created empty and dropped at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bot.config import normalise_database_url

SERVER = os.environ.get("COP_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
BACKENDS = ("sqlite", "postgresql")


async def _admin(statements: list[str]) -> None:
    url = make_url(normalise_database_url(SERVER)).set(database="postgres")
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            for statement in statements:
                await conn.execute(sa.text(statement))
    finally:
        await engine.dispose()


def postgres_url(name: str) -> str:
    """The plain URL (postgresql://…) of database `name` on the benchmark server."""
    return make_url(SERVER).set(database=name).render_as_string(hide_password=False)


async def create_postgres(name: str) -> str:
    await _admin([f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'])
    return postgres_url(name)


async def drop_postgres(name: str) -> None:
    await _admin([f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'])


@contextlib.asynccontextmanager
async def fresh(backend: str, name: str) -> AsyncIterator[str]:
    """Yield the plain URL of an empty database (`sqlite` or `postgresql`), removed afterwards."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, not {backend!r}")
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="cop-bench-") as folder:
            yield f"sqlite:///{Path(folder) / f'{name}.db'}"
        return
    url = await create_postgres(name)
    try:
        yield url
    finally:
        await drop_postgres(name)


@contextlib.contextmanager
def fresh_sync(backend: str, name: str) -> Iterator[str]:
    """`fresh` for callers outside an event loop (each benchmark runs its own)."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="cop-bench-") as folder:
            yield f"sqlite:///{Path(folder) / f'{name}.db'}"
        return
    url = asyncio.run(create_postgres(name))
    try:
        yield url
    finally:
        asyncio.run(drop_postgres(name))
