"""The compass's screens for tests/test_safe_echo.py: community names as typed (hostile) text."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bot import compass
from bot.cli_compass import demo_result
from bot.i18n import Translator
from bot.slack.blocks import common
from bot.slack.blocks import compass as screens

NOW = datetime(2030, 3, 4, 9, 30, tzinfo=UTC)
ROUND = compass.Round(4, 3, NOW - timedelta(days=2), None)


def _heatmap(x: str) -> compass.Heatmap:
    row = compass.HeatmapRow(3, x, "x", NOW, 2, True, (1.0, 2.5, None, 3.0, 4.0, 2.0))
    return compass.Heatmap((row, row), unassessed=3)


def _empty() -> compass.Result:
    dims = compass.aggregate([])
    return compass.Result(ROUND, 0, False, dims, (), None, ())


CASES: dict[str, Callable[[Translator, str], list[Any]]] = {
    "compass.build_modal": lambda t, x: [
        screens.build_modal(
            t,
            community_id=3,
            community_name=x,
            current=ROUND,
            respondents=2,
            mine={"purpose.mission": 3},
            answered_on=NOW,
        )
    ],
    "compass.build_result": lambda t, x: [
        screens.build_result(t, demo_result(NOW), name=x),
        screens.build_result(t, _empty(), name=x),
    ],
    "compass.build_heatmap": lambda t, x: [screens.build_heatmap(t, _heatmap(x))],
    "compass.heatmap_lines": lambda t, x: [
        common.sections_of_lines(screens.heatmap_lines(t, _heatmap(x)))
    ],
}
NOT_BUILDERS = {
    "compass.block_of",
    "compass.community_of",
    "compass.parse",
    "compass.heatmap_button",
    "compass.heatmap_actions",
    "compass.legend",
}
