"""The /cop health screens: the programme overview and one community's view."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    SectionBlock,
)

from bot.health import Health, Overview, Status, explain
from bot.i18n import Translator
from bot.kpis import Kpis
from bot.slack.echo import Mrkdwn, echo, mrkdwn
from bot.stories import value_phrases

EXPORT_CSV = "health_export_csv"
EXPORT_XLSX = "health_export_xlsx"
OPEN_OVERVIEW = "health_open_overview"  # the App Home button
SHOWN = 12  # communities listed in the message; the export holds them all
_SECTION_MAX = 2900


def na(t: Translator, value: float | None, *, percent: bool = False) -> str:
    """A ratio or score, or "n/a" when there was nothing to compute it from."""
    if value is None:
        return t("health.na")
    return t.percent(value) if percent else t.number(value)


def survey(
    t: Translator,
    value: float | None,
    *,
    answers: int,
    withheld: str | None,
    out_of: int | None = None,
    whole: bool = False,
) -> str:
    """A survey figure as the disclosure rule left it: the value with its n, or why not; an
    eNPS is `whole` (40, never 40,5)."""
    if withheld is not None:
        return t(f"health.withheld.{withheld}", answers=t.number(answers))
    if value is None:
        return t("health.na")
    number = t.whole(value) if whole else t.number(value)
    shown = number if out_of is None else f"{number} / {t.number(out_of)}"
    return t("health.with_n", value=shown, answers=t.number(answers))


def value_line(t: Translator, kpis: Kpis) -> str:
    """Validated stories and their value; submitted ones apart, since they do not count yet."""
    line = t("health.totals_value", stories=t.number(kpis.stories), values=values_text(t, kpis))
    if kpis.stories_pending:
        line += " · " + t("health.stories_pending", pending=t.number(kpis.stories_pending))
    return line


def values_text(t: Translator, kpis: Kpis) -> str:
    if not kpis.value_by_unit:
        return t("health.no_value")
    return ", ".join(value_phrases(t, kpis.value_by_unit, kpis.value_stories_by_unit))


def _engagement(t: Translator, overview: Overview, *, charters: str) -> str:
    e = overview.engagement
    line = t(
        "health.totals_engagement",
        pulse=survey(
            t, e.pulse_score, answers=e.pulse_answers, withheld=e.pulse_withheld, out_of=5
        ),
        enps=survey(t, e.enps, answers=e.enps_answers, withheld=e.enps_withheld, whole=True),
        rate=na(t, e.response_rate, percent=True),
        charters=charters,
    )
    return f"{line} {t('health.since', day=t.date(overview.engagement_since, 'medium'))}"


def _totals(t: Translator, overview: Overview) -> str:
    p = overview.totals
    lines = [
        t(
            "health.totals_members",
            unique=t.number(p.members_unique),
            summed=t.number(p.members_summed),
            communities=t.number(p.communities),
        ),
        t(
            "health.totals_overlap",
            one=t.number(p.overlap.get("1", 0)),
            two=t.number(p.overlap.get("2", 0)),
            more=t.number(p.overlap.get("3+", 0)),
        ),
        t(
            "health.totals_active",
            active=t.number(p.active_members),
            rate=na(t, p.active_rate, percent=True),
            new=t.number(p.new_members),
            departed=t.number(p.departed_members),
        ),
        t(
            "health.totals_activity",
            messages=t.number(p.messages),
            replies=t.number(p.replies),
            reactions=t.number(p.reactions),
            events=t.number(p.events_held),
            attendance=t.number(p.attendance),
        ),
        _engagement(
            t, overview, charters=f"{t.number(p.charter_up_to_date)}/{t.number(p.communities)}"
        ),
        value_line(t, p),
    ]
    return "\n".join(lines)


def _row(t: Translator, item: Health) -> str:
    s = item.signals
    text = t(
        "health.row",
        name=s.name,
        status=t(f"health.status.{item.status.value}"),
        active=t.number(s.active_recent),
        members=t.number(s.members),
    )
    reasons = " · ".join(explain(t, r) for r in item.reasons)
    action = t(
        "health.next",
        action=explain(t, item.action),
        stage=t(f"health.stage.{item.stage.value}"),
    )
    return f"{text}\n{reasons}\n{action}"[:_SECTION_MAX]


def _export_buttons(t: Translator, scope: str) -> ActionsBlock:
    return ActionsBlock(
        block_id="health_export",
        elements=[
            ButtonElement(text=t("health.export_csv"), action_id=EXPORT_CSV, value=scope),
            ButtonElement(text=t("health.export_xlsx"), action_id=EXPORT_XLSX, value=scope),
        ],
    )


def build_programme(
    t: Translator, overview: Overview, *, programme_name: str
) -> tuple[Mrkdwn, list[Block]]:
    """Totals, the status counts, the most worrying communities first, and the export buttons."""
    title = t("health.title_programme", name=programme_name)
    counts = overview.counts
    blocks: list[Block] = [
        HeaderBlock(text=title[:150]),
        ContextBlock(elements=[mrkdwn(t("health.as_of", day=t.date(overview.today)))]),
        SectionBlock(text=mrkdwn(_totals(t, overview))),
        ContextBlock(elements=[mrkdwn(t("health.counts", **{s.value: counts[s] for s in Status}))]),
        DividerBlock(),
    ]
    if not overview.items:
        blocks.append(SectionBlock(text=mrkdwn(t("health.empty"))))
        return echo(title), blocks
    blocks.append(SectionBlock(text=mrkdwn(t("health.ranked"))))
    for item in overview.items[:SHOWN]:
        blocks.append(SectionBlock(text=mrkdwn(_row(t, item))))
    if len(overview.items) > SHOWN:
        more = t("health.more", count=t.number(len(overview.items) - SHOWN))
        blocks.append(ContextBlock(elements=[mrkdwn(more)]))
    blocks.append(_export_buttons(t, "programme"))
    return echo(title), blocks


def build_community(t: Translator, overview: Overview) -> tuple[Mrkdwn, list[Block]]:
    """One community: its status and why, what to do next, and this month's figures."""
    item = overview.items[0]
    s, k = item.signals, overview.totals
    title = t("health.title_community", name=s.name)
    status = t("health.community_status", status=t(f"health.status.{item.status.value}"))
    why = "\n".join(f"• {explain(t, r)}" for r in item.reasons)
    figures = t(
        "health.community_figures",
        members=t.number(k.members),
        new=t.number(k.new_members),
        departed=t.number(k.departed_members),
        active=t.number(k.active_members),
        rate=na(t, k.active_rate, percent=True),
        messages=t.number(k.messages),
        replies=t.number(k.replies),
        reactions=t.number(k.reactions),
        events=t.number(k.events_held),
    )
    engagement = _engagement(t, overview, charters=f"{t.number(k.charter_up_to_date)}/1")
    value = value_line(t, k)
    next_step = t(
        "health.next", action=explain(t, item.action), stage=t(f"health.stage.{item.stage.value}")
    )
    blocks: list[Block] = [
        HeaderBlock(text=title[:150]),
        ContextBlock(elements=[mrkdwn(t("health.as_of", day=t.date(overview.today)))]),
        SectionBlock(text=mrkdwn(f"{status}\n{t('health.why')}\n{why}\n{next_step}", _SECTION_MAX)),
        SectionBlock(text=mrkdwn(f"{figures}\n{engagement}\n{value}")),
        _export_buttons(t, f"community:{s.community_id}"),
    ]
    return echo(title), blocks
