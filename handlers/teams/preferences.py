"""`@cop sourdine` / `mute` in Teams: a member pauses, stops or restarts one kind of ritual DM for
themselves — Slack's `/cop mute` (handlers/rituals.py): the same arguments (`[ritual]
[days|off|on]`, 30 days when only the ritual is given), the same domain (bot.preferences.choose),
the same answers in the person's language.

Where the answer goes: Slack answers `/cop mute` with an ephemeral message only the member sees.
Teams has none: a reply in a channel is public. So the screen always goes to the member's 1:1
chat with the bot (the one known, else opened at the activity's service URL); asked in a channel,
the channel gets only « Je vous ai répondu en privé », which says nothing of their choices (or,
when Teams refuses the 1:1 chat — the person blocked the bot, or the app is not installed for
them — that they should open a chat with the bot and ask again).
A button on the screen (Action.Execute) applies its choice and replaces the card in place.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from bot import preferences
from bot.deps import Deps
from bot.errors import CopError, InvalidInput
from bot.i18n import Translator
from bot.models import Ritual, TeamsConversation
from bot.ports import DeliveryError
from bot.teams import conversations
from bot.teams.cards import preferences as screens
from bot.teams.cards.common import ADAPTIVE_CARD, Json, attachment, card, refusal, say
from bot.teams.edge import TeamsEdge, Turn
from handlers.teams.context import Caller, caller_of, tell

logger = logging.getLogger(__name__)

WORDS = ("mute", "sourdine", "snooze")


async def choose(
    deps: Deps, caller: Caller, *, ritual: Ritual | None, choice: str
) -> tuple[str, Json]:
    """Apply a member's choice (when `ritual` is given); the screen, and its one line."""
    t = caller.t
    async with deps.sessions.begin() as session:
        chosen = await preferences.choose_for(
            session,
            workspace_id=caller.workspace_id,
            user_id=caller.user_id,
            default_tz=deps.programme.timezone,
            ritual=ritual,
            choice=choice,
        )
    tz = chosen.tz
    done = confirmation(t, chosen.done, tz) if chosen.done else None
    return done or say(t, "rituals.mute_title"), screens.mute_card(
        t, chosen.states, tz=tz, done=done
    )


def confirmation(t: Translator, state: preferences.RitualState, tz: str) -> str:
    name = t(f"rituals.name.{state.ritual.value}")
    if state.state == "snoozed" and state.until is not None:
        until = t.date(preferences.local_day(state.until, tz))
        return say(t, "rituals.snoozed", ritual=name, until=until)
    key = "rituals.muted_for_good" if state.state == "off" else "rituals.unmuted"
    return say(t, key, ritual=name)


async def private(deps: Deps, turn: Turn, message: Json) -> None:
    """A message only the person reads: in their 1:1 chat with the bot (opened if need be)."""
    if turn.personal:
        await turn.reply(message)
        return
    async with deps.sessions() as session:
        known = await conversations.personal(
            session, workspace_id=turn.tenant_id, user_id=turn.user_id
        )
    try:
        await _to_personal(deps, turn, known, message)
    except DeliveryError as failed:  # blocked, or the app not installed for them
        logger.info("no 1:1 chat with %s: %s", turn.user_id, failed.reason)
        await tell(turn, turn.t("teams.private.unreachable"))
        return
    await tell(turn, turn.t("teams.private.sent"))


async def _to_personal(
    deps: Deps, turn: Turn, known: TeamsConversation | None, message: Json
) -> None:
    service_url = (known.service_url if known else turn.service_url).rstrip("/")
    if known is not None:
        conversation_id = known.conversation_id
    else:
        created = await turn.edge.connector(
            "POST",
            f"{service_url}/v3/conversations",
            {
                "bot": turn.activity.get("recipient"),
                "members": [{"id": turn.user_id}],
                "isGroup": False,
                "tenantId": turn.tenant_id,
                "channelData": {"tenant": {"id": turn.tenant_id}},
            },
        )
        conversation_id = str(created.get("id") or "")
        async with deps.sessions.begin() as session:
            await conversations.remember(
                session,
                workspace_id=turn.tenant_id,
                conversation_id=conversation_id,
                kind=conversations.PERSONAL,
                service_url=service_url,
                user_id=turn.user_id,
            )
    url = f"{service_url}/v3/conversations/{quote(conversation_id, safe='')}/activities"
    await turn.edge.connector("POST", url, {"type": "message", **message})


def _message(summary: str, content: Json) -> Json:
    return {"summary": summary, "attachments": [attachment(content)]}


async def show(deps: Deps, turn: Turn, rest: str) -> None:
    """`@cop sourdine [ritual] [days|off|on]`, as Slack's `/cop sourdine`."""
    caller = await caller_of(deps, turn)
    t = caller.t
    try:
        ritual, choice = preferences.parse_mute(rest.split())
        summary, content = await choose(deps, caller, ritual=ritual, choice=choice)
    except CopError as exc:
        await private(deps, turn, {"text": refusal(t, exc), "textFormat": "markdown"})
        return
    await private(deps, turn, _message(summary, content))


async def clicked(deps: Deps, turn: Turn) -> Json:
    """A button on the screen: the choice applied, the card replaced by the updated one (a
    forged value gets the usage on top of the unchanged screen)."""
    caller = await caller_of(deps, turn)
    t = caller.t
    action = turn.value.get("action")
    data: dict[str, Any] = (action.get("data") if isinstance(action, dict) else None) or {}
    try:
        try:
            ritual = Ritual(str(data.get("ritual") or ""))
        except ValueError:
            raise InvalidInput("rituals.mute_usage") from None
        _, content = await choose(deps, caller, ritual=ritual, choice=str(data.get("choice") or ""))
    except CopError as exc:
        line = {"type": "TextBlock", "text": refusal(t, exc), "wrap": True, "color": "Attention"}
        try:
            _, content = await choose(deps, caller, ritual=None, choice="")
        except CopError:  # not known (any more): the refusal alone
            content = card([])
        content["body"].insert(0, line)
    return {"statusCode": 200, "type": ADAPTIVE_CARD, "value": content}


def register(edge: TeamsEdge, deps: Deps) -> None:
    async def on_command(turn: Turn, rest: str) -> None:
        await show(deps, turn, rest)

    async def on_click(turn: Turn) -> Json:
        return await clicked(deps, turn)

    edge.command(*WORDS)(on_command)
    edge.invoke("adaptiveCard/action", screens.MUTE)(on_click)
