"""/cop rituals and /cop mute: seeing and steering a community's rituals, and one's own attention."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from handlers.commands import Subcommand

SUBCOMMANDS: list[Subcommand] = []


def register(app: AsyncApp) -> None:
    """Listeners of this feature."""
