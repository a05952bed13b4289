"""The emulated workspace: its users, channels and time zones (the default one and a large one)."""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

Json = dict[str, Any]


# --------------------------------------------------------------------------- workspace model


@dataclass
class User:
    """A workspace member, as the emulator serves it through users.* methods."""

    id: str
    name: str
    real_name: str
    tz: str = "Europe/Paris"
    locale: str = "fr-FR"
    is_bot: bool = False
    deleted: bool = False
    is_admin: bool = False


@dataclass
class Channel:
    """A conversation; ``members`` is mutable so tests can simulate joins and leaves."""

    id: str
    name: str
    members: list[str]
    is_private: bool = False
    is_archived: bool = False
    is_im: bool = False


@dataclass
class Workspace:
    """The whole seeded state the emulator answers from."""

    team_id: str
    team_name: str
    bot_user_id: str
    bot_token: str
    users: dict[str, User]
    channels: dict[str, Channel]
    # Enterprise Grid: the organisation this workspace belongs to (None: a standalone workspace)
    enterprise_id: str | None = None
    enterprise_name: str = ""
    # set by SlackEmulator.uninstall(): every call with this bot token answers this error
    token_error: str | None = None


def default_workspace() -> Workspace:
    """Seed a small, mostly French demo workspace so demos and tests read naturally."""
    people = [
        User("U0CAMILLE", "camille.martin", "Camille Martin", is_admin=True),
        User("U0LUCAS", "lucas.bernard", "Lucas Bernard"),
        User("U0CHLOE", "chloe.dubois", "Chloé Dubois"),
        User("U0HUGO", "hugo.thomas", "Hugo Thomas"),
        User("U0LEA", "lea.robert", "Léa Robert"),
        User("U0NATHAN", "nathan.petit", "Nathan Petit"),
        User("U0MANON", "manon.durand", "Manon Durand"),
        User("U0EMILY", "emily.smith", "Emily Smith", tz="America/New_York", locale="en-US"),
        User("U0JAMES", "james.brown", "James Brown", tz="Europe/London", locale="en-GB"),
        User("U0PIERRE", "pierre.leroy", "Pierre Leroy", deleted=True),
        User("U0JIRA", "jira", "Jira Cloud", tz="America/Los_Angeles", locale="en-US", is_bot=True),
        User("UBOT", "cop-bot", "CoP Bot", is_bot=True),
    ]
    humans = [u.id for u in people if not u.is_bot]
    channels = [
        Channel("C0DATA", "data-science", ["U0CAMILLE", "U0LUCAS", "U0CHLOE", "U0HUGO", "U0EMILY"]),
        Channel("C0AGILE", "agilite", ["U0CAMILLE", "U0LEA", "U0NATHAN", "U0MANON", "U0JAMES"]),
        Channel("C0SEC", "securite", ["U0HUGO", "U0NATHAN", "U0LUCAS", "U0PIERRE"]),
        Channel("C0GEN", "general", [*humans, "U0JIRA"]),
        Channel("C0OLD", "ancien-projet", ["U0LUCAS", "U0MANON"], is_archived=True),
    ]
    for channel in channels:
        channel.members.append("UBOT")
    return Workspace(
        team_id="T0COP",
        team_name="CoP Demo",
        bot_user_id="UBOT",
        bot_token="xoxb-emulator",
        users={u.id: u for u in people},
        channels={c.id: c for c in channels},
    )


def other_workspace(
    team_id: str = "T0OTHER", *, name: str = "Other Co", prefix: str = "X"
) -> Workspace:
    """Another small workspace for OAuth tests (several workspaces in one emulator): ids of its
    own (users `U<prefix>…`, channels `C<prefix>…`), its own bot user and token."""
    people = [
        User(f"U{prefix}ADA", "ada.lovelace", "Ada Lovelace", tz="Europe/London", locale="en-GB"),
        User(f"U{prefix}ALAN", "alan.turing", "Alan Turing", tz="Europe/London", locale="en-GB"),
        User(
            f"U{prefix}GRACE", "grace.hopper", "Grace Hopper", tz="America/New_York", locale="en-US"
        ),
        User(f"U{prefix}BOT", "cop-bot", "CoP Bot", is_bot=True),
    ]
    humans = [u.id for u in people if not u.is_bot]
    bot = f"U{prefix}BOT"
    channels = [
        Channel(f"C{prefix}DATA", "data", [*humans[:2], bot]),
        Channel(f"C{prefix}GEN", "general", [*humans, bot]),
    ]
    return Workspace(
        team_id=team_id,
        team_name=name,
        bot_user_id=bot,
        bot_token=f"xoxb-emulator-{team_id.lower()}",
        users={u.id: u for u in people},
        channels={c.id: c for c in channels},
    )


_FIRST = [
    "Camille",
    "Lucas",
    "Chloé",
    "Hugo",
    "Léa",
    "Nathan",
    "Manon",
    "Louis",
    "Inès",
    "Jules",
    "Emma",
    "Gabriel",
    "Sarah",
    "Paul",
    "Alice",
    "Emily",
    "James",
    "Olivia",
    "Noah",
    "Priya",
]
_LAST = [
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Michel",
    "Garcia",
    "Smith",
    "Brown",
    "Jones",
    "Taylor",
    "Patel",
]
_ZONES = [("Europe/Paris", "fr-FR")] * 8 + [
    ("America/New_York", "en-US"),
    ("Europe/London", "en-GB"),
]


def large_workspace(n_users: int, n_channels: int, seed: int = 0) -> Workspace:
    """Generate a big deterministic workspace for load tests (30k users builds well under 1 s)."""
    rng = random.Random(seed)
    users: dict[str, User] = {"UBOT": User("UBOT", "cop-bot", "CoP Bot", is_bot=True)}
    ids: list[str] = []
    for i in range(n_users):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        tz, locale = rng.choice(_ZONES)
        uid = f"UL{i:07d}"
        users[uid] = User(
            uid,
            f"{first.lower()}.{last.lower()}{i}",
            f"{first} {last}",
            tz,
            locale,
            deleted=rng.random() < 0.02,
            is_admin=i == 0,
        )
        ids.append(uid)
    channels: dict[str, Channel] = {}
    for j in range(n_channels):
        if j == 0:
            members = list(ids)
        else:
            size = min(len(ids), max(3, int(min(len(ids), 2000) * rng.random() ** 2)))
            members = rng.sample(ids, size)
        cid = f"CL{j:06d}"
        channels[cid] = Channel(
            cid, "general" if j == 0 else f"cop-{j:04d}", [*members, "UBOT"], is_private=j % 10 == 9
        )
    return Workspace("T0LOAD", "Load Test", "UBOT", "xoxb-emulator", users, channels)


_TZ_LABELS = {
    "CET": "Central European Time",
    "CEST": "Central European Summer Time",
    "GMT": "Greenwich Mean Time",
    "BST": "British Summer Time",
    "EST": "Eastern Standard Time",
    "EDT": "Eastern Daylight Time",
    "PST": "Pacific Standard Time",
    "PDT": "Pacific Daylight Time",
}


@functools.lru_cache(maxsize=64)
def _tz_info(tz: str) -> tuple[int, str]:
    """Offset/label per zone, cached because users.list serialises thousands of users."""
    now = datetime.now(UTC).astimezone(ZoneInfo(tz))
    offset = now.utcoffset()
    abbrev = now.tzname() or tz
    return int(offset.total_seconds()) if offset else 0, _TZ_LABELS.get(abbrev, abbrev)
