"""Plays Slack's side towards the bot: signed slash commands, events and interactions.

Paired with :class:`bot.slack.emulator.SlackEmulator` (which plays the Web API),
this lets end-to-end tests and ``cop demo`` drive the real bot over its real
``POST /slack/events`` endpoint, with genuine request signatures, payloads shaped
like Slack's, and state (messages, views, users) taken from the emulator so that
clicks and submissions reference what the bot actually posted.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from datetime import date
from datetime import time as dtime
from typing import Any
from urllib.parse import urlencode

import httpx

from bot.slack.emulator import SlackEmulator

Json = dict[str, Any]
_MISSING: Any = object()
_TEXT_INPUTS = {"plain_text_input", "url_text_input", "email_text_input", "number_input"}
_SINGLE = {
    "users_select": ("selected_user", "initial_user"),
    "conversations_select": ("selected_conversation", "initial_conversation"),
    "channels_select": ("selected_channel", "initial_channel"),
    "multi_users_select": ("selected_users", "initial_users"),
    "multi_conversations_select": ("selected_conversations", "initial_conversations"),
    "multi_channels_select": ("selected_channels", "initial_channels"),
    "datetimepicker": ("selected_date_time", "initial_date_time"),
}


def _walk(obj: Any) -> Iterator[Json]:
    """Every dict nested in ``obj`` (elements live in accessories, element lists, inputs)."""
    if isinstance(obj, dict):
        yield obj
        for value in obj.values():
            yield from _walk(value)
    elif isinstance(obj, list):
        for item in obj:
            yield from _walk(item)


def _options(element: Json) -> list[Json]:
    groups = element.get("option_groups") or []
    return [*(element.get("options") or []), *(o for g in groups for o in g.get("options", []))]


def _option(element: Json, value: Any) -> Json:
    """The option whose value is ``value``; fail loudly so typos don't pass silently."""
    if element.get("type") == "external_select":
        return {"text": {"type": "plain_text", "text": str(value)}, "value": str(value)}
    for option in _options(element):
        if option.get("value") == value:
            return option
    available = [o.get("value") for o in _options(element)]
    raise AssertionError(f"no option {value!r} in {element.get('action_id')!r}; have {available}")


class SlackDriver:
    """Sends Slack-shaped, signed HTTP requests to the bot's events endpoint."""

    def __init__(
        self,
        emulator: SlackEmulator,
        *,
        bot_url: str,
        signing_secret: str,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.emulator = emulator
        self.bot_url = bot_url
        self.api_app_id = "A0COPBOT"
        self.verification_token = "legacy-verification-token"
        self._secret = signing_secret.encode()
        self._http = http or httpx.AsyncClient(timeout=30.0)
        self._owns_http = http is None
        self.last_event_id: str | None = None
        self.last_trigger_id: str | None = None
        self.last_response_url: str | None = None
        self.last_message: Json | None = None

    async def aclose(self) -> None:
        """Close the HTTP client if the driver created it."""
        if self._owns_http:
            await self._http.aclose()

    # ----------------------------------------------------------------- plumbing

    def sign(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        """Slack's v0 request-signing headers, so the bot's verification path is exercised."""
        ts = str(int(time.time()) if timestamp is None else timestamp)
        # over the raw bytes, as Slack signs them (slack_sdk's helper decodes them as UTF-8 first,
        # so it cannot sign the non-UTF-8 bodies the hostile-input tests send)
        digest = hmac.new(self._secret, f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
        return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}

    async def _post(self, body: bytes, content_type: str, **headers: str) -> httpx.Response:
        all_headers = {"Content-Type": content_type, **self.sign(body), **headers}
        return await self._http.post(self.bot_url, content=body, headers=all_headers)

    async def _post_payload(self, payload: Json) -> httpx.Response:
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return await self._post(body, "application/x-www-form-urlencoded")

    def _trigger(self) -> str:
        self.last_trigger_id = f"tr-{uuid.uuid4().hex[:16]}"
        return self.last_trigger_id

    def _team(self) -> Json:
        ws = self.emulator.workspace
        return {"id": ws.team_id, "domain": ws.team_id.lower()}

    def _user(self, user_id: str) -> Json:
        found = self.emulator.workspace.users.get(user_id)
        name = found.name if found else user_id
        return {
            "id": user_id,
            "username": name,
            "name": name,
            "team_id": self.emulator.workspace.team_id,
        }

    def _channel_name(self, channel_id: str) -> str:
        channel = self.emulator.workspace.channels.get(channel_id)
        if channel is None or channel.is_im or channel_id.startswith("D"):
            return "directmessage"
        return channel.name

    # ----------------------------------------------------------------- slash commands & events

    async def command(
        self, text: str, *, user: str, channel: str, command: str = "/cop"
    ) -> httpx.Response:
        """Send a slash command exactly as Slack form-encodes it."""
        ws = self.emulator.workspace
        self.last_response_url = self.emulator.response_url()
        form = {
            "token": self.verification_token,
            "team_id": ws.team_id,
            "team_domain": ws.team_id.lower(),
            "channel_id": channel,
            "channel_name": self._channel_name(channel),
            "user_id": user,
            "user_name": self._user(user)["name"],
            "command": command,
            "text": text,
            "api_app_id": self.api_app_id,
            "is_enterprise_install": "false",
            "response_url": self.last_response_url,
            "trigger_id": self._trigger(),
        }
        return await self._post(urlencode(form).encode(), "application/x-www-form-urlencoded")

    async def event(
        self, event: Json, *, event_id: str | None = None, retry_num: int | None = None
    ) -> httpx.Response:
        """Wrap ``event`` in an Events API envelope; ``retry_num`` mimics Slack's redelivery."""
        ws = self.emulator.workspace
        self.last_event_id = event_id or f"Ev{uuid.uuid4().hex[:10].upper()}"
        envelope = {
            "token": self.verification_token,
            "team_id": ws.team_id,
            "api_app_id": self.api_app_id,
            "event": event,
            "type": "event_callback",
            "event_id": self.last_event_id,
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": ws.team_id,
                    "user_id": ws.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }
        headers = {}
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
        return await self._post(json.dumps(envelope).encode(), "application/json", **headers)

    async def message(
        self,
        *,
        user: str,
        channel: str,
        text: str = "…",
        thread_ts: str | None = None,
        subtype: str | None = None,
        bot_id: str | None = None,
    ) -> httpx.Response:
        """A user (or bot) message; it is also stored in the emulator so history sees it."""
        extra = {k: v for k, v in (("subtype", subtype), ("bot_id", bot_id)) if v}
        stored = self.emulator.add_message(
            channel, user=user, text=text, thread_ts=thread_ts, **extra
        )
        self.last_message = stored
        event = {
            **stored,
            "channel": channel,
            "event_ts": stored["ts"],
            "channel_type": "im" if channel.startswith("D") else "channel",
        }
        return await self.event(event)

    async def reaction(
        self, *, user: str, channel: str, ts: str, reaction: str = "+1"
    ) -> httpx.Response:
        """reaction_added on a stored message (the emulator's copy gets the reaction too)."""
        message = self.emulator.find_message(channel, ts)
        if message is not None:
            entries = message.setdefault("reactions", [])
            entry = next((r for r in entries if r["name"] == reaction), None)
            if entry is None:
                entries.append({"name": reaction, "users": [user], "count": 1})
            elif user not in entry["users"]:
                entry["users"].append(user)
                entry["count"] += 1
        return await self.event(
            {
                "type": "reaction_added",
                "user": user,
                "reaction": reaction,
                "item": {"type": "message", "channel": channel, "ts": ts},
                "item_user": (message or {}).get("user"),
                "event_ts": self.emulator.next_ts(),
            }
        )

    async def join(self, *, user: str, channel: str) -> httpx.Response:
        """Add ``user`` to the channel in the emulator and notify member_joined_channel."""
        members = self.emulator.workspace.channels[channel].members
        if user not in members:
            members.append(user)
        return await self.event(
            {
                "type": "member_joined_channel",
                "user": user,
                "channel": channel,
                "channel_type": "C",
                "team": self.emulator.workspace.team_id,
                "event_ts": self.emulator.next_ts(),
            }
        )

    async def leave(self, *, user: str, channel: str) -> httpx.Response:
        """Remove ``user`` from the channel in the emulator and notify member_left_channel."""
        members = self.emulator.workspace.channels[channel].members
        if user in members:
            members.remove(user)
        return await self.event(
            {
                "type": "member_left_channel",
                "user": user,
                "channel": channel,
                "channel_type": "C",
                "team": self.emulator.workspace.team_id,
                "event_ts": self.emulator.next_ts(),
            }
        )

    async def open_home(self, *, user: str) -> httpx.Response:
        """app_home_opened on the Home tab, carrying the currently published view if any."""
        event: Json = {
            "type": "app_home_opened",
            "user": user,
            "tab": "home",
            "channel": self.emulator.dm_channel_for(user),
            "event_ts": self.emulator.next_ts(),
        }
        if home := self.emulator.home_views.get(user):
            event["view"] = home
        return await self.event(event)

    # ----------------------------------------------------------------- interactivity

    def _locate(
        self, user: str, action_id: str, message: tuple[str, str] | None, view_id: str | None
    ) -> tuple[Json, str | None, Json, Json | None, Json | None]:
        """Find (element, block_id, container, message, view) for ``action_id``."""
        emu = self.emulator
        places: list[tuple[list[Any], Json, Json | None, Json | None]] = []
        if message is not None:
            channel, ts = message
            stored = emu.find_message(channel, ts)
            if stored is None:
                raise AssertionError(f"no message {ts} in {channel}")
            container = {
                "type": "message",
                "message_ts": ts,
                "channel_id": channel,
                "is_ephemeral": False,
            }
            places.append((stored.get("blocks") or [], container, stored, None))
        elif view_id is not None:
            if view_id not in emu.views:
                raise AssertionError(f"no view {view_id}; have {sorted(emu.views)}")
            view = emu.views[view_id]
            places.append(
                (view.get("blocks", []), {"type": "view", "view_id": view_id}, None, view)
            )
        else:
            if home := emu.home_views.get(user):
                places.append((home["blocks"], {"type": "view", "view_id": home["id"]}, None, home))
            for channel, msgs in emu.messages.items():
                for stored in reversed(msgs):
                    container = {
                        "type": "message",
                        "message_ts": stored["ts"],
                        "channel_id": channel,
                        "is_ephemeral": False,
                    }
                    places.append((stored.get("blocks") or [], container, stored, None))
            for eph in reversed(emu.ephemerals):
                if eph["user"] == user:
                    container = {
                        "type": "message",
                        "message_ts": eph["ts"],
                        "channel_id": eph["channel"],
                        "is_ephemeral": True,
                    }
                    places.append((eph.get("blocks") or [], container, None, None))
        seen: list[str] = []
        for blocks, container, in_message, in_view in places:
            for block in blocks:
                for element in _walk(block):
                    if "action_id" not in element:
                        continue
                    if element["action_id"] == action_id:
                        return element, block.get("block_id"), container, in_message, in_view
                    seen.append(element["action_id"])
        raise AssertionError(f"action_id {action_id!r} not found; available: {sorted(set(seen))}")

    async def click(
        self,
        *,
        user: str,
        action_id: str,
        value: str | None = None,
        message: tuple[str, str] | None = None,
        view_id: str | None = None,
        selected: str | None = None,
    ) -> httpx.Response:
        """Send block_actions for the element ``action_id`` found in a message or view."""
        element, block_id, container, stored, view = self._locate(user, action_id, message, view_id)
        kind = element.get("type", "button")
        action: Json = {
            "type": kind,
            "action_id": action_id,
            "block_id": block_id,
            "action_ts": f"{time.time():.6f}",
        }
        if kind in {"button", "workflow_button"}:
            action.update(text=element.get("text"), value=value or element.get("value"))
            if "style" in element:
                action["style"] = element["style"]
        elif kind in {"static_select", "external_select", "overflow", "radio_buttons"}:
            action["selected_option"] = _option(element, selected or value)
        elif kind in {"multi_static_select", "checkboxes"}:
            action["selected_options"] = [_option(element, selected or value)]
        elif kind in _SINGLE:
            action[_SINGLE[kind][0]] = selected or value
        elif kind == "datepicker":
            action["selected_date"] = selected or value
        else:
            action["value"] = selected or value
        payload: Json = {
            "type": "block_actions",
            "user": self._user(user),
            "api_app_id": self.api_app_id,
            "token": self.verification_token,
            "container": container,
            "trigger_id": self._trigger(),
            "team": self._team(),
            "enterprise": None,
            "is_enterprise_install": False,
            "state": {"values": {}},
            "actions": [action],
        }
        if container["type"] == "message":
            channel_id = container["channel_id"]
            self.last_response_url = self.emulator.response_url()
            payload.update(
                channel={"id": channel_id, "name": self._channel_name(channel_id)},
                response_url=self.last_response_url,
            )
            if stored is not None:
                payload["message"] = stored
        if view is not None:
            payload["view"] = view
        return await self._post_payload(payload)

    async def suggest(
        self, *, user: str, action_id: str, typed: str, message: tuple[str, str]
    ) -> list[Json]:
        """Send block_suggestion (an external_select's type-ahead) and return the options the
        bot answered with."""
        element, block_id, container, _, _ = self._locate(user, action_id, message, None)
        channel_id = container["channel_id"]
        payload: Json = {
            "type": "block_suggestion",
            "user": self._user(user),
            "api_app_id": self.api_app_id,
            "token": self.verification_token,
            "container": container,
            "team": self._team(),
            "channel": {"id": channel_id, "name": self._channel_name(channel_id)},
            "action_id": element["action_id"],
            "block_id": block_id,
            "value": typed,
            "action_ts": f"{time.time():.6f}",
        }
        response = await self._post_payload(payload)
        response.raise_for_status()
        return list(response.json().get("options") or [])

    @staticmethod
    def _state_value(element: Json, value: Any) -> Json:
        """Slack's state.values entry for one element, from a plain Python value."""
        kind = element.get("type", "")
        out: Json = {"type": kind}
        given = value is not _MISSING
        if kind in _TEXT_INPUTS:
            out["value"] = (
                (None if value is None else str(value)) if given else element.get("initial_value")
            )
        elif kind in {"static_select", "external_select", "radio_buttons"}:
            out["selected_option"] = (
                (None if value is None else _option(element, value))
                if given
                else element.get("initial_option")
            )
        elif kind in {"multi_static_select", "multi_external_select", "checkboxes"}:
            out["selected_options"] = (
                [_option(element, v) for v in (value or [])]
                if given
                else element.get("initial_options", [])
            )
        elif kind == "datepicker":
            picked = value.isoformat() if isinstance(value, date) else value
            out["selected_date"] = picked if given else element.get("initial_date")
        elif kind == "timepicker":
            picked = value.strftime("%H:%M") if isinstance(value, dtime) else value
            out["selected_time"] = picked if given else element.get("initial_time")
        elif kind in _SINGLE:
            key, initial = _SINGLE[kind]
            default: list[str] | None = [] if kind.startswith("multi_") else None
            out[key] = value if given else element.get(initial, default)
        else:
            out["value"] = value if given else None
        return out

    async def submit_view(
        self, view_id: str, *, user: str, values: dict[str, Any]
    ) -> httpx.Response:
        """Submit a stored modal; ``values`` maps block_id or action_id to plain values."""
        if view_id not in self.emulator.views:
            raise AssertionError(f"no view {view_id}; have {sorted(self.emulator.views)}")
        view = self.emulator.views[view_id]
        state: dict[str, Json] = {}
        unused = dict(values)
        for index, block in enumerate(view.get("blocks", [])):
            if block.get("type") == "input":
                elements = [block.get("element", {})]
            elif block.get("type") == "actions":
                elements = block.get("elements", [])
            else:
                elements = [block["accessory"]] if "accessory" in block else []
            block_id = block.get("block_id") or f"block-{index}"
            for position, element in enumerate(elements):
                if element.get("type") in {"button", "overflow", "workflow_button", None}:
                    continue
                action_id = element.get("action_id") or f"action-{position}"
                key = block_id if block_id in values else action_id
                value = values.get(key, _MISSING)
                unused.pop(key, None)
                state.setdefault(block_id, {})[action_id] = self._state_value(element, value)
        if unused:
            raise AssertionError(f"unknown keys {sorted(unused)}; view has blocks {sorted(state)}")
        submitted = {**view, "state": {"values": state}}
        payload: Json = {
            "type": "view_submission",
            "team": self._team(),
            "user": self._user(user),
            "api_app_id": self.api_app_id,
            "token": self.verification_token,
            "trigger_id": self._trigger(),
            "view": submitted,
            "response_urls": [],
            "enterprise": None,
            "is_enterprise_install": False,
        }
        return await self._post_payload(payload)

    async def close_view(self, view_id: str, *, user: str) -> httpx.Response:
        """view_closed, as Slack sends it when notify_on_close is set."""
        view = self.emulator.views.get(view_id)
        if view is None:
            raise AssertionError(f"no view {view_id}; have {sorted(self.emulator.views)}")
        payload = {
            "type": "view_closed",
            "team": self._team(),
            "user": self._user(user),
            "api_app_id": self.api_app_id,
            "token": self.verification_token,
            "view": view,
            "is_cleared": False,
            "enterprise": None,
            "is_enterprise_install": False,
        }
        return await self._post_payload(payload)
