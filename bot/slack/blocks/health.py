"""The /cop health screens: the programme overview and one community's view."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    ExternalDataSelectElement,
    HeaderBlock,
    Option,
    SectionBlock,
    StaticSelectElement,
)

from bot import figures, lifecycle
from bot.health import (
    CONCERN,
    Filters,
    Health,
    Listing,
    Overview,
    Sponsor,
    Status,
    community_figures,
    engagement_line,
    explain,
    na,
    next_step,
    value_line,
)
from bot.i18n import Translator
from bot.kpis import Kpis
from bot.models import CommunityKind, CommunityStatus, Stage
from bot.slack.blocks import compass as compass_blocks
from bot.slack.blocks import lifecycle as stage_screens
from bot.slack.echo import Mrkdwn, echo, mrkdwn, say

EXPORT_CSV = "health_export_csv"
EXPORT_XLSX = "health_export_xlsx"
OPEN_OVERVIEW = "health_open_overview"  # the App Home button
# Browsing every community: each element's value carries the whole state (filters and page),
# so a click needs nothing but itself; the handler checks the clicker's permission again.
FILTER_STATUS = "health_filter_status"
FILTER_STAGE = "health_filter_stage"
FILTER_LIFECYCLE = "health_filter_lifecycle"  # active or dormant, as people declared it
FILTER_KIND = "health_filter_kind"
FILTER_SPONSOR = "health_filter_sponsor"  # type-ahead: a big programme has hundreds of sponsors
FILTER_CLEAR = "health_filter_clear"
PAGE_PREVIOUS = "health_page_previous"
PAGE_NEXT = "health_page_next"
PAGE_JUMP = "health_page_jump"
OPEN_COMMUNITY = "health_open_community"
BROWSE_ACTIONS = (
    FILTER_STATUS,
    FILTER_STAGE,
    FILTER_LIFECYCLE,
    FILTER_KIND,
    FILTER_SPONSOR,
    FILTER_CLEAR,
    PAGE_PREVIOUS,
    PAGE_NEXT,
    PAGE_JUMP,
)
FILTERS_BLOCK = "health_filters"  # its block_id ends with the state, for the sponsor type-ahead
SHOWN = 12  # the terminal's overview (cop health): the rest is in --format table/csv/xlsx
_OPTION_TEXT = 75  # Block Kit: an option's text
_OPTIONS = 100  # Block Kit: options in one select
_SECTION_MAX = 2900


def _events_apart(t: Translator, kpis: Kpis) -> str:
    """Webinars apart from the other events, and the show-up rate when an event has both an
    attendance and "going" answers: « Dont 2 webinaires et 3 autres événements · Taux de
    présence des inscrits : 80 % (8 présents pour 10 « J'y serai ») »."""
    line = t(
        "health.events_apart",
        webinars=t.number(kpis.webinars_held),
        others=t.number(kpis.other_events_held),
    )
    rate = kpis.attendance_rsvp
    if rate is None:
        return line
    shown = t(
        "health.events_rsvp",
        figure=figures.name(t, "attendance_rsvp"),
        rate=t.percent(rate),
        attended=t.number(kpis.rsvp_attended),
        going=t.number(kpis.rsvp_going),
    )
    return f"{line} · {shown}"


def survey(t: Translator, kpis: Kpis, key: str, *, of: int | None = None) -> str:
    """A survey figure with its n, or why it is withheld (bot.figures.survey, the one writing)."""
    return figures.survey(t, kpis, key, of=of)


def tiers_line(t: Translator, kpis: Kpis) -> str:
    """Engagement tiers as counts and retention (bot/engagement.py): never who is in which."""
    counts = t(
        "engagement.named_bold",
        name=figures.name(t, "engagement_tiers"),
        value=figures.tiers(t, kpis),
    )
    kept = t(
        "engagement.named_bold", name=figures.name(t, "retention"), value=figures.retention(t, kpis)
    )
    return f"{counts} · {kept}"


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
        tiers_line(t, p),
        _events_apart(t, p),
        engagement_line(
            t,
            overview,
            charters=f"{t.number(p.charter_up_to_date)}/{t.number(p.communities)}",
            of=p.communities,
        ),
        value_line(t, p),
    ]
    return "\n".join(lines)


def _row(t: Translator, item: Health, review: lifecycle.Review | None = None) -> str:
    s = item.signals
    text = t(
        "health.row",
        name=s.name,
        status=t(f"health.status.{item.status.value}"),
        active=t.number(s.active_recent),
        members=t.number(s.members),
    )
    if s.platform == "teams":  # a programme on Slack and Teams at once (bot/programme.py)
        text += " · `Teams`"
    if s.lifecycle_status != CommunityStatus.ACTIVE:  # dormant, as people declared it
        status = t(f"lifecycle.status.{s.lifecycle_status.value}")
        text += " · " + t("lifecycle.row_status", status=status)
    reasons = " · ".join(explain(t, r) for r in item.reasons)
    action = next_step(t, item, review)
    return f"{text}\n{reasons}\n{action}"[:_SECTION_MAX]


def _export_buttons(t: Translator, scope: str) -> ActionsBlock:
    return ActionsBlock(
        block_id="health_export",
        elements=[
            ButtonElement(text=t("health.export_csv"), action_id=EXPORT_CSV, value=scope),
            ButtonElement(text=t("health.export_xlsx"), action_id=EXPORT_XLSX, value=scope),
        ],
    )


def _survey(t: Translator, overview: Overview, *, of: int | None) -> SectionBlock | None:
    """The latest annual survey: response rate, then each scored question (through the
    disclosure rule), last year beside it for the programme."""
    from bot import survey

    results = overview.survey
    if results is None:
        return None
    lines = [
        say(
            t,
            "survey.health_line",
            year=results.year,
            respondents=t.number(results.respondents),
            asked=t.number(results.asked),
            rate=t.percent(results.response_rate),
        )
    ]
    for row in survey.headline_rows(t, results, of=of):
        question = row.text.get(t.language) or next(iter(row.text.values()), "")
        line = say(t, "survey.health_row", question=question, value=row.value)
        if row.last_year:
            line = Mrkdwn(
                line + Mrkdwn(" ") + say(t, "survey.health_last_year", value=row.last_year)
            )
        lines.append(line)
    return SectionBlock(text=mrkdwn(Mrkdwn("\n").join(lines), _SECTION_MAX))


def build_programme(
    t: Translator,
    overview: Overview,
    *,
    programme_name: str,
    listing: Listing | None = None,
    reviews: Mapping[int, lifecycle.Review] | None = None,
) -> tuple[Mrkdwn, list[Block]]:
    """Totals, the status counts, then one page of the communities, most worrying first, with
    filters and a pager (`listing`; without one, the first SHOWN for the terminal), and the
    export buttons."""
    title = t("health.title_programme", name=programme_name)
    counts = overview.counts
    blocks: list[Block] = [
        HeaderBlock(text=title[:150]),
        ContextBlock(elements=[mrkdwn(t("health.as_of", day=t.date(overview.today)))]),
        SectionBlock(text=mrkdwn(_totals(t, overview))),
        *filter(None, [_survey(t, overview, of=len(overview.items))]),
        ContextBlock(elements=[mrkdwn(t("health.counts", **{s.value: counts[s] for s in Status}))]),
        DividerBlock(),
    ]
    if not overview.items:
        blocks.append(SectionBlock(text=mrkdwn(t("health.empty"))))
        return echo(title), blocks
    blocks.append(SectionBlock(text=mrkdwn(t("health.ranked"))))
    if listing is not None:
        blocks.extend(browse_blocks(t, listing, reviews))
    else:
        for item in overview.items[:SHOWN]:
            review = (reviews or {}).get(item.signals.community_id)
            blocks.append(SectionBlock(text=mrkdwn(_row(t, item, review))))
        if len(overview.items) > SHOWN:
            more = t("health.more", count=t.number(len(overview.items) - SHOWN))
            blocks.append(ContextBlock(elements=[mrkdwn(more)]))
    exports = _export_buttons(t, "programme")
    exports.elements.append(compass_blocks.heatmap_button(t))  # the compass's heatmap
    blocks.append(exports)
    return echo(title), blocks


def build_community(
    t: Translator, overview: Overview, review: lifecycle.Review | None = None
) -> tuple[Mrkdwn, list[Block]]:
    """One community: its status and why, what to do next, its lifecycle stage with the stage's
    checklist (`review`), and this month's figures."""
    item = overview.items[0]
    s, k = item.signals, overview.totals
    title = t("health.title_community", name=s.name)
    status = t("health.community_status", status=t(f"health.status.{item.status.value}"))
    why = "\n".join(f"• {explain(t, r)}" for r in item.reasons)
    figures = f"{community_figures(t, k)}\n{_events_apart(t, k)}"
    engagement = engagement_line(
        t, overview, charters=f"{t.number(k.charter_up_to_date)}/1", of=None
    )
    value = value_line(t, k)
    next_step = t(
        "health.next", action=explain(t, item.action), stage=t(f"health.stage.{item.stage.value}")
    )
    blocks: list[Block] = [
        HeaderBlock(text=title[:150]),
        ContextBlock(elements=[mrkdwn(t("health.as_of", day=t.date(overview.today)))]),
        SectionBlock(text=mrkdwn(f"{status}\n{t('health.why')}\n{why}\n{next_step}", _SECTION_MAX)),
    ]
    if review is not None:
        blocks.append(SectionBlock(text=mrkdwn(_lifecycle(t, review, s.created), _SECTION_MAX)))
    blocks += [
        SectionBlock(text=mrkdwn(f"{figures}\n{tiers_line(t, k)}\n{engagement}\n{value}")),
        *filter(None, [_survey(t, overview, of=None)]),
        _export_buttons(t, f"community:{s.community_id}"),
    ]
    return echo(title), blocks


def _lifecycle(t: Translator, review: lifecycle.Review, created: date) -> str:
    """The stored stage and status, since when, the suggestion, and the stage's checklist."""
    f = review.facts
    current = t(
        "lifecycle.current",
        stage=t(f"health.stage.{f.stage.value}"),
        status=t(f"lifecycle.status.{f.status.value}"),
    )
    since = t("lifecycle.since", day=t.date(lifecycle.since(f, created), "medium"))
    lines = [f"{current} · {since}"]
    if review.suggestion is not None:
        lines.append(stage_screens.suggestion_line(t, review.suggestion))
    lines.append(stage_screens.checklist_text(t, review.checklist))
    return "\n".join(lines)


# --- browsing -------------------------------------------------------------------------------


def encode_state(filters: Filters, page: int = 0) -> str:
    """status|stage|kind|sponsor|page|lifecycle status: well under the 150 characters of an
    option's value (the lifecycle status last, so a value drawn before it still reads)."""
    return "|".join(
        (
            filters.status.value if filters.status else "",
            filters.stage.value if filters.stage else "",
            filters.kind.value if filters.kind else "",
            (filters.sponsor or "")[:40],
            str(max(page, 0)),
            filters.lifecycle_status.value if filters.lifecycle_status else "",
        )
    )


def decode_state(value: str | None) -> tuple[Filters, int]:
    """The filters and page a click carries; anything unreadable reads as "none" (a stale or
    forged value shows the first page, never an error)."""
    parts = (value or "").split("|")
    parts += [""] * (6 - len(parts))

    def pick(enum: type, text: str) -> object | None:
        try:
            return enum(text) if text else None
        except ValueError:
            return None

    sponsor = parts[3].strip()[:40] or None
    page = int(parts[4]) if parts[4].isdigit() and len(parts[4]) < 6 else 0
    return (
        Filters(
            status=pick(Status, parts[0]),  # type: ignore[arg-type]
            stage=pick(Stage, parts[1]),  # type: ignore[arg-type]
            kind=pick(CommunityKind, parts[2]),  # type: ignore[arg-type]
            sponsor=sponsor if sponsor and sponsor.isalnum() else None,
            lifecycle_status=pick(CommunityStatus, parts[5]),  # type: ignore[arg-type]
        ),
        page,
    )


def _option(text: str, value: str) -> Option:
    return Option(text=text[:_OPTION_TEXT], value=value)


def _select(
    t: Translator,
    action_id: str,
    placeholder: str,
    everything: str,
    choices: list[tuple[str, Filters]],
    current: Filters,
    cleared: Filters,
) -> StaticSelectElement:
    options = [_option(everything, encode_state(cleared))]
    initial = options[0]
    for label, wanted in choices:
        option = _option(label, encode_state(wanted))
        options.append(option)
        if wanted == current:
            initial = option
    return StaticSelectElement(
        action_id=action_id,
        placeholder=placeholder,
        options=options[:_OPTIONS],
        initial_option=initial,
    )


def sponsor_option(sponsor: Sponsor, filters: Filters) -> Option:
    """One type-ahead answer: selecting it keeps the other filters, from the first page."""
    return _option(sponsor.name, encode_state(replace(filters, sponsor=sponsor.user_id)))


def _filters(t: Translator, listing: Listing) -> ActionsBlock:
    f = listing.filters
    elements: list = [
        _select(
            t,
            FILTER_STATUS,
            t("health.filter.status"),
            t("health.filter.all_statuses"),
            [
                (t(f"health.status.{s.value}"), replace(f, status=s))
                for s in sorted(Status, key=lambda s: -CONCERN[s])
            ],
            f,
            replace(f, status=None),
        ),
        _select(
            t,
            FILTER_STAGE,
            t("health.filter.stage"),
            t("health.filter.all_stages"),
            [(t(f"health.stage.{s.value}"), replace(f, stage=s)) for s in Stage],
            f,
            replace(f, stage=None),
        ),
        _select(
            t,
            FILTER_LIFECYCLE,
            t("lifecycle.filter.status"),
            t("lifecycle.filter.all_statuses"),
            [
                (t(f"lifecycle.status.{s.value}"), replace(f, lifecycle_status=s))
                for s in (CommunityStatus.ACTIVE, CommunityStatus.DORMANT)
            ],
            f,
            replace(f, lifecycle_status=None),
        ),
        _select(
            t,
            FILTER_KIND,
            t("health.filter.kind"),
            t("health.filter.all_kinds"),
            [(t(f"health.kind.{k.value}"), replace(f, kind=k)) for k in CommunityKind],
            f,
            replace(f, kind=None),
        ),
        ExternalDataSelectElement(
            action_id=FILTER_SPONSOR,
            placeholder=t("health.filter.sponsor"),
            min_query_length=0,
            initial_option=sponsor_option(listing.sponsor, f) if listing.sponsor else None,
        ),
    ]
    if f.any:
        elements.append(
            ButtonElement(
                text=t("health.filter.clear"), action_id=FILTER_CLEAR, value=encode_state(Filters())
            )
        )
    return ActionsBlock(block_id=f"{FILTERS_BLOCK}:{encode_state(f)}", elements=elements)


def _pager(t: Translator, listing: Listing) -> ActionsBlock | None:
    if listing.pages <= 1:
        return None
    f, page = listing.filters, listing.page
    elements: list = []
    if page > 0:
        elements.append(
            ButtonElement(
                text=t("health.page.previous"),
                action_id=PAGE_PREVIOUS,
                value=encode_state(f, page - 1),
            )
        )
    if page < listing.pages - 1:
        elements.append(
            ButtonElement(
                text=t("health.page.next"),
                action_id=PAGE_NEXT,
                value=encode_state(f, page + 1),
                style="primary",
            )
        )
    options = [
        _option(t("health.page.number", page=t.number(n + 1)), encode_state(f, n))
        for n in range(min(listing.pages, _OPTIONS))
    ]
    elements.append(
        StaticSelectElement(
            action_id=PAGE_JUMP,
            placeholder=t("health.page.jump"),
            options=options,
            initial_option=options[page] if page < len(options) else None,
        )
    )
    return ActionsBlock(block_id="health_pager", elements=elements)


def _summary(t: Translator, listing: Listing) -> str:
    if listing.total == 0:
        return t("health.no_match") if listing.filters.any else t("health.empty")
    shown = t(
        "health.listing",
        total=t.number(listing.total),
        first=t.number(listing.first),
        last=t.number(listing.first + len(listing.items) - 1),
        page=t.number(listing.page + 1),
        pages=t.number(listing.pages),
    )
    f = listing.filters
    chosen = [
        *([t(f"health.status.{f.status.value}")] if f.status else []),
        *([t(f"health.stage.{f.stage.value}")] if f.stage else []),
        *([t(f"lifecycle.status.{f.lifecycle_status.value}")] if f.lifecycle_status else []),
        *([t(f"health.kind.{f.kind.value}")] if f.kind else []),
        *([t("health.filter.sponsored_by", name=listing.sponsor.name)] if listing.sponsor else []),
    ]
    if chosen:
        shown += "\n" + t("health.filtered_by", filters=" · ".join(chosen))
    return shown


def browse_blocks(
    t: Translator, listing: Listing, reviews: Mapping[int, lifecycle.Review] | None = None
) -> list[Block]:
    """The filters, the page's communities (each with a button to its own view) and the pager:
    at most 4 + PAGE_SIZE blocks, well under Block Kit's 50 per message."""
    built: list[Block] = [
        _filters(t, listing),
        ContextBlock(elements=[mrkdwn(_summary(t, listing))]),
    ]
    for item in listing.items:
        built.append(
            SectionBlock(
                block_id=f"health_row_{item.signals.community_id}",
                text=mrkdwn(_row(t, item, (reviews or {}).get(item.signals.community_id))),
                accessory=ButtonElement(
                    text=t("health.open"),
                    action_id=OPEN_COMMUNITY,
                    value=str(item.signals.community_id),
                ),
            )
        )
    if (pager := _pager(t, listing)) is not None:
        built.append(pager)
    return built
