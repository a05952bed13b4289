"""Channel activity from the Events API: messages, replies and reactions counted, never stored."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from handlers.commands import Subcommand

SUBCOMMANDS: list[Subcommand] = []


async def handle_ignored(body: dict[str, Any]) -> None:
    """Subscribed events not counted yet."""


def register(app: AsyncApp) -> None:
    app.event("message")(handle_ignored)
    app.event("reaction_added")(handle_ignored)
    app.event("reaction_removed")(handle_ignored)
