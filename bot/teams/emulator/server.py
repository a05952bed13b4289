"""The Teams emulator: Microsoft's side of a Teams bot, over real HTTP on loopback.

It serves what the bot reads from Microsoft — the Bot Framework OpenID metadata and its JWKS (an
RSA key generated at start, endorsing the `msteams` channel), the token endpoint (client
credentials → a signed access token, after checking the app id and secret) — sends the bot
signed activities as the Bot Connector does, and answers the Bot Connector REST API the bot calls
back at the activity's `serviceUrl`: replies and new messages, card updates in place, proactive
1:1 conversations and the paged roster. Every call must carry a token it issued; every call is
recorded; every Adaptive Card is checked against Microsoft's schema 1.5, every message against
Teams' size limit and every conversation against Teams' rate limits (bot.teams.emulator.checks).

Run standalone with ``python -m bot.teams.emulator --port 8791``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from bot.teams.emulator.checks import RateLimits, activity_errors, answer_errors, too_big

logger = logging.getLogger(__name__)

Json = dict[str, Any]
CHANNEL_ISSUER = "https://api.botframework.com"
CONNECTOR_AUDIENCE = "https://api.botframework.com"
TOKEN_ISSUER = "https://login.microsoftonline.com/botframework.com/v2.0"  # emulated


@dataclass
class Call:
    method: str
    path: str
    status: int
    body: Any = None


@dataclass
class Member:
    id: str
    name: str
    aad_object_id: str
    email: str

    def as_json(self) -> Json:
        return {
            "id": self.id,
            "name": self.name,
            "aadObjectId": self.aad_object_id,
            "email": self.email,
            "userPrincipalName": self.email,
            "tenantId": TENANT_ID,
        }


TENANT_ID = "72f988bf-0000-4000-8000-00000000c0b0"
PERSONAL = "a:1emu-personal-camille"
CHANNEL = "19:emu-communaute-data@thread.tacv2"
TEAM = "19:emu-team@thread.tacv2"  # the team of CHANNEL (its activities' channelData.team.id)


def _default_members() -> list[Member]:
    names = ["Camille Martin", "Alex Durand", "Sam Bernard", "Lou Petit", "Noa Robert"]
    return [
        Member(
            id=f"29:1emu-user-{i}",
            name=name,
            aad_object_id=f"00000000-0000-4000-8000-00000000{i:04d}",
            email=f"{name.split()[0].lower()}@contoso.example",
        )
        for i, name in enumerate(names, start=1)
    ]


@dataclass
class _Key:
    kid: str
    private: rsa.RSAPrivateKey
    endorsements: list[str] = field(default_factory=lambda: ["msteams"])

    def jwk(self) -> Json:
        data: Json = RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        return {
            **data,
            "kid": self.kid,
            "use": "sig",
            "alg": "RS256",
            "endorsements": self.endorsements,
        }


def _new_key(kid: str) -> _Key:
    return _Key(kid, rsa.generate_private_key(public_exponent=65537, key_size=2048))


class TeamsEmulator:
    """A Bot Connector and Microsoft login stand-in that runs in the caller's event loop."""

    def __init__(
        self,
        *,
        app_id: str = "00000000-0000-4000-8000-00000000c0b0",
        app_password: str = "emulator-app-password",
        bot_name: str = "cop",
        check_cards: bool = True,
    ) -> None:
        self.app_id = app_id
        self.app_password = app_password
        self.bot_name = bot_name
        self.check_cards = check_cards
        self.tenant_id = TENANT_ID
        self.members = _default_members()
        self.keys = [_new_key("emu-key-1")]
        self.calls: list[Call] = []
        self.activities: dict[str, list[Json]] = {}
        self.conversations: dict[str, Json] = {
            PERSONAL: {"conversationType": "personal", "members": [self.members[0]]},
            CHANNEL: {"conversationType": "channel", "members": list(self.members)},
        }
        self.tokens_issued = 0
        self.answers: list[Any] = []  # what the bot answered to each activity (invokes)
        self.card_problems: list[str] = []  # cards in those answers that Teams would refuse
        self.refused_cards: list[str] = []  # why posted cards were refused (400)
        self.jwks_served = 0
        self.limits = RateLimits()
        # statuses the next Connector calls answer with, and their Retry-After (tests inject them)
        self.faults: list[tuple[int, float | None]] = []
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    # ------------------------------------------------------------------ addresses

    @property
    def service_url(self) -> str:
        """The `serviceUrl` of the activities it sends (the connector's base, with a slash)."""
        return f"{self.url}/"

    @property
    def openid_url(self) -> str:
        return f"{self.url}/v1/.well-known/openidconfiguration"

    @property
    def token_url(self) -> str:
        return f"{self.url}/botframework.com/oauth2/v2.0/token"

    # ------------------------------------------------------------------ life

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.add_routes(
            [
                web.get("/v1/.well-known/openidconfiguration", self._openid),
                web.get("/v1/.well-known/keys", self._jwks),
                web.post("/{tenant}/oauth2/v2.0/token", self._token),
                web.post("/v3/conversations", self._create_conversation),
                web.post("/v3/conversations/{cid}/activities", self._send),
                web.post("/v3/conversations/{cid}/activities/{aid}", self._send),
                web.put("/v3/conversations/{cid}/activities/{aid}", self._update),
                web.get("/v3/conversations/{cid}/pagedmembers", self._paged_members),
            ]
        )
        self._messenger_setup(app)  # teams-messenger: one member, people who blocked the bot
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://{host}:{bound}"
        return self.url

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # ------------------------------------------------------------------ Microsoft's tokens

    def channel_token(
        self,
        *,
        service_url: str | None = None,
        key: _Key | None = None,
        signing_key: rsa.RSAPrivateKey | None = None,
        lifetime: float = 3600,
        **claims: Any,
    ) -> str:
        """A token as the Bot Connector signs it for the bot. Tests forge bad ones through
        `signing_key` (another RSA key under our kid), `lifetime` < 0, or claims (aud, iss)."""
        key = key or self.keys[0]
        now = int(time.time())
        payload: Json = {
            "iss": CHANNEL_ISSUER,
            "aud": self.app_id,
            "serviceurl": service_url or self.service_url,
            "nbf": now - 5,
            "iat": now - 5,
            "exp": int(now + lifetime),
        }
        payload.update(claims)
        return jwt.encode(
            payload, signing_key or key.private, algorithm="RS256", headers={"kid": key.kid}
        )

    def rotate_key(self) -> _Key:
        """Microsoft rolls its signing keys: a new key, listed first; the old one stays."""
        new = _new_key(f"emu-key-{len(self.keys) + 1}")
        self.keys.insert(0, new)
        return new

    # ------------------------------------------------------------------ activities to the bot

    def _account(self, member: Member) -> Json:
        return {"id": member.id, "name": member.name, "aadObjectId": member.aad_object_id}

    def _base(self, conversation: str, member: Member, locale: str) -> Json:
        kind = self.conversations[conversation]["conversationType"]
        channel_data: Json = {"tenant": {"id": self.tenant_id}}
        if kind == "channel":
            channel_data |= {
                "team": {"id": "19:emu-team@thread.tacv2", "name": "Communautés"},
                "channel": {"id": conversation, "name": "Data"},
            }
        return {
            "id": f"{int(time.time() * 1000)}{uuid.uuid4().hex[:6]}",
            "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "serviceUrl": self.service_url,
            "channelId": "msteams",
            "from": self._account(member),
            "conversation": {
                "id": conversation,
                "conversationType": kind,
                "tenantId": self.tenant_id,
                **({"isGroup": True} if kind != "personal" else {}),
            },
            "recipient": {"id": f"28:{self.app_id}", "name": self.bot_name},
            "locale": locale,
            "channelData": channel_data,
        }

    def message(
        self,
        text: str,
        *,
        conversation: str = PERSONAL,
        locale: str = "fr-FR",
        member: Member | None = None,
        mention: bool = True,
    ) -> Json:
        """A message as Teams delivers it; in a channel the bot is @mentioned by name."""
        activity = self._base(conversation, member or self.members[0], locale)
        at = f"<at>{self.bot_name}</at>"
        activity |= {"type": "message", "text": f"{at} {text}" if mention else text}
        activity["textFormat"] = "plain"
        activity["entities"] = [
            {
                "type": "clientInfo",
                "locale": locale,
                "country": "FR",
                "platform": "Web",
                "timezone": "Europe/Paris",
            },
        ]
        if mention:
            activity["entities"].append(
                {
                    "type": "mention",
                    "text": at,
                    "mentioned": {"id": f"28:{self.app_id}", "name": self.bot_name},
                }
            )
        return activity

    def conversation_update(
        self, *, conversation: str = CHANNEL, added: list[Member] | None = None
    ) -> Json:
        activity = self._base(conversation, self.members[0], "fr-FR")
        activity |= {
            "type": "conversationUpdate",
            "membersAdded": [self._account(m) for m in (added or [self.members[-1]])],
        }
        activity["channelData"]["eventType"] = "teamMemberAdded"
        return activity

    def invoke(
        self,
        name: str,
        value: Json,
        *,
        conversation: str = PERSONAL,
        locale: str = "fr-FR",
        member: Member | None = None,
        reply_to: str | None = None,
    ) -> Json:
        """An invoke as Teams sends it: "task/fetch" and "task/submit" (a dialog; `value` holds
        `data`), "adaptiveCard/action" (an Action.Execute: `value` holds `action`, with its verb
        and data). `reply_to` is the id of the card's message, as Teams gives it."""
        activity = self._base(conversation, member or self.members[0], locale)
        activity |= {"type": "invoke", "name": name, "value": value}
        if reply_to is not None:
            activity["replyToId"] = reply_to
        return activity

    def execute(
        self,
        action: Json,
        *,
        conversation: str = PERSONAL,
        reply_to: str | None = None,
        inputs: Json | None = None,
        **options: Any,
    ) -> Json:
        """A click on a card's Action.Execute (its verb and data, with the card's inputs)."""
        data = {**(action.get("data") or {}), **(inputs or {})}
        value = {
            "action": {"type": "Action.Execute", "verb": action.get("verb"), "data": data},
            "trigger": "manual",
        }
        return self.invoke(
            "adaptiveCard/action", value, conversation=conversation, reply_to=reply_to, **options
        )

    async def deliver(
        self,
        bot_url: str,
        activity: Json,
        *,
        token: str | None = None,
        authorization: str | None = None,
    ) -> int:
        """POST the activity to the bot as the Bot Connector does; the HTTP status."""
        status, _ = await self.post(bot_url, activity, token=token, authorization=authorization)
        return status

    async def post(
        self,
        bot_url: str,
        activity: Json,
        *,
        token: str | None = None,
        authorization: str | None = None,
    ) -> tuple[int, Any]:
        """POST the activity to the bot; the HTTP status and the JSON body it answered (an
        invoke's answer: a dialog, a card), None when empty. Every card in it is checked."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        if authorization is None:
            authorization = f"Bearer {token or self.channel_token()}"
        headers = {"Content-Type": "application/json"}
        if authorization:
            headers["Authorization"] = authorization
        async with self._session.post(bot_url, data=json.dumps(activity), headers=headers) as r:
            raw = await r.read()
            body = json.loads(raw) if raw.strip() else None
            self.answers.append(body)
            if self.check_cards:
                self.card_problems += answer_errors(body)
            return r.status, body

    # ------------------------------------------------------------------ handlers

    async def _openid(self, _: web.Request) -> web.Response:
        return web.json_response(
            {
                "issuer": CHANNEL_ISSUER,
                "authorization_endpoint": "https://invalid.botframework.com",
                "jwks_uri": f"{self.url}/v1/.well-known/keys",
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            }
        )

    async def _jwks(self, _: web.Request) -> web.Response:
        self.jwks_served += 1
        return web.json_response({"keys": [k.jwk() for k in self.keys]})

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        ok = (
            form.get("grant_type") == "client_credentials"
            and form.get("client_id") == self.app_id
            and form.get("client_secret") == self.app_password
            and form.get("scope") == f"{CONNECTOR_AUDIENCE}/.default"
        )
        if not ok:
            self.calls.append(Call("POST", request.path, 401))
            return web.json_response(
                {
                    "error": "invalid_client",
                    "error_description": "AADSTS7000215: Invalid client secret provided.",
                },
                status=401,
            )
        self.tokens_issued += 1
        now = int(time.time())
        token = jwt.encode(
            {
                "iss": TOKEN_ISSUER,
                "aud": CONNECTOR_AUDIENCE,
                "appid": self.app_id,
                "tid": request.match_info["tenant"],
                "iat": now,
                "nbf": now,
                "exp": now + 3600,
            },
            self.keys[0].private,
            algorithm="RS256",
            headers={"kid": self.keys[0].kid},
        )
        self.calls.append(Call("POST", request.path, 200))
        return web.json_response(
            {
                "token_type": "Bearer",
                "expires_in": 3599,
                "ext_expires_in": 3599,
                "access_token": token,
            }
        )

    def _authorised(self, request: web.Request) -> bool:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme != "Bearer" or not token:
            return False
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = next(k for k in self.keys if k.kid == kid)
            claims = jwt.decode(
                token,
                key.private.public_key(),
                algorithms=["RS256"],
                audience=CONNECTOR_AUDIENCE,
                issuer=TOKEN_ISSUER,
            )
        except (jwt.InvalidTokenError, StopIteration):
            return False
        return bool(claims.get("appid") == self.app_id)

    async def _guard(
        self, request: web.Request, kind: str, conversation: str
    ) -> tuple[Json | None, web.Response | None]:
        """The token, the limits, the size and the cards: a refusal as Teams answers, or the body."""

        def refuse(status: int, code: str, message: str, **headers: str) -> web.Response:
            self.calls.append(Call(request.method, request.path, status, body))
            return web.json_response(
                {"error": {"code": code, "message": message}}, status=status, headers=headers
            )

        body: Any = None
        if not self._authorised(request):
            return None, refuse(
                401, "Unauthorized", "Authorization has been denied for this request."
            )
        if self.faults:
            status, after = self.faults.pop(0)
            extra = {"Retry-After": str(after)} if after is not None else {}
            return None, refuse(status, "ServiceError", "injected failure", **extra)
        wait = self.limits.wait(conversation, kind, time.monotonic())
        if wait:
            return None, refuse(
                429, "TooManyRequests", "Too many requests", **{"Retry-After": f"{wait:.3f}"}
            )
        if request.method == "GET":
            return {}, None
        text = await request.text()
        try:
            body = json.loads(text)
        except ValueError:
            return None, refuse(400, "BadSyntax", "Body is not JSON")
        if not isinstance(body, dict):
            return None, refuse(400, "BadSyntax", "Body is not a JSON object")
        if too_big(text):
            return None, refuse(413, "MessageSizeTooBig", "Message size too big")
        activity = body.get("activity", body)
        problems = (
            activity_errors(activity) if self.check_cards and isinstance(activity, dict) else []
        )
        if problems:
            self.refused_cards += problems
            return None, refuse(400, "BadArgument", "; ".join(problems))
        return body, None

    def _store(self, conversation: str, activity: Json) -> str:
        activity_id = f"1{int(time.time() * 1000)}{len(self.calls):04d}"
        self.activities.setdefault(conversation, []).append({**activity, "id": activity_id})
        return activity_id

    async def _send(self, request: web.Request) -> web.Response:
        conversation = request.match_info["cid"]
        body, refused = await self._guard(request, "send", conversation)
        if refused is not None:
            return refused
        assert body is not None
        if conversation not in self.conversations:
            self.calls.append(Call("POST", request.path, 404, body))
            return web.json_response(
                {"error": {"code": "ConversationNotFound", "message": "Conversation not found."}},
                status=404,
            )
        activity_id = self._store(conversation, body)
        self.calls.append(Call("POST", request.path, 201, body))
        return web.json_response({"id": activity_id}, status=201)

    async def _update(self, request: web.Request) -> web.Response:
        conversation, activity_id = request.match_info["cid"], request.match_info["aid"]
        body, refused = await self._guard(request, "send", conversation)
        if refused is not None:
            return refused
        assert body is not None
        stored = self.activities.get(conversation, [])
        for index, existing in enumerate(stored):
            if existing["id"] == activity_id:
                stored[index] = {**body, "id": activity_id}
                self.calls.append(Call("PUT", request.path, 200, body))
                return web.json_response({"id": activity_id})
        self.calls.append(Call("PUT", request.path, 404, body))
        return web.json_response(
            {"error": {"code": "ActivityNotFoundInConversation", "message": "Unknown activity"}},
            status=404,
        )

    async def _create_conversation(self, request: web.Request) -> web.Response:
        body, refused = await self._guard(request, "send", "/v3/conversations")
        if refused is not None:
            return refused
        assert body is not None
        wanted = [m.get("id") for m in body.get("members") or [] if isinstance(m, dict)]
        found = [m for m in self.members if m.id in wanted or m.aad_object_id in wanted]
        if body.get("isGroup") or len(wanted) != 1 or not found:
            self.calls.append(Call("POST", request.path, 400, body))
            return web.json_response(
                {
                    "error": {
                        "code": "BadArgument",
                        "message": "Bots create 1:1 conversations with one known member",
                    }
                },
                status=400,
            )
        conversation = f"a:1emu-personal-{found[0].id.rsplit('-', 1)[-1]}"
        self.conversations.setdefault(
            conversation, {"conversationType": "personal", "members": found}
        )
        result: Json = {"id": conversation}
        if isinstance(body.get("activity"), dict):
            result["activityId"] = self._store(conversation, body["activity"])
        self.calls.append(Call("POST", request.path, 201, body))
        return web.json_response(result, status=201)

    async def _paged_members(self, request: web.Request) -> web.Response:
        conversation = request.match_info["cid"]
        _, refused = await self._guard(request, "read", conversation)
        if refused is not None:
            return refused
        members = self.conversations.get(conversation, {}).get("members")
        if members is None:
            self.calls.append(Call("GET", request.path, 404))
            return web.json_response(
                {"error": {"code": "ConversationNotFound", "message": "Conversation not found."}},
                status=404,
            )
        try:
            size = max(1, min(500, int(request.query.get("pageSize", "200"))))
            start = int(request.query.get("continuationToken") or 0)
        except ValueError:
            self.calls.append(Call("GET", request.path, 400))
            return web.json_response(
                {"error": {"code": "BadArgument", "message": "bad paging"}}, status=400
            )
        page = members[start : start + size]
        result: Json = {"members": [m.as_json() for m in page]}
        if start + size < len(members):
            result["continuationToken"] = str(start + size)
        self.calls.append(Call("GET", request.path, 200))
        return web.json_response(result)

    # ------------------------------------------------------------------ what tests read

    def cards(self, conversation: str) -> list[Json]:
        """The Adaptive Cards the bot posted in a conversation, in order."""
        return [
            a["content"]
            for activity in self.activities.get(conversation, [])
            for a in activity.get("attachments") or []
            if a.get("contentType") == "application/vnd.microsoft.card.adaptive"
        ]

    # --- teams-community ---
    # A team and its roster, its members coming and going, its channels' events, and the channel
    # traffic a bot with RSC receives: posts, thread replies, reactions, redeliveries.

    def add_team(self, extra: int = 0, *, team_id: str = TEAM) -> list[Member]:
        """The team behind CHANNEL: the default members plus `extra` more ("Membre 1"…), its
        roster served at /v3/conversations/{team_id}/pagedmembers; the channel has the same
        members (a standard channel's are its team's)."""
        more = [
            Member(
                id=f"29:1emu-member-{i}",
                name=f"Membre {i}",
                aad_object_id=f"00000000-0000-4000-8001-{i:012d}",
                email=f"membre.{i}@contoso.example",
            )
            for i in range(1, extra + 1)
        ]
        roster = [*self.members, *more]
        self.conversations[team_id] = {"conversationType": "channel", "members": roster}
        self.conversations[CHANNEL]["members"] = roster
        return roster

    def team_member(self, index: int) -> Member:
        """A member of the team by position in its roster (add_team first)."""
        members: list[Member] = self.conversations[TEAM]["members"]
        return members[index]

    def _team_update(self, event: str, *, conversation: str = TEAM, **fields: Any) -> Json:
        """A conversationUpdate at team scope, as Teams sends it in the team's General channel."""
        if conversation not in self.conversations:
            self.conversations[conversation] = {"conversationType": "channel", "members": []}
        activity = self._base(conversation, self.members[0], "fr-FR")
        activity |= {"type": "conversationUpdate", **fields}
        activity["channelData"]["eventType"] = event
        activity["channelData"]["team"] = {"id": TEAM, "name": "Communautés"}
        activity["channelData"]["channel"] = {"id": conversation}
        return activity

    def bot_added(self) -> Json:
        """The app installed in the team: the bot itself in membersAdded."""
        bot = {"id": f"28:{self.app_id}", "name": self.bot_name}
        return self._team_update("teamMemberAdded", membersAdded=[bot])

    def installation_update(self, action: str = "add") -> Json:
        """The app added to (or removed from) the team, as installationUpdate says it."""
        activity = self._team_update("", action=action)
        activity["type"] = "installationUpdate"
        del activity["channelData"]["eventType"]
        return activity

    def members_added(self, members: list[Member]) -> Json:
        """People added to the team (they join its roster too)."""
        roster: list[Member] = self.conversations.setdefault(
            TEAM, {"conversationType": "channel", "members": list(self.members)}
        )["members"]
        roster += [m for m in members if m not in roster]
        return self._team_update(
            "teamMemberAdded",
            membersAdded=[{"id": m.id, "aadObjectId": m.aad_object_id} for m in members],
        )

    def members_removed(self, members: list[Member]) -> Json:
        """People removed from the team (they leave its roster)."""
        roster: list[Member] = self.conversations.get(TEAM, {}).get("members", [])
        self.conversations.get(TEAM, {})["members"] = [m for m in roster if m not in members]
        return self._team_update(
            "teamMemberRemoved",
            membersRemoved=[{"id": m.id, "aadObjectId": m.aad_object_id} for m in members],
        )

    def channel_event(self, event: str, *, channel: str = CHANNEL, name: str = "Data") -> Json:
        """channelCreated, channelRenamed, channelDeleted, channelRestored about `channel`."""
        activity = self._team_update(event)
        activity["channelData"]["channel"] = {"id": channel, "name": name}
        return activity

    def team_event(self, event: str) -> Json:
        """teamArchived, teamUnarchived, teamRenamed, teamDeleted, teamRestored."""
        return self._team_update(event)

    def channel_post(
        self,
        text: str,
        *,
        member: Member | None = None,
        locale: str = "fr-FR",
        timezone: str | None = "Europe/Paris",
        mention: bool = False,
    ) -> Json:
        """A new post in CHANNEL as a bot with RSC receives it, @mentioning it or not: its
        conversation id names the post itself as the thread's root."""
        activity = self.message(
            text, conversation=CHANNEL, member=member, locale=locale, mention=mention
        )
        activity["conversation"]["id"] = self._thread(activity["id"])
        return self._client(activity, locale, timezone)

    def thread_reply(
        self,
        text: str,
        root_id: str,
        *,
        member: Member | None = None,
        locale: str = "fr-FR",
        timezone: str | None = "Europe/Paris",
    ) -> Json:
        """A reply in the thread of the post `root_id`."""
        activity = self.message(
            text, conversation=CHANNEL, member=member, locale=locale, mention=False
        )
        activity["conversation"]["id"] = self._thread(root_id)
        activity["replyToId"] = root_id
        return self._client(activity, locale, timezone)

    def reaction(
        self, reply_to: str, *, member: Member | None = None, kind: str = "like", added: bool = True
    ) -> Json:
        """A reaction added (or taken back) on a message of CHANNEL (Teams sends these only
        for messages the bot posted)."""
        activity = self._base(CHANNEL, member or self.members[0], "fr-FR")
        activity |= {"type": "messageReaction", "replyToId": reply_to}
        activity["reactionsAdded" if added else "reactionsRemoved"] = [{"type": kind}]
        return activity

    def bot_post(self, text: str) -> Json:
        """A post by another bot (an "28:" id): not a person's activity."""
        activity = self.channel_post(text)
        activity["from"] = {"id": "28:another-bot", "name": "Autre robot"}
        return activity

    def _thread(self, root_id: str) -> str:
        """A thread of CHANNEL: the bot may answer in it (the Connector takes the thread's id)."""
        thread = f"{CHANNEL};messageid={root_id}"
        self.conversations.setdefault(thread, self.conversations[CHANNEL])
        return thread

    @staticmethod
    def _client(activity: Json, locale: str, timezone: str | None) -> Json:
        """The locale and the time zone the person's Teams client reports (clientInfo)."""
        activity["locale"] = locale
        entities = [e for e in activity.get("entities") or [] if e.get("type") != "clientInfo"]
        client: Json = {"type": "clientInfo", "locale": locale, "platform": "Web"}
        if timezone:
            client["timezone"] = timezone
        activity["entities"] = [client, *entities]
        return activity

    def from_client(self, activity: Json, *, locale: str, timezone: str | None) -> Json:
        """The same activity as sent from a client with this locale and time zone."""
        return self._client(activity, locale, timezone)

    # --- teams-messenger ---
    # What proactive messages meet: one member read alone (GET …/members/{id}), the team's roster
    # under the team's own id, and people who blocked the bot or uninstalled it (403).

    def _messenger_setup(self, app: web.Application) -> None:
        app.add_routes([web.get("/v3/conversations/{cid}/members/{uid}", self._member)])
        app.middlewares.append(self._refuse_blocked)
        # a standard channel's members are its team's: the roster read under the team id
        self.conversations.setdefault(
            TEAM, {"conversationType": "channel", "members": self.conversations[CHANNEL]["members"]}
        )

    @property
    def blocked(self) -> set[str]:
        """The members ("29:…" ids) who blocked the bot or uninstalled it: Teams answers 403
        to a message in their 1:1 chat and to a 1:1 chat opened with them."""
        found: set[str] = self.__dict__.setdefault("_blocked", set())
        return found

    def _blocks(self, conversation: str) -> bool:
        members = self.conversations.get(conversation, {})
        return members.get("conversationType") == "personal" and any(
            m.id in self.blocked for m in members.get("members") or []
        )

    @web.middleware
    async def _refuse_blocked(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.method != "POST" or not self._authorised(request):
            return await handler(request)
        cid = request.match_info.get("cid")
        refused = False
        if cid is not None:
            refused = self._blocks(cid)
        elif request.path == "/v3/conversations":
            try:
                body = json.loads(await request.text())
                wanted = {m.get("id") for m in body.get("members") or [] if isinstance(m, dict)}
            except (ValueError, AttributeError):
                wanted = set()
            refused = any(
                m.id in self.blocked and (m.id in wanted or m.aad_object_id in wanted)
                for m in self.members
            )
        if not refused:
            return await handler(request)
        self.calls.append(Call("POST", request.path, 403))
        return web.json_response(
            {
                "error": {
                    "code": "ConversationBlockedByUser",
                    "message": "User blocked the conversation with the bot.",
                }
            },
            status=403,
        )

    async def _member(self, request: web.Request) -> web.Response:
        conversation, wanted = request.match_info["cid"], request.match_info["uid"]
        _, refused = await self._guard(request, "read", conversation)
        if refused is not None:
            return refused
        members = self.conversations.get(conversation, {}).get("members")
        if members is None:
            self.calls.append(Call("GET", request.path, 404))
            return web.json_response(
                {"error": {"code": "ConversationNotFound", "message": "Conversation not found."}},
                status=404,
            )
        for member in members:
            if wanted in (member.id, member.aad_object_id, member.email):
                self.calls.append(Call("GET", request.path, 200))
                return web.json_response(member.as_json())
        self.calls.append(Call("GET", request.path, 404))
        return web.json_response(
            {"error": {"code": "MemberNotFoundInConversation", "message": "Member not found."}},
            status=404,
        )

    # --- teams-demo ---
    # Someone of the tenant who is in none of the team's channels (the programme's community
    # manager), and the 1:1 chat a member writes to the bot in.

    def add_person(self, name: str, number: int) -> Member:
        """A person of the tenant, in no team (the channel's members stay as they are)."""
        member = Member(
            id=f"29:1emu-user-{number}",
            name=name,
            aad_object_id=f"00000000-0000-4000-8000-00000000{number:04d}",
            email=f"{name.split()[0].lower()}@contoso.example",
        )
        self.members.append(member)
        return member

    def personal_chat(self, member: Member) -> str:
        """The member's 1:1 chat with the bot: the one the bot opens (POST /v3/conversations
        names it so), or Camille's, the emulator's own."""
        if any(m is member for m in self.conversations[PERSONAL]["members"]):
            return PERSONAL
        conversation = f"a:1emu-personal-{member.id.rsplit('-', 1)[-1]}"
        self.conversations.setdefault(
            conversation, {"conversationType": "personal", "members": [member]}
        )
        return conversation


def main() -> None:
    parser = argparse.ArgumentParser(description="Microsoft Teams (Bot Connector) emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8791)
    args = parser.parse_args()

    async def run() -> None:
        emulator = TeamsEmulator()
        url = await emulator.start(args.host, args.port)
        print(f"Teams emulator on {url} (OpenID metadata {emulator.openid_url})")  # noqa: T201
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.Event().wait()
        await emulator.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
