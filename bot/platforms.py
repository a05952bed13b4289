"""One Messenger and one Directory for the whole process, each call sent to the platform of the
workspace in force.

The outbox's drain sets the workspace in force for each row, the scheduler for each community
(bot.installation.speaking_in); `installation.platform_of` says from its id alone whether it is a
Slack team or a Microsoft Teams tenant. With no workspace in force (a single-token Slack process
asking `token_workspace`), the call goes to Slack, as before Teams. A Teams workspace in a
process where Teams is not configured (TEAMS_APP_ID, TEAMS_APP_PASSWORD) fails with a reason
that says so, tried again later, never sent to Slack.

The composition root (bot/app.py) builds the platforms' own adapters and hands them in: this
module names no platform's code.
"""

from __future__ import annotations

from typing import Any

from bot import installation
from bot.messages import Message, Reader
from bot.ports import ChannelInfo, DeliveryError, Directory, Messenger, Sent, UserInfo

TEAMS_NOT_CONFIGURED = "teams_not_configured"


def _teams_in_force() -> bool:
    workspace = installation.in_force()
    return workspace is not None and installation.platform_of(workspace.workspace_id) == "teams"


class _Unconfigured:
    """Teams work in a process without Teams: every call says so."""

    def __getattr__(self, name: str) -> Any:
        async def refuse(*_: Any, **__: Any) -> Any:
            raise DeliveryError(TEAMS_NOT_CONFIGURED, permanent=False)

        return refuse


class PlatformMessenger:
    """bot.ports.Messenger: Slack's or Teams', by the workspace in force."""

    def __init__(self, slack: Messenger, teams: Messenger | None = None) -> None:
        self.slack = slack
        self.teams: Messenger = teams if teams is not None else _Unconfigured()

    def _pick(self) -> Messenger:
        return self.teams if _teams_in_force() else self.slack

    async def send(
        self,
        *,
        channel: str,
        message: Message,
        reader: Reader,
        metadata: dict[str, Any] | None = None,
    ) -> Sent:
        return await self._pick().send(
            channel=channel, message=message, reader=reader, metadata=metadata
        )

    async def post(
        self,
        *,
        channel: str,
        text: str,
        blocks: list[dict[str, Any]] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Sent:
        return await self._pick().post(channel=channel, text=text, blocks=blocks, metadata=metadata)

    async def open_dm(self, user_id: str) -> str:
        return await self._pick().open_dm(user_id)

    async def find_sent(self, *, channel: str, idempotency_key: str, oldest: float) -> Sent | None:
        return await self._pick().find_sent(
            channel=channel, idempotency_key=idempotency_key, oldest=oldest
        )


class PlatformDirectory:
    """bot.ports.Directory: Slack's or Teams', by the workspace in force."""

    def __init__(self, slack: Directory, teams: Directory | None = None) -> None:
        self.slack = slack
        self.teams: Directory = teams if teams is not None else _Unconfigured()

    def _pick(self) -> Directory:
        return self.teams if _teams_in_force() else self.slack

    async def user(self, user_id: str) -> UserInfo | None:
        return await self._pick().user(user_id)

    async def channel(self, channel_id: str) -> ChannelInfo | None:
        return await self._pick().channel(channel_id)

    async def channel_members(self, channel_id: str) -> list[str]:
        return await self._pick().channel_members(channel_id)

    async def token_workspace(self) -> str | None:
        return await self._pick().token_workspace()

    async def channel_named(self, name: str) -> ChannelInfo | None:
        return await self._pick().channel_named(name)

    async def invite(self, channel_id: str, user_id: str) -> None:
        await self._pick().invite(channel_id, user_id)
