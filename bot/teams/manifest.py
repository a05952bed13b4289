"""The Teams app manifest (manifest.json) and its French localization (fr.json).

A Teams administrator uploads the app package (bot/teams/package.py) that carries them. The
manifest follows Microsoft's schema v1.30, the newest numbered version the npm package
`@microsoft/app-manifest` 1.1.2 ships (tests/test_teams_package.py validates both files against
it). What cop-bot declares:

- the bot (TEAMS_APP_ID, the Azure Bot's Microsoft App ID) in a team's channels, group chats
  and the 1:1 chat, with files (file consent for `.ics` and exports in the 1:1 chat);
- a command menu per scope: each entry inserts a word the bot's parser knows (the English name
  or, for people whose Teams speaks French, the French one: handlers/commands.py's aliases);
- the resource-specific consent `ChannelMessage.Read.Group`, which a team owner grants at install,
  so the bot receives every channel message (not only @mentions) and can count activity;
- `webApplicationInfo` (needed for resource-specific consent) and `validDomains`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from bot.config import ConfigError

MANIFEST_VERSION = "1.30"
SCHEMA_URL = f"https://developer.microsoft.com/json-schemas/teams/v{MANIFEST_VERSION}/MicrosoftTeams.schema.json"
LOCALIZATION_SCHEMA_URL = (
    f"https://developer.microsoft.com/json-schemas/teams/v{MANIFEST_VERSION}/"
    "MicrosoftTeams.Localization.schema.json"
)
APP_ID_VARIABLE = "TEAMS_APP_ID"
COLOR_ICON = "color.png"
OUTLINE_ICON = "outline.png"
FRENCH_FILE = "fr.json"
ACCENT_COLOR = "#2c3e50"  # manifest.yaml's background_color: the same app on both platforms
# What Learn's "create a bot commands menu" allows, stricter than the schema's 128/4000 (and 10
# commands a list in older clients, 12 in the schema).
TITLE_MAX = 32
DESCRIPTION_MAX = 128
COMMANDS_MAX = 10

_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_SEMVER = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")


@dataclass(frozen=True)
class Command:
    """One entry of the bot's command menu: the English and French words (both understood by
    the bot whatever the person's language) and what the entry says."""

    name: str
    name_fr: str
    description: str
    description_fr: str


HELP = Command("help", "aide", "What you can do here", "Ce que vous pouvez faire ici")
STORY = Command(
    "story",
    "histoire",
    "Share a success story, any day",
    "Raconter une success story, quand vous voulez",
)
MUTE = Command(
    "mute",
    "sourdine",
    "Pause a ritual for yourself: “mute [ritual] [days|off|on]”",
    "Mettre un rituel en pause pour vous : « sourdine [rituel] [jours|off|on] »",
)
HOME = Command(
    "home",
    "accueil",
    "Your communities, upcoming events and polls, in your chat with the bot",
    "Vos communautés, événements à venir et sondages, dans votre conversation avec le bot",
)
# Only what the bot answers in Teams (bot.teams.idiom.ANSWERED; tests/test_teams_package.py):
# an entry only inserts its word as a message, and a word that led nowhere would be a dead end.
# In a community's channel (a team's channel is a community).
TEAM_COMMANDS = (
    HELP,
    Command(
        "charter",
        "charte",
        "The community's charter: show it, edit it (leaders)",
        "La charte de la communauté : la voir, la modifier (animateurs)",
    ),
    Command(
        "event",
        "événement",
        "Schedule a community event, announced here with RSVP buttons (leaders)",
        "Planifier un événement, annoncé ici avec des boutons pour répondre (animateurs)",
    ),
    Command(
        "health",
        "santé",
        "The health of this community: status, reasons, figures and trend",
        "La santé de cette communauté : état, raisons, chiffres et tendance",
    ),
    STORY,
    Command(
        "stories",
        "histoires",
        "The community's success stories (leaders validate them)",
        "Les success stories de la communauté (validées par les animateurs)",
    ),
    Command(
        "compass",
        "boussole",
        "The maturity compass: fill it in, see the community's result",
        "La boussole de maturité : la remplir, voir le résultat de la communauté",
    ),
    MUTE,
    HOME,
    Command(
        "community",
        "communauté",
        "“community create <name>”: make this channel a community (programme managers)",
        "« communauté créer <nom> » : faire de ce canal une communauté (responsables du programme)",
    ),
)
# In the 1:1 chat with the bot: what is the person's own, or the whole programme's.
PERSONAL_COMMANDS = (
    HELP,
    HOME,
    MUTE,
    STORY,
    Command(
        "health",
        "santé",
        "The whole programme, communities ranked by concern (programme managers)",
        "Tout le programme, des communautés les plus préoccupantes aux autres (responsables)",
    ),
    Command(
        "compass",
        "boussole",
        "“compass programme”: the programme's maturity map (programme managers)",
        "« boussole programme » : la carte de maturité du programme (responsables)",
    ),
)
# In a group chat (not a community): the help and one's own corner.
GROUP_CHAT_COMMANDS = (HELP, HOME)
COMMAND_LISTS: tuple[tuple[str, tuple[Command, ...]], ...] = (
    ("team", TEAM_COMMANDS),
    ("personal", PERSONAL_COMMANDS),
    ("groupChat", GROUP_CHAT_COMMANDS),
)

NAME = {"short": "cop-bot", "full": "cop-bot: communities of practice"}
NAME_FR = {"short": "cop-bot", "full": "cop-bot : communautés de pratique"}
DESCRIPTION = {
    "short": "Animates communities of practice: charters, events, rituals, health",
    "full": (
        "cop-bot helps the leaders of communities of practice and their programme managers. "
        "In a team's channel that is a community: the charter, events with RSVP, rituals "
        "(welcomes, reminders, pulse questions, success stories) and the community's health. "
        "In your chat with the bot: your participation, the communities to join, proposals, "
        "and for managers the programme's health and value report.\n\n"
        "How it uses your data: with the team owner's consent at install, the bot receives the "
        "messages of the team's channels to count activity (who took part, when); it never "
        "stores their text. Pulse and survey answers are shown only in aggregate."
    ),
}
DESCRIPTION_FR = {
    "short": "Anime les communautés de pratique : charte, événements, rituels, santé",
    "full": (
        "cop-bot aide les animateurs de communautés de pratique et les responsables du "
        "programme. Dans le canal d'une équipe qui est une communauté : la charte, les "
        "événements avec réponse, les rituels (accueil, rappels, questions pulse, success "
        "stories) et la santé de la communauté. Dans votre conversation avec le bot : votre "
        "participation, les communautés à rejoindre, les propositions et, pour les "
        "responsables, la santé du programme et le rapport de valeur.\n\n"
        "Ce qu'il fait de vos données : avec l'accord du propriétaire de l'équipe à "
        "l'installation, le bot reçoit les messages des canaux de l'équipe pour compter "
        "l'activité (qui a participé, quand) ; il n'en conserve jamais le texte. Les réponses "
        "aux questions pulse et aux enquêtes ne sont montrées qu'agrégées."
    ),
}
RESOURCE_SPECIFIC = [{"name": "ChannelMessage.Read.Group", "type": "Application"}]


@dataclass(frozen=True)
class PackageSettings:
    """What the package needs from the environment (`from_environ`)."""

    app_id: str
    public_url: str
    version: str
    developer: str = "cop-bot"
    privacy_url: str = ""
    terms_url: str = ""

    @classmethod
    def from_environ(
        cls, environ: Mapping[str, str], *, version: str | None = None
    ) -> PackageSettings:
        """Read TEAMS_APP_ID and COP_PUBLIC_URL (required), COP_TEAMS_DEVELOPER,
        COP_TEAMS_PRIVACY_URL and COP_TEAMS_TERMS_URL (default: the public URL); every mistake
        is one ConfigError naming the variable."""
        app_id = environ.get(APP_ID_VARIABLE, "").strip()
        if not app_id:
            raise ConfigError(
                f"environment: {APP_ID_VARIABLE}: missing; set it to the bot's Microsoft App ID "
                "(Azure portal: your Azure Bot → Configuration), a GUID"
            )
        if not _GUID.match(app_id):
            raise ConfigError(
                f"environment: {APP_ID_VARIABLE}: {app_id[:60]!r} is not a GUID; give the bot's "
                "Microsoft App ID, e.g. 00000000-0000-0000-0000-000000000000"
            )
        public_url = _https_url(environ, "COP_PUBLIC_URL", required=True)
        developer = environ.get("COP_TEAMS_DEVELOPER", "").strip() or "cop-bot"
        if len(developer) > 32:
            raise ConfigError(
                f"environment: COP_TEAMS_DEVELOPER: {len(developer)} characters; Teams takes 32 at most"
            )
        version = (version or "").strip()
        if not _SEMVER.match(version):
            raise ConfigError(
                f"--app-version: {version[:40]!r}: expected MAJOR.MINOR.PATCH, e.g. 1.0.3 "
                "(raise it at every upload of a changed package)"
            )
        return cls(
            app_id=app_id.lower(),
            public_url=public_url,
            version=version,
            developer=developer,
            privacy_url=_https_url(environ, "COP_TEAMS_PRIVACY_URL") or public_url,
            terms_url=_https_url(environ, "COP_TEAMS_TERMS_URL") or public_url,
        )


def _https_url(environ: Mapping[str, str], name: str, *, required: bool = False) -> str:
    value = environ.get(name, "").strip().rstrip("/")
    if not value:
        if required:
            raise ConfigError(
                f"environment: {name}: missing; set it to the https:// address people reach "
                "the bot at (Teams shows it as the app's website)"
            )
        return ""
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname:
        raise ConfigError(
            f"environment: {name}: {value[:80]!r} is not an https:// address; Teams needs one"
        )
    return value


def build(settings: PackageSettings) -> dict[str, Any]:
    """manifest.json, in English, naming fr.json for French-speaking Teams clients."""
    host = urlsplit(settings.public_url).hostname or ""
    return {
        "$schema": SCHEMA_URL,
        "manifestVersion": MANIFEST_VERSION,
        "version": settings.version,
        # The Teams app's id: the bot's, so one GUID names the app everywhere (Microsoft allows it)
        "id": settings.app_id,
        "localizationInfo": {
            "defaultLanguageTag": "en",
            "additionalLanguages": [{"languageTag": "fr", "file": FRENCH_FILE}],
        },
        "developer": {
            "name": settings.developer,
            "websiteUrl": settings.public_url,
            "privacyUrl": settings.privacy_url,
            "termsOfUseUrl": settings.terms_url,
        },
        "name": dict(NAME),
        "description": dict(DESCRIPTION),
        "icons": {"color": COLOR_ICON, "outline": OUTLINE_ICON},
        "accentColor": ACCENT_COLOR,
        "bots": [
            {
                "botId": settings.app_id,
                "scopes": ["personal", "team", "groupChat"],
                "supportsFiles": True,
                "isNotificationOnly": False,
                "commandLists": [
                    {
                        "scopes": [scope],
                        "commands": [
                            {"title": c.name, "description": c.description} for c in commands
                        ],
                    }
                    for scope, commands in COMMAND_LISTS
                ],
            }
        ],
        "validDomains": [host, "*.botframework.com"],
        "webApplicationInfo": {"id": settings.app_id, "resource": f"api://botid-{settings.app_id}"},
        "authorization": {"permissions": {"resourceSpecific": list(RESOURCE_SPECIFIC)}},
    }


def french() -> dict[str, str]:
    """fr.json: the manifest's strings for Teams clients set to French (any fr-* locale)."""
    strings = {
        "$schema": LOCALIZATION_SCHEMA_URL,
        "name.short": NAME_FR["short"],
        "name.full": NAME_FR["full"],
        "description.short": DESCRIPTION_FR["short"],
        "description.full": DESCRIPTION_FR["full"],
    }
    for i, (_scope, commands) in enumerate(COMMAND_LISTS):
        for j, command in enumerate(commands):
            key = f"bots[0].commandLists[{i}].commands[{j}]"
            strings[f"{key}.title"] = command.name_fr
            strings[f"{key}.description"] = command.description_fr
    return strings
