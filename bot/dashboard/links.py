"""Signed, short-lived dashboard links: who asked, for which scope, until when.

A link carries its scope (the programme, or one community), the Slack user it was given to, the
reader's language and an expiry, signed with the dashboard key (bot/config.py) by itsdangerous.
Whoever holds the link sees that scope until it expires; nothing else opens the dashboard.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
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
    # the holder's Microsoft Entra object id (Teams: app.yaml names a manager by it, never by
    # the "29:…" id), signed in the link with the rest
    aad_object_id: str | None = None

    def may_see(self, community_id: int) -> bool:
        return self.scope.community_id in (None, community_id)


class Refused(Exception):
    """No link, a forged one or an expired one: the page says no and shows nothing."""


def _serializer(key: bytes, salt: str = _SALT) -> URLSafeSerializer:
    return URLSafeSerializer(key, salt=salt)


def seal(payload: dict[str, Any], expires: datetime, *, key: bytes, salt: str = _SALT) -> str:
    """`payload` signed with its expiry ("e"): the one signer of every link cop-bot gives out
    (the dashboard's here, the downloads' in bot/downloads.py, each under its own salt so that
    one kind of link never opens another)."""
    return str(_serializer(key, salt).dumps({**payload, "e": int(expires.timestamp())}))


def unseal(
    token: str | None, now: datetime, *, key: bytes | None, salt: str = _SALT
) -> tuple[dict[str, Any], datetime]:
    """The payload a token carries and its expiry, or Refused (missing, forged, malformed or
    expired)."""
    if not token or key is None:
        raise Refused("no link")
    try:
        payload = _serializer(key, salt).loads(token)
    except BadSignature:
        raise Refused("bad signature") from None
    if not isinstance(payload, dict):
        raise Refused("malformed")
    try:
        expires = datetime.fromtimestamp(int(payload["e"]), tz=UTC)
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        raise Refused("malformed") from None
    if now >= expires:
        raise Refused("expired")
    return payload, expires


def token_for(
    scope: Scope,
    user: str,
    now: datetime,
    *,
    key: bytes,
    language: str = "fr",
    lifetime: timedelta = LIFETIME,
    aad_object_id: str | None = None,
) -> str:
    payload: dict[str, Any] = {
        "w": scope.workspace_id,
        "c": scope.community_id,
        "u": user,
        "l": language,
    }
    if aad_object_id:
        payload["a"] = aad_object_id
    return seal(payload, now + lifetime, key=key)


def link_for(
    scope: Scope,
    user: str,
    now: datetime,
    *,
    settings: Settings,
    language: str = "fr",
    lifetime: timedelta = LIFETIME,
    aad_object_id: str | None = None,
) -> str | None:
    """The dashboard address for `user` (a Slack user id), valid for `lifetime` from `now`; None
    when the process has no key to sign with (Socket Mode without COP_DASHBOARD_KEY)."""
    if settings.dashboard_key is None:
        return None
    token = token_for(
        scope,
        user,
        now,
        key=settings.dashboard_key,
        language=language,
        lifetime=lifetime,
        aad_object_id=aad_object_id,
    )
    return f"{settings.public_url}{PATH}?{urlencode({'t': token})}"


def read(token: str | None, now: datetime, *, key: bytes | None) -> Grant:
    """The grant a token carries, or Refused (missing, forged, malformed or expired)."""
    payload, expires = unseal(token, now, key=key)
    try:
        community = payload["c"]
        scope = Scope(str(payload["w"]), None if community is None else int(community))
        aad = payload.get("a")
        return Grant(
            scope,
            str(payload["u"]),
            str(payload.get("l") or "fr"),
            expires,
            str(aad) if aad else None,
        )
    except (KeyError, TypeError, ValueError):
        raise Refused("malformed") from None
