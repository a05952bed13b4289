"""Where `cop demo` keeps its data: a database of its own, emptied at each start, never yours.

On SQLite it is `cop-demo.db` in the working folder. On PostgreSQL (`COP_DATABASE_URL` names a
PostgreSQL database, say `cop`) it is `cop_demo` on the same server: the demo creates it, marks
it as its own (a comment on the database) and drops it at its next start. A database by that
name which the demo did not create is refused, not emptied.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bot.config import ConfigError, normalise_database_url

MARK = "created by cop demo: dropped and created again at each demo"
SQLITE_FILE = "cop-demo.db"


@dataclass(frozen=True)
class DemoDatabase:
    url: str  # what COP_DATABASE_URL should say to look at the demo's data
    where: str  # the same, said for a person (no password)
    postgres: bool


def choose(environ: dict[str, str], cwd: Path) -> DemoDatabase:
    """The demo's own database, from COP_DATABASE_URL: `<db>_demo` on PostgreSQL, else a file."""
    given = environ.get("COP_DEMO_DATABASE_URL") or environ.get("COP_DATABASE_URL") or ""
    if given.startswith(("postgres://", "postgresql://", "postgresql+asyncpg://")):
        url = make_url(normalise_database_url(given))
        name = url.database or "cop"
        if environ.get("COP_DEMO_DATABASE_URL") and not name.endswith("_demo"):
            raise ConfigError(
                f"environment: COP_DEMO_DATABASE_URL: database {name!r} is not a demo database "
                "(its name must end in _demo); cop demo empties its database at each start"
            )
        own = url.set(database=name if name.endswith("_demo") else f"{name}_demo")
        shown = own.set(drivername="postgresql")
        return DemoDatabase(
            url=shown.render_as_string(hide_password=False),
            where=shown.render_as_string(hide_password=True),
            postgres=True,
        )
    path = (cwd / SQLITE_FILE).resolve()
    return DemoDatabase(url=f"sqlite:///{path}", where=str(path), postgres=False)


async def reset(database: DemoDatabase) -> None:
    """A clean slate: the demo's previous data gone, nothing else touched."""
    if not database.postgres:
        path = Path(database.url.removeprefix("sqlite:///"))
        for leftover in (
            path,
            path.with_name(path.name + "-wal"),
            path.with_name(path.name + "-shm"),
        ):
            leftover.unlink(missing_ok=True)
        return
    own: URL = make_url(normalise_database_url(database.url))
    name = own.database or ""
    server = create_async_engine(own.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with server.connect() as conn:
            found = await conn.execute(
                sa.text(
                    "SELECT shobj_description(oid, 'pg_database') FROM pg_database"
                    " WHERE datname = :name"
                ),
                {"name": name},
            )
            row = found.first()
            quoted = conn.dialect.identifier_preparer.quote(name)
            if row is not None:
                if row[0] != MARK:
                    raise ConfigError(
                        f"PostgreSQL database {name!r} exists and was not created by cop demo: "
                        "the demo will not empty it (drop it yourself, or point "
                        "COP_DATABASE_URL at another server or database)"
                    )
                await conn.execute(sa.text(f"DROP DATABASE {quoted} WITH (FORCE)"))
            await conn.execute(sa.text(f"CREATE DATABASE {quoted}"))
            await conn.execute(sa.text(f"COMMENT ON DATABASE {quoted} IS '{MARK}'"))
    except OSError as exc:
        raise ConfigError(f"PostgreSQL at {database.where}: cannot connect ({exc})") from None
    finally:
        await server.dispose()
