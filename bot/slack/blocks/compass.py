"""The compass screens: the questionnaire modal (and its parser), a round's result, and the
programme's heatmap (/cop health's « Boussole » button)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    DividerBlock,
    InputBlock,
    Option,
    PlainTextObject,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot import compass
from bot.i18n import Translator
from bot.numbers import row_id
from bot.slack.blocks.common import (
    VIEW_MAX_BLOCKS,
    header,
    input_values,
    modal_metadata,
    note,
    section,
    sections_of_lines,
)
from bot.slack.echo import Mrkdwn, say

MODAL = "compass_modal"
HEATMAP = "compass_heatmap"  # the button under /cop health's programme overview
_INPUT = "level"
_BLOCK = "compass:"  # + the statement key
HEATMAP_ROWS = 40  # the grid in Slack; the report and the dashboard show every community


def block_of(statement: str | None) -> str:
    return _BLOCK + (statement or compass.DIMENSIONS[0].statements[0])


def _option(t: Translator, level: int) -> Option:
    return Option(value=str(level), text=f"{level} · {t(f'compass.level.{level}')}")


def _when(t: Translator, moment: datetime, tz: str | None) -> str:
    """The day in the reader's zone (a round opened late at night in UTC is tomorrow in Asia)."""
    return t.date((moment.astimezone(ZoneInfo(tz)) if tz else moment).date())


def build_modal(
    t: Translator,
    *,
    community_id: int,
    community_name: str,
    current: compass.Round,
    respondents: int,
    mine: dict[str, int],
    answered_on: datetime | None,
    tz: str | None = None,
) -> View:
    """Every statement grouped by dimension, a level each (1–4), pre-filled with the person's
    answers in this round. 3 + 6 × 5 blocks: well under a modal's 100."""
    blocks: list[Block] = [
        section(say(t, "compass.modal_intro", name=community_name)),
        note(
            t(
                "compass.modal_round",
                opened=_when(t, current.opened_at, tz),
                closes=_when(t, current.closes_at, tz),
                n=respondents,
            )
        ),
    ]
    if mine and answered_on is not None:
        blocks.append(note(t("compass.modal_yours", day=_when(t, answered_on, tz))))
    levels = " · ".join(f"{n} {t(f'compass.level.{n}')}" for n in compass.LEVELS)
    blocks.append(note(t("compass.scale", levels=levels)))
    for dim in compass.DIMENSIONS:
        blocks.append(header(t(f"compass.dim.{dim.key}")))
        for statement in dim.statements:
            options = [_option(t, level) for level in compass.LEVELS]
            chosen = mine.get(statement)
            element = StaticSelectElement(
                action_id=_INPUT,
                placeholder=t("compass.placeholder"),
                options=options,
                initial_option=options[chosen - 1] if chosen in compass.LEVELS else None,
            )
            blocks.append(
                InputBlock(
                    block_id=block_of(statement),
                    label=t(f"compass.stmt.{statement}"),
                    element=element,
                    optional=True,
                )
            )
    assert len(blocks) <= VIEW_MAX_BLOCKS
    return View(
        type="modal",
        callback_id=MODAL,
        title=PlainTextObject(text=t("compass.modal_title")),
        submit=PlainTextObject(text=t("compass.save")),
        close=PlainTextObject(text=t("compass.cancel")),
        private_metadata=json.dumps({"c": community_id}),
        blocks=blocks,
    )


def community_of(view: dict[str, Any]) -> int:
    return row_id(modal_metadata(view).get("c"))


def parse(view: dict[str, Any]) -> dict[str, object]:
    """view.state.values → statement key → the level picked (checked by compass.validate)."""
    picked: dict[str, object] = {}
    for statement in sorted(compass.STATEMENTS):
        option = input_values(view, block_of(statement), _INPUT).get("selected_option") or {}
        if option.get("value") is not None:
            picked[statement] = option.get("value")
    return picked


# --- a round's result -------------------------------------------------------------------------


def _figure(t: Translator, value: float) -> str:
    return t.number(value, 1)


def _dimension_line(
    t: Translator, score: compass.DimensionScore, change: compass.Change | None
) -> str:
    name = t(f"compass.dim.{score.key}")
    emoji = compass.LEVEL_EMOJI[score.level]
    if score.median is None or score.low is None or score.high is None:
        return t("compass.dim_none", emoji=emoji, dimension=name)
    if score.low == score.high:
        line = t(
            "compass.dim_line_one", emoji=emoji, dimension=name, median=_figure(t, score.median)
        )
    else:
        line = t(
            "compass.dim_line",
            emoji=emoji,
            dimension=name,
            median=_figure(t, score.median),
            low=_figure(t, score.low),
            high=_figure(t, score.high),
        )
    if change is not None:
        line += "  " + t(f"compass.change.{change.direction}", delta=_figure(t, abs(change.delta)))
    return line


def build_result(
    t: Translator, found: compass.Result, *, name: str, tz: str | None = None
) -> tuple[Mrkdwn, list[Block]]:
    """Medians and spreads per dimension (with the change since the previous round), then the
    weakest dimensions and what to do about each."""
    title = t("compass.title", name=name)
    blocks: list[Block] = [header(title)]
    if found.empty:
        text = say(t, "compass.empty", name=name)
        blocks.append(section(text))
        return text, blocks
    round_line = t(
        "compass.round_line",
        opened=_when(t, found.round.opened_at, tz),
        closes=_when(t, found.round.closes_at, tz),
        n=found.respondents,
    )
    if found.survey:
        round_line += " · " + t("compass.round_survey")
    if found.feedback:
        round_line += " · " + t("compass.round_feedback")
    blocks.append(note(round_line))
    changes = {c.key: c for c in found.changes}
    lines = [t("compass.dims_title")]
    lines += [_dimension_line(t, d, changes.get(d.key)) for d in found.dimensions]
    blocks.append(section("\n".join(lines)))
    if found.previous is not None and found.changes:
        blocks.append(note(t("compass.compared", day=_when(t, found.previous.opened_at, tz))))
    else:
        blocks.append(note(t("compass.first_round")))
    blocks.append(DividerBlock())
    medians = found.medians()
    if not found.weakest:
        blocks.append(section(t("compass.all_exemplary")))
    else:
        parts = [t("compass.weakest_title")]
        for key in found.weakest:
            median = medians[key]
            parts.append(
                t(
                    "compass.weakest_dim",
                    dimension=t(f"compass.dim.{key}"),
                    median=_figure(t, median) if median is not None else "–",
                )
            )
            parts += [
                f"• {t(f'compass.action.{action}')}" for action in compass.dimension(key).actions
            ]
        blocks.append(section("\n".join(parts)))
    text = say(t, "compass.title", name=name)
    return text, blocks


# --- the programme's heatmap ------------------------------------------------------------------


def heatmap_button(t: Translator) -> ButtonElement:
    return ButtonElement(text=t("compass.heatmap_button"), action_id=HEATMAP, value="programme")


def heatmap_actions(t: Translator) -> ActionsBlock:
    return ActionsBlock(block_id="compass_heatmap", elements=[heatmap_button(t)])


def heatmap_lines(t: Translator, found: compass.Heatmap, *, limit: int | None = None) -> list[str]:
    """One line per community: a coloured square per dimension, then its name, respondents and
    the round's date."""
    rows = found.rows if limit is None else found.rows[:limit]
    return [
        t(
            "compass.heatmap_row",
            cells="".join(compass.LEVEL_EMOJI[level] for level in row.levels),
            name=row.name,
            n=row.respondents,
            survey=t("compass.heatmap_survey") if row.survey else "",
            day=t.date(row.opened_at.date()),
        )
        for row in rows
    ]


def legend(t: Translator) -> str:
    columns = " · ".join(
        f"{i}. {t(f'compass.dim_short.{key}')}" for i, key in enumerate(compass.DIMENSION_KEYS, 1)
    )
    levels = " · ".join(
        [f"{compass.LEVEL_EMOJI[n]} {t(f'compass.level.{n}')}" for n in compass.LEVELS]
        + [f"{compass.LEVEL_EMOJI[None]} {t('compass.no_answer')}"]
    )
    return f"{t('compass.heatmap_columns', columns=columns)}\n{levels}"


def build_heatmap(t: Translator, found: compass.Heatmap) -> tuple[Mrkdwn, list[Block]]:
    title = t("compass.heatmap_title")
    blocks: list[Block] = [header(title)]
    if not found.rows:
        blocks.append(section(t("compass.heatmap_empty")))
        return say(t, "compass.heatmap_title"), blocks
    blocks.append(note(legend(t) + "\n" + t("compass.heatmap_order")))
    blocks += sections_of_lines(heatmap_lines(t, found, limit=HEATMAP_ROWS))
    extra = []
    if len(found.rows) > HEATMAP_ROWS:
        extra.append(t("compass.heatmap_more", count=t.number(len(found.rows) - HEATMAP_ROWS)))
    if found.unassessed:
        extra.append(t("compass.heatmap_unassessed", n=found.unassessed))
    if extra:
        blocks.append(note("\n".join(extra)))
    return say(t, "compass.heatmap_title"), blocks
