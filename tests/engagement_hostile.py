"""Engagement tiers' screens for tests/test_safe_echo.py: a community's name as typed (hostile)
text on a person's own tier line; the counts' line carries no typed text."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bot import engagement
from bot.config import Engagement
from bot.i18n import Translator
from bot.slack.blocks import engagement as screens

NOW = datetime(2030, 3, 4, 9, 30, tzinfo=UTC)


def _mine(x: str) -> engagement.Mine:
    done = engagement.Participation(messages=3, replies=1, reactions=2, days=2, events=1)
    return engagement.Mine(
        community_id=3,
        community_name=x,
        window=engagement.current(Engagement(), now=NOW, tz="Europe/Paris"),
        tier=engagement.tier_of(done),
        done=done,
    )


CASES: dict[str, Callable[[Translator, str], list[Any]]] = {
    "engagement.mine_line": lambda t, x: [screens.mine_line(t, _mine(x))],
    "engagement.mine_blocks": lambda t, x: [screens.mine_blocks(t, [_mine(x), _mine(x)])],
    "engagement.mine_answer": lambda t, x: [screens.mine_answer(t, [_mine(x)])[1]],
}
# no typed text reaches them: a period's words, counts of what someone did, counts of tiers
NOT_BUILDERS = {"engagement.period_words", "engagement.done_text", "health.tiers_line"}
