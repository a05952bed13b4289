"""`/cop report`: the value report asked for in chat, for the programme or for one community.

A programme manager gets the programme's report; in a community's channel (or naming its slug)
its leaders, core team and sponsor get that community's. This module reads what was typed (the
period in the CLI's syntax, through bot.periods.parse_period), asks bot.permissions, builds the
report (bot.report, the same as `cop report`), and returns the two files (HTML to read, print or
save as PDF; XLSX with the tables) and a neutral message to go with them. Where the files go is
the edge's business: this module never names a chat platform.

Building a report reads a dozen queries per month of the period over every community: identical
requests arriving together (the same period and scope, the same day) share one build.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import communities, disclosure, periods, report
from bot import messages as m
from bot.config import Programme
from bot.errors import CopError, InvalidInput, NotFound
from bot.i18n import Translator
from bot.inflight import InFlight
from bot.models import ChannelStatus, Community, utcnow
from bot.permissions import Action, Actor, require
from bot.programme import linked

PROGRAMME_WORDS = frozenset({"programme", "program", "all", "tout", "tous"})
# A period starts with its year (2026, 2026-11, 2026-Q4, 2026-W47); a community's slug does not.
_PERIOD = re.compile(r"\d{4}")
FILE_NAME = "value-report"  # what `cop report` calls its files: one name whichever surface made it


@dataclass(frozen=True, slots=True)
class Scope:
    """The programme (community_id None) or one community, once the asker may have its report."""

    workspace_id: str
    community_id: int | None
    name: str
    slug: str | None = None


@dataclass(frozen=True, slots=True)
class Request:
    scope: Scope
    window: periods.Window


@dataclass(frozen=True, slots=True)
class ReportFile:
    filename: str
    title: str
    content: bytes


@dataclass(frozen=True, slots=True)
class Delivery:
    request: Request
    files: tuple[ReportFile, ...]
    message: m.Message  # what goes with the files
    has_data: bool


def read_period(text: str | None, *, tz: str, today: date) -> periods.Window:
    """The period typed (the CLI's syntax), or the current quarter; a period still running is
    reported up to today, never with the days to come counted as empty."""
    if not text:
        return periods.to_date(periods.Period.QUARTER, today, tz)
    try:
        window = periods.parse_period(text, tz)
    except ValueError:
        raise InvalidInput("report_delivery.bad_period", value=text[:40]) from None
    return periods.so_far(window, today)


async def ask(
    session: AsyncSession,
    *,
    actor: Actor,
    here: communities.CommunityView | None,
    words: Sequence[str],
    programme_name: str,
    tz: str,
    today: date,
) -> Request:
    """What `/cop report [period] [programme|slug]` asks for, once the asker may have it.

    Raises InvalidInput (bad period, too many words), NotFound (no such community) or NotAllowed
    (bot.permissions says no), each with the key of a one-line answer."""
    period_word: str | None = None
    scope_word: str | None = None
    for word in words:
        if _PERIOD.match(word) and period_word is None:
            period_word = word
        elif not _PERIOD.match(word) and scope_word is None:
            scope_word = word
        else:
            raise InvalidInput("report_delivery.usage_error")
    window = read_period(period_word, tz=tz, today=today)
    community: Community | None = None
    if scope_word and scope_word.lower() in PROGRAMME_WORDS:
        community = None
    elif scope_word:
        community = await communities.by_slug(
            session, workspace_id=actor.workspace_id, slug=scope_word
        )
        if community is None and any(c.isdigit() for c in scope_word):
            raise InvalidInput("report_delivery.bad_period", value=scope_word[:40])  # "Q4"
        if community is None:
            raise NotFound("report_delivery.not_found", slug=scope_word[:80])
    elif here is not None:
        community = await communities.get(
            session, workspace_id=actor.workspace_id, community_id=here.id
        )
    if community is None:
        await require(session, actor=actor, action=Action.PROGRAMME_REPORT)
        return Request(Scope(actor.workspace_id, None, programme_name), window)
    await require(session, actor=actor, action=Action.COMMUNITY_REPORT, community_id=community.id)
    if community.channel_status != ChannelStatus.OK:
        raise CopError("command.community_archived", name=community.name)
    return Request(Scope(actor.workspace_id, community.id, community.name, community.slug), window)


async def build(
    sessions: async_sessionmaker[AsyncSession],
    request: Request,
    *,
    programme: Programme,
    rule: disclosure.Rule,
    shared: InFlight[report.SponsorReport],
) -> report.SponsorReport:
    """The report's figures (bot.report.build), shared by identical requests made together."""
    scope, window = request.scope, request.window
    now = utcnow()
    key = (
        scope.workspace_id,
        scope.community_id,
        window.start,
        window.end,
        window.period,
        now.date(),
    )
    return await shared.share(
        key, lambda: _build(sessions, request, programme=programme, rule=rule)
    )


async def _build(
    sessions: async_sessionmaker[AsyncSession],
    request: Request,
    *,
    programme: Programme,
    rule: disclosure.Rule,
) -> report.SponsorReport:
    scope = request.scope
    async with sessions() as session:
        return await report.build(
            session,
            # the programme's report covers its linked workspaces (Slack and Teams: bot.programme)
            workspace_id=(
                linked(scope.workspace_id, programme.workspaces)
                if scope.community_id is None
                else scope.workspace_id
            ),
            window=request.window,
            programme_name=scope.name,
            thresholds=programme.health,
            question_kinds={q.key: q.kind for q in programme.rituals.pulse.questions},
            rule=rule,
            community_ids=None if scope.community_id is None else [scope.community_id],
            engagement_rule=programme.engagement,
        )


def file_base(request: Request) -> str:
    """`value-report-2026-Q4`, or `value-report-data-science-2026-Q4` for one community."""
    slug = request.scope.slug
    return f"{FILE_NAME}-{slug + '-' if slug else ''}{request.window.label}"


def _day(day: date, tz: str) -> m.Moment:
    """A day of the period, shown as a day (the programme's calendar, whoever reads)."""
    return m.Moment(datetime.combine(day, time(12), ZoneInfo(tz)), tz=tz, style="date")


def render(t: Translator, request: Request, built: report.SponsorReport) -> Delivery:
    """The files in the reader's language, and the message that goes with them. CPU-bound (the
    charts, the workbook): run it off the event loop."""
    scope, window = request.scope, request.window
    base = file_base(request)
    files = (
        ReportFile(
            f"{base}.html",
            t("report_delivery.title_html", name=scope.name, period=window),
            report.to_html(t, built).encode("utf-8"),
        ),
        ReportFile(
            f"{base}.xlsx",
            t("report_delivery.title_xlsx", name=scope.name, period=window),
            report.report_xlsx(t, built),
        ),
    )
    said: list[m.Text] = [
        m.Say(
            "report_delivery.ready",
            name=scope.name,
            period=t.period(window),
            start=_day(window.start, window.tz),
            end=_day(window.end - timedelta(days=1), window.tz),
        )
    ]
    if not built.has_data:
        said.append(m.Say("report.no_data"))
    return Delivery(request, files, m.Message(m.Join(said, " ")), built.has_data)


async def deliver(
    sessions: async_sessionmaker[AsyncSession],
    request: Request,
    *,
    t: Translator,
    programme: Programme,
    rule: disclosure.Rule,
    shared: InFlight[report.SponsorReport],
) -> Delivery:
    """Build, then render off the event loop: the files and their message, ready to hand over."""
    built = await build(sessions, request, programme=programme, rule=rule, shared=shared)
    return await asyncio.to_thread(render, t, request, built)
