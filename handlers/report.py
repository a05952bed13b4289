"""/cop report (/cop rapport): the value report, as two files in the asker's DM.

The dispatcher has acknowledged the command. The use case (bot.report_delivery) reads the
period and says who may have which report; a refusal or a bad period is one ephemeral line. Then
the asker is told the report is being prepared, it is built (seconds on a large programme), and
both files are uploaded together to their DM (a file cannot be ephemeral, and a community's
report is for its leaders and sponsor, not for the whole channel). If Slack refuses the upload,
the asker reads why and what to do; as the two files are shared in one step, they get both or
neither.
"""

from __future__ import annotations

import logging
import re

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot import report_delivery
from bot.messages import Reader
from bot.permissions import Action
from bot.slack.messages import render
from handlers.commands import CommandRequest, HelpLine, Subcommand

logger = logging.getLogger(__name__)

# Slack's answers that mean "this conversation cannot take the file" (DMs closed to apps, a
# deactivated account, a channel gone): the asker can do something about it.
_NO_DM = frozenset(
    {
        "not_in_channel",
        "channel_not_found",
        "is_archived",
        "cannot_dm_bot",
        "user_disabled",
        "user_not_found",
        "messages_tab_disabled",
        "restricted_action",
    }
)
_TOO_BIG = frozenset({"file_too_large", "file_size_too_large", "request_too_large"})
# slack_sdk reports a refused upload (the file host's HTTP status) only in its message
_UPLOAD_STATUS = re.compile(r"status: 413\b")


async def _dm(client: AsyncWebClient, user_id: str) -> str:
    response = await client.conversations_open(users=user_id)
    return str(response["channel"]["id"])


def upload_trouble(exc: Exception) -> str:
    """The catalogue key that tells the asker why Slack did not take the files."""
    if isinstance(exc, SlackApiError):
        error = str(exc.response.get("error") or "")
        if error in _TOO_BIG:
            return "report_delivery.too_big"
        if error in _NO_DM:
            return "report_delivery.no_dm"
    elif _UPLOAD_STATUS.search(str(exc)):
        return "report_delivery.too_big"
    return "report_delivery.upload_failed"


async def handle_report(req: CommandRequest) -> None:
    """`/cop report [period] [programme|community]`: ack is done; check, build, upload."""
    caller = req.caller
    deps = req.deps
    async with deps.sessions.begin() as session:
        request = await report_delivery.ask(
            session,
            actor=caller.actor,
            here=caller.community,
            words=req.args,
            programme_name=deps.programme.name,
            tz=deps.programme.timezone,
            today=deps.today(),
        )
    await req.say("report_delivery.preparing", period=req.t.period(request.window))
    delivery = await report_delivery.deliver(
        deps.sessions,
        request,
        t=req.t,
        programme=deps.programme,
        rule=deps.disclosure,
        shared=deps.reports_in_flight,
    )
    comment, _ = render(delivery.message, Reader(caller.language))
    try:
        await req.client.files_upload_v2(
            channel=await _dm(req.client, caller.user_id),
            file_uploads=[
                {"content": f.content, "filename": f.filename, "title": f.title}
                for f in delivery.files
            ],
            initial_comment=comment,
        )
    except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
        logger.warning("could not upload the value report %s: %r", request.window.label, exc)
        megabytes = sum(len(f.content) for f in delivery.files) / 1_000_000
        await req.say(
            upload_trouble(exc),
            period=req.t.period(request.window),
            label=request.window.label,
            size=req.t.number(megabytes),
        )
        return
    await req.say("report_delivery.sent", period=req.t.period(request.window))


SUBCOMMANDS: list[Subcommand] = [
    Subcommand(
        "report",
        handle_report,
        (
            HelpLine("report_delivery.usage", Action.COMMUNITY_REPORT),
            HelpLine("report_delivery.usage_programme", Action.PROGRAMME_REPORT),
        ),
        aliases=("rapport",),
    )
]


def register(app: AsyncApp) -> None:
    """Only a sub-command, which the /cop dispatcher routes: no listener of its own."""
