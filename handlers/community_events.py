"""/cop event: scheduling, RSVP buttons, attendance and calendar files (leaders' tools).

The calendar file: Slack is our only file host, so each version of an event's .ics is uploaded
(files_upload_v2) in the thread of its announcement — on creation, on every change and on
cancellation. Everyone in the channel can open it on any device, and because the UID stays the
same and SEQUENCE grows, importing the newer file updates the calendar entry instead of adding a
second one. (An ephemeral reply cannot carry a file, and a per-click upload would scatter copies.)
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import downloads, event_changes, events
from bot import series as series_domain
from bot.deps import Deps
from bot.errors import CopError, InvalidFields
from bot.events import EventView
from bot.i18n import Translator
from bot.models import Event, utcnow
from bot.numbers import row_id
from bot.permissions import Action, Actor
from bot.slack.blocks import event as screens
from bot.slack.blocks import series as series_screens
from bot.slack.blocks.common import blocks_json, modal_metadata
from bot.slack.blocks.home import EVENT_NEW
from handlers import home
from handlers import series as series_handlers
from handlers.charters import (
    answer_click,
    community_translator,
    field_errors,
    modal_button,
    open_from_command,
    refusal,
    tell_user,
)
from handlers.commands import CommandRequest, HelpLine, Subcommand
from handlers.context import Caller, caller_of, open_view, read_modal, zone_of
from rituals import event_starts, outbox

logger = logging.getLogger(__name__)

NEW_WORDS = {"", "new", "nouveau", "nouvel", "create", "creer", "créer", "planifier"}
LIST_WORDS = {"list", "liste", "ls"}


def submission_key(view: dict[str, Any]) -> str:
    """The same modal sent twice has the same view id and hash: one event."""
    return hashlib.sha256(f"{view.get('id')}:{view.get('hash')}".encode()).hexdigest()


def ics_domain(workspace_id: str) -> str:
    return downloads.ics_domain(workspace_id)  # the UID Teams' calendar link gives too


async def load_view(session: Any, deps: Deps, event: Event) -> EventView:
    """The event as shown, in the session given (the demo's past events, bot/demo/leaders.py)."""
    return await events.view(session, event=event, default_tz=deps.programme.timezone)


async def current(deps: Deps, caller: Caller, event_id: int) -> EventView:
    return await event_changes.current(
        deps.sessions,
        workspace_id=caller.workspace_id,
        event_id=event_id,
        default_tz=deps.programme.timezone,
    )


# --- opening the modal ------------------------------------------------------------------------


async def open_modal(
    deps: Deps,
    client: AsyncWebClient,
    *,
    actor: Actor,
    t: Translator,
    trigger_id: str,
    community_id: int = 0,
    event_id: int | None = None,
    scope: str = series_domain.Scope.ONE,
) -> None:
    """Check the permission (again, for Home and list buttons), then open create or edit
    (an occurrence of a series asks: this one only, or all following — `scope` preselected)."""
    shown = await event_changes.editor(
        deps.sessions,
        actor=actor,
        community_id=community_id,
        event_id=event_id,
        default_tz=deps.programme.timezone,
    )
    view = screens.build_modal(
        t,
        community_id=shown.community_id,
        community_name=shown.community_name,
        default_tz=shown.default_tz,
        draft=shown.draft,
        event_id=event_id,
    )
    if event_id is not None:
        await series_handlers.with_scope(deps, t, view, actor=actor, event_id=event_id, scope=scope)
    await open_view(client, trigger_id=trigger_id, view=view, t=t)


# --- /cop event ---------------------------------------------------------------------------------


async def handle_event(req: CommandRequest) -> None:
    word = req.args[0].lower() if req.args else ""
    req.require_community()  # every sub-command answers in a community channel only
    if word in NEW_WORDS:
        await open_from_command(open_modal, req)
    elif word in LIST_WORDS:
        await show_list(req)
    else:
        await req.say("event.usage_hint")


async def show_list(req: CommandRequest) -> None:
    """Ephemeral (chat.postEphemeral, so its buttons work), times in the reader's zone."""
    community = req.require_community()
    deps = req.deps
    shown = await event_changes.listing(
        deps.sessions,
        actor=req.caller.actor,
        community_id=community.id,
        default_tz=deps.programme.timezone,
        now=utcnow(),
    )
    text, blocks = screens.build_list(
        req.t,
        community_name=community.name,
        upcoming=shown.upcoming,
        past=shown.past,
        tz=await zone_of(deps, req.caller),
        may_manage=shown.may_manage,
    )
    try:
        await req.client.chat_postEphemeral(
            channel=community.channel_id,
            user=req.caller.user_id,
            text=text,
            blocks=blocks_json(blocks),
        )
    except SlackApiError:
        await req.show(text, blocks_json(blocks))


# --- announcement, calendar file, notices ---------------------------------------------------------


def announcement(deps: Deps, event: EventView) -> dict[str, Any]:
    """The announcement's text and blocks, in the community's language, as it stands now."""
    t = community_translator(deps, event.community_language)
    text, blocks = screens.build_announcement(t, event, now=utcnow())
    return {"channel": event.channel_id, "text": text, "blocks": blocks_json(blocks)}


async def post_announcement(deps: Deps, client: AsyncWebClient, event: EventView) -> str | None:
    assert event.channel_id is not None
    try:
        response = await client.chat_postMessage(**announcement(deps, event))
    except SlackApiError:
        logger.warning("could not announce event %s", event.id, exc_info=True)
        return None
    return str(response["ts"])


async def refresh_announcement(deps: Deps, client: AsyncWebClient, event: EventView) -> None:
    """chat.update the announcement in place (counts, changes, cancellation, attendance)."""
    if not event.channel_id or not event.message_ts:
        return
    try:
        await client.chat_update(ts=event.message_ts, **announcement(deps, event))
    except SlackApiError:
        logger.warning("could not update the announcement of event %s", event.id, exc_info=True)


async def close_answers(
    deps: Deps, client: AsyncWebClient, workspace_id: str, event_id: int
) -> bool:
    """The event has started: its announcement, re-rendered, shows no RSVP buttons and says the
    answers are closed (the rituals' clock calls this through Deps.hooks, rituals/event_starts.py).
    False when Slack refused the update (tried again at the next tick)."""
    event = await event_changes.current(
        deps.sessions,
        workspace_id=workspace_id,
        event_id=event_id,
        default_tz=deps.programme.timezone,
    )
    if not event.channel_id or not event.message_ts:
        return True  # nothing to re-render
    try:
        await client.chat_update(ts=event.message_ts, **announcement(deps, event))
    except SlackApiError as exc:
        if exc.response.get("error") in {"message_not_found", "channel_not_found", "is_archived"}:
            return True  # gone: nothing left to close
        logger.warning("could not close the answers of event %s", event.id, exc_info=True)
        return False
    return True


def install(deps: Deps) -> None:
    """What the rituals' clock asks of this feature (Deps.hooks)."""

    async def event_started(workspace_id: str, event_id: int) -> bool:
        return await close_answers(deps, deps.web_client, workspace_id, event_id)

    deps.hooks[event_starts.hook_name("slack")] = event_started


async def upload_ics(
    deps: Deps, client: AsyncWebClient, event: EventView, *, workspace_id: str
) -> None:
    if not event.channel_id or not event.message_ts:
        return
    t = community_translator(deps, event.community_language)
    content = events.ics(event, domain=ics_domain(workspace_id), now=utcnow())
    try:
        await client.files_upload_v2(
            channel=event.channel_id,
            thread_ts=event.message_ts,
            content=content.encode(),
            filename=events.ics_filename(event),
            title=t("event.ics_title", title=event.title),
            initial_comment=t("event.ics_comment"),
        )
    except SlackApiError:
        logger.warning("could not upload the calendar file of event %s", event.id, exc_info=True)


async def refresh_homes(
    deps: Deps, client: AsyncWebClient, caller: Caller, event: EventView
) -> None:
    """The event list on the Homes of the author and the community's members (best effort)."""
    await home.refresh_community(
        deps,
        client,
        workspace_id=caller.workspace_id,
        community_id=event.community_id,
        author=caller.user_id,
    )


# --- the modal's submission ------------------------------------------------------------------------


async def _announce(
    deps: Deps, client: AsyncWebClient, caller: Caller, event: EventView
) -> EventView | None:
    """Post the announcement, remember where it is, then put the calendar file in its thread."""
    ts = await post_announcement(deps, client, event)
    if ts is None:
        return None
    event = await event_changes.announced(
        deps.sessions,
        workspace_id=caller.workspace_id,
        event_id=event.id,
        channel_id=event.channel_id or "",
        ts=ts,
        default_tz=deps.programme.timezone,
    )
    await upload_ics(deps, client, event, workspace_id=caller.workspace_id)
    return event


async def handle_submit(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient, deps: Deps
) -> None:
    """Fields checked before the ack, without the database; the permission and the save after."""
    t, view = read_modal(deps, body)
    try:
        meta = modal_metadata(view)
        event_id = row_id(meta["e"]) if meta.get("e") is not None else None
        community_id = 0 if event_id else row_id(meta.get("c"))
        schedule = events.validate(screens.parse(view), now=utcnow())
        repeat = None if event_id else series_screens.parse(view)
        rule = series_domain.validate(repeat, schedule) if repeat else None
        scope = series_screens.parse_scope(view) if event_id else None
    except InvalidFields as exc:
        await ack(
            response_action="errors",
            errors=field_errors(
                t, exc, lambda f: series_screens.field_block(f) or screens.field_block(f)
            ),
        )
        return
    except CopError as exc:  # metadata that is not ours
        await ack(
            response_action="errors", errors={screens.field_block(None): t(exc.key, **exc.params)}
        )
        return
    await ack()
    caller = await caller_of(deps, body)
    t = caller.t
    if rule is not None:  # a recurring series (handlers/series.py)
        await series_handlers.created(
            deps,
            client,
            caller,
            community_id=community_id,
            schedule=schedule,
            rule=rule,
            submission_key=submission_key(view),
        )
        return
    if event_id and scope == series_domain.Scope.ALL:
        await series_handlers.edited_following(
            deps, client, caller, event_id=event_id, schedule=schedule
        )
        return
    try:
        saved = await event_changes.save(
            deps.sessions,
            outbox.enqueue,
            actor=caller.actor,
            event_id=event_id,
            community_id=community_id,
            schedule=schedule,
            submission_key=submission_key(view),
            default_tz=deps.programme.timezone,
            default_language=deps.programme.language,
        )
    except CopError as exc:
        await tell_user(client, user=caller.user_id, text=refusal(caller, exc))
        return
    if saved is None:
        return  # the same modal submitted twice: already done
    shown, told = saved.event, saved.told
    if event_id:
        await refresh_announcement(deps, client, shown)
        if scope is None:
            await upload_ics(deps, client, shown, workspace_id=caller.workspace_id)
        else:  # this occurrence only: the rest of its series stays; the series' .ics says so
            await series_handlers.occurrence_changed(
                deps, client, caller, event_id=shown.id, detach=True, announcement=shown
            )
        text = t("event.changed", title=shown.title, count=told)
        if scope is not None:
            when = screens.when_text(t, shown, await zone_of(deps, caller), with_zone=True)
            text = t("series.occurrence_changed", title=shown.title, when=when, count=told)
    else:
        announced = await _announce(deps, client, caller, shown)
        if announced is None:
            await tell_user(client, user=caller.user_id, text=t("event.announce_failed"))
            return
        shown = announced
        when = screens.when_text(t, shown, await zone_of(deps, caller), with_zone=True)
        text = t("event.created", title=shown.title, when=when)
    await tell_user(client, user=caller.user_id, channel=shown.channel_id, text=text)
    await refresh_homes(deps, client, caller, shown)


# --- buttons -----------------------------------------------------------------------------------------


async def handle_rsvp(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    deps: Deps,
) -> None:
    """One answer per person: a second click on the same answer changes nothing, another moves it."""
    await ack()
    answer = next(a for a, action_id in screens.RSVP.items() if action_id == action["action_id"])
    caller = await caller_of(deps, body)
    try:
        changed, shown = await event_changes.answer(
            deps.sessions,
            actor=caller.actor,
            event_id=row_id(action.get("value")),
            answer=answer,
            default_tz=deps.programme.timezone,
        )
    except CopError as exc:
        await answer_click(client, respond, caller=caller, text=refusal(caller, exc))
        if exc.key == "event.rsvp_started":  # an announcement posted before it began
            await refresh_announcement(
                deps, client, await current(deps, caller, row_id(action.get("value")))
            )
        return
    if changed:
        await refresh_announcement(deps, client, shown)
        await series_handlers.occurrence_changed(deps, client, caller, event_id=shown.id)
        # two answers at the same moment may have rendered in either order: the last word goes
        # to the counts as they are now
        latest = await current(deps, caller, shown.id)
        if latest.counts != shown.counts:
            await refresh_announcement(deps, client, latest)
    tz = await zone_of(deps, caller)
    text = screens.rsvp_confirmation(caller.t, shown, answer, tz=tz)
    await answer_click(client, respond, caller=caller, text=text)
    if changed:  # their answer shows on their Home
        await home.refresh(
            deps, client, workspace_id=caller.workspace_id, user_ids=[caller.user_id]
        )


async def handle_attendance_open(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    deps: Deps,
) -> None:
    """Visible to everyone on the announcement, usable by leaders, core team and managers."""
    await ack()
    caller = await caller_of(deps, body)
    try:
        shown, suggested = await event_changes.attendance_sheet(
            deps.sessions,
            actor=caller.actor,
            event_id=row_id(action.get("value")),
            default_tz=deps.programme.timezone,
        )
    except CopError as exc:
        await answer_click(client, respond, caller=caller, text=refusal(caller, exc))
        return
    await open_view(
        client,
        trigger_id=body["trigger_id"],
        view=screens.build_attendance_modal(caller.t, shown, suggested=suggested),
        t=caller.t,
    )


async def handle_attendance_submit(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient, deps: Deps
) -> None:
    t, view = read_modal(deps, body)
    try:
        event_id, count, names = screens.parse_attendance(view)
        events.check_attendance(count, names)
    except InvalidFields as exc:
        await ack(response_action="errors", errors=field_errors(t, exc, screens.attendance_block))
        return
    except CopError as exc:  # metadata that is not ours
        await ack(
            response_action="errors",
            errors={screens.attendance_block(None): t(exc.key, **exc.params)},
        )
        return
    await ack()
    caller = await caller_of(deps, body)
    t = caller.t
    try:
        shown, stored = await event_changes.take_attendance(
            deps.sessions,
            actor=caller.actor,
            event_id=event_id,
            count=count,
            names=names,
            default_tz=deps.programme.timezone,
        )
    except CopError as exc:
        await tell_user(client, user=caller.user_id, text=refusal(caller, exc))
        return
    await refresh_announcement(deps, client, shown)
    await tell_user(
        client,
        user=caller.user_id,
        channel=shown.channel_id,
        text=t("event.attendance_saved", title=shown.title, count=stored),
    )


handle_edit = modal_button(
    open_modal, "event_id", "'Edit or reschedule' in the list: the button carries the event id."
)


async def handle_cancel(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    deps: Deps,
) -> None:
    await ack()
    caller = await caller_of(deps, body)
    try:
        cancelled = await event_changes.cancel(
            deps.sessions,
            outbox.enqueue,
            actor=caller.actor,
            event_id=row_id(action.get("value")),
            default_tz=deps.programme.timezone,
            default_language=deps.programme.language,
        )
    except CopError as exc:
        await answer_click(client, respond, caller=caller, text=refusal(caller, exc))
        if exc.key == "event.rsvp_started":  # an announcement posted before it began
            await refresh_announcement(
                deps, client, await current(deps, caller, row_id(action.get("value")))
            )
        return
    changed, shown, told = cancelled.changed, cancelled.event, cancelled.told
    if changed:
        await refresh_announcement(deps, client, shown)
        # an occurrence of a series: its EXDATE goes in the series' .ics instead
        if not await series_handlers.occurrence_cancelled(
            deps, client, caller, event_id=shown.id, announcement=shown
        ):
            await upload_ics(deps, client, shown, workspace_id=caller.workspace_id)
    text = caller.t("event.cancelled_done", title=shown.title, count=told)
    await answer_click(client, respond, caller=caller, text=text)
    if changed:
        await refresh_homes(deps, client, caller, shown)


handle_home_new = modal_button(
    open_modal, "community_id", "'New event' on the App Home: the button carries the community id."
)


SUBCOMMANDS: list[Subcommand] = [
    Subcommand(
        "event",
        handle_event,
        (HelpLine("event.usage_new", Action.MANAGE_EVENTS), HelpLine("event.usage")),
        aliases=("événement", "evenement", "évènement", "événements", "evenements", "events"),
    ),
]


def register(app: AsyncApp) -> None:
    """Listeners of this feature."""
    app.view(screens.MODAL)(handle_submit)
    app.view(screens.ATTENDANCE_MODAL)(handle_attendance_submit)
    for action_id in screens.RSVP.values():
        app.action(action_id)(handle_rsvp)
    app.action(screens.ATTENDANCE_OPEN)(handle_attendance_open)
    app.action(screens.EDIT)(handle_edit)
    app.action(screens.CANCEL)(handle_cancel)
    app.action(EVENT_NEW)(handle_home_new)
