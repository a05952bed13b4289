"""Recurring series: created from the event modal's "Repeat" section, edited from an occurrence
("this one only" or "this and all following"), cancelled whole from the series message.

The series message lists the rule and the next dates (in `series` mode each with its RSVP
buttons, answered by the events' RSVP listener); its thread holds the series' .ics (one
recurring entry with its RRULE), uploaded again at every change. In `each` mode every occurrence
gets its own announcement a week before it (at once when it is that close; later ones through
the rituals tick, rituals/series.py).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from bot import event_changes, series
from bot.deps import Deps
from bot.errors import CopError, InvalidFields
from bot.events import EventView, Schedule
from bot.i18n import Translator
from bot.models import utcnow
from bot.numbers import row_id
from bot.permissions import Actor
from bot.series import Rule, SeriesView
from bot.slack.blocks import series as screens
from bot.slack.blocks.common import blocks_json
from handlers.charters import answer_click, community_translator, refusal, tell_user
from handlers.commands import Subcommand
from handlers.context import Caller, caller_of
from rituals import outbox

logger = logging.getLogger(__name__)


def _started(shown: SeriesView) -> set[int]:
    now = utcnow()
    return {o.event.id for o in shown.coming if o.event.started(now)}


def message(deps: Deps, shown: SeriesView) -> dict[str, Any]:
    t = community_translator(deps, shown.community_language)
    text, blocks = screens.build_message(t, shown, now_started=_started(shown))
    return {"channel": shown.channel_id, "text": text, "blocks": blocks_json(blocks)}


async def refresh(deps: Deps, client: AsyncWebClient, shown: SeriesView) -> None:
    """chat.update the series message in place (counts, changes, cancellation)."""
    if not shown.channel_id or not shown.message_ts:
        return
    try:
        await client.chat_update(ts=shown.message_ts, **message(deps, shown))
    except SlackApiError:
        logger.warning("could not update the message of series %s", shown.id, exc_info=True)


async def upload_ics(
    deps: Deps,
    client: AsyncWebClient,
    shown: SeriesView,
    *,
    workspace_id: str,
    thread: tuple[str, str] | None = None,
) -> None:
    """The series' .ics in the thread of its message (or of `thread`, an occurrence's
    announcement: the same UID, so importing either updates one calendar entry)."""
    from handlers.community_events import ics_domain

    channel, ts = thread or (shown.channel_id, shown.message_ts)
    if not channel or not ts:
        return
    t = community_translator(deps, shown.community_language)
    content = series.ics(shown, domain=ics_domain(workspace_id), now=utcnow())
    try:
        await client.files_upload_v2(
            channel=channel,
            thread_ts=ts,
            content=content.encode(),
            filename=series.ics_filename(shown),
            title=t("series.ics_title", title=shown.title),
            initial_comment=t("series.ics_comment"),
        )
    except SlackApiError:
        logger.warning("could not upload the calendar file of series %s", shown.id, exc_info=True)


async def announce_occurrences(
    deps: Deps, client: AsyncWebClient, caller: Caller, occurrences: tuple[EventView, ...]
) -> None:
    """`each` mode: the occurrences close enough are announced at once (the rest by the tick)."""
    from handlers.community_events import post_announcement

    for occurrence in occurrences:
        ts = await post_announcement(deps, client, occurrence)
        if ts is None:
            continue
        await event_changes.announced(
            deps.sessions,
            workspace_id=caller.workspace_id,
            event_id=occurrence.id,
            channel_id=occurrence.channel_id or "",
            ts=ts,
            default_tz=deps.programme.timezone,
        )
        shown = await series.of_event(
            deps.sessions,
            workspace_id=caller.workspace_id,
            event_id=occurrence.id,
            default_tz=deps.programme.timezone,
            now=utcnow(),
        )
        if shown is not None and occurrence.channel_id:
            await upload_ics(
                deps,
                client,
                shown,
                workspace_id=caller.workspace_id,
                thread=(occurrence.channel_id, ts),
            )


async def created(
    deps: Deps,
    client: AsyncWebClient,
    caller: Caller,
    *,
    community_id: int,
    schedule: Schedule,
    rule: Rule,
    submission_key: str,
) -> None:
    """The modal's submission with a "Repeat": the series, its message and .ics, and in `each`
    mode the first occurrence's announcement when it is within a week."""
    t = caller.t
    try:
        made = await series.create(
            deps.sessions,
            actor=caller.actor,
            community_id=community_id,
            schedule=schedule,
            rule=rule,
            submission_key=submission_key,
            default_tz=deps.programme.timezone,
            now=utcnow(),
        )
    except CopError as exc:
        await tell_user(client, user=caller.user_id, text=refusal(caller, exc))
        return
    if made is None:
        return  # the same modal submitted twice
    shown = made.series
    try:
        response = await client.chat_postMessage(**message(deps, shown))
    except SlackApiError:
        logger.warning("could not post series %s", shown.id, exc_info=True)
        await tell_user(client, user=caller.user_id, text=t("event.announce_failed"))
        return
    shown = await series.posted(
        deps.sessions,
        workspace_id=caller.workspace_id,
        series_id=shown.id,
        channel_id=str(response["channel"]),
        ts=str(response["ts"]),
        default_tz=deps.programme.timezone,
        now=utcnow(),
    )
    await upload_ics(deps, client, shown, workspace_id=caller.workspace_id)
    await announce_occurrences(deps, client, caller, made.announce_now)
    text = t(
        "series.created",
        title=shown.title,
        rule=screens.rule_text(t, shown),
        dates=screens.next_dates(t, shown),
    )
    await tell_user(client, user=caller.user_id, channel=shown.channel_id, text=text)
    from handlers.community_events import refresh_homes

    if shown.coming:
        await refresh_homes(deps, client, caller, shown.coming[0].event)


async def edited_following(
    deps: Deps, client: AsyncWebClient, caller: Caller, *, event_id: int, schedule: Schedule
) -> None:
    """ "This and all following": the series and its later occurrences change; those going are
    told; announcements, the series message and its .ics are redrawn."""
    from handlers.community_events import refresh_announcement

    try:
        changed = await series.edit_following(
            deps.sessions,
            outbox.enqueue,
            actor=caller.actor,
            event_id=event_id,
            schedule=schedule,
            default_tz=deps.programme.timezone,
            default_language=deps.programme.language,
            now=utcnow(),
        )
    except InvalidFields as exc:
        error = exc.errors[0]
        await tell_user(client, user=caller.user_id, text=caller.t(error.key, **error.params))
        return
    except CopError as exc:
        await tell_user(client, user=caller.user_id, text=refusal(caller, exc))
        return
    for shown in changed.events:
        await refresh_announcement(deps, client, shown)
    await announce_occurrences(deps, client, caller, changed.new)
    await refresh(deps, client, changed.series)
    await upload_ics(deps, client, changed.series, workspace_id=caller.workspace_id)
    t = caller.t
    text = t(
        "series.changed",
        title=changed.series.title,
        rule=screens.rule_text(t, changed.series),
        count=changed.told,
    )
    await tell_user(client, user=caller.user_id, channel=changed.series.channel_id, text=text)


def _thread_of(announcement: EventView | None) -> tuple[str, str] | None:
    if announcement is None or not announcement.channel_id or not announcement.message_ts:
        return None
    return announcement.channel_id, announcement.message_ts


async def occurrence_changed(
    deps: Deps,
    client: AsyncWebClient,
    caller: Caller,
    *,
    event_id: int,
    detach: bool = False,
    announcement: EventView | None = None,
) -> None:
    """After a single occurrence changed (an RSVP, an edit of this one only, a cancellation):
    mark it detached when edited alone, then redraw the series message (and its .ics)."""
    if detach:
        try:
            await series.detach(deps.sessions, actor=caller.actor, event_id=event_id)
        except CopError:
            return
    shown = await series.of_event(
        deps.sessions,
        workspace_id=caller.workspace_id,
        event_id=event_id,
        default_tz=deps.programme.timezone,
        now=utcnow(),
    )
    if shown is None:
        return
    await refresh(deps, client, shown)
    if detach:  # the override: in the series message's thread and the occurrence's own
        await upload_ics(deps, client, shown, workspace_id=caller.workspace_id)
        if thread := _thread_of(announcement):
            await upload_ics(deps, client, shown, workspace_id=caller.workspace_id, thread=thread)


async def occurrence_cancelled(
    deps: Deps,
    client: AsyncWebClient,
    caller: Caller,
    *,
    event_id: int,
    announcement: EventView | None = None,
) -> bool:
    """One occurrence cancelled: the series' .ics gains an EXDATE; its message shows it.
    False when the event is not part of a series."""
    await series.occurrence_cancelled(
        deps.sessions, workspace_id=caller.workspace_id, event_id=event_id
    )
    shown = await series.of_event(
        deps.sessions,
        workspace_id=caller.workspace_id,
        event_id=event_id,
        default_tz=deps.programme.timezone,
        now=utcnow(),
    )
    if shown is None:
        return False
    await refresh(deps, client, shown)
    await upload_ics(deps, client, shown, workspace_id=caller.workspace_id)
    if thread := _thread_of(announcement):
        await upload_ics(deps, client, shown, workspace_id=caller.workspace_id, thread=thread)
    return True


async def with_scope(
    deps: Deps, t: Translator, modal: View, *, actor: Actor, event_id: int, scope: str
) -> None:
    """The edit modal of an occurrence asks: this one only, or this one and all following."""
    shown = await series.of_event(
        deps.sessions,
        workspace_id=actor.workspace_id,
        event_id=event_id,
        default_tz=deps.programme.timezone,
        now=utcnow(),
    )
    if shown is not None and not shown.cancelled:
        screens.add_scope(t, modal, shown, scope=scope)


# --- buttons on the series message ---------------------------------------------------------------


async def handle_edit(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    deps: Deps,
) -> None:
    """'Edit the series': the next occurrence's modal, "this and all following" chosen."""
    from handlers.charters import open_from_button
    from handlers.community_events import open_modal

    async def opener(deps: Deps, client: AsyncWebClient, **kwargs: Any) -> None:
        await open_modal(deps, client, scope=series.Scope.ALL, **kwargs)

    await open_from_button(
        opener,
        ack=ack,
        body=body,
        client=client,
        respond=respond,
        deps=deps,
        event_id=action.get("value"),
    )


async def handle_cancel(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    deps: Deps,
) -> None:
    """'Cancel the series': every occurrence to come; those going are told."""
    from handlers.community_events import refresh_announcement, refresh_homes

    await ack()
    caller = await caller_of(deps, body)
    try:
        changed = await series.cancel_series(
            deps.sessions,
            outbox.enqueue,
            actor=caller.actor,
            series_id=row_id(action.get("value")),
            default_tz=deps.programme.timezone,
            default_language=deps.programme.language,
            now=utcnow(),
        )
    except CopError as exc:
        await answer_click(client, respond, caller=caller, text=refusal(caller, exc))
        return
    for shown in changed.events:
        await refresh_announcement(deps, client, shown)
    if changed.events:
        await refresh(deps, client, changed.series)
        await upload_ics(deps, client, changed.series, workspace_id=caller.workspace_id)
        await refresh_homes(deps, client, caller, changed.events[0])
    text = caller.t("series.cancelled_done", title=changed.series.title, count=changed.told)
    await answer_click(client, respond, caller=caller, text=text)


def register(app: AsyncApp) -> None:
    """Listeners of this feature (the modal itself is the events' one)."""
    app.action(screens.EDIT)(handle_edit)
    app.action(screens.CANCEL)(handle_cancel)


SUBCOMMANDS: list[Subcommand] = []  # `/cop event` opens the modal that sets up a series
