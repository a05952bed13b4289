"""The Web API methods the bot calls (auth, users, conversations, chat, views, files), answered
as Slack answers them."""

from __future__ import annotations

import math
import time
import uuid
from typing import Any

from bot.slack.emulator.calls import _flag, _int, _paginate, _SlackError
from bot.slack.emulator.checks import validate_blocks, validate_view
from bot.slack.emulator.workspace import Channel, User, Workspace, _tz_info

Json = dict[str, Any]


class WebApiMethods:
    """The methods, mixed into `SlackEmulator` (which holds the state they read and write)."""

    # the state they read and write, held by SlackEmulator
    workspace: Workspace
    validate_blocks: bool
    messages: dict[str, list[Json]]
    views: dict[str, Json]
    home_views: dict[str, Json]
    ephemerals: list[Json]
    uploads: list[Json]
    url: str
    _pending_files: dict[str, Json]
    _last_us: int

    # ----------------------------------------------------------------- shared helpers

    def dm_channel_for(self, user_id: str) -> str:
        """The stable DM channel id conversations.open returns for ``user_id``."""
        return "D" + user_id[1:]

    def find_message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """The stored message ``ts`` in ``channel``, if any."""
        return next((m for m in reversed(self.messages.get(channel, [])) if m["ts"] == ts), None)

    def next_ts(self) -> str:
        """Unique, strictly increasing, wall-clock based ``"1732000000.000100"`` timestamps."""
        us = max(int(time.time() * 1_000_000), self._last_us + 1)
        self._last_us = us
        return f"{us // 1_000_000}.{us % 1_000_000:06d}"

    @property
    def _bot_id(self) -> str:
        return "B" + self.workspace.bot_user_id.lstrip("U")

    def _user(self, user_id: Any) -> User:
        user = self.workspace.users.get(str(user_id or ""))
        if user is None:
            raise _SlackError("user_not_found")
        return user

    def _user_json(self, user: User, *, include_locale: bool = False) -> Json:
        offset, label = _tz_info(user.tz)
        first, _, last = user.real_name.partition(" ")
        data: Json = {
            "id": user.id,
            "team_id": self.workspace.team_id,
            "name": user.name,
            "deleted": user.deleted,
            "real_name": user.real_name,
            "tz": user.tz,
            "tz_label": label,
            "tz_offset": offset,
            "is_admin": user.is_admin,
            "is_owner": False,
            "is_bot": user.is_bot,
            "is_app_user": False,
            "updated": 1_700_000_000,
            "profile": {
                "real_name": user.real_name,
                "display_name": user.name,
                "real_name_normalized": user.real_name,
                "display_name_normalized": user.name,
                "first_name": first,
                "last_name": last,
                "team": self.workspace.team_id,
                "email": None if user.is_bot else f"{user.name}@example.com",
            },
        }
        if include_locale:
            data["locale"] = user.locale
        return data

    def _channel(self, ref: Any, *, users_ok: bool = False) -> Channel:
        """Resolve a channel id, ``#name`` or (when ``users_ok``) a user id → that user's DM."""
        ref = str(ref or "")
        if ref.startswith("#"):
            found = next((c for c in self.workspace.channels.values() if c.name == ref[1:]), None)
            if found:
                return found
        elif channel := self.workspace.channels.get(ref):
            return channel
        elif users_ok and ref in self.workspace.users:
            return self._open_dm(ref)
        raise _SlackError("channel_not_found")

    def _open_dm(self, user_id: str) -> Channel:
        user = self._user(user_id)
        if user.is_bot or user.id == self.workspace.bot_user_id:
            raise _SlackError("cannot_dm_bot")
        if user.deleted:
            raise _SlackError("user_disabled")
        dm_id = self.dm_channel_for(user.id)
        channel = self.workspace.channels.get(dm_id)
        if channel is None:
            channel = Channel(dm_id, user.id, [user.id, self.workspace.bot_user_id], is_im=True)
            self.workspace.channels[dm_id] = channel
        return channel

    def _writable(self, ref: Any) -> Channel:
        channel = self._channel(ref, users_ok=True)
        if channel.is_archived:
            raise _SlackError("is_archived")
        if channel.is_im:
            if self._user(channel.name).deleted:
                raise _SlackError("user_disabled")
        elif self.workspace.bot_user_id not in channel.members:
            raise _SlackError("not_in_channel")
        return channel

    def _readable(self, ref: Any) -> Channel:
        channel = self._channel(ref)
        if not channel.is_im and self.workspace.bot_user_id not in channel.members:
            raise _SlackError("not_in_channel")
        return channel

    def _channel_json(self, channel: Channel) -> Json:
        if channel.is_im:
            return {
                "id": channel.id,
                "is_im": True,
                "is_channel": False,
                "is_group": False,
                "user": channel.name,
                "is_open": True,
                "is_archived": False,
                "created": 1_700_000_000,
            }
        return {
            "id": channel.id,
            "name": channel.name,
            "name_normalized": channel.name,
            "is_channel": not channel.is_private,
            "is_group": channel.is_private,
            "is_im": False,
            "is_mpim": False,
            "is_private": channel.is_private,
            "is_archived": channel.is_archived,
            "is_general": channel.name == "general",
            "is_member": self.workspace.bot_user_id in channel.members,
            "num_members": len(channel.members),
            "created": 1_700_000_000,
            "context_team_id": self.workspace.team_id,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": f"#{channel.name}", "creator": "", "last_set": 0},
        }

    def _message(self, channel: Channel, ts: Any) -> dict[str, Any]:
        message = self.find_message(channel.id, str(ts or ""))
        if message is None:
            raise _SlackError("message_not_found")
        return message

    def _check_blocks(self, params: Json) -> None:
        blocks = params.get("blocks")
        if self.validate_blocks and blocks is not None and (errors := validate_blocks(blocks)):
            raise _SlackError("invalid_blocks", response_metadata={"messages": errors})

    def _check_view(self, view: Any) -> Json:
        if not isinstance(view, dict):
            raise _SlackError(
                "invalid_arguments", response_metadata={"messages": ["[ERROR] missing view"]}
            )
        if self.validate_blocks and (errors := validate_view(view)):
            raise _SlackError("invalid_arguments", response_metadata={"messages": errors})
        return view

    def _mark_reply(self, channel: str, thread_ts: str, reply: Json) -> None:
        parent = self.find_message(channel, thread_ts)
        if parent is not None:
            parent["reply_count"] = parent.get("reply_count", 0) + 1
            parent["latest_reply"] = reply["ts"]
            parent["thread_ts"] = thread_ts
            users = parent.setdefault("reply_users", [])
            if reply.get("user") not in users:
                users.append(reply.get("user"))

    @staticmethod
    def _public(message: Json, *, metadata: bool = True) -> Json:
        out = dict(message)
        if not metadata:
            out.pop("metadata", None)
        return out

    # ----------------------------------------------------------------- auth / team / users

    def _auth_test(self, params: Json) -> Json:
        ws = self.workspace
        return {
            "url": f"https://{ws.team_id.lower()}.slack.com/",
            "team": ws.team_name,
            "user": ws.users[ws.bot_user_id].name if ws.bot_user_id in ws.users else "bot",
            "team_id": ws.team_id,
            "user_id": ws.bot_user_id,
            "bot_id": self._bot_id,
            "is_enterprise_install": False,
        }

    def _team_info(self, params: Json) -> Json:
        ws = self.workspace
        return {
            "team": {
                "id": ws.team_id,
                "name": ws.team_name,
                "domain": ws.team_id.lower(),
                "email_domain": "example.com",
                "icon": {},
            }
        }

    def _users_info(self, params: Json) -> Json:
        user = self._user(params.get("user"))
        return {"user": self._user_json(user, include_locale=_flag(params, "include_locale"))}

    def _users_list(self, params: Json) -> Json:
        page, cursor = _paginate(list(self.workspace.users.values()), params, 200)
        locale = _flag(params, "include_locale")
        return {
            "members": [self._user_json(u, include_locale=locale) for u in page],
            "cache_ts": int(time.time()),
            "response_metadata": {"next_cursor": cursor},
        }

    # ----------------------------------------------------------------- conversations

    def _matching(self, params: Json) -> list[Channel]:
        types = set(str(params.get("types") or "public_channel").split(","))
        skip_archived = _flag(params, "exclude_archived")

        def kind(c: Channel) -> str:
            return "im" if c.is_im else "private_channel" if c.is_private else "public_channel"

        return [
            c
            for c in self.workspace.channels.values()
            if kind(c) in types and not (skip_archived and c.is_archived)
        ]

    def _conversations_list(self, params: Json) -> Json:
        page, cursor = _paginate(self._matching(params), params, 100)
        return {
            "channels": [self._channel_json(c) for c in page],
            "response_metadata": {"next_cursor": cursor},
        }

    def _users_conversations(self, params: Json) -> Json:
        user = str(params.get("user") or self.workspace.bot_user_id)
        mine = [c for c in self._matching(params) if user in c.members]
        page, cursor = _paginate(mine, params, 100)
        return {
            "channels": [self._channel_json(c) for c in page],
            "response_metadata": {"next_cursor": cursor},
        }

    def _conversations_info(self, params: Json) -> Json:
        channel = self._channel(params.get("channel"))
        return {"channel": self._channel_json(channel)}

    def _conversations_members(self, params: Json) -> Json:
        channel = self._channel(params.get("channel"))
        page, cursor = _paginate(channel.members, params, 100)
        return {"members": page, "response_metadata": {"next_cursor": cursor}}

    def _conversations_join(self, params: Json) -> Json:
        channel = self._channel(params.get("channel"))
        if channel.is_archived:
            raise _SlackError("is_archived")
        if channel.is_private or channel.is_im:
            raise _SlackError("method_not_supported_for_channel_type")
        already = self.workspace.bot_user_id in channel.members
        if not already:
            channel.members.append(self.workspace.bot_user_id)
        extra = {"warning": "already_in_channel"} if already else {}
        return {"channel": self._channel_json(channel), **extra}

    def _conversations_invite(self, params: Json) -> Json:
        """Invite people to a channel the bot is in, with Slack's documented errors."""
        channel = self._channel(params.get("channel"))
        if channel.is_im:
            raise _SlackError("method_not_supported_for_channel_type")
        if channel.is_archived:
            raise _SlackError("is_archived")
        if self.workspace.bot_user_id not in channel.members:
            raise _SlackError("not_in_channel")
        users = [u.strip() for u in str(params.get("users") or "").split(",") if u.strip()]
        if not users:
            raise _SlackError("no_user")
        if len(users) > 1000:
            raise _SlackError("too_many_users")
        for user_id in users:
            if user_id == self.workspace.bot_user_id:
                raise _SlackError("cant_invite_self")
            user = self._user(user_id)
            if user.is_bot:
                raise _SlackError("cant_invite")
            if user.deleted:
                raise _SlackError("user_is_deactivated")
            if user.id in channel.members:
                raise _SlackError("already_in_channel")
        channel.members.extend(users)
        return {"channel": self._channel_json(channel)}

    def _conversations_create(self, params: Json) -> Json:
        """A new channel, the bot its first member, with Slack's naming errors: a name is
        required, at most 80 characters of lower-case letters, digits, hyphens and underscores
        (not only punctuation), and not taken (archived channels keep their names)."""
        name = str(params.get("name") or "")
        if not name:
            raise _SlackError("invalid_name_required")
        if len(name) > 80:
            raise _SlackError("invalid_name_maxlength")
        if any(c not in "abcdefghijklmnopqrstuvwxyz0123456789-_" for c in name):
            raise _SlackError("invalid_name_specials")
        if not name.strip("-_"):
            raise _SlackError("invalid_name_punctuation")
        if any(c.name == name for c in self.workspace.channels.values() if not c.is_im):
            raise _SlackError("name_taken")
        n = len(self.workspace.channels) + 1
        channel_id = f"C0NEW{n:04d}"
        while channel_id in self.workspace.channels:
            n += 1
            channel_id = f"C0NEW{n:04d}"
        channel = Channel(
            channel_id,
            name,
            [self.workspace.bot_user_id],
            is_private=_flag(params, "is_private"),
        )
        self.workspace.channels[channel_id] = channel
        self.messages.setdefault(channel_id, [])
        return {"channel": self._channel_json(channel)}

    def _conversations_open(self, params: Json) -> Json:
        if params.get("channel"):
            channel = self._channel(params["channel"])
        else:
            users = [u for u in str(params.get("users") or "").split(",") if u]
            if len(users) != 1:
                raise _SlackError("not_supported" if users else "users_list_not_supplied")
            channel = self._open_dm(users[0])
        if _flag(params, "return_im"):
            return {"channel": self._channel_json(channel)}
        return {"channel": {"id": channel.id}}

    def _conversations_history(self, params: Json) -> Json:
        channel = self._readable(params.get("channel"))
        oldest = float(params.get("oldest") or 0)
        latest = float(params.get("latest") or math.inf)
        inclusive = _flag(params, "inclusive")
        top = [
            m
            for m in reversed(self.messages.get(channel.id, []))
            if m.get("thread_ts", m["ts"]) == m["ts"] or m.get("subtype") == "thread_broadcast"
        ]

        def wanted(m: Json) -> bool:
            ts = float(m["ts"])
            return oldest <= ts <= latest if inclusive else oldest < ts < latest

        in_range = [m for m in top if wanted(m)]
        page, cursor = _paginate(in_range, params, 100)
        meta = _flag(params, "include_all_metadata")
        return {
            "messages": [self._public(m, metadata=meta) for m in page],
            "has_more": bool(cursor),
            "pin_count": 0,
            "response_metadata": {"next_cursor": cursor},
        }

    def _conversations_replies(self, params: Json) -> Json:
        channel = self._readable(params.get("channel"))
        ts = str(params.get("ts") or "")
        if self.find_message(channel.id, ts) is None:
            raise _SlackError("thread_not_found")
        thread = [
            m
            for m in self.messages.get(channel.id, [])
            if m["ts"] == ts or m.get("thread_ts") == ts
        ]
        page, cursor = _paginate(thread, params, 100)
        meta = _flag(params, "include_all_metadata")
        return {
            "messages": [self._public(m, metadata=meta) for m in page],
            "has_more": bool(cursor),
            "response_metadata": {"next_cursor": cursor},
        }

    # ----------------------------------------------------------------- chat

    def _content(self, params: Json) -> Json:
        text = params.get("text")
        if not text and not params.get("blocks") and not params.get("attachments"):
            raise _SlackError("no_text")
        if text and len(str(text)) > 40000:
            raise _SlackError("msg_too_long")
        self._check_blocks(params)
        content: Json = {"text": str(text or "")}
        for key in ("blocks", "attachments", "metadata"):
            if params.get(key) is not None:
                content[key] = params[key]
        return content

    def _chat_post_message(self, params: Json) -> Json:
        channel = self._writable(params.get("channel"))
        content = self._content(params)
        message: Json = {
            "type": "message",
            "ts": self.next_ts(),
            "user": self.workspace.bot_user_id,
            "bot_id": self._bot_id,
            "app_id": "A0COPBOT",
            "team": self.workspace.team_id,
            **content,
        }
        for key in ("unfurl_links", "unfurl_media", "username", "icon_emoji"):
            if key in params:
                message[key] = params[key]
        if thread_ts := params.get("thread_ts"):
            message["thread_ts"] = str(thread_ts)
            if _flag(params, "reply_broadcast"):
                message["subtype"] = "thread_broadcast"
            self._mark_reply(channel.id, str(thread_ts), message)
        self.messages[channel.id].append(message)
        return {"channel": channel.id, "ts": message["ts"], "message": self._public(message)}

    def _chat_update(self, params: Json) -> Json:
        channel = self._channel(params.get("channel"))
        message = self._message(channel, params.get("ts"))
        if message.get("user") != self.workspace.bot_user_id:
            raise _SlackError("cant_update_message")
        if channel.is_archived:
            raise _SlackError("is_archived")
        if params.get("text") and len(str(params["text"])) > 40000:
            raise _SlackError("msg_too_long")
        self._check_blocks(params)
        for key in ("text", "blocks", "attachments", "metadata"):
            if key in params:
                message[key] = params[key]
        message["edited"] = {"user": self.workspace.bot_user_id, "ts": self.next_ts()}
        return {
            "channel": channel.id,
            "ts": message["ts"],
            "text": message.get("text", ""),
            "message": self._public(message),
        }

    def _chat_delete(self, params: Json) -> Json:
        channel = self._channel(params.get("channel"))
        message = self._message(channel, params.get("ts"))
        if message.get("user") != self.workspace.bot_user_id:
            raise _SlackError("cant_delete_message")
        self.messages[channel.id].remove(message)
        return {"channel": channel.id, "ts": message["ts"]}

    def _chat_post_ephemeral(self, params: Json) -> Json:
        channel = self._writable(params.get("channel"))
        user = self._user(params.get("user"))
        if user.id not in channel.members:
            raise _SlackError("user_not_in_channel")
        content = self._content(params)
        ts = self.next_ts()
        self.ephemerals.append(
            {
                "channel": channel.id,
                "user": user.id,
                "ts": ts,
                "thread_ts": params.get("thread_ts"),
                **content,
            }
        )
        return {"message_ts": ts}

    def _chat_get_permalink(self, params: Json) -> Json:
        channel = self._channel(params.get("channel"))
        message = self._message(channel, params.get("message_ts"))
        link = (
            f"https://{self.workspace.team_id.lower()}.slack.com/archives/"
            f"{channel.id}/p{message['ts'].replace('.', '')}"
        )
        return {"channel": channel.id, "permalink": link}

    def _reactions_add(self, params: Json) -> Json:
        channel = self._readable(params.get("channel"))
        message = self._message(channel, params.get("timestamp"))
        name = str(params.get("name") or "")
        if not name:
            raise _SlackError("invalid_name")
        reactions = message.setdefault("reactions", [])
        entry = next((r for r in reactions if r["name"] == name), None)
        bot = self.workspace.bot_user_id
        if entry is None:
            reactions.append({"name": name, "users": [bot], "count": 1})
        elif bot in entry["users"]:
            raise _SlackError("already_reacted")
        else:
            entry["users"].append(bot)
            entry["count"] += 1
        return {}

    # ----------------------------------------------------------------- views

    def _store_view(self, view: Json, *, view_id: str | None = None, **extra: Any) -> Json:
        view_id = view_id or "V" + uuid.uuid4().hex[:10].upper()
        stored: Json = {
            "team_id": self.workspace.team_id,
            "type": view.get("type", "modal"),
            "private_metadata": "",
            "callback_id": "",
            "external_id": "",
            "clear_on_close": False,
            "notify_on_close": False,
            "root_view_id": view_id,
            "previous_view_id": None,
            "app_id": "A0COPBOT",
            "bot_id": self._bot_id,
            **view,
            **extra,
            "id": view_id,
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{uuid.uuid4().hex[:8]}",
        }
        self.views[view_id] = stored
        return stored

    def _views_open(self, params: Json) -> Json:
        if not params.get("trigger_id"):
            raise _SlackError(
                "invalid_arguments", response_metadata={"messages": ["[ERROR] missing trigger_id"]}
            )
        return {"view": self._store_view(self._check_view(params.get("view")))}

    def _views_push(self, params: Json) -> Json:
        return self._views_open(params)

    def _views_update(self, params: Json) -> Json:
        view = self._check_view(params.get("view"))
        if view_id := params.get("view_id"):
            current = self.views.get(str(view_id))
        elif external := params.get("external_id"):
            current = next(
                (v for v in self.views.values() if v.get("external_id") == external), None
            )
        else:
            raise _SlackError("invalid_arguments")
        if current is None:
            raise _SlackError("not_found")
        if params.get("hash") and params["hash"] != current["hash"]:
            raise _SlackError("hash_conflict")
        keep = {k: current[k] for k in ("root_view_id", "previous_view_id")}
        stored = self._store_view(view, view_id=current["id"], **keep)
        for user_id, home in list(self.home_views.items()):
            if home["id"] == stored["id"]:
                self.home_views[user_id] = stored
        return {"view": stored}

    def _views_publish(self, params: Json) -> Json:
        user = self._user(params.get("user_id"))
        view = self._check_view(params.get("view"))
        if view.get("type") != "home":
            raise _SlackError(
                "invalid_arguments",
                response_metadata={"messages": ["[ERROR] view type must be home"]},
            )
        current = self.home_views.get(user.id)
        if current and params.get("hash") and params["hash"] != current["hash"]:
            raise _SlackError("hash_conflict")
        stored = self._store_view(view, view_id=current["id"] if current else None)
        self.home_views[user.id] = stored
        return {"view": stored}

    # ----------------------------------------------------------------- files

    def _files_get_upload_url(self, params: Json) -> Json:
        filename = params.get("filename")
        length = _int(params, "length", 0)
        if not filename or length <= 0:
            raise _SlackError("invalid_arguments")
        file_id = "F" + uuid.uuid4().hex[:10].upper()
        self._pending_files[file_id] = {
            "filename": str(filename),
            "length": length,
            "content": None,
        }
        return {"upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    def _files_complete_upload(self, params: Json) -> Json:
        files = params.get("files")
        if not isinstance(files, list) or not files:
            raise _SlackError("invalid_arguments")
        channel_ref = params.get("channel_id") or str(params.get("channels") or "").split(",")[0]
        channel = self._writable(channel_ref) if channel_ref else None
        done: list[Json] = []
        for item in files:
            pending = self._pending_files.get(str(item.get("id")))
            if pending is None or pending["content"] is None:
                raise _SlackError("file_not_found")
            done.append(
                {"id": item["id"], "title": item.get("title") or pending["filename"], **pending}
            )
        comment = params.get("initial_comment") or ""
        public: list[Json] = []
        for item in done:
            del self._pending_files[item["id"]]
            self.uploads.append(
                {
                    "file_id": item["id"],
                    "filename": item["filename"],
                    "title": item["title"],
                    "length": len(item["content"]),
                    "content": item["content"],
                    "channel_id": channel.id if channel else None,
                    "initial_comment": comment,
                    "thread_ts": params.get("thread_ts"),
                }
            )
            public.append(
                {
                    "id": item["id"],
                    "name": item["filename"],
                    "title": item["title"],
                    "size": len(item["content"]),
                    "user": self.workspace.bot_user_id,
                    "permalink": f"{self.url}/files/{item['id']}",
                    "channels": [channel.id] if channel else [],
                }
            )
        if channel is not None:
            message: Json = {
                "type": "message",
                "ts": self.next_ts(),
                "user": self.workspace.bot_user_id,
                "bot_id": self._bot_id,
                "text": comment,
                "upload": True,
                "files": public,
                "team": self.workspace.team_id,
            }
            if params.get("thread_ts"):
                message["thread_ts"] = str(params["thread_ts"])
                self._mark_reply(channel.id, message["thread_ts"], message)
            self.messages[channel.id].append(message)
        return {"files": public}
