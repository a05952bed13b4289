"""/cop event: scheduling, RSVP buttons, attendance and calendar files (leaders' tools)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from handlers.commands import Subcommand

SUBCOMMANDS: list[Subcommand] = []


def register(app: AsyncApp) -> None:
    """Listeners of this feature."""
