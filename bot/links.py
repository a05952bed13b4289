"""What counts as a link people may share (an event's "join here"), checked when it is typed.

A link is shown to a whole channel and opened from a calendar file, so only a plain web
address passes: http or https, a host, and nothing a chat platform or a calendar would read
as markup or as a new line (spaces, control characters, angle brackets, a pipe, quotes,
backslashes). A user name before the host (`https://official.example@evil.example`) is
refused too: it makes an address look like another one.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit

LINK_MAX = 1000
_FORBIDDEN = frozenset('<>|"\\`')


def is_link(text: str | None) -> bool:
    """True for an http(s) address with a host that is safe to show and to put in a calendar."""
    if not text or len(text) > LINK_MAX:
        return False
    for char in text:
        # spaces of any kind, control and format characters (zero-width joiners, bidi marks)
        if char in _FORBIDDEN or char.isspace() or unicodedata.category(char)[0] in "CZ":
            return False
    try:
        parts = urlsplit(text)
        host = parts.hostname
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        return False
    if parts.scheme.lower() not in ("http", "https") or not host:
        return False
    return "@" not in parts.netloc
