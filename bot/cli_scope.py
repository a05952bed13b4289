"""Which Slack workspace a `cop` command works on: the one place that decides.

`--workspace`, else `COP_WORKSPACE_ID`, else the only workspace in the database; otherwise one
line that names the workspaces the database knows. A workspace nobody has heard of is refused
(it would silently show nothing), except where the command creates it (`communities import`).
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import sqlalchemy as sa

from bot.config import ConfigError

ENV = "COP_WORKSPACE_ID"


def add_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workspace",
        metavar="TEAM_ID",
        help=f"the Slack team id (T…); default: ${ENV}, else the only workspace in the database",
    )


async def known(session: Any) -> list[tuple[str, str]]:
    """(id, name) of every workspace in the database, by id."""
    from bot.models import Workspace

    rows = await session.execute(sa.select(Workspace.id, Workspace.name).order_by(Workspace.id))
    return [(row.id, row.name) for row in rows]


def _listed(workspaces: list[tuple[str, str]]) -> str:
    return ", ".join(f"{wid} ({name})" if name else wid for wid, name in workspaces)


async def resolve(sessions: Any, given: str | None, *, create: bool = False) -> str:
    """The workspace id this command works on (see the module's docstring)."""
    wanted = given or os.environ.get(ENV) or None
    source = "--workspace" if given else ENV
    async with sessions() as session:
        workspaces = await known(session)
    ids = [wid for wid, _ in workspaces]
    if wanted:
        if create or wanted in ids:
            return wanted
        if not ids:
            raise ConfigError(
                f"{source}: no workspace {wanted!r}: the database holds no workspace yet "
                "(check COP_DATABASE_URL)"
            )
        raise ConfigError(
            f"{source}: no workspace {wanted!r} in the database; it knows {_listed(workspaces)}"
        )
    if len(ids) == 1:
        return ids[0]
    if not ids:
        hint = (
            "give --workspace with your Slack team id (T…)"
            if create
            else "check COP_DATABASE_URL, or import communities first (cop communities import)"
        )
        raise ConfigError(f"the database holds no workspace yet; {hint}")
    raise ConfigError(
        f"the database holds {len(ids)} workspaces, {_listed(workspaces)}; "
        f"choose one with --workspace or {ENV}"
    )


async def resolve_programme(sessions: Any, given: str | None, linked: list[str]) -> tuple[str, ...]:
    """The workspaces a programme-wide command (`cop report`, `cop health`) covers: the one
    chosen as above and those app.yaml's `workspaces` links to it (a programme on Slack and
    Teams at once, bot.programme). With nothing chosen and every workspace in the database
    linked, the programme needs no --workspace."""
    from bot import programme

    wanted = given or os.environ.get(ENV) or None
    if not wanted and linked:
        async with sessions() as session:
            ids = [wid for wid, _ in await known(session)]
        if ids and set(ids) <= set(linked):
            return programme.linked(ids[0], linked)
    return programme.linked(await resolve(sessions, given), linked)
