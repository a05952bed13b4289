"""The compass in Teams: the channel's card with its two buttons, the questionnaire dialog (the
Slack modal's statements and 1–4 scale, as Adaptive Card inputs) with its parser, and a round's
result as a card (the Slack result's lines, and its radar chart as a PNG in the card)."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot import compass
from bot.errors import InvalidFields
from bot.i18n import Translator
from bot.teams.cards.common import Json, card, heading, markdown, note, open_dialog, problem, say
from bot.teams.cards.common import text as text_block
from bot.teams.render import CARD_MAX_BYTES

DIALOG = "compass"  # the questionnaire's invokes (data.cop)
RESULT = "compass_result"  # the dialog that shows the round so far
HEATMAP = "compass_heatmap"  # the dialog that shows the programme's heatmap
FIELD = "stmt:"  # + the statement key: an input's id
TOP = "_form"  # an error that names no statement shows above the form
PALETTE = 32  # colours of the radar PNG: a chart has few (as bot/teams/render.py reduces its)
# the radar is drawn for Slack at 665 × 742 px (105 KB); a card holds ~26 KB, base64 included:
# reduced to 60 % it is ~16 KB of PNG (~22 KB in base64), to half ~13 KB
SCALES = (0.7, 0.6, 0.5)


def _when(t: Translator, moment: datetime, tz: str | None) -> str:
    """The day in the reader's zone (a round opened late at night in UTC is tomorrow in Asia)."""
    return t.date((moment.astimezone(ZoneInfo(tz)) if tz else moment).date())


def start_card(t: Translator, *, community_id: int, community_name: str) -> Json:
    """`@cop boussole` in a community's channel: what it is, and the two dialogs (the guard is
    asked again when either opens: anyone in the channel can click)."""
    return card(
        [
            heading(say(t, "compass.title", typed={"name": community_name})),
            text_block(say(t, "teams.compass.intro", typed={"name": community_name})),
        ],
        [
            {
                **open_dialog(t("teams.compass.fill"), DIALOG, community=community_id),
                "style": "positive",
            },
            open_dialog(t("teams.compass.see"), RESULT, community=community_id),
        ],
    )


# --- the questionnaire ------------------------------------------------------------------------


def build_form(
    t: Translator,
    *,
    community_id: int,
    community_name: str,
    current: compass.Round,
    respondents: int,
    values: Mapping[str, str],
    answered_on: datetime | None = None,
    tz: str | None = None,
    errors: Mapping[str, str] | None = None,
) -> Json:
    """Every statement grouped by dimension, a level each (1–4), filled with `values` (the
    person's answers in this round, or what was just picked), each error under its statement."""
    errors = errors or {}
    body: list[Json] = [
        text_block(say(t, "compass.modal_intro", typed={"name": community_name})),
        note(
            t(
                "compass.modal_round",
                opened=_when(t, current.opened_at, tz),
                closes=_when(t, current.closes_at, tz),
                n=respondents,
            )
        ),
    ]
    if values and answered_on is not None and not errors:
        body.append(note(t("compass.modal_yours", day=_when(t, answered_on, tz))))
    levels = " · ".join(f"{n} {t(f'compass.level.{n}')}" for n in compass.LEVELS)
    body.append(note(t("compass.scale", levels=levels)))
    if errors:
        body.append(text_block(t("teams.form.fix"), color="Attention", weight="Bolder"))
    if TOP in errors:
        body.append(problem(errors[TOP]))
    choices = [
        {"title": f"{level} · {t(f'compass.level.{level}')}", "value": str(level)}
        for level in compass.LEVELS
    ]
    for dim in compass.DIMENSIONS:
        body.append(heading(t(f"compass.dim.{dim.key}")))
        for statement in dim.statements:
            field: Json = {
                "type": "Input.ChoiceSet",
                "id": FIELD + statement,
                "label": t(f"compass.stmt.{statement}"),
                "style": "compact",
                "placeholder": t("compass.placeholder"),
                "choices": choices,
            }
            chosen = values.get(statement)
            if chosen in {c["value"] for c in choices}:
                field["value"] = chosen
            body.append(field)
            if statement in errors:
                body.append(problem(errors[statement]))
    submit = {
        "type": "Action.Submit",
        "title": t("compass.save"),
        "style": "positive",
        "data": {"cop": DIALOG, "community": community_id},
    }
    return card(body, [submit])


def values_of(mine: Mapping[str, int]) -> dict[str, str]:
    """The person's saved answers as the form's values."""
    return {statement: str(level) for statement, level in mine.items()}


def typed_values(data: Mapping[str, Any]) -> dict[str, str]:
    """The form's inputs as picked (only ours): what `compass.validate` checks, and what the
    dialog shows again after an error."""
    return {
        statement: str(data[FIELD + statement])[:8]
        for statement in sorted(compass.STATEMENTS)
        if isinstance(data.get(FIELD + statement), str | int)
    }


def field_errors(t: Translator, exc: InvalidFields) -> dict[str, str]:
    """Each statement's first error, in the reader's language (one naming none: above the form)."""
    errors: dict[str, str] = {}
    for error in exc.errors:
        errors.setdefault(error.field or TOP, t(error.key, **error.params))
    return errors


# --- a round's result -------------------------------------------------------------------------


def _figure(t: Translator, value: float) -> str:
    return t.number(value, 1)


def _dimension_line(
    t: Translator, score: compass.DimensionScore, change: compass.Change | None
) -> str:
    """As Slack's result says it (bot/slack/blocks/compass.py), in Teams' markdown."""
    name = t(f"compass.dim.{score.key}")
    emoji = compass.LEVEL_EMOJI[score.level]
    if score.median is None or score.low is None or score.high is None:
        return markdown(t("compass.dim_none", emoji=emoji, dimension=name))
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
    return markdown(line)


def radar_image(t: Translator, png: bytes, *, name: str, scale: float = 1.0) -> Json:
    """The radar PNG reduced (its size by `scale`, its colours to a small palette), as an Image
    with a data URI."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        reduced = image.convert("RGB").resize(size, Image.Resampling.LANCZOS)
        reduced = reduced.quantize(colors=PALETTE)
        out = io.BytesIO()
        reduced.save(out, format="PNG", optimize=True)
    url = "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()
    return {
        "type": "Image",
        "url": url,
        "altText": t("compass.chart_title", name=name),
        "size": "Stretch",
        "spacing": "Medium",
    }


def build_result(
    t: Translator,
    found: compass.Result,
    *,
    name: str,
    tz: str | None = None,
    lead: str | None = None,  # a catalogue key: "compass.saved" or "compass.changed"
    png: bytes | None = None,  # the radar chart (compass.radar_png)
) -> Json:
    """Medians and spreads per dimension (with the change since the previous round), the radar
    chart when it fits the card, then the weakest dimensions and what to do about each."""
    body: list[Json] = []
    if lead:
        body.append(text_block(say(t, lead, typed={"name": name}), color="Good"))
    body.append(heading(say(t, "compass.title", typed={"name": name})))
    if found.empty:
        body.append(text_block(say(t, "compass.empty", typed={"name": name})))
        return card(body)
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
    body.append(note(round_line))
    changes = {c.key: c for c in found.changes}
    lines = [markdown(t("compass.dims_title"))]
    lines += [_dimension_line(t, d, changes.get(d.key)) for d in found.dimensions]
    body.append(text_block("\n\n".join(lines)))
    if found.previous is not None and found.changes:
        body.append(note(t("compass.compared", day=_when(t, found.previous.opened_at, tz))))
    else:
        body.append(note(t("compass.first_round")))
    chart_at = len(body)
    medians = found.medians()
    if not found.weakest:
        body.append(text_block(markdown(t("compass.all_exemplary")), separator=True))
    else:
        parts = [markdown(t("compass.weakest_title"))]
        for key in found.weakest:
            median = medians[key]
            parts.append(
                markdown(
                    t(
                        "compass.weakest_dim",
                        dimension=t(f"compass.dim.{key}"),
                        median=_figure(t, median) if median is not None else "–",
                    )
                )
            )
            parts += [f"- {t(f'compass.action.{action}')}" for action in dimension_actions(key)]
        body.append(text_block("\n".join(parts), separator=True))
    for scale in SCALES if png is not None else ():
        assert png is not None
        image = radar_image(t, png, name=name, scale=scale)
        with_chart = card([*body[:chart_at], image, *body[chart_at:]])
        if len(json.dumps(with_chart).encode()) <= CARD_MAX_BYTES:
            return with_chart
    # no chart, or too big for a card even small: the lines above say the same figures
    return card(body)


def dimension_actions(key: str) -> tuple[str, ...]:
    return compass.dimension(key).actions


# --- the programme's heatmap ------------------------------------------------------------------

HEATMAP_ROWS = 40  # as Slack's grid; the report and the dashboard show every community


def legend(t: Translator) -> str:
    columns = " · ".join(
        f"{i}. {t(f'compass.dim_short.{key}')}" for i, key in enumerate(compass.DIMENSION_KEYS, 1)
    )
    levels = " · ".join(
        [f"{compass.LEVEL_EMOJI[n]} {t(f'compass.level.{n}')}" for n in compass.LEVELS]
        + [f"{compass.LEVEL_EMOJI[None]} {t('compass.no_answer')}"]
    )
    return f"{t('compass.heatmap_columns', columns=columns)}\n\n{levels}"


def build_heatmap(t: Translator, found: compass.Heatmap) -> Json:
    """Communities × dimensions, the least advanced first (as Slack's, the report's and the
    dashboard's): a coloured square per dimension, then the community's name as typed."""
    body: list[Json] = [heading(t("compass.heatmap_title"))]
    if not found.rows:
        body.append(text_block(markdown(t("compass.heatmap_empty"))))
        return card(body)
    body.append(note(legend(t) + "\n\n" + t("compass.heatmap_order")))
    lines = [
        say(
            t,
            "compass.heatmap_row",
            typed={"name": row.name},
            cells="".join(compass.LEVEL_EMOJI[level] for level in row.levels),
            n=row.respondents,
            survey=t("compass.heatmap_survey") if row.survey else "",
            day=t.date(row.opened_at.date()),
        )
        for row in found.rows[:HEATMAP_ROWS]
    ]
    body.append(text_block("\n\n".join(lines)))
    extra = []
    if len(found.rows) > HEATMAP_ROWS:
        extra.append(t("compass.heatmap_more", count=t.number(len(found.rows) - HEATMAP_ROWS)))
    if found.unassessed:
        extra.append(t("compass.heatmap_unassessed", n=found.unassessed))
    if extra:
        body.append(note("\n\n".join(extra)))
    return card(body)
