"""/cop health: the programme overview for managers, a community's view for its leaders.

The dispatcher has already acknowledged the command; the overview is computed after (from
today's snapshot where the daily job has run), answered as an ephemeral message in the
caller's language, and the trend chart is uploaded to the caller's DM (an ephemeral message
cannot carry a file). The export buttons upload CSV or XLSX files to the same DM.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot import communities, downloads, health, lifecycle, programme
from bot.deps import Deps
from bot.errors import CopError, NotAllowed
from bot.i18n import Translator
from bot.models import utcnow
from bot.numbers import row_id
from bot.permissions import Action, require
from bot.slack.blocks import health as blocks
from bot.slack.echo import echo, say
from handlers import dashboard
from handlers.commands import CommandRequest, HelpLine, Subcommand
from handlers.context import Caller, caller_here

logger = logging.getLogger(__name__)


Scope = health.Scope  # whose health a request shows, decided in the domain for both platforms


def workspaces(deps: Deps, scope: Scope) -> programme.Workspaces:
    """What the view covers (bot.health.covered: the same for Slack and Teams)."""
    return health.covered(scope, deps.programme.workspaces)


def _today(deps: Deps) -> tuple[datetime, str]:
    now = utcnow()
    tz = deps.programme.timezone
    return now, tz


def question_kinds(deps: Deps) -> dict[str, str]:
    return {q.key: q.kind for q in deps.programme.rituals.pulse.questions}


async def resolve_scope(deps: Deps, caller: Caller, word: str | None) -> Scope:
    """Which view the caller asked for, and whether they may see it (NotAllowed otherwise)."""
    async with deps.sessions.begin() as session:
        return await health.resolve_scope(
            session,
            workspace_id=caller.workspace_id,
            actor=caller.actor,
            word=word,
            here=caller.community.id if caller.community is not None else None,
            programme_name=deps.programme.name,
        )


async def community_scope(deps: Deps, caller: Caller, community_id: int) -> Scope:
    """One community by its id, once the caller may see its health (NotAllowed otherwise): a
    row of the programme's list, which may be of a linked workspace (Slack and Teams at once,
    bot.programme) — only a programme manager may open those."""
    async with deps.sessions.begin() as session:
        return await health.programme_row(
            session,
            actor=caller.actor,
            workspace_id=caller.workspace_id,
            linked_to=deps.programme.workspaces,
            community_id=community_id,
        )


async def compute(deps: Deps, scope: Scope) -> health.Overview:
    """Identical requests arriving together (a team opening /cop health at the start of a
    meeting) share one computation (deps.overviews_in_flight)."""
    now, tz = _today(deps)
    day = now.astimezone(ZoneInfo(tz)).date().isoformat()
    overview = await deps.overviews_in_flight.share(
        (scope.workspace_id, scope.community_id, day), lambda: _compute(deps, scope, now, tz)
    )
    return cast(health.Overview, overview)


# The overview a programme manager pages through, by the same key without the day: a filter or
# page click within REUSE_SECONDS of `/cop health` reuses it, so the pages stay consistent (no
# community skipped or shown twice because the ranking moved between two clicks) and a click
# answers without recomputing 220 communities. The command itself always computes afresh.
REUSE_SECONDS = 300.0


def remember(deps: Deps, scope: Scope, overview: health.Overview) -> None:
    now, kept = time.monotonic(), deps.recent_overviews
    for key in [k for k, (at, _) in kept.items() if now - at > REUSE_SECONDS]:
        kept.pop(key, None)
    kept[(scope.workspace_id, scope.community_id)] = (now, overview)


async def recent(deps: Deps, scope: Scope) -> health.Overview:
    """The overview remembered for this scope if recent enough, else computed (and kept)."""
    found = deps.recent_overviews.get((scope.workspace_id, scope.community_id))
    if found is not None and time.monotonic() - found[0] <= REUSE_SECONDS:
        return cast(health.Overview, found[1])
    overview = await compute(deps, scope)
    remember(deps, scope, overview)
    return overview


async def _compute(deps: Deps, scope: Scope, now: datetime, tz: str) -> health.Overview:
    async with deps.sessions.begin() as session:
        return await health.build_overview(
            session,
            workspace_id=workspaces(deps, scope),
            today=now.astimezone(ZoneInfo(tz)).date(),
            thresholds=deps.programme.health,
            tz=tz,
            community_ids=None if scope.community_id is None else [scope.community_id],
            question_kinds=question_kinds(deps),
            now=now,
            rule=deps.disclosure,
            engagement_rule=deps.programme.engagement,
        )


async def browse(
    deps: Deps, scope: Scope, overview: health.Overview, filters: health.Filters, page: int
) -> health.Listing:
    """One page of the programme's communities that match `filters`, ranked by concern."""
    async with deps.sessions.begin() as session:
        return await health.browse(
            session,
            workspace_id=workspaces(deps, scope),
            items=overview.items,
            filters=filters,
            page=page,
        )


async def reviews(
    deps: Deps, scope: Scope, items: list[health.Health]
) -> dict[int, lifecycle.Review]:
    """The lifecycle of the communities shown (a page, or the one): stage, checklist, suggestion."""
    async with deps.sessions() as session:
        return await lifecycle.reviews(
            session,
            workspace_id=workspaces(deps, scope),
            items=items,
            defaults=lifecycle.ritual_defaults(deps.programme),
        )


def render(
    t: Translator,
    deps: Deps,
    scope: Scope,
    overview: health.Overview,
    listing: health.Listing | None = None,
    found: dict[int, lifecycle.Review] | None = None,
) -> tuple[str, list]:
    if scope.community_id is None:
        text, built = blocks.build_programme(
            t, overview, programme_name=deps.programme.name, listing=listing, reviews=found
        )
    else:
        review = (found or {}).get(scope.community_id)
        text, built = blocks.build_community(t, overview, review)
    return text, [b.to_dict() for b in built]


def _shown(overview: health.Overview, listing: health.Listing | None) -> list[health.Health]:
    return listing.items if listing is not None else overview.items[: blocks.SHOWN]


def chart_png(t: Translator, overview: health.Overview) -> bytes:
    from bot import charts

    return charts.trend(
        title=t("health.chart_title"),
        labels=[t.date(p.start, "d MMM") for p in overview.trend],
        active=[p.active for p in overview.trend],
        messages=[p.messages + p.replies for p in overview.trend],
        active_label=t("health.chart_active"),
        messages_label=t("health.chart_messages"),
        number=t.axis_number,
    )


async def _dm(client: AsyncWebClient, user_id: str) -> str:
    response = await client.conversations_open(users=user_id)
    return str(response["channel"]["id"])


async def upload_chart(
    client: AsyncWebClient, t: Translator, user_id: str, overview: health.Overview
) -> None:
    """The trend chart, drawn off the event loop, uploaded to the caller's DM."""
    png = await asyncio.to_thread(chart_png, t, overview)
    channel = await _dm(client, user_id)
    await client.files_upload_v2(
        channel=channel,
        content=png,
        filename="health-trend.png",
        title=t("health.chart_title"),
        initial_comment=t("health.chart_comment"),
    )


async def handle_health(req: CommandRequest) -> None:
    """`/cop health [slug|programme]`: ack is done; compute, answer, then the chart."""
    caller = req.caller
    scope = await resolve_scope(req.deps, caller, req.args[0] if req.args else None)
    overview = await compute(req.deps, scope)
    listing = None
    if scope.community_id is None:
        remember(req.deps, scope, overview)
        listing = await browse(req.deps, scope, overview, health.Filters(), 0)
    found = await reviews(req.deps, scope, _shown(overview, listing))
    text, built = render(req.t, req.deps, scope, overview, listing, found)
    built += dashboard.link_block(
        req.t,
        req.deps,
        workspace_id=scope.workspace_id,
        community_id=scope.community_id,
        user_id=caller.user_id,
    )
    await req.show(text, built)
    try:
        await upload_chart(req.client, req.t, caller.user_id, overview)
    except Exception:
        logger.warning("could not upload the health chart", exc_info=True)


async def _tell(client: AsyncWebClient, user_id: str, text: str) -> None:
    await client.chat_postMessage(channel=await _dm(client, user_id), text=echo(text))


async def handle_open_overview(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, deps: Deps
) -> None:
    """The App Home button: the programme overview, sent as a DM."""
    await ack()
    caller = await caller_here(deps, body)  # a database error is answered by handle_error
    try:
        scope = await resolve_scope(deps, caller, "programme")
        overview = await compute(deps, scope)
        remember(deps, scope, overview)
        listing = await browse(deps, scope, overview, health.Filters(), 0)
        found = await reviews(deps, scope, listing.items)
    except CopError as exc:
        await _tell(client, caller.user_id, caller.t(exc.key, **exc.params))
        return
    text, built = render(caller.t, deps, scope, overview, listing, found)
    await client.chat_postMessage(
        channel=await _dm(client, caller.user_id), text=text, blocks=built
    )
    try:
        await upload_chart(client, caller.t, caller.user_id, overview)
    except Exception:
        logger.warning("could not upload the health chart", exc_info=True)


async def _export(body: dict[str, Any], client: AsyncWebClient, deps: Deps, fmt: str) -> None:
    caller = await caller_here(deps, body)
    t = caller.t
    value = str((body.get("actions") or [{}])[0].get("value") or "programme")
    respond_to = body.get("response_url")
    try:
        community_id = row_id(value.split(":", 1)[1]) if value.startswith("community:") else None
        async with deps.sessions.begin() as session:
            if community_id is None:
                await require(session, actor=caller.actor, action=Action.VIEW_PROGRAMME)
                name = deps.programme.name
            else:
                community = await communities.get(
                    session, workspace_id=caller.workspace_id, community_id=community_id
                )
                await require(
                    session,
                    actor=caller.actor,
                    action=Action.VIEW_COMMUNITY_HEALTH,
                    community_id=community_id,
                )
                name = community.name
        scope = Scope(caller.workspace_id, community_id, name)
        overview = await compute(deps, scope)
    except (NotAllowed, CopError) as exc:
        await _reply(client, respond_to, caller, caller.t(exc.key, **exc.params))
        return
    found = await reviews(deps, scope, overview.items)
    file = await downloads.export_file(  # the same file Teams' export link gives
        t, overview, found, fmt=fmt, programme_wide=community_id is None
    )
    content, filename = file.content, file.filename
    await client.files_upload_v2(
        channel=await _dm(client, caller.user_id),
        content=content,
        filename=filename,
        title=filename,
        initial_comment=say(t, "health.export_ready", name=name),
    )


async def _reply(
    client: AsyncWebClient, response_url: str | None, caller: Caller, text: str
) -> None:
    if response_url:
        from slack_sdk.webhook.async_client import AsyncWebhookClient

        await AsyncWebhookClient(response_url).send(
            text=echo(text), response_type="ephemeral", replace_original=False
        )
    else:
        await _tell(client, caller.user_id, text)


async def handle_export_csv(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, deps: Deps
) -> None:
    await ack()
    await _export(body, client, deps, "csv")


async def handle_export_xlsx(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, deps: Deps
) -> None:
    await ack()
    await _export(body, client, deps, "xlsx")


def _clicked_value(body: dict[str, Any]) -> str:
    action = (body.get("actions") or [{}])[0]
    return str(action.get("value") or (action.get("selected_option") or {}).get("value") or "")


async def handle_browse(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, deps: Deps
) -> None:
    """A filter or a page of the overview: the clicker must still be a programme manager (the
    value says only what to show, never who may see it); the message is redrawn in place."""
    await ack()
    caller = await caller_here(deps, body)
    filters, page = blocks.decode_state(_clicked_value(body))
    respond_to = body.get("response_url")
    try:
        scope = await resolve_scope(deps, caller, "programme")
        overview = await recent(deps, scope)
        listing = await browse(deps, scope, overview, filters, page)
        found = await reviews(deps, scope, listing.items)
    except CopError as exc:
        await _reply(client, respond_to, caller, caller.t(exc.key, **exc.params))
        return
    text, built = render(caller.t, deps, scope, overview, listing, found)
    await _redraw(client, respond_to, caller, text, built)


async def handle_open_community(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, deps: Deps
) -> None:
    """A row's button: that community's view (what `/cop health <community>` shows), as a new
    message under the list, so the list stays where it was."""
    await ack()
    caller = await caller_here(deps, body)
    respond_to = body.get("response_url")
    try:
        scope = await community_scope(deps, caller, row_id(_clicked_value(body)))
        overview = await compute(deps, scope)
        found = await reviews(deps, scope, overview.items)
    except CopError as exc:
        await _reply(client, respond_to, caller, caller.t(exc.key, **exc.params))
        return
    text, built = render(caller.t, deps, scope, overview, found=found)
    await _redraw(client, respond_to, caller, text, built, replace_original=False)


async def handle_sponsor_options(ack: AsyncAck, body: dict[str, Any], deps: Deps) -> None:
    """The sponsor filter's type-ahead: sponsors whose name starts with what was typed, each
    option carrying the other filters (read from the filters block's id). Nothing for
    someone who may not see the programme."""
    caller = await caller_here(deps, body)
    current, _ = blocks.decode_state(str(body.get("block_id") or "").partition(":")[2])
    try:
        async with deps.sessions.begin() as session:
            await require(session, actor=caller.actor, action=Action.VIEW_PROGRAMME)
            found = await health.find_sponsors(
                session,
                workspace_id=programme.linked(caller.workspace_id, deps.programme.workspaces),
                typed=str(body.get("value") or "")[:80],
            )
    except CopError:
        await ack(options=[])
        return
    await ack(options=[blocks.sponsor_option(s, current).to_dict() for s in found])


async def _redraw(
    client: AsyncWebClient,
    response_url: str | None,
    caller: Caller,
    text: str,
    built: list,
    *,
    replace_original: bool = True,
) -> None:
    if not response_url:
        await client.chat_postMessage(
            channel=await _dm(client, caller.user_id), text=text, blocks=built
        )
        return
    from slack_sdk.webhook.async_client import AsyncWebhookClient

    await AsyncWebhookClient(response_url).send(
        text=text,
        blocks=built,
        response_type="ephemeral",
        replace_original=replace_original,
    )


SUBCOMMANDS: list[Subcommand] = [
    Subcommand(
        "health",
        handle_health,
        (
            HelpLine("health.usage", Action.VIEW_COMMUNITY_HEALTH),
            HelpLine("health.usage_programme", Action.VIEW_PROGRAMME),
        ),
        aliases=("santé", "sante"),
    )
]


def register(app: AsyncApp) -> None:
    app.action(blocks.OPEN_OVERVIEW)(handle_open_overview)
    app.action(blocks.EXPORT_CSV)(handle_export_csv)
    app.action(blocks.EXPORT_XLSX)(handle_export_xlsx)
    for action_id in blocks.BROWSE_ACTIONS:
        app.action(action_id)(handle_browse)
    app.action(blocks.OPEN_COMMUNITY)(handle_open_community)
    app.options(blocks.FILTER_SPONSOR)(handle_sponsor_options)
