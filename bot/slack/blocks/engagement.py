"""Engagement tiers on screen: a person's own tier (their App Home, `/cop me`), shown to them
alone; everyone else reads counts (bot.figures.tiers and bot.figures.retention)."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import Block

from bot.engagement import Mine, Participation
from bot.i18n import Translator
from bot.slack.blocks.common import note, section, sections_of_lines
from bot.slack.echo import Mrkdwn, say

_DONE = ("messages", "replies", "reactions", "days", "events", "stories")
MAX_LINES = 20  # a Home is one screen: one line per community, at most this many


def period_words(t: Translator, period: str) -> str:
    """« ce mois-ci », "this week"…"""
    return t(f"engagement.period.{period}")


def done_text(t: Translator, done: Participation) -> str:
    """« 12 messages, 3 jours actifs, 1 événement »: what counted, nought left out."""
    parts = [
        t(f"engagement.done.{what}", n=t.number(getattr(done, what)))
        for what in _DONE
        if getattr(done, what)
    ]
    return ", ".join(parts) if parts else t("engagement.mine_nothing")


def mine_line(t: Translator, mine: Mine) -> Mrkdwn:
    """« Dans « Data & IA » ce mois-ci : *membre actif* — 12 messages, 1 événement »."""
    return say(
        t,
        "engagement.mine_line",
        community=mine.community_name,
        period=Mrkdwn(period_words(t, mine.window.period.value)),
        tier=Mrkdwn(t(f"engagement.tier.{mine.tier.value}")),
        done=Mrkdwn(done_text(t, mine.done)),
    )


def mine_blocks(t: Translator, mine: Sequence[Mine]) -> list[Block]:
    """The person's own tiers, one line per community, with who else can see them (nobody)."""
    if not mine:
        return []
    heading = section(t("engagement.mine_heading"))
    lines: list[str] = [mine_line(t, m) for m in mine[:MAX_LINES]]
    return [heading, *sections_of_lines(lines), note(t("engagement.mine_note"))]


def mine_answer(t: Translator, mine: Sequence[Mine]) -> tuple[str, list[Block]]:
    """`/cop me`: the same lines as on the Home, or that there is nothing to count."""
    if not mine:
        text = t("engagement.mine_none")
        return text, [section(text)]
    blocks = mine_blocks(t, mine)
    return t("engagement.mine_heading").strip("*"), blocks
