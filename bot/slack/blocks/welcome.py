"""The welcome a newcomer receives: mission, leaders, next event, how to introduce themselves."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import Block, ContextBlock, SectionBlock

from bot.i18n import Translator
from bot.slack.echo import Mrkdwn, channel, fill, mention, mrkdwn, say


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
    greeting: str | None = None,
) -> tuple[Mrkdwn, list[dict[str, Any]]]:
    """The mission, the next event's title and the community's name are typed by people: they
    show as typed; the newcomer, the leaders and the channel are ours to mention. `greeting` is
    the programme's own first line (app.yaml `templates.welcome`), in the reader's language."""
    text = (
        fill(greeting, name=mention(user_id), community=community, channel=channel(channel_id))
        if greeting
        else say(t, "welcome.hello", user=mention(user_id), community=community)
    )
    lines = [text]
    if mission:
        lines.append(say(t, "welcome.mission", mission=mission[:1000]))
    if leaders:
        lines.append(say(t, "welcome.leaders", leaders=Mrkdwn(", ").join(map(mention, leaders))))
    if next_event:
        title, when = next_event
        lines.append(
            say(t, "welcome.next_event", title=title, when=t.datetime(when, tz, with_zone=True))
        )
    lines.append(
        say(t, "welcome.introduce_here")
        if in_channel
        else say(t, "welcome.introduce", channel=channel(channel_id))
    )
    blocks: list[Block] = [
        SectionBlock(text=mrkdwn(Mrkdwn("\n\n").join(lines))),
        ContextBlock(elements=[mrkdwn(t("welcome.mute_hint"))]),
    ]
    return text, [b.to_dict() for b in blocks]
