"""The dashboard's HTTP routes, served by `cop serve` beside /slack/events (bot/app.py).

Every page first reads the signed link (links.py): no link, a forged or an expired one gets the
same 403 page, with no figure on it. Pages are rendered on the server (Jinja2, autoescaped: a
community's name is text a person typed); a few lines of JavaScript sort and filter the table.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from bot import charts, downloads, health, programme
from bot import compass as compass_domain
from bot import figures as vocabulary
from bot.dashboard import figures, links
from bot.deps import Deps
from bot.i18n import Translator, translate
from bot.models import utcnow
from bot.report import compass_section

logger = logging.getLogger(__name__)

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent / "templates"),
    autoescape=select_autoescape(["html"], default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
# the token travels in the address: no other site should learn it, no cache should keep the page
PRIVATE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
    "X-Content-Type-Options": "nosniff",
}


def sparkline(values: Sequence[int], *, width: int = 96, height: int = 22) -> Markup:
    """A week-by-week line as inline SVG (no axes: the community page has the full chart)."""
    if not values:
        return Markup("")
    top = max(values) or 1
    step = width / max(len(values) - 1, 1)
    points = " ".join(
        f"{i * step:.1f},{height - 2 - (v / top) * (height - 4):.1f}" for i, v in enumerate(values)
    )
    return Markup(
        f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-hidden="true"><polyline fill="none" stroke="#1f6feb" '
        f'stroke-width="1.5" points="{points}"/></svg>'
    )


def _png_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def _trend_png(t: Translator, trend: Sequence[Any]) -> bytes:
    return charts.trend(
        title=t("health.chart_title"),
        labels=[t.date(p.start, "d MMM") for p in trend],
        active=[p.active for p in trend],
        messages=[p.messages + p.replies for p in trend],
        active_label=t("health.chart_active"),
        messages_label=t("health.chart_messages"),
        number=t.axis_number,
    )


def _status_png(t: Translator, overview: health.Overview) -> bytes:
    counts = overview.counts
    shown = [s for s in health.Status if counts[s]]
    return charts.bars(
        title=t("dashboard.status_chart"),
        labels=[t(f"health.status.{s.value}").split(" ", 1)[-1] for s in shown],  # no emoji
        values=[counts[s] for s in shown],
        colours=[charts.STATUS_COLOURS[s.value] for s in shown],
        number=t.axis_number,
    )


class Formats:
    """The few ways the pages write a figure, in the reader's language (as /cop health does)."""

    def __init__(self, t: Translator) -> None:
        self.t = t

    def na(self, value: float | None, *, percent: bool = False) -> str:
        if value is None:
            return self.t("health.na")
        return self.t.percent(value) if percent else self.t.number(value)

    def name(self, key: str) -> str:
        """A figure's name, as every surface names it (bot/figures.py)."""
        return vocabulary.name(self.t, key)

    def survey(self, kpis: Any, key: str, *, of: int | None = None) -> str:
        """A survey figure with its n, or why it is withheld (bot.figures.survey)."""
        return vocabulary.survey(self.t, kpis, key, of=of)

    def survey_rows(self, results: Any, of: int | None = None) -> list[Any]:
        """The annual survey's scored questions as rows of words (bot.survey.headline_rows)."""
        from bot import survey

        return survey.headline_rows(self.t, results, of=of)

    def objectives(self, kpis: Any) -> str:
        """ "Objectives achieved" with what it counts (bot.figures.objectives)."""
        return vocabulary.objectives(self.t, kpis)

    def tiers(self, kpis: Any) -> str:
        """Engagement tiers as counts, never who (bot.figures.tiers)."""
        return vocabulary.tiers(self.t, kpis)

    def retention(self, kpis: Any) -> str:
        """Retention with what it counts (bot.figures.retention)."""
        return vocabulary.retention(self.t, kpis)

    def status(self, status: health.Status) -> Markup:
        """The status in words behind a dot of its colour (the catalogue's emoji needs a font
        a server's browser may lack; the charts' colours are the same)."""
        label = self.t(f"health.status.{status.value}").split(" ", 1)[-1]
        colour = charts.STATUS_COLOURS[status.value]
        return Markup('<span class="dot" style="background:{}"></span>{}').format(colour, label)

    def explain(self, reason: health.Reason) -> str:
        return health.explain(self.t, reason).replace("*", "")


def _context(deps: Deps, workspace_id: str, *, programme_wide: bool) -> figures.Context:
    """A programme manager's pages cover the programme's linked workspaces (Slack and Teams:
    bot.programme); a leader's link stays in its own workspace."""
    now = utcnow()
    tz = deps.programme.timezone
    return figures.Context(
        workspace_id=(
            programme.linked(workspace_id, deps.programme.workspaces)
            if programme_wide
            else workspace_id
        ),
        today=now.astimezone(ZoneInfo(tz)).date(),
        now=now,
        tz=tz,
        thresholds=deps.programme.health,
        question_kinds={q.key: q.kind for q in deps.programme.rituals.pulse.questions},
        rule=deps.disclosure,
        engagement=deps.programme.engagement,
    )


def _page(template: str, status: int = 200, **values: Any) -> HTMLResponse:
    html = TEMPLATES.get_template(template).render(**values)
    return HTMLResponse(html, status_code=status, headers=PRIVATE_HEADERS)


def _refused(deps: Deps) -> HTMLResponse:
    t = translate(deps.programme.language)
    return _page("refused.html", 403, t=t)


# The programme's table takes seconds on a big programme (about 10 s for 220 communities and
# 30,000 people on SQLite): computed once, it serves every reader of the workspace for this long
# (the page says when it was computed); a community's page is always computed afresh.
FRESH_SECONDS = 120.0


def routes(deps: Deps) -> list[Route]:
    key = deps.config.settings.dashboard_key
    # per app: (workspace, day) → (when it was started, the computation), shared by the readers
    # who arrive while it runs and for FRESH_SECONDS after
    computed: dict[
        tuple[tuple[str, ...], date], tuple[float, asyncio.Future[figures.ProgrammeView]]
    ] = {}

    async def compute(ctx: figures.Context) -> figures.ProgrammeView:
        async with deps.sessions.begin() as session:
            return await figures.programme(session, ctx)

    async def programme_view(ctx: figures.Context) -> figures.ProgrammeView:
        wanted = (programme.ids(ctx.workspace_id), ctx.today)
        clock = time.monotonic()
        found = computed.get(wanted)
        if (
            found is None
            or clock - found[0] > FRESH_SECONDS
            or (found[1].done() and found[1].exception() is not None)
        ):
            for old in [k for k, (at, _) in computed.items() if clock - at > FRESH_SECONDS]:
                del computed[old]
            found = (clock, asyncio.ensure_future(compute(ctx)))
            computed[wanted] = found
        return await asyncio.shield(found[1])

    def grant_of(request: Request) -> links.Grant | None:
        try:
            return links.read(request.query_params.get("t"), utcnow(), key=key)
        except links.Refused as refused:
            logger.info("dashboard refused: %s", refused)
            return None

    async def still_allowed(grant: links.Grant, community_id: int | None) -> bool:
        """The link's holder may still see this page (bot.permissions, as `/cop health` asks):
        a manager removed from app.yaml or a leader who lost the role loses the link with it; a
        Teams manager is recognised by their Entra object id or e-mail (bot.downloads)."""
        return await downloads.still_allowed(  # the one guard of every signed link
            deps,
            workspace_id=grant.scope.workspace_id,
            user=grant.user,
            community_id=community_id,
            aad_object_id=grant.aad_object_id,
        )

    async def programme_page(request: Request) -> Response:
        grant = grant_of(request)
        if grant is None or not await still_allowed(grant, grant.scope.community_id):
            return _refused(deps)
        if grant.scope.community_id is not None:
            return await _community(deps, request, grant, grant.scope.community_id)
        t = translate(grant.language)
        ctx = _context(deps, grant.scope.workspace_id, programme_wide=True)
        view = await programme_view(ctx)
        trend, status = await asyncio.gather(
            asyncio.to_thread(_trend_png, t, view.overview.trend),
            asyncio.to_thread(_status_png, t, view.overview),
        )
        token = urlencode({"t": request.query_params["t"]})
        async with deps.sessions.begin() as session:
            heat = await compass_domain.heatmap(session, workspace_id=ctx.workspace_id)
        return _page(
            "programme.html",
            compass=compass_section(t, heat),
            t=t,
            f=Formats(t),
            view=view,
            name=deps.programme.name,
            tz=deps.programme.timezone,
            statuses=list(health.Status),
            token=token,
            sparkline=sparkline,
            trend_png=_png_uri(trend),
            status_png=_png_uri(status),
        )

    async def community_page(request: Request) -> Response:
        grant = grant_of(request)
        raw = request.path_params.get("community_id", "")
        if grant is None or not str(raw).isdigit() or not grant.may_see(int(raw)):
            return _refused(deps)
        if not await still_allowed(grant, int(raw)):
            return _refused(deps)
        return await _community(deps, request, grant, int(raw))

    return [
        Route(links.PATH, programme_page, methods=["GET"]),
        Route(links.PATH + "/c/{community_id}", community_page, methods=["GET"]),
    ]


async def _community(
    deps: Deps, request: Request, grant: links.Grant, community_id: int
) -> Response:
    t = translate(grant.language)
    ctx = _context(deps, grant.scope.workspace_id, programme_wide=grant.scope.community_id is None)
    async with deps.sessions.begin() as session:
        view = await figures.community(session, ctx, community_id)
    if view is None:
        return _refused(deps)
    trend = await asyncio.to_thread(_trend_png, t, view.overview.trend)
    back = None
    if grant.scope.community_id is None:
        back = f"{links.PATH}?{urlencode({'t': request.query_params['t']})}"
    return _page(
        "community.html",
        t=t,
        f=Formats(t),
        view=view,
        item=view.overview.items[0],
        k=view.overview.totals,
        e=view.overview.engagement,
        back=back,
        trend_png=_png_uri(trend),
    )
