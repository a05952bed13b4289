"""What the core needs from a chat platform, as neutral protocols and dataclasses.

Slack implements them in bot/slack/; a Teams adapter could implement them beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from bot.messages import Message, Reader

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True, slots=True)
class UserInfo:
    user_id: str
    name: str
    real_name: str
    tz: str | None
    locale: str | None
    is_bot: bool
    deleted: bool
    # the person's e-mail when the platform gives it (Slack: users:read.email), so that someone
    # on Slack and on Teams is one person in the programme's counts (bot.people.IDENTITY)
    email: str | None = None


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    channel_id: str
    name: str
    is_archived: bool
    is_private: bool


class Directory(Protocol):
    """Who is where: people and channel membership."""

    async def user(self, user_id: str) -> UserInfo | None: ...

    async def channel(self, channel_id: str) -> ChannelInfo | None: ...

    async def channel_members(self, channel_id: str) -> list[str]: ...

    async def token_workspace(self) -> str | None:
        """The workspace our token speaks for, or None when the platform says it is dead."""
        ...

    async def channel_named(self, name: str) -> ChannelInfo | None:
        """A channel found by its name (without « # »), archived ones included; None if none."""
        ...

    async def invite(self, channel_id: str, user_id: str) -> None:
        """Invite one person to a channel the bot is in; failures raise DeliveryError (its
        reason is the platform's: "already_in_channel", "is_archived", "not_in_channel"…)."""
        ...


@dataclass(frozen=True, slots=True)
class Sent:
    channel: str
    ts: str


class DeliveryError(Exception):
    """A send that failed; `permanent` means retrying cannot help (gone user, archived channel)."""

    def __init__(self, reason: str, *, permanent: bool, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.retry_after = retry_after


class Messenger(Protocol):
    """Posting messages: what the outbox drain calls."""

    async def send(
        self,
        *,
        channel: str,
        message: Message,
        reader: Reader,
        metadata: dict[str, Any] | None = None,
    ) -> Sent:
        """A neutral message, rendered for this reader in the platform's own form."""
        ...

    async def post(
        self,
        *,
        channel: str,
        text: str,
        blocks: list[dict[str, Any]] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Sent:
        """A message already in the platform's form (outbox rows written before messages were
        neutral)."""
        ...

    async def open_dm(self, user_id: str) -> str: ...

    async def find_sent(
        self, *, channel: str, idempotency_key: str, oldest: float
    ) -> Sent | None: ...


@dataclass(frozen=True, slots=True)
class PastMessage:
    """A message read back from a channel's history: who, when, thread, reactions; no text."""

    ts: str
    user: str | None
    thread_ts: str | None = None
    subtype: str | None = None
    is_bot: bool = False
    reply_count: int = 0
    reactions: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (emoji, users)


@dataclass(frozen=True, slots=True)
class HistoryPage:
    messages: list[PastMessage]
    next_cursor: str | None


class History(Protocol):
    """Reading a channel's past messages (for backfill); failures raise DeliveryError."""

    async def history(
        self, channel_id: str, *, oldest: str, latest: str, cursor: str | None, limit: int
    ) -> HistoryPage: ...

    async def replies(
        self, channel_id: str, thread_ts: str, *, cursor: str | None, limit: int
    ) -> HistoryPage: ...


class Owe(Protocol):
    """Owe a neutral message through the outbox, in the caller's transaction (rituals.outbox's
    `enqueue`, which the handlers pass in: the domain does not depend on the rituals). False
    when a message with this key is already owed or sent."""

    async def __call__(
        self,
        session: AsyncSession,
        *,
        workspace_id: str,
        key: str,
        kind: str,
        message: Message,
        reader: Reader,
        channel_id: str | None = None,
        person_id: int | None = None,
        community_id: int | None = None,
    ) -> bool: ...
