"""In-process Microsoft Teams emulator served over real HTTP (aiohttp.web), for tests and
``cop demo``: Microsoft's login (OpenID metadata, JWKS, client-credentials tokens) and the Bot
Connector (signed activities to the bot; replies, updates, proactive 1:1s and the paged roster
from it), checking tokens, Adaptive Cards (schema 1.5), message size and rate limits.

Run standalone with ``python -m bot.teams.emulator --port 8791``. The package: `checks` (what
Teams refuses), `server` (state, HTTP, test helpers).
"""

from bot.teams.emulator.checks import card_errors
from bot.teams.emulator.server import CHANNEL, PERSONAL, Call, Member, TeamsEmulator, main

__all__ = ["CHANNEL", "PERSONAL", "Call", "Member", "TeamsEmulator", "card_errors", "main"]
