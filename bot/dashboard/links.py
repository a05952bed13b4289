"""Signed, short-lived dashboard links: who asked, for which scope, until when.

A link carries its scope (the programme, or one community), the Slack user it was given to, the
reader's language and an expiry, signed with the dashboard key (bot/config.py) by itsdangerous.
Whoever holds the link sees that scope until it expires; nothing else opens the dashboard.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from itsdangerous import BadSignature, URLSafeSerializer

from bot.config import Settings

LIFETIME = timedelta(hours=24)
_SALT = "cop-bot dashboard link v1"
PATH = "/dashboard"


@dataclass(frozen=True, slots=True)
class Scope:
    """The programme of a workspace (community None), or one of its communities."""

    workspace_id: str
    community_id: int | None = None


@dataclass(frozen=True, slots=True)
class Grant:
    """What a valid link lets its holder see."""

    scope: Scope
    user: str
    language: str
    expires: datetime

    def may_see(self, community_id: int) -> bool:
        return self.scope.community_id in (None, community_id)


class Refused(Exception):
    """No link, a forged one or an expired one: the page says no and shows nothing."""


def _serializer(key: bytes) -> URLSafeSerializer:
    return URLSafeSerializer(key, salt=_SALT)


def token_for(
    scope: Scope,
    user: str,
    now: datetime,
    *,
    key: bytes,
    language: str = "fr",
    lifetime: timedelta = LIFETIME,
) -> str:
    expires = int((now + lifetime).timestamp())
    payload = {
        "w": scope.workspace_id,
        "c": scope.community_id,
        "u": user,
        "l": language,
        "e": expires,
    }
    return str(_serializer(key).dumps(payload))


def link_for(
    scope: Scope,
    user: str,
    now: datetime,
    *,
    settings: Settings,
    language: str = "fr",
    lifetime: timedelta = LIFETIME,
) -> str | None:
    """The dashboard address for `user` (a Slack user id), valid for `lifetime` from `now`; None
    when the process has no key to sign with (Socket Mode without COP_DASHBOARD_KEY)."""
    if settings.dashboard_key is None:
        return None
    token = token_for(
        scope, user, now, key=settings.dashboard_key, language=language, lifetime=lifetime
    )
    return f"{settings.public_url}{PATH}?{urlencode({'t': token})}"


def read(token: str | None, now: datetime, *, key: bytes | None) -> Grant:
    """The grant a token carries, or Refused (missing, forged, malformed or expired)."""
    if not token or key is None:
        raise Refused("no link")
    try:
        payload = _serializer(key).loads(token)
    except BadSignature:
        raise Refused("bad signature") from None
    try:
        expires = datetime.fromtimestamp(int(payload["e"]), tz=UTC)
        community = payload["c"]
        scope = Scope(str(payload["w"]), None if community is None else int(community))
        grant = Grant(scope, str(payload["u"]), str(payload.get("l") or "fr"), expires)
    except (KeyError, TypeError, ValueError):
        raise Refused("malformed") from None
    if now >= expires:
        raise Refused("expired")
    return grant
