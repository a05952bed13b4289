"""The long-lived things a request or a job needs, built once by the composition root."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.activity_batch import ActivityBatcher
from bot.config import Config, ConfigError
from bot.db import Availability
from bot.disclosure import Rule
from bot.inflight import InFlight
from bot.metrics import Metrics
from bot.models import utcnow
from bot.permissions import names_manager
from bot.ports import Directory, Messenger, UserInfo

COMMAND_SLOTS = 16


@dataclass(frozen=True)
class Deps:
    config: Config
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    directory: Directory
    messenger: Messenger
    metrics: Metrics
    web_client: Any  # the Slack Web API client, for handlers and the Slack adapter only
    # the process's writer of channel activity (counts Slack's message and reaction events)
    activity_batcher: ActivityBatcher
    database: Availability | None = None  # set by the composition root
    # every Slack Web API client of the process, to share keep-alive connections while serving
    slack_clients: tuple[Any, ...] = ()
    # how many /cop commands are worked on at once (the rest queue): below the database pool size
    command_slots: asyncio.Semaphore = field(
        default_factory=lambda: asyncio.Semaphore(COMMAND_SLOTS)
    )
    # the language each person was last answered in (workspace, user) → "fr"/"en": what this
    # process can still say "busy, try again" in when the database cannot be read
    # (handlers.context.language_hint); bounded, oldest forgotten first
    languages: dict[tuple[str, str], str] = field(default_factory=dict)
    # people Slack's users.info could not tell us about (an error, or "not found"), (workspace,
    # user) → when to ask again: every request of theirs meanwhile does without, instead of
    # asking again (handlers.context); bounded, oldest forgotten first
    lookup_failures: dict[tuple[str, str], float] = field(default_factory=dict)
    # users.info lookups under way, (workspace, user) → its task: a double click does not ask
    # Slack twice, and the task is held here until it ends (handlers.context)
    lookups_in_flight: InFlight[UserInfo | None] = field(default_factory=InFlight)
    # health overviews being computed, (workspace, community or None, day) → its task: identical
    # requests arriving together share one computation (handlers.health)
    overviews_in_flight: InFlight[Any] = field(default_factory=InFlight)
    # value reports being built, (workspace, community or None, window, day) → its task: two
    # managers asking for the same report share one build (bot.report_delivery)
    reports_in_flight: InFlight[Any] = field(default_factory=InFlight)
    # the health overview a programme manager pages through, (workspace, community or None) →
    # (monotonic time, overview): filter and page clicks shortly after `/cop health` reuse it
    # (handlers.health)
    recent_overviews: dict[tuple[str, int | None], tuple[float, Any]] = field(default_factory=dict)
    # what the chat side does for the rituals' clock, by name, set when the handlers are
    # registered: "event_started:slack" and "event_started:teams" (workspace id, event id) →
    # whether the event's announcement now shows its answers closed (rituals/event_starts.py)
    hooks: dict[str, Any] = field(default_factory=dict)
    # each workspace's App Home publisher, workspace id → handlers.home.Publisher: views.publish
    # paced under its tier, a Retry-After honoured, refreshes of the same Home coalesced
    home_publishers: dict[str, Any] = field(default_factory=dict)
    # OAuth mode (many workspaces): the installations, bot.slack.oauth.Installations; None with
    # one token (SLACK_BOT_TOKEN)
    installations: Any = None

    @property
    def programme(self) -> Any:
        return self.config.programme

    def today(self) -> date:
        """Today in the programme's zone: the day health, charters and KPIs are judged on."""
        return utcnow().astimezone(ZoneInfo(self.programme.timezone)).date()

    def is_manager(
        self, slack_user_id: str, *, aad_object_id: str | None = None, email: str | None = None
    ) -> bool:
        """Whether app.yaml names this person a programme manager, by any of their identities
        (bot.permissions.names_manager)."""
        return names_manager(
            self.config.manager_ids,
            user_id=slack_user_id,
            aad_object_id=aad_object_id,
            email=email,
        )

    @property
    def disclosure(self) -> Rule:
        """The survey disclosure rule with the programme's threshold (bot/disclosure.py)."""
        return Rule.of(self.config.programme)

    @property
    def ballot_key(self) -> bytes:
        """The key of anonymous ballots; the process cannot take answers without it."""
        key = self.config.settings.ballot_key
        if key is None:
            raise ConfigError(
                "environment: COP_BALLOT_KEY: missing (set it, or SLACK_SIGNING_SECRET, from "
                "which it is derived)"
            )
        return key
