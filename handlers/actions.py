"""Button clicks and menu choices (block_actions)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp


def register(app: AsyncApp) -> None:
    """Actions are added by the features that post buttons."""
