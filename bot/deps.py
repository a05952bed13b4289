"""The long-lived things a request or a job needs, built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Config
from bot.metrics import Metrics
from bot.ports import Directory, Messenger


@dataclass(frozen=True)
class Deps:
    config: Config
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    directory: Directory
    messenger: Messenger
    metrics: Metrics
    web_client: Any  # the Slack Web API client, for handlers and the Slack adapter only

    @property
    def programme(self) -> Any:
        return self.config.programme

    def is_manager(self, slack_user_id: str) -> bool:
        return slack_user_id in self.config.managers
