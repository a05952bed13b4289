"""Who is asking, from where, in which language: what every listener needs first."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot import communities, db, people
from bot.communities import CommunityView
from bot.deps import Deps
from bot.i18n import LANGUAGES, Translator, reader_language, translate
from bot.permissions import Actor
from bot.ports import UserInfo

logger = logging.getLogger(__name__)


def database_trouble(exc: BaseException) -> bool:
    """The database could not be reached or could not answer in time (bot.db.unavailable): not
    a bug in a statement, and not a Slack call that failed (aiohttp's connection errors are
    OSErrors too, and they say nothing of the database). Callers catch Exception and re-raise
    what this does not claim; which of the two it is (busy or down) is `unavailable_key`'s."""
    return db.unavailable(exc) and not isinstance(exc, aiohttp.ClientError)


def unavailable_key(exc: BaseException) -> str:
    """The message key for an unreachable database: busy (try again shortly) or down.

    A lock held too long (SQLite's "database is locked", PostgreSQL's lock timeout) is an
    OperationalError like an outage, but it is only busy: db.is_busy looks at the driver's error."""
    return "error.busy" if db.is_busy(exc) else "error.database_down"


# The database part of knowing the caller (one read; the first time, also one small write): the
# budget of its own, past which the database is too slow to answer and the person hears "busy".
# Inside it, a lock waits db.PERSON_LOCK_WAIT (2 s) at most, so a lock error comes first.
LOOKUP_TIMEOUT = 2.5
# How long an answer to someone the bot has never seen waits for Slack's users.info (which gives
# their language). A slow Slack must not make the answer late, nor count against the database's
# budget: past this they are answered in the community's (or programme's) language, and the
# lookup carries on and records them in the background. 1 s: users.info answers in ~100 ms.
SLACK_LOOKUP_PATIENCE = 1.0
# How many people's last language a process remembers for its "busy" answers (a few MB at most).
REMEMBERED_LANGUAGES = 10_000
# After users.info fails for someone (Slack down, an error, "not found"), how long their
# requests do without it rather than each asking again: a Slack outage is not made worse by
# every click of every newcomer, and their answers are not each held SLACK_LOOKUP_PATIENCE.
LOOKUP_FAILURE_MEMORY = 600.0
REMEMBERED_FAILURES = 10_000


@dataclass(frozen=True)
class Caller:
    """The person behind a request and the community of the channel they are in (if any)."""

    deps: Deps
    workspace_id: str
    user_id: str
    channel_id: str | None
    actor: Actor
    community: CommunityView | None
    language: str

    @property
    def t(self) -> Translator:
        return translate(self.language)


pick_language = reader_language  # the one rule, for Slack and Teams (bot.i18n)


@dataclass(frozen=True)
class _Known:
    """What the database says about the caller and their channel."""

    community: CommunityView | None
    locale: str | None
    is_new: bool  # never looked up in Slack: no row, or a bare one
    email: str | None = None  # as Slack gave it (users.info), a manager may be named by it


async def load_caller(
    deps: Deps, *, workspace_id: str, user_id: str, channel_id: str | None
) -> Caller:
    """Look the caller up (and learn their name, zone and language the first time we see them).

    The database reads have their budget (LOOKUP_TIMEOUT) and Slack's users.info its own
    (SLACK_LOOKUP_PATIENCE): a slow Slack never makes the database look unavailable."""
    known = await asyncio.wait_for(
        _read(deps, workspace_id=workspace_id, user_id=user_id, channel_id=channel_id),
        LOOKUP_TIMEOUT,
    )
    locale = known.locale
    if known.is_new and not _failed_recently(deps, workspace_id, user_id):
        learning = _learn(deps, workspace_id=workspace_id, user_id=user_id)
        done, _ = await asyncio.wait({learning}, timeout=SLACK_LOOKUP_PATIENCE)
        if learning in done and (info := learning.result()) is not None:
            locale = info.locale
    language = pick_language(
        person_locale=locale,
        community_language=known.community.language if known.community else None,
        default=deps.programme.language,
    )
    if locale:
        remember_language(deps, workspace_id, user_id, language)
    return Caller(
        deps=deps,
        workspace_id=workspace_id,
        user_id=user_id,
        channel_id=channel_id,
        actor=Actor(
            workspace_id=workspace_id,
            slack_user_id=user_id,
            is_manager=deps.is_manager(user_id, email=known.email),
            email=known.email,
        ),
        community=known.community,
        language=language,
    )


async def _read(deps: Deps, *, workspace_id: str, user_id: str, channel_id: str | None) -> _Known:
    async with deps.sessions.begin() as session:
        person = await people.find(session, workspace_id=workspace_id, slack_user_id=user_id)
        community = (
            await communities.by_channel(session, workspace_id=workspace_id, channel_id=channel_id)
            if channel_id
            else None
        )
        return _Known(
            community=CommunityView.of(community) if community else None,
            locale=person.locale if person and person.name else None,
            is_new=person is None or not person.name,
            email=person.email if person else None,
        )


def _learn(deps: Deps, *, workspace_id: str, user_id: str) -> asyncio.Task[UserInfo | None]:
    """Ask Slack who this is and record them; the task outlives the request that started it
    (held in deps.lookups_in_flight until it ends; one per person at a time)."""
    return deps.lookups_in_flight.task(
        (workspace_id, user_id), lambda: _look_up_and_record(deps, workspace_id, user_id)
    )


async def _look_up_and_record(deps: Deps, workspace_id: str, user_id: str) -> UserInfo | None:
    info = await _lookup_user(deps, user_id)
    if info is None:
        _remember_failure(deps, workspace_id, user_id)
        return None
    try:
        async with deps.sessions.begin() as session:
            # the workspace row only matters once someone is written under it
            await people.ensure_workspace(session, workspace_id)
            await people.upsert(session, workspace_id=workspace_id, info=info)
    except Exception:
        # not fatal: this answer uses what Slack said, and the next request tries again
        logger.warning("could not record %s", user_id, exc_info=True)
    return info


async def _lookup_user(deps: Deps, user_id: str) -> UserInfo | None:
    try:
        return await deps.directory.user(user_id)
    except Exception:
        logger.warning("could not look up user %s", user_id, exc_info=True)
        return None


def _failed_recently(deps: Deps, workspace_id: str, user_id: str) -> bool:
    until = deps.lookup_failures.get((workspace_id, user_id))
    if until is None:
        return False
    if time.monotonic() < until:
        return True
    deps.lookup_failures.pop((workspace_id, user_id), None)
    return False


def _remember_failure(deps: Deps, workspace_id: str, user_id: str) -> None:
    memory = deps.lookup_failures
    memory.pop((workspace_id, user_id), None)  # most recent last
    memory[(workspace_id, user_id)] = time.monotonic() + LOOKUP_FAILURE_MEMORY
    while len(memory) > REMEMBERED_FAILURES:
        del memory[next(iter(memory))]


def remember_language(deps: Deps, workspace_id: str, user_id: str, language: str) -> None:
    memory = deps.languages
    memory.pop((workspace_id, user_id), None)  # most recent last
    memory[(workspace_id, user_id)] = language
    while len(memory) > REMEMBERED_LANGUAGES:
        del memory[next(iter(memory))]


def language_hint(deps: Deps, body: dict[str, Any]) -> str:
    """The language to answer in when the database cannot tell (busy or down), or before it is
    asked (a modal's field errors go back in the ack): from the request alone. A modal carries
    the language it was opened in; else the language this process last answered the person in;
    else the programme's."""
    stamped, _ = unstamp((body.get("view") or {}).get("private_metadata"))
    if stamped:
        return stamped
    user = body.get("user") or {}
    user_id = user.get("id") if isinstance(user, dict) else None
    remembered = deps.languages.get((workspace_of(body), str(user_id or body.get("user_id"))))
    return remembered or deps.programme.language


# --- modals carry their language ------------------------------------------------------------------


async def open_view(client: Any, *, trigger_id: str, view: Any, t: Translator) -> None:
    """views.open, the modal stamped with the language it is written in, so that its submission
    can be answered in that language (field errors, "busy") before the database is asked."""
    if isinstance(view, dict):
        view = {**view, "private_metadata": _stamp(view.get("private_metadata"), t.language)}
    else:
        view.private_metadata = _stamp(view.private_metadata, t.language)
    await client.views_open(trigger_id=trigger_id, view=view)


def stamped(metadata: str | None, t: Translator) -> str:
    """A modal's private_metadata stamped as open_view does (for views.push and updates)."""
    return _stamp(metadata, t.language)


def read_modal(deps: Deps, body: dict[str, Any]) -> tuple[Translator, dict[str, Any]]:
    """A submitted modal: the translator of the language it was opened in (no database asked),
    and the view with the private_metadata its screen put there, for the screen's parser."""
    view = body.get("view") or {}
    _, original = unstamp(view.get("private_metadata"))
    return translate(language_hint(deps, body)), {**view, "private_metadata": original}


def _stamp(metadata: str | None, language: str) -> str:
    return json.dumps({"lang": language, "meta": metadata or ""}, separators=(",", ":"))


def unstamp(metadata: Any) -> tuple[str | None, str]:
    """(language, the screen's own metadata). Metadata without our stamp (an older modal, a
    forged one) is given back as it is, with no language."""
    text = metadata if isinstance(metadata, str) else ""
    try:
        stamp = json.loads(text) if text.startswith('{"lang"') else None
    except ValueError:
        stamp = None
    if (
        isinstance(stamp, dict)
        and set(stamp) == {"lang", "meta"}
        and stamp["lang"] in LANGUAGES
        and isinstance(stamp["meta"], str)
    ):
        return stamp["lang"], stamp["meta"]
    return None, text


def workspace_of(body: dict[str, Any]) -> str:
    team = (
        body.get("team_id")
        or (body.get("team") or {}).get("id")
        or body.get("user", {}).get("team_id")
    )
    return str(team or "T0")


async def caller_of(deps: Deps, body: dict[str, Any], channel_id: str | None = None) -> Caller:
    """The caller of an interaction payload (button, modal) or of an event."""
    user = body.get("user", {})
    return await load_caller(
        deps,
        workspace_id=workspace_of(body),
        user_id=user.get("id") or body.get("user_id", ""),
        channel_id=channel_id,
    )


async def caller_here(deps: Deps, body: dict[str, Any]) -> Caller:
    """The caller of a button or modal, in the channel the payload came from (if any)."""
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
        "channel_id"
    )
    return await caller_of(deps, body, channel_id=channel)


async def zone_of(deps: Deps, caller: Caller) -> str:
    """The reader's zone (Slack profile), else the programme's."""
    async with deps.sessions() as session:
        person = await people.find(
            session, workspace_id=caller.workspace_id, slack_user_id=caller.user_id
        )
    return (person.tz if person and person.tz else None) or deps.programme.timezone
