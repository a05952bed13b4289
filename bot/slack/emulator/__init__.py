"""In-process Slack Web API emulator served over real HTTP (aiohttp.web).

The test-suite and ``cop demo`` point the real bot's
``AsyncWebClient(base_url=emulator.api_url)`` at this server, so the bot's HTTP
stack, retry handlers and Block Kit payloads are exercised exactly as in
production, without a Slack workspace. It keeps a seeded workspace (users,
channels), stores what the bot posts (messages, views, ephemerals, uploads,
response_url bodies), records every call, and can inject failures, latency and
rate limits so resilience paths can be tested deterministically.

Run standalone with ``python -m bot.slack.emulator --port 8790``. The package: `workspace` (users,
channels), `calls` (call log, faults, parameters), `checks` (what Slack parses, Block Kit checks),
`methods` (the Web API methods), `server` (state, HTTP and Socket Mode, test helpers).
"""

from bot.slack.emulator.calls import Call
from bot.slack.emulator.checks import (
    SENDING_METHODS,
    mrkdwn_texts,
    parsed_sequences,
    validate_blocks,
    validate_view,
)
from bot.slack.emulator.server import SlackEmulator, main
from bot.slack.emulator.workspace import (
    Channel,
    User,
    Workspace,
    default_workspace,
    large_workspace,
    other_workspace,
)

__all__ = [
    "SENDING_METHODS",
    "Call",
    "Channel",
    "SlackEmulator",
    "User",
    "Workspace",
    "default_workspace",
    "large_workspace",
    "main",
    "mrkdwn_texts",
    "other_workspace",
    "parsed_sequences",
    "validate_blocks",
    "validate_view",
]
