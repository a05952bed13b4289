"""The leaders' community, for tests/test_safe_echo.py: event titles, community and programme
names, story titles and benefits, and the organiser's comment as typed (hostile) text."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from bot import feedback, kpis, periods
from bot import leaders_digest as digest
from bot.i18n import Translator
from bot.messages import Reader
from bot.slack.blocks import feedback as screens
from bot.slack.messages import render

_MONTH = periods.Window(date(2026, 11, 1), date(2026, 12, 1), periods.Period.MONTH, "Europe/Paris")


def _due(x: str) -> feedback.Due:
    return feedback.Due(
        event_id=7,
        workspace_id="T0COP",
        community_id=3,
        community=x,
        title=x[:150],
        starts_at=datetime(2026, 11, 20, 14, tzinfo=UTC),
        tz="Europe/Paris",
        organiser_id=4,
        language="fr",
    )


def _digest(x: str) -> digest.Digest:
    return digest.Digest(
        window=_MONTH,
        before=periods.previous(_MONTH),
        now=kpis.ProgrammeKpis(messages=12, communities=3),
        then=kpis.ProgrammeKpis(messages=7, communities=3),
        stories=(digest.Shared(x[:150], x, Decimal("40"), "hours", x),),
        practices=(digest.Practice(x, 4, 2, 30, 10, 1, ("welcome", "pulse")),),
    )


def _render(t: Translator, message: Any) -> tuple[str, list[dict[str, Any]]]:
    return render(message, Reader(t.language, "Europe/Paris"))


CASES: dict[str, Callable[[Translator, str], list[Any]]] = {
    "feedback.build_modal": lambda t, x: [
        screens.build_modal(
            t,
            event_id=7,
            event=x,
            community=x,
            mine={"time": "no"},
            comment=x[: feedback.COMMENT_MAX],
            channel="D0ALICE",
            ts="1.2",
        )
    ],
    "feedback.request_message": lambda t, x: [_render(t, feedback.request_message(_due(x)))],
    "feedback.thanks_message": lambda t, x: [
        _render(
            t,
            feedback.thanks_message(event_id=7, event=x, answers={"time": "no"}, changed=changed),
        )
        for changed in (True, False)
    ],
    "leaders_digest.message": lambda t, x: [_render(t, digest.message(_digest(x), programme=x))],
}
# parsers and ids, not screens
NOT_BUILDERS = {"feedback.block_of", "feedback.dm_of", "feedback.event_of", "feedback.parse"}
