"""The /cop help screen."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.communities import CommunityView
from bot.i18n import Translator
from bot.models import Role


def build_help(
    t: Translator, *, entries: list[str], community: CommunityView | None, role: Role | None
) -> tuple[str, list[Block]]:
    """Return the notification text and the blocks."""
    lines = "\n".join(f"• {entry}" for entry in entries)
    if community is None:
        where = t("help.where_none")
    elif role is None:
        where = t("help.where_community", name=community.name)
    else:
        where = t("help.where_role", name=community.name, role=t(f"role.{role.value}"))
    blocks: list[Block] = [
        HeaderBlock(text=t("help.title")),
        SectionBlock(text=MarkdownTextObject(text=lines)),
        ContextBlock(elements=[MarkdownTextObject(text=where)]),
    ]
    return t("help.title"), blocks
