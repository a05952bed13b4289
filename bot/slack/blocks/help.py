"""The /cop help screen."""

from __future__ import annotations

from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, SectionBlock

from bot.communities import CommunityView
from bot.i18n import Translator
from bot.models import Role
from bot.slack.echo import Mrkdwn, echo, mrkdwn


def build_help(
    t: Translator, *, entries: list[str], community: CommunityView | None, role: Role | None
) -> tuple[Mrkdwn, list[Block]]:
    """Return the notification text and the blocks. The usage lines are ours but hold `<name>`
    placeholders, and the community's name was typed: all of it is escaped, shown as written."""
    lines = "\n".join(f"• {entry}" for entry in entries)
    if community is None:
        where = t("help.where_none")
    elif role is None:
        where = t("help.where_community", name=community.name)
    else:
        where = t("help.where_role", name=community.name, role=t(f"role.{role.value}"))
    blocks: list[Block] = [
        HeaderBlock(text=t("help.title")),
        SectionBlock(text=mrkdwn(lines)),
        ContextBlock(elements=[mrkdwn(where)]),
    ]
    return echo(t("help.title")), blocks
