"""`/cop me` (`/cop moi`): the caller's own engagement tier in each of their communities.

Only ever the caller's: the command takes no name, and a name given is answered with why not
(leaders see counts in `/cop health`). The same lines are on the person's App Home.
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot import engagement
from bot.models import utcnow
from bot.slack.blocks import engagement as screens
from handlers.commands import CommandRequest, HelpLine, Subcommand


async def handle_me(req: CommandRequest) -> None:
    if req.args:
        # `/cop me @someone`: nobody reads another person's tier, whoever asks
        await req.say("engagement.only_yours")
        return

    deps = req.deps
    rule = deps.programme.engagement
    async with deps.sessions() as session:
        mine = await engagement.mine_of(
            session,
            workspace_id=req.caller.workspace_id,
            slack_user_id=req.caller.user_id,
            rule=rule,
            now=utcnow(),
            default_tz=deps.programme.timezone,
        )
    text, blocks = screens.mine_answer(req.t, mine)
    await req.show(text, blocks)


SUBCOMMANDS: list[Subcommand] = [
    Subcommand("me", handle_me, (HelpLine("engagement.usage"),), aliases=("moi",)),
]


def register(app: AsyncApp) -> None:
    """Listeners of this feature: a sub-command only."""
