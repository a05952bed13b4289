"""The welcome a newcomer receives: mission, leaders, next event, how to introduce themselves."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from bot.i18n import Translator


def build_welcome(
    t: Translator,
    *,
    user_id: str,
    community: str,
    channel_id: str,
    mission: str | None,
    leaders: list[str],
    next_event: tuple[str, datetime] | None,
    tz: str | None,
    in_channel: bool,
) -> tuple[str, list[dict[str, Any]]]:
    text = t("welcome.hello", user=f"<@{user_id}>", community=community)
    lines = [text]
    if mission:
        lines.append(t("welcome.mission", mission=mission[:1000]))
    if leaders:
        lines.append(t("welcome.leaders", leaders=", ".join(f"<@{u}>" for u in leaders)))
    if next_event:
        title, when = next_event
        lines.append(t("welcome.next_event", title=title, when=t.datetime(when, tz)))
    lines.append(
        t("welcome.introduce_here")
        if in_channel
        else t("welcome.introduce", channel=f"<#{channel_id}>")
    )
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text="\n\n".join(lines)[:3000])),
        ContextBlock(elements=[MarkdownTextObject(text=t("welcome.mute_hint"))]),
    ]
    return text, [b.to_dict() for b in blocks]
