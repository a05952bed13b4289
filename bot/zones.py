"""Which names are time zones: the one test every surface uses (app.yaml, a community's zone, the
zone typed in the event modal, a person's zone as Slack reports it).

The IANA database ships names that load but are not where anyone lives: `localtime` (whatever
the server's clock says), `Factory` (a placeholder whose abbreviation is "-00"), `posixrules`,
`posix/…` and `right/…` copies (the latter counts leap seconds, so its times are off by half a
minute), bare legacy names (`CET`, `EST5EDT`, `GMT+0`) and `Etc/GMT+5` (whose sign is the
reverse of what people read). A zone here is a place (`Area/Location` under a continent or an
ocean, or one of the legacy country areas `US/`, `Canada/`, `Brazil/`, `Chile/`, `Mexico/`) or
UTC itself. Anything else is refused: an operator gets a load error that names the field, a
leader a field error, and a zone from Slack is ignored (the programme's zone is used instead).
"""

from __future__ import annotations

from functools import cache
from typing import Any
from zoneinfo import available_timezones

NAME_MAX = 64  # the width of every tz column
GEOGRAPHIC_AREAS = frozenset(
    {
        "Africa",
        "America",
        "Antarctica",
        "Arctic",
        "Asia",
        "Atlantic",
        "Australia",
        "Europe",
        "Indian",
        "Pacific",
        # legacy areas kept by tzdata's "backward" file: still places (US/Eastern…)
        "Brazil",
        "Canada",
        "Chile",
        "Mexico",
        "US",
    }
)
UNIVERSAL = frozenset({"UTC", "Etc/UTC"})


def _geographic(name: str) -> bool:
    if name in UNIVERSAL:
        return True
    area, _, place = name.partition("/")
    return bool(place) and area in GEOGRAPHIC_AREAS and len(name) <= NAME_MAX


@cache
def _zones() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones() if _geographic(name)}


def find_zone(text: Any) -> str | None:
    """The zone's name as tzdata spells it ('europe/paris' → 'Europe/Paris'); None for anything
    that is not the zone of a place or UTC (see the module's docstring), or not text at all."""
    if not isinstance(text, str) or not text.strip():
        return None
    return _zones().get(text.strip().lower())
