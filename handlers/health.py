"""/cop health: the programme overview for managers, a community's view for its leaders."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from handlers.commands import Subcommand

SUBCOMMANDS: list[Subcommand] = []


def register(app: AsyncApp) -> None:
    """Listeners of this feature."""
