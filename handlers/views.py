"""Modal submissions (view_submission) and closings."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp


def register(app: AsyncApp) -> None:
    """Views are added by the features that open modals."""
