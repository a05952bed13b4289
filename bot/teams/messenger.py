"""The Teams side of bot.ports: the outbox's messages and the rituals' look-ups, for a tenant.

Every call is for the workspace in force (bot.installation.in_force(): the outbox sets it per
row, the scheduler per community), which for Teams is the tenant. Where to write comes from the
conversation references (bot/teams/conversations.py): a conversation's service URL, a person's
1:1 chat, a channel's team.

What Teams answers, as the outbox understands it (`delivery_error`):

| Teams | reason | the outbox |
|---|---|---|
| 403 ConversationBlockedByUser, MessageWritesBlocked | blocked_bot | fails the row for good, the person marked unreachable |
| other 403 in a 1:1 (the app uninstalled, the person left) | bot_not_installed | the same |
| 403 in a channel (the bot removed from the team) | not_in_channel | fails the row |
| 404 (ConversationNotFound) | conversation_not_found, channel_not_found in a channel | fails it; the reference is dropped; a channel's community is marked gone |
| 429 | ratelimited, with Retry-After | every sender of the tenant waits, the row goes again |
| 412, 5xx, 401, no answer | http_…, teams_unauthorized, timeout | tried again later |
| 400, 413 | invalid_card, msg_too_long | fails the row |
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import installation, people
from bot.messages import Message, Reader
from bot.ports import ChannelInfo, DeliveryError, Sent, UserInfo
from bot.teams import conversations, render
from bot.teams.auth import AuthUnavailable
from bot.teams.connector import Connector, ConnectorError, Windows

BLOCKED = frozenset({"ConversationBlockedByUser", "MessageWritesBlocked"})
# a message queued in Slack's own form (Block Kit, before messages were neutral): nothing Teams
# can show. Such rows predate Teams, so this never happens in practice; said, not guessed.
SLACK_FORM = "slack_form_message"
PAGE_SIZE = 500  # Teams clamps pagedmembers to 50–500


def delivery_error(exc: ConnectorError, *, channel: bool) -> DeliveryError:
    """A Bot Connector failure as the outbox reads it (the table above)."""
    status, code = exc.status, exc.code
    if status == 429:
        return DeliveryError("ratelimited", permanent=False, retry_after=exc.retry_after or 1.0)
    if status == 403:
        if code in BLOCKED:
            return DeliveryError("blocked_bot", permanent=True)
        return DeliveryError("not_in_channel" if channel else "bot_not_installed", permanent=True)
    if status == 404:
        reason = "channel_not_found" if channel else "conversation_not_found"
        return DeliveryError(reason, permanent=True)
    if status == 413:
        return DeliveryError("msg_too_long", permanent=True)
    if status == 401:
        return DeliveryError("teams_unauthorized", permanent=False)
    if status == 0:
        return DeliveryError(code, permanent=False)  # "timeout" (it may have been posted)
    if not exc.permanent:
        return DeliveryError(f"http_{status}", permanent=False)
    return DeliveryError("invalid_card" if status == 400 else f"http_{status}", permanent=True)


def _tenant() -> str:
    workspace = installation.in_force()
    if workspace is None or installation.platform_of(workspace.workspace_id) != "teams":
        # a caller's bug (bot.platforms routes only Teams work here): never a guessed tenant
        raise DeliveryError("no_teams_tenant_in_force", permanent=False)
    return workspace.workspace_id


async def _names(session: AsyncSession, tenant: str, message: Message) -> dict[str, str]:
    """The display names of the people a message names, so Teams mentions them
    (bot.teams.render: without a name a person reads « quelqu'un »)."""
    names = {}
    for user in sorted(render.people(message)):
        if user.startswith("29:"):
            person = await people.find(session, workspace_id=tenant, slack_user_id=user)
            if person is not None and (person.real_name or person.name):
                names[user] = person.real_name or person.name
    return names


def _conversation_url(service_url: str, conversation_id: str, tail: str = "") -> str:
    return f"{service_url.rstrip('/')}/v3/conversations/{quote(conversation_id, safe='')}{tail}"


class TeamsMessenger:
    """bot.ports.Messenger for Teams: proactive messages at the conversation's service URL.

    Sends are tried once (`attempts=1`): the outbox's drain owns the waiting — a 429's
    Retry-After for every sender of the tenant (its SharedPacer), a backoff for the rest —
    while Teams' per-conversation windows are kept here (`Windows`), so a channel receiving a
    burst waits its turn rather than earning 429s.
    """

    def __init__(
        self,
        connector: Connector,
        sessions: async_sessionmaker[AsyncSession],
        *,
        app_id: str,
        windows: Windows | None = None,
    ) -> None:
        self.connector = connector
        self.sessions = sessions
        self.app_id = app_id
        self.windows = windows or Windows()

    async def _call(self, method: str, url: str, body: dict[str, Any], *, channel: bool) -> Any:
        try:
            return await self.connector.call(method, url, body, attempts=1)
        except ConnectorError as exc:
            raise delivery_error(exc, channel=channel) from exc
        except AuthUnavailable as exc:
            raise DeliveryError("teams_token_unavailable", permanent=False) from exc

    async def send(
        self,
        *,
        channel: str,
        message: Message,
        reader: Reader,
        metadata: dict[str, Any] | None = None,
    ) -> Sent:
        """The message as an Adaptive Card (bot.teams.render) in a conversation: a channel's
        ("19:…"), a 1:1 ("a:…"), or a person's ("29:…", their 1:1 opened first if need be)."""
        tenant = _tenant()
        if channel.startswith("29:"):
            channel = await self.open_dm(channel)
        async with self.sessions() as session:
            ref = await conversations.find(session, workspace_id=tenant, conversation_id=channel)
            service_url = (
                ref.service_url
                if ref is not None
                else await conversations.service_url(session, workspace_id=tenant)
            )
            names = await _names(session, tenant, message)
        is_channel = ref.kind == conversations.CHANNEL if ref else not channel.startswith("a:")
        if service_url is None:  # nobody in this tenant ever spoke to the bot
            raise DeliveryError("teams_no_conversation_reference", permanent=True)
        await self.windows.wait(channel)
        url = _conversation_url(service_url, channel, "/activities")
        try:
            # a chart is drawn for the reader: off the event loop
            activity = (
                await asyncio.to_thread(render.activity, message, reader, names=names)
                if render.has_chart(message)
                else render.activity(message, reader, names=names)
            )
            answer = await self._call("POST", url, activity, channel=is_channel)
        except DeliveryError as exc:
            if exc.reason in ("conversation_not_found", "channel_not_found"):
                async with self.sessions.begin() as session:
                    await conversations.forget(
                        session, workspace_id=tenant, conversation_id=channel
                    )
            raise
        return Sent(channel=channel, ts=str(answer.get("id") or ""))

    async def post(
        self,
        *,
        channel: str,
        text: str,
        blocks: list[dict[str, Any]] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Sent:
        """Refused for good: the row holds Slack's own markup (mrkdwn, Block Kit), which Teams
        cannot show and we cannot honestly translate (its mentions and channels are Slack ids).
        Only rows queued before messages were neutral are in this form, and they are all Slack's."""
        raise DeliveryError(SLACK_FORM, permanent=True)

    async def open_dm(self, user_id: str) -> str:
        """The person's 1:1 chat with the bot: the one known, else created (POST
        /v3/conversations at the tenant's service URL) and remembered. Teams creates it only
        when the app is installed for the person or in one of their teams (else 403)."""
        tenant = _tenant()
        async with self.sessions() as session:
            known = await conversations.personal(session, workspace_id=tenant, user_id=user_id)
            if known is not None:
                return known.conversation_id
            service_url = await conversations.service_url(session, workspace_id=tenant)
        if service_url is None:
            raise DeliveryError("teams_no_conversation_reference", permanent=True)
        body = {
            "bot": {"id": f"28:{self.app_id}"},
            "members": [{"id": user_id}],
            "isGroup": False,
            "tenantId": tenant,
            "channelData": {"tenant": {"id": tenant}},
        }
        await self.windows.wait(f"create:{service_url}")
        url = f"{service_url.rstrip('/')}/v3/conversations"
        answer = await self._call("POST", url, body, channel=False)
        conversation_id = str(answer.get("id") or "")
        if not conversation_id:
            raise DeliveryError("teams_no_conversation_id", permanent=False)
        async with self.sessions.begin() as session:
            await conversations.remember(
                session,
                workspace_id=tenant,
                conversation_id=conversation_id,
                kind=conversations.PERSONAL,
                service_url=service_url,
                user_id=user_id,
            )
        return conversation_id

    async def find_sent(self, *, channel: str, idempotency_key: str, oldest: float) -> Sent | None:
        """Always None: Teams cannot tell. The Bot Connector has no way to read a conversation
        back (no history, no search), and a key hidden in the activity (channelData, a card's
        hidden field) is never returned to us; reading chats and channels through Microsoft
        Graph would need tenant-wide permissions (ChannelMessage.Read.All, Chat.Read.All) that
        this bot does not ask for.

        The consequence, stated: on Teams the crash window is small, not closed. A row whose
        sender died after Teams accepted it and before we recorded it, or whose send got no
        answer (a timeout) yet was posted, is sent again after its lease: the person may see
        that message twice — never zero times."""
        return None


class TeamsDirectory:
    """bot.ports.Directory for Teams: people and rosters through the Bot Connector, channels as
    the conversation references know them. Reads are retried as Microsoft asks (Connector)."""

    def __init__(self, connector: Connector, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.connector = connector
        self.sessions = sessions

    async def _get(self, url: str) -> Any:
        try:
            return await self.connector.call("GET", url)
        except ConnectorError as exc:
            raise delivery_error(exc, channel=True) from exc
        except AuthUnavailable as exc:
            raise DeliveryError("teams_token_unavailable", permanent=False) from exc

    async def user(self, user_id: str) -> UserInfo | None:
        """GET /v3/conversations/{conversation}/members/{id}, asked in the person's 1:1 chat or
        a team of the tenant; None when Teams does not know them there. Teams gives no zone or
        language (they come with the person's own activities)."""
        tenant = _tenant()
        async with self.sessions() as session:
            ref = await conversations.personal(session, workspace_id=tenant, user_id=user_id)
            where = [(ref.conversation_id, ref.service_url)] if ref else []
            where += [
                (c.team_id or c.conversation_id, c.service_url)
                for c in await conversations.channels(session, workspace_id=tenant)
            ]
        for conversation_id, service_url in dict.fromkeys(where):
            try:
                member = await self._get(
                    _conversation_url(service_url, conversation_id, f"/members/{quote(user_id)}")
                )
            except DeliveryError as exc:
                if exc.permanent:
                    continue  # not a member there (404), or not reachable there: ask elsewhere
                raise
            name = str(member.get("name") or "")
            return UserInfo(
                user_id=str(member.get("id") or user_id),
                name=str(member.get("userPrincipalName") or member.get("email") or name),
                real_name=name,
                tz=None,
                locale=None,
                is_bot=False,
                deleted=False,
            )
        return None

    async def channel(self, channel_id: str) -> ChannelInfo | None:
        tenant = _tenant()
        async with self.sessions() as session:
            ref = await conversations.find(session, workspace_id=tenant, conversation_id=channel_id)
        if ref is None or ref.kind != conversations.CHANNEL:
            return None
        return ChannelInfo(
            channel_id=channel_id, name=ref.name, is_archived=False, is_private=False
        )

    async def channel_members(self, channel_id: str) -> list[str]:
        """The team's roster (a standard channel has its team's members), page by page
        (/v3/conversations/{teamId}/pagedmembers)."""
        tenant = _tenant()
        async with self.sessions() as session:
            ref = await conversations.find(session, workspace_id=tenant, conversation_id=channel_id)
        if ref is None:
            raise DeliveryError("channel_not_found", permanent=True)
        base = _conversation_url(ref.service_url, ref.team_id or channel_id, "/pagedmembers")
        members: list[str] = []
        token: str | None = None
        while True:
            url = f"{base}?pageSize={PAGE_SIZE}"
            if token:
                url += f"&continuationToken={quote(token, safe='')}"
            page = await self._get(url)
            members += [str(m["id"]) for m in page.get("members") or [] if m.get("id")]
            token = page.get("continuationToken") or None
            if not token:
                return members

    async def token_workspace(self) -> str | None:
        """The tenant in force, once Microsoft gives the bot a token; a refused token or an
        unreachable login is raised (AuthUnavailable): we do not know, the next tick asks."""
        tenant = _tenant()
        await self.connector.token.get()
        return tenant

    async def channel_named(self, name: str) -> ChannelInfo | None:
        """A channel of the tenant the bot has heard from, by its name."""
        tenant = _tenant()
        async with self.sessions() as session:
            for ref in await conversations.channels(session, workspace_id=tenant):
                if ref.name == name:
                    return ChannelInfo(
                        channel_id=ref.conversation_id,
                        name=ref.name,
                        is_archived=False,
                        is_private=False,
                    )
        return None

    async def invite(self, channel_id: str, user_id: str) -> None:
        """Refused for good: a Teams bot cannot add anyone to a team or a channel (only its
        owners can, or Graph with TeamMember.ReadWrite.All, which this bot does not ask for).
        "cant_invite" is what the leaders' channel records per person, never asking again."""
        raise DeliveryError("cant_invite", permanent=True)
