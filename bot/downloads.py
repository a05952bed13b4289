"""Download links: a file cop-bot serves at its own address (GET /files?t=…), reached only by a
signed, expiring link — how Teams gets the files Slack attaches (a bot has no file API in a
Teams channel: an `Action.OpenUrl` to this address works in every scope, with no Graph right).

The link is signed by the dashboard's signer (bot.dashboard.links.seal) under its own salt, so a
dashboard link never opens a file and a file link never opens the dashboard. What it grants:

- an event's calendar file (.ics, the one Slack uploads in the announcement's thread), to anyone
  holding the link (it sits on the channel's announcement, the same card for everyone), until the
  event ends plus CALENDAR_MARGIN. A cancelled event's link gives its .ics with METHOD:CANCEL and
  STATUS:CANCELLED — what a calendar that imported it needs to take it off; an event gone (or of
  another workspace) is refused.
- a health export (CSV or XLSX, the rows of Slack's `/cop health` export), to the person it was
  given to, for EXPORT_LIFETIME, and only while the permission guard still lets them see that view:
  asked again when the link is opened (`still_allowed`, the dashboard's guard too), so a member's
  copy of a manager's link, or a manager removed from app.yaml, gets nothing.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from bot import events, health, lifecycle, people, programme, report
from bot.config import Settings
from bot.dashboard import links
from bot.deps import Deps
from bot.errors import NotAllowed, NotFound
from bot.i18n import Translator, translate
from bot.models import utcnow
from bot.permissions import Action, Actor, require

logger = logging.getLogger(__name__)

PATH = "/files"
CALENDAR_MARGIN = timedelta(days=7)  # a calendar file stays reachable a week after the event
EXPORT_LIFETIME = links.LIFETIME
_SALT = "cop-bot download link v1"
CALENDAR, CSV, XLSX = "ics", "csv", "xlsx"
EXPORTS = (CSV, XLSX)
MEDIA_TYPES = {
    CALENDAR: "text/calendar; charset=utf-8",
    CSV: "text/csv; charset=utf-8",
    XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass(frozen=True, slots=True)
class File:
    content: bytes
    media_type: str
    filename: str


class Refused(Exception):
    """The link gives nothing; `reason` says why, in words the page shows: "expired", "invalid"
    (forged, malformed, or no key to check it with), "gone" (the event or community no longer
    exists) or "not_allowed" (its holder may no longer see it)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def ics_domain(workspace_id: str) -> str:
    """The domain of an event's UID: the same from every surface, so a calendar sees one event."""
    return f"{workspace_id.lower()}.cop-bot"


def _address(settings: Settings, token: str) -> str:
    return f"{settings.public_url}{PATH}?{urlencode({'t': token})}"


def calendar_link(workspace_id: str, event: events.EventView, *, settings: Settings) -> str | None:
    """The address of `event`'s .ics, valid until it ends plus CALENDAR_MARGIN; None when the
    process has no key to sign with or no public address (Socket Mode)."""
    if settings.dashboard_key is None or not settings.public_url:
        return None
    token = links.seal(
        {"k": CALENDAR, "w": workspace_id, "v": event.id},
        event.ends_at + CALENDAR_MARGIN,
        key=settings.dashboard_key,
        salt=_SALT,
    )
    return _address(settings, token)


def export_link(
    actor: Actor,
    fmt: str,
    *,
    community_id: int | None,
    language: str,
    settings: Settings,
    now: datetime,
) -> str | None:
    """The address of a health export (fmt "csv" or "xlsx") of the programme (community None) or
    one community, for `actor` alone: it names them (their platform id and Entra object id), so
    the guard can be asked again when it is opened."""
    if settings.dashboard_key is None or not settings.public_url:
        return None
    payload = {
        "k": fmt,
        "w": actor.workspace_id,
        "c": community_id,
        "u": actor.slack_user_id,
        "a": actor.aad_object_id,
        "l": language,
    }
    token = links.seal(payload, now + EXPORT_LIFETIME, key=settings.dashboard_key, salt=_SALT)
    return _address(settings, token)


async def still_allowed(
    deps: Deps,
    *,
    workspace_id: str,
    user: str,
    community_id: int | None,
    aad_object_id: str | None = None,
) -> bool:
    """Whether the holder of a link may still see this view (bot.permissions, as `/cop health`
    asks): the programme (community None) or one community's health. A manager is recognised by
    any identity app.yaml may name them by — their user id, their Entra object id (signed in the
    link), their e-mail (as the platform last gave it, read now) — so a manager removed from
    app.yaml, or a leader who lost the role, loses the link with it."""
    async with deps.sessions.begin() as session:
        person = await people.find(session, workspace_id=workspace_id, slack_user_id=user)
        email = person.email if person is not None else None
        actor = Actor(
            workspace_id,
            user,
            deps.is_manager(user, aad_object_id=aad_object_id, email=email),
            aad_object_id=aad_object_id,
            email=email,
        )
        try:
            if community_id is None:
                await require(session, actor=actor, action=Action.VIEW_PROGRAMME)
            else:
                await require(
                    session,
                    actor=actor,
                    action=Action.VIEW_COMMUNITY_HEALTH,
                    community_id=community_id,
                )
        except NotAllowed:
            logger.info("link refused: %s may no longer see it", user)
            return False
    return True


async def open_link(deps: Deps, token: str | None, now: datetime | None = None) -> File:
    """The file a link gives, or Refused saying why."""
    now = now or utcnow()
    try:
        payload, _ = links.unseal(token, now, key=deps.config.settings.dashboard_key, salt=_SALT)
    except links.Refused as refused:
        raise Refused("expired" if str(refused) == "expired" else "invalid") from None
    try:
        kind = str(payload["k"])
        workspace_id = str(payload["w"])
        if kind == CALENDAR:
            return await _calendar(deps, workspace_id, int(payload["v"]), now)
        if kind in EXPORTS:
            community = payload.get("c")
            community_id = None if community is None else int(community)
            user = str(payload["u"])
            aad = payload.get("a")
            language = str(payload.get("l") or deps.programme.language)
        else:
            raise Refused("invalid")
    except (KeyError, TypeError, ValueError):
        raise Refused("invalid") from None
    allowed = await still_allowed(
        deps,
        workspace_id=workspace_id,
        user=user,
        community_id=community_id,
        aad_object_id=str(aad) if aad else None,
    )
    if not allowed:
        raise Refused("not_allowed")
    return await health_export(
        deps, workspace_id=workspace_id, community_id=community_id, fmt=kind, language=language
    )


async def _calendar(deps: Deps, workspace_id: str, event_id: int, now: datetime) -> File:
    try:
        async with deps.sessions() as session:
            event = await events.get(session, workspace_id=workspace_id, event_id=event_id)
            view = await events.view(session, event=event, default_tz=deps.programme.timezone)
    except NotFound:
        raise Refused("gone") from None
    content = events.ics(view, domain=ics_domain(workspace_id), now=now)
    return File(content.encode("utf-8"), MEDIA_TYPES[CALENDAR], events.ics_filename(view))


async def health_export(
    deps: Deps, *, workspace_id: str, community_id: int | None, fmt: str, language: str
) -> File:
    """The health export of the programme (its linked workspaces: bot.programme) or of one
    community, as Slack's `/cop health` buttons upload it: the ranking's table, and in Excel
    the annual survey's sheets beside it. The caller has asked the guard."""
    t = translate(language)
    now, tz = utcnow(), deps.programme.timezone
    scope: programme.Workspaces = (
        workspace_id
        if community_id is not None
        else programme.linked(workspace_id, deps.programme.workspaces)
    )
    try:
        async with deps.sessions.begin() as session:
            overview = await health.build_overview(
                session,
                workspace_id=scope,
                today=now.astimezone(ZoneInfo(tz)).date(),
                thresholds=deps.programme.health,
                tz=tz,
                community_ids=None if community_id is None else [community_id],
                question_kinds={q.key: q.kind for q in deps.programme.rituals.pulse.questions},
                now=now,
                rule=deps.disclosure,
                engagement_rule=deps.programme.engagement,
            )
            found = await lifecycle.reviews(
                session,
                workspace_id=scope,
                items=overview.items,
                defaults=lifecycle.ritual_defaults(deps.programme),
            )
    except NotFound:
        raise Refused("gone") from None
    if community_id is not None and not overview.items:
        raise Refused("gone")
    return await export_file(t, overview, found, fmt=fmt, programme_wide=community_id is None)


async def export_file(
    t: Translator,
    overview: health.Overview,
    reviews: dict[int, lifecycle.Review],
    *,
    fmt: str,
    programme_wide: bool,
) -> File:
    """The export's bytes and name ("santé-2026-12-01.csv"): CSV in the reader's dialect, or a
    workbook with the survey's sheets (built in a thread: a big programme takes a while)."""
    table = report.health_table(t, overview.items, reviews)
    base = f"{t('health.export_name')}-{overview.today.isoformat()}"
    if fmt == CSV:
        content = report.to_csv(table, report.csv_dialect(t.language))
        return File(content, MEDIA_TYPES[CSV], f"{base}.csv")
    survey = report.survey_sheets(
        t, overview.survey, of=len(overview.items) if programme_wide else None
    )
    content = await asyncio.to_thread(report.to_xlsx, [(t("health.export_name"), table), *survey])
    return File(content, MEDIA_TYPES[XLSX], f"{base}.xlsx")
