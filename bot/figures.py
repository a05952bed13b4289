"""The KPI vocabulary: every figure the programme reports, once.

A figure has one key, one level of the value model (sources 000/001: 1 adoption and
participation, 2 engagement and satisfaction, 3 tangible value), one name and one definition
per language (catalogue keys `figure.<key>` and `figure.<key>.definition`, bot/i18n/*/figures.po),
the surfaces it shows on, and one way to read it from the figures bot.kpis computed. Every
surface (/cop health, the App Home, the exports, the HTML report, the CLI, the dashboard, the
sponsor digest) names a figure through `name`, so "Messages" or "Perceived value" means the same
thing wherever it is read; docs/kpis.md is generated from this table (`cop kpis docs`).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.i18n import Translator
from bot.kpis import Kpis, ProgrammeKpis


class Surface(enum.StrEnum):
    HEALTH = "health"  # /cop health, programme and community
    HOME = "home"  # the App Home
    REPORT = "report"  # the HTML value report (CLI and /cop report)
    EXPORT = "export"  # the report's CSV and XLSX tables
    CLI = "cli"  # cop health / cop report in a terminal
    DASHBOARD = "dashboard"  # the live dashboard
    DIGEST = "digest"  # the quarterly sponsor digest


class Scope(enum.StrEnum):
    PROGRAMME = "programme"  # only the programme has it (unique members, communities)
    BOTH = "both"  # each community and the programme


def _programme(read: Callable[[ProgrammeKpis], Any]) -> Callable[[Kpis], Any]:
    def get(k: Kpis) -> Any:
        return read(k) if isinstance(k, ProgrammeKpis) else None

    return get


ALL = tuple(Surface)
_NO_HOME = tuple(s for s in Surface if s != Surface.HOME)


@dataclass(frozen=True, slots=True)
class Figure:
    key: str
    level: int
    read: Callable[[Kpis], Any]
    shows_on: tuple[Surface, ...]
    scope: Scope = Scope.BOTH
    survey: bool = False  # goes through bot/disclosure.py, carries its n

    @property
    def name_key(self) -> str:
        return f"figure.{self.key}"

    @property
    def definition_key(self) -> str:
        return f"figure.{self.key}.definition"


FIGURES: tuple[Figure, ...] = (
    # --- level 1: adoption and participation
    Figure(
        "communities",
        1,
        _programme(lambda p: p.communities),
        (Surface.HEALTH, Surface.HOME, Surface.REPORT, Surface.EXPORT, Surface.DASHBOARD),
        Scope.PROGRAMME,
    ),
    Figure("members_unique", 1, _programme(lambda p: p.members_unique), ALL, Scope.PROGRAMME),
    Figure(
        "members_summed",
        1,
        _programme(lambda p: p.members_summed),
        (Surface.HEALTH, Surface.REPORT, Surface.EXPORT, Surface.CLI),
        Scope.PROGRAMME,
    ),
    Figure("members", 1, lambda k: k.members, _NO_HOME),
    Figure("new_members", 1, lambda k: k.new_members, _NO_HOME),
    Figure("departed_members", 1, lambda k: k.departed_members, _NO_HOME),
    Figure("active_members", 1, lambda k: k.active_members, _NO_HOME),
    Figure("active_rate", 1, lambda k: k.active_rate, _NO_HOME),
    Figure("messages", 1, lambda k: k.messages, _NO_HOME),
    Figure("replies", 1, lambda k: k.replies, _NO_HOME),
    Figure("reactions", 1, lambda k: k.reactions, _NO_HOME),
    Figure("events_held", 1, lambda k: k.events_held, _NO_HOME),
    Figure("attendance", 1, lambda k: k.attendance, _NO_HOME),
    Figure("charters", 1, lambda k: k.charter_up_to_date, _NO_HOME),
    # --- level 2: engagement and satisfaction (surveys, through the disclosure rule)
    Figure("pulse", 2, lambda k: k.pulse_score, _NO_HOME, survey=True),
    Figure("enps", 2, lambda k: k.enps, _NO_HOME, survey=True),
    Figure("response_rate", 2, lambda k: k.response_rate, _NO_HOME),
    # --- level 3: tangible value (validated stories only: bot/stories.py)
    Figure("stories", 3, lambda k: k.stories, _NO_HOME),
    Figure(
        "stories_pending",
        3,
        lambda k: k.stories_pending,
        (Surface.HEALTH, Surface.REPORT, Surface.EXPORT, Surface.DASHBOARD, Surface.DIGEST),
    ),
    Figure("testimonials", 3, lambda k: k.testimonials, (Surface.EXPORT,)),
    Figure("value", 3, lambda k: dict(k.value_by_unit), _NO_HOME),
    Figure(
        "objectives_achieved",
        3,
        lambda k: k.objectives_rate,
        (Surface.HEALTH, Surface.REPORT, Surface.EXPORT, Surface.DASHBOARD, Surface.DIGEST),
    ),
    # --- level 2: engagement tiers (bot/engagement.py): counts only, a person's own tier is shown
    # to that person alone (their App Home, /cop me), never as a figure
    Figure(
        "engagement_tiers",
        2,
        lambda k: (k.engaged_core, k.engaged_active, k.engaged_peripheral),
        (Surface.HEALTH, Surface.HOME, Surface.REPORT, Surface.EXPORT, Surface.DASHBOARD),
    ),
    Figure(
        "retention",
        2,
        lambda k: k.retention,
        (
            Surface.HEALTH,
            Surface.HOME,
            Surface.REPORT,
            Surface.EXPORT,
            Surface.DASHBOARD,
            Surface.DIGEST,
        ),
    ),
    # --- events apart by kind, and attendance over RSVP (level 1)
    Figure(
        "webinars_held",
        1,
        lambda k: k.webinars_held,
        (Surface.HEALTH, Surface.REPORT, Surface.EXPORT, Surface.DASHBOARD),
    ),
    Figure(
        "other_events_held",
        1,
        lambda k: k.other_events_held,
        (Surface.HEALTH, Surface.REPORT, Surface.EXPORT, Surface.DASHBOARD),
    ),
    Figure(
        "attendance_rsvp",
        1,
        lambda k: k.attendance_rsvp,
        (Surface.HEALTH, Surface.REPORT, Surface.EXPORT, Surface.DASHBOARD),
    ),
)

BY_KEY = {f.key: f for f in FIGURES}


def figure(key: str) -> Figure:
    return BY_KEY[key]


def name(t: Translator, key: str) -> str:
    """The figure's name in the reader's language: the one every surface shows."""
    return t(BY_KEY[key].name_key)


def read(key: str, kpis: Kpis) -> Any:
    return BY_KEY[key].read(kpis)


def survey_parts(kpis: Kpis, key: str) -> tuple[float | None, int, str | None, int]:
    """A survey figure as the disclosure rule left it: value, answers, why withheld, communities."""
    if key == "pulse":
        return kpis.pulse_score, kpis.pulse_answers, kpis.pulse_withheld, kpis.pulse_communities
    if key == "enps":
        return kpis.enps, kpis.enps_answers, kpis.enps_withheld, kpis.enps_communities
    raise KeyError(key)


def survey(t: Translator, kpis: Kpis, key: str, *, of: int | None = None) -> str:
    """A survey figure with its n: « 4,2 / 5 — 5 réponses », and over several communities (`of`,
    the programme's count) « 4,2 / 5 — 5 réponses, 1 communauté sur 220 »; under the disclosure
    threshold, why there is no number. The one writing of a survey figure on every surface
    that has a translator (the digest writes the same through neutral messages)."""
    value, answers, withheld, communities = survey_parts(kpis, key)
    if withheld is not None:
        return t(f"health.withheld.{withheld}", answers=t.number(answers))
    if value is None:
        return t("health.na")
    shown = t.whole(value) if key == "enps" else f"{t.number(value)} / {t.number(5)}"
    if of is None:
        return t("health.with_n", value=shown, answers=t.number(answers))
    return t(
        "health.with_n_programme",
        value=shown,
        answers=t.number(answers),
        communities=t.number(communities),
        of=t.number(of),
    )


def objectives(t: Translator, kpis: Kpis) -> str:
    """ "Objectives achieved" with what it counts: « 2 sur 3 (67 %) », or that there are none for
    the year: the one writing of the figure on every surface that has a translator (the digest
    writes the same through neutral messages)."""
    rate = kpis.objectives_rate
    if rate is None:
        return t("objectives.none_counted")
    return t(
        "objectives.achieved_of",
        achieved=t.number(kpis.objectives_achieved),
        counted=t.number(kpis.objectives_counted),
        rate=t.percent(rate),
    )


def tiers(t: Translator, kpis: Kpis) -> str:
    """The engagement tiers as counts, never who: « 3 au cœur · 12 actifs · 25 périphériques »;
    the one writing of the figure on every surface that has a translator."""
    return t(
        "engagement.tiers",
        core=t.number(kpis.engaged_core),
        active=t.number(kpis.engaged_active),
        peripheral=t.number(kpis.engaged_peripheral),
    )


def retention(t: Translator, kpis: Kpis) -> str:
    """Retention with what it counts: « 60 % (6 sur 10) », or that nobody was active in the
    previous period: the one writing of the figure."""
    rate = kpis.retention
    if rate is None:
        return t("engagement.retention_none")
    return t(
        "engagement.retention",
        rate=t.percent(rate),
        retained=t.number(kpis.retained),
        of=t.number(kpis.retained_of),
    )


def named(t: Translator, key: str, value: str, *, period: str | None = None) -> str:
    """« Fidélité des membres actifs : 60 % (6 sur 10) »; with `period`, « … ce mois-ci : … »."""
    if period is None:
        return t("engagement.named", name=name(t, key), value=value)
    return t("engagement.named_period", name=name(t, key), period=period, value=value)


_LEVELS = {1: "adoption and participation", 2: "engagement and satisfaction", 3: "tangible value"}


def markdown(fr: Translator, en: Translator) -> str:
    """docs/kpis.md: every figure, its names, definitions, level and surfaces (`cop kpis docs`)."""
    lines = [
        "# KPI vocabulary",
        "",
        "Generated from `bot/figures.py` and the catalogues (`bot/i18n/*/figures.po`) by",
        "`cop kpis docs`; `tests/test_figures.py` fails when this file drifts. Every surface",
        "names a figure by these names and reads it from `bot.kpis` as below. Survey figures",
        "(marked †) go through the disclosure rule (`bot/disclosure.py`): they show with their",
        "number of answers and communities, or say why they are withheld.",
        "",
    ]
    for level in (1, 2, 3):
        lines += [
            f"## Level {level}: {_LEVELS[level]} · {fr(f'figure.level.{level}')}",
            "",
            "| key | nom | name | définition | definition | shows on |",
            "|---|---|---|---|---|---|",
        ]
        for f in FIGURES:
            if f.level != level:
                continue
            mark = " †" if f.survey else ""
            where = ", ".join(s.value for s in f.shows_on)
            if f.scope == Scope.PROGRAMME:
                where += " (programme only)"
            lines.append(
                f"| `{f.key}`{mark} | {fr(f.name_key)} | {en(f.name_key)} | "
                f"{fr(f.definition_key)} | {en(f.definition_key)} | {where} |"
            )
        lines.append("")
    return "\n".join(lines)
