"""The value report for sponsors, and the tables behind it as CSV and XLSX.

HTML: one self-contained file (styles inline, charts embedded as base64 PNG), rendered from
bot/templates/report.html.j2 with autoescaping, with a print stylesheet so a browser saves it as
a PDF, one section a page.
CSV/XLSX: the same tables; any text cell a spreadsheet would read as a formula (starting with
= + - @, a tab or a carriage return) gets a leading apostrophe, so an exported community name
or story title can never run as a formula. Control characters someone typed (or pasted) in a
name or a story are dropped from every export: XLSX cannot hold them (openpyxl refuses the
whole file) and they have no business in a CSV or a page either.
"""

from __future__ import annotations

import base64
import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
import sqlalchemy as sa
from markupsafe import Markup
from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy.ext.asyncio import AsyncSession

from bot import charts, disclosure, figures, health, kpis, lifecycle, periods
from bot import compass as compass_mod
from bot import stories as stories_mod
from bot.config import Engagement, HealthThresholds
from bot.figures import name
from bot.i18n import Translator
from bot.kpis import WindowKpis
from bot.models import Community, SuccessStory, utcnow
from bot.programme import Workspaces
from bot.programme import first as first_workspace
from bot.programme import where as in_workspaces

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# C0 controls but tab, line feed and carriage return: what XML 1.0 (so XLSX) cannot hold
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
TOP_STORIES = 10

Cell = str | int | float | None
Table = tuple[list[str], list[list[Cell]]]


def printable(text: str) -> str:
    """Text without the control characters an export cannot hold (the export edge's one step)."""
    return _CONTROL.sub("", text)


def neutralise(value: Cell) -> Cell:
    """A text cell that would start a formula gets a leading apostrophe, and loses control
    characters; numbers pass."""
    if isinstance(value, str):
        value = printable(value)
        if value.startswith(_FORMULA_START):
            return "'" + value
    return value


@dataclass(frozen=True, slots=True)
class Story:
    community: str
    title: str
    benefit: str
    value_kind: str | None
    amount: float | None
    unit: str | None
    created: date


@dataclass(frozen=True, slots=True)
class SponsorReport:
    programme_name: str
    window: periods.Window
    kpis: WindowKpis  # the window's figures, programme and communities
    health: list[health.Health]
    trend: list[WindowKpis]  # month by month
    stories: list[Story]
    compass: compass_mod.Heatmap | None = None  # the latest compass round of each community
    survey: Any = None  # the latest closed annual survey (bot.survey.Results), through the rule

    @property
    def has_data(self) -> bool:
        return self.kpis.programme.has_data


async def build(
    session: AsyncSession,
    *,
    workspace_id: Workspaces,
    window: periods.Window,
    programme_name: str,
    thresholds: HealthThresholds,
    question_kinds: Mapping[str, str] | None = None,
    now: datetime | None = None,
    rule: disclosure.Rule,
    community_ids: Iterable[int] | None = None,
    engagement_rule: Engagement | None = None,
) -> SponsorReport:
    """The report of the whole programme, or of the communities given (`community_ids`: a
    community's own report, its figures standing where the programme's would). `workspace_id`
    may be the programme's linked workspaces (bot.programme: Slack and Teams at once)."""
    now = now or utcnow()
    # a period still running is reported, and charted, up to today only (« à date »)
    window = periods.so_far(window, now.astimezone(ZoneInfo(window.tz)).date())
    wanted = None if community_ids is None else list(community_ids)
    report = await kpis.compute(
        session,
        workspace_id=workspace_id,
        window=window,
        question_kinds=question_kinds,
        community_ids=wanted,
        now=now,
        rule=rule,
        charter_stale_days=thresholds.charter_stale_days,
        engagement_rule=engagement_rule,
    )
    trend = [
        await kpis.compute(
            session,
            workspace_id=workspace_id,
            window=m,
            question_kinds=question_kinds,
            community_ids=wanted,
            now=now,
            rule=rule,
            charter_stale_days=thresholds.charter_stale_days,
        )
        for m in periods.months(window)
    ]
    as_of = window.last_day
    items = await health.overview(
        session,
        workspace_id=workspace_id,
        today=as_of,
        thresholds=thresholds,
        community_ids=wanted,
        question_kinds=question_kinds,
        now=now,
        rule=rule,
    )
    start_dt, end_dt = window.bounds()
    rows = await session.execute(
        sa.select(SuccessStory, Community.name)
        .join(Community, Community.id == SuccessStory.community_id)
        .where(
            in_workspaces(Community.workspace_id, workspace_id),
            stories_mod.counted(),
            SuccessStory.created_at >= start_dt,
            SuccessStory.created_at < end_dt,
            *([] if wanted is None else [SuccessStory.community_id.in_(wanted)]),
        )
        .order_by(
            SuccessStory.value_amount.desc().nulls_last(),
            SuccessStory.created_at.desc(),
        )
        .limit(TOP_STORIES)
    )
    stories = [
        Story(
            community=name,
            title=story.title,
            benefit=story.benefit,
            value_kind=story.value_kind.value if story.value_kind else None,
            amount=float(story.value_amount) if isinstance(story.value_amount, Decimal) else None,
            unit=story.value_unit,
            created=story.created_at.date(),
        )
        for story, name in rows
    ]
    from bot import survey  # the annual member survey: programme aggregated, or one community's

    annual = (
        await survey.headline(  # the annual survey is run per workspace: the one asking
            session,
            workspace_id=first_workspace(workspace_id),
            rule=rule,
            community_id=wanted[0] if wanted else None,
        )
        if wanted is None or len(wanted) == 1
        else None
    )
    heat = await compass_mod.heatmap(session, workspace_id=workspace_id, community_ids=wanted)
    return SponsorReport(programme_name, window, report, items, trend, stories, heat, survey=annual)


# --- tables -------------------------------------------------------------------------------------


def _rate(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _survey_rows(t: Translator, p: kpis.Kpis, key: str, value: Cell) -> list[list[Cell]]:
    """A survey figure's row and its n (answers, communities); withheld, the reason stands
    where the number would (bot/disclosure.py decided)."""
    _, answers, withheld, communities = figures.survey_parts(p, key)
    shown: Cell = figures.survey(t, p, key) if withheld is not None else value
    return [
        [name(t, key), shown],
        [t("report.kpi.answers", figure=name(t, key)), answers],
        [t("report.kpi.answer_communities", figure=name(t, key)), communities],
    ]


def programme_table(t: Translator, report: SponsorReport) -> Table:
    p = report.kpis.programme
    rows: list[list[Cell]] = [
        [name(t, "communities"), p.communities],
        [name(t, "members_unique"), p.members_unique],
        [name(t, "members_summed"), p.members_summed],
        [t("report.kpi.overlap_1"), p.overlap.get("1", 0)],
        [t("report.kpi.overlap_2"), p.overlap.get("2", 0)],
        [t("report.kpi.overlap_3"), p.overlap.get("3+", 0)],
        [name(t, "new_members"), p.new_members],
        [name(t, "departed_members"), p.departed_members],
        [name(t, "active_members"), p.active_members],
        [name(t, "active_rate"), _rate(p.active_rate)],
        [name(t, "messages"), p.messages],
        [name(t, "replies"), p.replies],
        [name(t, "reactions"), p.reactions],
        [name(t, "events_held"), p.events_held],
        [name(t, "attendance"), p.attendance],
        [name(t, "webinars_held"), p.webinars_held],
        [name(t, "other_events_held"), p.other_events_held],
        [name(t, "attendance_rsvp"), _rate(p.attendance_rsvp)],
        [name(t, "charters"), p.charter_up_to_date],
        *_survey_rows(t, p, "pulse", p.pulse_score),
        *_survey_rows(t, p, "enps", None if p.enps is None else round(p.enps)),
        [name(t, "response_rate"), _rate(p.response_rate)],
        [name(t, "stories"), p.stories],
        [name(t, "stories_pending"), p.stories_pending],
        [name(t, "testimonials"), p.testimonials],
        [name(t, "objectives_achieved"), _rate(p.objectives_rate)],
        *_tier_rows(t, p),
    ]
    rows += [
        [t("report.kpi.value", figure=name(t, "value"), unit=t.unit(unit)), amount]
        for unit, amount in t.sorted(p.value_by_unit.items(), key=lambda kv: t.unit(kv[0]))
    ]
    return [t("report.col.indicator"), t("report.col.value")], rows


def _tier_rows(t: Translator, k: kpis.Kpis) -> list[list[Cell]]:
    """The engagement tiers as counts, and retention (bot/engagement.py): never who."""
    return [
        [t("engagement.col.core"), k.engaged_core],
        [t("engagement.col.active"), k.engaged_active],
        [t("engagement.col.peripheral"), k.engaged_peripheral],
        [name(t, "retention"), _rate(k.retention)],
    ]


PLATFORM_NAMES = {"slack": "Slack", "teams": "Teams"}  # names, the same in every language


def communities_table(t: Translator, report: SponsorReport) -> Table:
    status = {h.signals.community_id: h for h in report.health}
    # a programme on Slack and Teams at once (bot/programme.py): each community's platform
    platform = {h.signals.community_id: h.signals.platform for h in report.health}
    mixed = len(set(platform.values())) > 1
    headers = [
        t("report.col.community"),
        *([t("report.col.platform")] if mixed else []),
        t("report.col.status"),
        name(t, "members"),
        name(t, "new_members"),
        name(t, "departed_members"),
        name(t, "active_members"),
        name(t, "active_rate"),
        name(t, "messages"),
        name(t, "replies"),
        name(t, "reactions"),
        name(t, "events_held"),
        name(t, "attendance"),
        name(t, "webinars_held"),
        name(t, "other_events_held"),
        name(t, "attendance_rsvp"),
        name(t, "charters"),
        name(t, "pulse"),
        name(t, "enps"),
        name(t, "response_rate"),
        name(t, "stories"),
        name(t, "value"),
        name(t, "objectives_achieved"),
        *(str(label) for label, _ in _tier_rows(t, kpis.Kpis())),
        *compass_headers(t),
    ]
    heat = report.compass.by_community() if report.compass else {}
    rows: list[list[Cell]] = []
    for c in report.kpis.communities:
        h = status.get(c.community_id)
        rows.append(
            [
                c.name,
                *([PLATFORM_NAMES.get(platform.get(c.community_id, ""))] if mixed else []),
                t(f"health.status.{h.status.value}") if h else None,
                c.members,
                c.new_members,
                c.departed_members,
                c.active_members,
                _rate(c.active_rate),
                c.messages,
                c.replies,
                c.reactions,
                c.events_held,
                c.attendance,
                c.webinars_held,
                c.other_events_held,
                _rate(c.attendance_rsvp),
                t("report.yes") if c.charter_up_to_date else t("report.no"),
                c.pulse_score,
                None if c.enps is None else round(c.enps),
                _rate(c.response_rate),
                c.stories,
                "; ".join(stories_mod.value_phrases(t, c.value_by_unit, c.value_stories_by_unit)),
                _rate(c.objectives_rate),
                *(value for _, value in _tier_rows(t, c)),
                *compass_cells(heat.get(c.community_id)),
            ]
        )
    return headers, rows


def compass_headers(t: Translator) -> list[str]:
    """The compass's columns of the communities table: a median per dimension."""
    return [
        t("compass.col.median", dimension=t(f"compass.dim_short.{key}"))
        for key in compass_mod.DIMENSION_KEYS
    ]


def compass_cells(row: compass_mod.HeatmapRow | None) -> list[Cell]:
    return list(row.medians) if row else [None] * len(compass_mod.DIMENSION_KEYS)


def compass_section(t: Translator, heat: compass_mod.Heatmap | None) -> dict[str, Any] | None:
    """The heatmap as the page shows it: one row per community, a coloured cell per
    dimension (its median on 1–4), the number of respondents and the round's date."""
    if heat is None or not heat.rows:
        return None
    headers = [
        t("compass.col.community"),
        *(t(f"compass.dim_short.{key}") for key in compass_mod.DIMENSION_KEYS),
        t("compass.col.respondents"),
        t("compass.col.round"),
    ]
    rows = [
        {
            "name": row.name,
            "cells": [
                {
                    "text": "—" if m is None else t.number(m, 1),
                    "colour": compass_mod.LEVEL_COLOURS[level],
                    "title": t(f"compass.level.{level}") if level else t("compass.no_answer"),
                }
                for m, level in zip(row.medians, row.levels, strict=True)
            ],
            "respondents": t.number(row.respondents),
            "day": t.date(row.opened_at.date()),
        }
        for row in heat.rows
    ]
    legend = [
        {"colour": compass_mod.LEVEL_COLOURS[n], "text": f"{n} · {t(f'compass.level.{n}')}"}
        for n in compass_mod.LEVELS
    ]
    return {
        "heading": t("compass.report_heading"),
        "intro": t("compass.report_intro"),
        "headers": headers,
        "rows": rows,
        "legend": legend,
        "unassessed": t("compass.heatmap_unassessed", n=heat.unassessed) if heat.unassessed else "",
    }


def stories_table(t: Translator, report: SponsorReport) -> Table:
    headers = [
        t("report.col.community"),
        t("report.col.title"),
        t("report.col.kind"),
        t("report.col.amount"),
        t("report.col.unit"),
        t("report.col.benefit"),
        t("report.col.date"),
    ]
    rows: list[list[Cell]] = [
        [
            s.community,
            s.title,
            t(f"report.kind.{s.value_kind or 'unspecified'}"),
            s.amount,
            t.unit(s.unit) if s.unit else None,
            s.benefit,
            s.created.isoformat(),
        ]
        for s in report.stories
    ]
    return headers, rows


def _suggested(t: Translator, review: lifecycle.Review | None) -> str | None:
    if review is None or review.suggestion is None:
        return None
    return t(f"health.stage.{review.suggestion.stage.value}")


def health_table(
    t: Translator,
    items: Sequence[health.Health],
    reviews: Mapping[int, lifecycle.Review] | None = None,
) -> Table:
    """The /cop health ranking, every community, for the export buttons: the stage people set,
    its lifecycle status, and the stage the signals suggest when it differs (`reviews`)."""
    headers = [
        t("health.col.community"),
        t("health.col.status"),
        t("health.col.reasons"),
        t("health.col.action"),
        t("health.col.stage"),
        t("lifecycle.col.status"),
        t("lifecycle.col.suggested"),
        name(t, "members"),
        t("health.col.active"),
        t("health.col.active_rate"),
        t("health.col.last_event"),
        name(t, "pulse"),
    ]
    rows: list[list[Cell]] = [
        [
            h.signals.name,
            t(f"health.status.{h.status.value}"),
            " · ".join(health.explain(t, r) for r in h.reasons),
            health.explain(t, h.action),
            t(f"health.stage.{h.stage.value}"),
            t(f"lifecycle.status.{h.signals.lifecycle_status.value}"),
            _suggested(t, (reviews or {}).get(h.signals.community_id)),
            h.signals.members,
            h.signals.active_recent,
            _rate(h.active_rate),
            h.signals.last_event.isoformat() if h.signals.last_event else None,
            h.signals.pulse_score,
        ]
        for h in items
    ]
    return headers, rows


@dataclass(frozen=True, slots=True)
class CsvDialect:
    """How a spreadsheet of the reader's locale splits a CSV: a French Excel wants semicolons
    and decimal commas, an English one commas and decimal points."""

    name: str
    delimiter: str
    decimal: str

    def cell(self, value: Cell) -> Cell:
        if isinstance(value, float):
            return str(value).replace(".", self.decimal)
        return value


CSV_DIALECTS = {"fr": CsvDialect("fr", ";", ","), "en": CsvDialect("en", ",", ".")}


def csv_dialect(language: str, forced: str | None = None) -> CsvDialect:
    """The one place every CSV export picks its dialect: `forced` (fr or en), else the
    reader's language (anything but French reads as English)."""
    return CSV_DIALECTS.get(forced or language, CSV_DIALECTS["en"])


def to_csv(table: Table, dialect: CsvDialect = CSV_DIALECTS["en"]) -> bytes:
    """UTF-8 with a BOM (so Excel reads accents), formula-looking cells neutralised, in the
    reader's dialect (csv_dialect)."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=dialect.delimiter)
    headers, rows = table
    writer.writerow([neutralise(h) for h in headers])
    for row in rows:
        writer.writerow(["" if v is None else dialect.cell(neutralise(v)) for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(sheets: Sequence[tuple[str, Table]]) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, (headers, rows) in sheets:
        sheet = workbook.create_sheet(title=printable(title)[:31])
        sheet.append([neutralise(h) for h in headers])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append([neutralise(v) for v in row])
        for i, header in enumerate(headers, start=1):
            width = max([len(str(header)), *(len(str(r[i - 1] or "")) for r in rows[:200])])
            sheet.column_dimensions[sheet.cell(1, i).column_letter].width = min(60, width + 2)
        sheet.freeze_panes = "A2"
    buf = io.BytesIO()
    workbook.save(buf)
    return buf.getvalue()


def survey_table(t: Translator, report: SponsorReport) -> Table:
    """The latest annual survey, one row per scored question: this year, last year (the
    programme), as the disclosure rule lets them show."""
    results = report.survey
    of = len(report.health) if results is not None and results.community_id is None else None
    return survey_rows(t, results, of=of)


def survey_rows(t: Translator, results: Any, *, of: int | None) -> Table:
    """A survey's headline (bot.survey.Results or None) as a table: the report, the health
    export's XLSX sheet."""
    from bot import survey

    headers = [t("survey.col.question"), t("survey.col.value"), t("survey.col.last_year")]
    if results is None:
        return headers, []
    rows: list[list[Cell]] = [
        [t("survey.col.rate", year=results.year), t.percent(results.response_rate), ""]
    ]
    for row in survey.headline_rows(t, results, of=of):
        text = row.text.get(t.language) or next(iter(row.text.values()), "")
        rows.append([text, row.value, row.last_year or ""])
    return headers, rows


def survey_sheets(t: Translator, results: Any, *, of: int | None) -> list[tuple[str, Table]]:
    """The survey's sheet for an XLSX export, when there is a closed survey to show."""
    return [] if results is None else [(t("survey.sheet"), survey_rows(t, results, of=of))]


def report_csv(t: Translator, report: SponsorReport) -> bytes:
    return to_csv(communities_table(t, report), csv_dialect(t.language))


def report_xlsx(t: Translator, report: SponsorReport) -> bytes:
    return to_xlsx(
        [
            (t("report.sheet.programme"), programme_table(t, report)),
            (t("report.sheet.communities"), communities_table(t, report)),
            (t("report.sheet.stories"), stories_table(t, report)),
            *([(t("survey.sheet"), survey_table(t, report))] if report.survey is not None else []),
        ]
    )


# --- charts and HTML -----------------------------------------------------------------------------


def report_charts(t: Translator, report: SponsorReport) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    if report.trend:
        out["trend"] = charts.trend(
            title=t("report.chart.trend"),
            # a month still running says so: its bar is short because the month is
            labels=[
                t("report.month_to_date", period=t.period(m.window, short=True))
                if m.window.running
                else t.period(m.window, short=True)
                for m in report.trend
            ],
            active=[m.programme.active_members for m in report.trend],
            messages=[m.programme.messages + m.programme.replies for m in report.trend],
            active_label=t("health.chart_active"),
            messages_label=t("health.chart_messages"),
            number=t.axis_number,
        )
    counts = health.count_by_status(report.health)
    if report.health:
        out["status"] = charts.bars(
            title=t("report.chart.status"),
            labels=[t(f"health.status.{s.value}").split(" ", 1)[-1] for s in counts],
            values=list(counts.values()),
            colours=[charts.STATUS_COLOURS[s.value] for s in counts],
            number=t.axis_number,
        )
    kinds = report.kpis.programme.stories_by_kind
    if kinds:
        out["kinds"] = charts.bars(
            title=t("report.chart.kinds"),
            labels=[t(f"report.kind.{k}") for k in kinds],
            values=[v.count for v in kinds.values()],
            number=t.axis_number,
        )
    return out


def _text(value: Any) -> Any:
    """Every {{ }} of the template: typed text loses its control characters; markup and numbers
    pass (autoescape then turns what is left into text, never markup)."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return printable(value)
    return "" if value is None else value


_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("bot", "templates"),
    autoescape=jinja2.select_autoescape(enabled_extensions=("html", "html.j2")),
    undefined=jinja2.StrictUndefined,
    finalize=_text,
)


@dataclass(frozen=True, slots=True)
class _Cell:
    text: str
    number: bool


@dataclass(frozen=True, slots=True)
class _Image:
    data: str  # base64 PNG
    alt: str


def _cells(t: Translator, table: Table) -> dict[str, Any]:
    """A table with each cell shown as the reader reads it: numbers in the reader's format."""
    headers, rows = table

    def cell(value: Cell) -> _Cell:
        if value is None:
            return _Cell("—", True)
        if isinstance(value, int | float):
            return _Cell(t.number(value, digits=2), True)
        return _Cell(str(value), False)

    return {"headers": headers, "rows": [[cell(v) for v in row] for row in rows]}


def _images(t: Translator, pngs: Mapping[str, bytes], *names: str) -> list[_Image]:
    return [
        _Image(base64.b64encode(pngs[n]).decode(), t(f"report.chart.{n}"))
        for n in names
        if n in pngs
    ]


def _rate_shown(t: Translator, value: float | None) -> str:
    return t("health.na") if value is None else t.percent(value)


def _score_shown(t: Translator, value: float | None) -> str:
    return t("health.na") if value is None else t.number(value)


def _level1_section(t: Translator, p: kpis.ProgrammeKpis, pngs: Mapping[str, bytes]) -> dict:
    """Participation and adoption: members, activity, events, charters, and the overlap."""
    return {
        "heading": t("report.level1"),
        "cards": [
            (name(t, "members_unique"), t.number(p.members_unique)),
            (name(t, "members_summed"), t.number(p.members_summed)),
            (name(t, "active_members"), t.number(p.active_members)),
            (name(t, "active_rate"), _rate_shown(t, p.active_rate)),
            # top-level messages, replies apart: what the XLSX and /cop health call them too
            (name(t, "messages"), t.number(p.messages)),
            (name(t, "replies"), t.number(p.replies)),
            (name(t, "events_held"), t.number(p.events_held)),
            (name(t, "attendance"), t.number(p.attendance)),
            (name(t, "webinars_held"), t.number(p.webinars_held)),
            (name(t, "other_events_held"), t.number(p.other_events_held)),
            (name(t, "attendance_rsvp"), _rate_shown(t, p.attendance_rsvp)),
            (
                name(t, "charters"),
                f"{t.number(p.charter_up_to_date)} / {t.number(p.communities)}",
            ),
        ],
        "overlap": t(
            "health.totals_overlap",
            one=t.number(p.overlap.get("1", 0)),
            two=t.number(p.overlap.get("2", 0)),
            more=t.number(p.overlap.get("3+", 0)),
        ).replace("*", ""),
        "charts": _images(t, pngs, "trend", "status"),
    }


def _level2_section(t: Translator, p: kpis.Kpis, *, of: int | None) -> dict:
    """Engagement and perceived value: each survey figure with its n (answers, and how many of
    the programme's communities they come from), or why it is withheld; the response rate."""
    return {
        "heading": t("report.level2"),
        "cards": [
            (name(t, "pulse"), figures.survey(t, p, "pulse", of=of)),
            (name(t, "enps"), figures.survey(t, p, "enps", of=of)),
            (name(t, "response_rate"), _rate_shown(t, p.response_rate)),
            (name(t, "engagement_tiers"), figures.tiers(t, p)),
            (name(t, "retention"), figures.retention(t, p)),
        ],
    }


def _level3_section(
    t: Translator, p: kpis.ProgrammeKpis, stories: Sequence[Story], pngs: Mapping[str, bytes]
) -> dict:
    """Tangible value: validated stories and their value, by kind, and the top stories."""
    kind_rows: list[list[Cell]] = [
        [
            t(f"report.kind.{kind}"),
            v.count,
            "; ".join(stories_mod.value_phrases(t, v.value, v.value_stories)) or "—",
        ]
        for kind, v in sorted(p.stories_by_kind.items(), key=lambda kv: -kv[1].count)
    ]
    kind_headers = [t("report.col.kind"), name(t, "stories"), name(t, "value")]
    return {
        "heading": t("report.level3"),
        "cards": [
            (name(t, "stories"), t.number(p.stories)),
            *(
                [(name(t, "stories_pending"), t.number(p.stories_pending))]
                if p.stories_pending
                else []
            ),
            (name(t, "objectives_achieved"), figures.objectives(t, p)),
            *(
                (t("report.kpi.value", figure=name(t, "value"), unit=t.unit(unit)), phrase)
                for unit, phrase in zip(
                    t.sorted(p.value_by_unit, key=t.unit),
                    stories_mod.value_phrases(t, p.value_by_unit, p.value_stories_by_unit),
                    strict=True,
                )
            ),
        ],
        "kinds": _cells(t, (kind_headers, kind_rows)) if kind_rows else None,
        "charts": _images(t, pngs, "kinds"),
        "stories_heading": t("report.top_stories"),
        "stories": [
            {
                "title": s.title or t("report.untitled"),
                "community": s.community,
                "kind": t(f"report.kind.{s.value_kind or 'unspecified'}"),
                "value": f" — {t.number(s.amount)} {s.unit}"
                if s.amount is not None and s.unit
                else "",
                "benefit": s.benefit,
            }
            for s in stories
        ],
    }


def to_html(t: Translator, report: SponsorReport) -> str:
    """The page (bot/templates/report.html.j2): one section per level, then every community."""
    p = report.kpis.programme
    w = report.window
    pngs = report_charts(t, report)
    return _TEMPLATES.get_template("report.html.j2").render(
        lang=t.language,
        title=t("report.title", programme=report.programme_name),
        period=t(
            "report.period_to_date" if w.running else "report.period",
            period=w,
            start=t.date(w.start),
            end=t.date(w.end - timedelta(days=1)),
        ),
        no_data=None if report.has_data else t("report.no_data"),
        level1=_level1_section(t, p, pngs),
        level2=_level2_section(t, p, of=p.communities if p.communities > 1 else None),
        level3=_level3_section(t, p, report.stories, pngs),
        survey=(
            {"heading": t("survey.report_heading"), "table": _cells(t, survey_table(t, report))}
            if report.survey is not None
            else None
        ),
        communities={
            "heading": t("report.communities"),
            "table": _cells(t, communities_table(t, report)),
        },
        footer=t("report.footer", day=t.date(utcnow().date())),
        compass=compass_section(t, report.compass),
    )
