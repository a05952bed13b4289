"""Bot Framework authentication, both ways, as Microsoft documents it.

Inbound (https://learn.microsoft.com/en-us/azure/bot-service/rest-api/bot-framework-rest-connector-authentication):
the Bot Connector calls `/api/messages` with `Authorization: Bearer <JWT>`. The token is
accepted when its RS256 signature verifies with a key of the JWKS named by the OpenID metadata
document (`https://login.botframework.com/v1/.well-known/openidconfiguration`), its issuer is
`https://api.botframework.com`, its audience is our Microsoft App ID (also as `api://{id}` and
`api://botid-{id}`, like Microsoft's Teams SDK for Python), it is within its lifetime (5 minutes'
clock skew), and — once the body is read — its `serviceurl` claim equals the activity's
`serviceUrl` and the signing key endorses the activity's `channelId` (when the key carries
endorsements). Keys are cached; an unknown `kid` refreshes them, at most once per
`refresh_interval` seconds, so forged kids cannot make us hammer Microsoft.

Outbound: replies to the `serviceUrl` carry an access token obtained with client credentials
from `https://login.microsoftonline.com/{tenant|botframework.com}/oauth2/v2.0/token`, scope
`https://api.botframework.com/.default`, kept until shortly before it expires.

Done with PyJWT + cryptography (what the Teams SDK's own `TokenValidator` uses), with the key
fetching asynchronous (httpx) rather than the SDK's blocking `PyJWKClient`.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt

OPENID_METADATA_URL = "https://login.botframework.com/v1/.well-known/openidconfiguration"
ISSUER = "https://api.botframework.com"
TOKEN_URL = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
DEFAULT_TENANT = "botframework.com"
SCOPE = "https://api.botframework.com/.default"
LEEWAY_SECONDS = 300  # Microsoft: "allow up to 5 minutes of clock skew"
KEYS_MAX_AGE = 24 * 3600  # keys roll: re-read the metadata at least daily
MAX_KEYS = 64  # a JWKS bigger than this is not Microsoft's; keep the cache bounded
TOKEN_MARGIN = 300  # renew the outbound token 5 minutes before it expires


class Unauthorized(Exception):
    """The request is refused with 401; `reason` is one line, safe to log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AuthUnavailable(Exception):
    """Microsoft's metadata or token endpoint could not be reached (a 503, not a 401)."""


@dataclass(frozen=True, slots=True)
class _Key:
    key: Any
    endorsements: frozenset[str] | None


@dataclass
class InboundAuth:
    """Validates the Bot Connector's bearer tokens for one bot (its Microsoft App ID)."""

    app_id: str
    http: httpx.AsyncClient
    openid_url: str = OPENID_METADATA_URL
    issuer: str = ISSUER
    leeway: int = LEEWAY_SECONDS
    refresh_interval: float = 60.0
    refreshes: int = 0  # how many times the keys were (re)read: tests and metrics look
    _keys: dict[str, _Key] = field(default_factory=dict)
    _read_at: float = -1e18
    _unknown_at: float = -1e18  # the last refresh an unknown kid caused
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def audiences(self) -> list[str]:
        return [self.app_id, f"api://{self.app_id}", f"api://botid-{self.app_id}"]

    async def verify(self, authorization: str | None) -> dict[str, Any]:
        """The token's claims, or Unauthorized: everything that needs no body."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("missing bearer token")
        token = token.strip()
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise Unauthorized("malformed token") from None
        if header.get("alg") != "RS256":
            raise Unauthorized(f"token algorithm {header.get('alg')!r} refused")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise Unauthorized("token names no key")
        key = await self._key(kid)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                audience=self.audiences,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.InvalidTokenError as exc:
            raise Unauthorized(f"token refused: {exc}") from None
        claims["_endorsements"] = key.endorsements
        return claims

    def check_activity(self, claims: dict[str, Any], activity: dict[str, Any]) -> None:
        """What the token says about the activity must hold: its serviceUrl, its channel."""
        claimed = claims.get("serviceurl") or claims.get("serviceUrl")
        service_url = activity.get("serviceUrl")
        if not isinstance(claimed, str) or not isinstance(service_url, str):
            raise Unauthorized("token or activity names no serviceUrl")
        if claimed.rstrip("/") != service_url.rstrip("/"):
            raise Unauthorized("serviceUrl does not match the token")
        endorsements = claims.get("_endorsements")
        channel = activity.get("channelId")
        if endorsements is not None and channel and channel not in endorsements:
            raise Unauthorized(f"signing key does not endorse channel {channel!r}")

    async def _key(self, kid: str) -> _Key:
        stale = time.monotonic() - self._read_at > KEYS_MAX_AGE
        if kid in self._keys and not stale:
            return self._keys[kid]
        async with self._lock:
            now = time.monotonic()
            if not self._keys or now - self._read_at > KEYS_MAX_AGE:
                await self._refresh()
            elif kid not in self._keys and now - self._unknown_at >= self.refresh_interval:
                # keys rolled: one refresh per interval, whatever kids arrive meanwhile
                self._unknown_at = now
                await self._refresh()
        found = self._keys.get(kid)
        if found is None:
            raise Unauthorized("token signed with an unknown key")
        return found

    async def _refresh(self) -> None:
        try:
            metadata = (await self.http.get(self.openid_url)).raise_for_status().json()
            jwks_uri = metadata["jwks_uri"]
            document = (await self.http.get(jwks_uri)).raise_for_status().json()
            entries = document["keys"]
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise AuthUnavailable(f"Bot Framework keys unavailable: {exc}") from None
        keys: dict[str, _Key] = {}
        for entry in entries[:MAX_KEYS]:
            if not isinstance(entry, dict) or entry.get("kty") != "RSA" or "kid" not in entry:
                continue
            try:
                parsed = jwt.PyJWK(entry, algorithm="RS256")
            except jwt.PyJWKError:
                continue
            raw = entry.get("endorsements")
            endorsements = frozenset(str(e) for e in raw) if isinstance(raw, list) else None
            keys[str(entry["kid"])] = _Key(parsed.key, endorsements)
        self._keys = keys
        self._read_at = time.monotonic()
        self.refreshes += 1


@dataclass
class OutboundToken:
    """The bot's access token for the Bot Connector (client credentials), cached."""

    app_id: str
    password: str
    http: httpx.AsyncClient
    token_url: str = TOKEN_URL.format(tenant=DEFAULT_TENANT)
    scope: str = SCOPE
    fetched: int = 0  # how many tokens were asked for
    _token: str = ""
    _expires_at: float = 0.0
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def forget(self) -> None:
        """The connector refused the token: ask for a new one next time."""
        self._token, self._expires_at = "", 0.0

    async def get(self) -> str:
        if self._token and time.monotonic() < self._expires_at - TOKEN_MARGIN:
            return self._token
        async with self._lock:
            if self._token and time.monotonic() < self._expires_at - TOKEN_MARGIN:
                return self._token
            try:
                response = await self.http.post(
                    self.token_url,
                    data={
                        "grant_type": "client_credentials",
                        "client_id": self.app_id,
                        "client_secret": self.password,
                        "scope": self.scope,
                    },
                )
                response.raise_for_status()
                body = response.json()
                token, lifetime = str(body["access_token"]), float(body.get("expires_in", 3600))
            except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
                raise AuthUnavailable(f"Bot Framework token unavailable: {exc}") from None
            self.fetched += 1
            self._token, self._expires_at = token, time.monotonic() + lifetime
            return token
