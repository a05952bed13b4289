"""The person's own corner in Teams (Slack's App Home: handlers/home.py): a card in the 1:1 chat,
built by bot/teams/cards/home.py from the same domain read (bot.home.load, with the arguments
Slack's Home passes), sent

- when the person installs the bot for themselves or opens the 1:1 chat: Teams sends a
  conversationUpdate in the personal scope with the bot among membersAdded;
- on « @cop accueil » / "home": in the 1:1 chat, or asked in a channel, in the 1:1 chat too
  (it is theirs alone: their polls, their answers), the channel told so.
"""

from __future__ import annotations

from bot import home, lifecycle
from bot.deps import Deps
from bot.models import utcnow
from bot.teams.cards.common import Json, attachment, say
from bot.teams.cards.home import home_card
from bot.teams.edge import TeamsEdge, Turn
from handlers.teams import health
from handlers.teams.context import caller_of
from handlers.teams.preferences import private

WORDS = ("home", "accueil")


async def card_for(deps: Deps, turn: Turn) -> Json:
    """The card's message for the person behind this turn, in their language and zone."""
    caller = await caller_of(deps, turn)
    tz = turn.timezone or deps.programme.timezone
    async with deps.sessions() as session:
        data = await home.load(
            session,
            workspace_id=caller.workspace_id,
            slack_user_id=caller.user_id,
            is_manager=caller.actor.is_manager,
            now=utcnow(),
            ballot_key=deps.ballot_key,
            today=deps.today(),
            charter_stale_days=deps.programme.health.charter_stale_days,
            ritual_defaults=lifecycle.ritual_defaults(deps.programme),
            engagement_rule=deps.programme.engagement,
            tz=tz,
        )
    return {
        "summary": say(caller.t, "home.title"),
        "attachments": [attachment(home_card(caller.t, data, tz=tz, health_dialog=health.DIALOG))],
    }


def bot_added_for_one(turn: Turn) -> bool:
    """A personal-scope conversationUpdate that adds the bot: the app installed for the person,
    or their 1:1 chat with it opened."""
    bot_id = (turn.activity.get("recipient") or {}).get("id")
    added = turn.activity.get("membersAdded") or []
    return turn.personal and any(
        isinstance(member, dict) and member.get("id") == bot_id for member in added
    )


def register(edge: TeamsEdge, deps: Deps) -> None:
    async def on_command(turn: Turn, rest: str) -> None:
        await private(deps, turn, await card_for(deps, turn))

    async def on_update(turn: Turn) -> None:
        if bot_added_for_one(turn):
            await turn.reply(await card_for(deps, turn))

    edge.command(*WORDS)(on_command)
    edge.on("conversationUpdate")(on_update)
