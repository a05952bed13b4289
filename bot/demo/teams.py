"""`cop demo --platform teams`: the programme played in Microsoft Teams, against the built-in
Teams emulator (bot/teams/emulator).

The real bot is served over HTTP with Teams configured (and no Slack: `cop serve --platform
teams` builds it the same way); Microsoft's side — people writing to @cop in a 1:1 chat or
@mentioning it in a channel, clicking a card's buttons — is played by the emulator with signed
activities, and every card the bot posts is printed as a French or English reader reads it
(bot.teams.emulator.reading).

The demo is a list of steps (`steps()`), one per feature, each a few lines over `TeamsDemo`:
`says` (a message to @cop, the bot's replies shown), `invokes` (a click or a dialog, the answer
shown). A feature that works in Teams adds its step there; nothing is shown that the bot did
not answer.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import uvicorn

from bot import db
from bot.app import build_asgi, build_bolt, build_deps
from bot.config import Config, load_programme, load_settings
from bot.demo import database
from bot.deps import Deps
from bot.i18n import Translator, translate
from bot.teams.emulator import CHANNEL, PERSONAL, Member, TeamsEmulator
from bot.teams.emulator.reading import read_activity, read_card

Json = dict[str, Any]
# who writes in which language, for each --lang (the narrator speaks the first reader's)
READERS = {"fr": ("fr-FR", "fr-FR"), "en": ("en-US", "en-US"), "both": ("fr-FR", "en-US")}
PROGRAMME_NAMES = {"fr": "Communautés de pratique", "en": "Communities of practice"}


@dataclass
class TeamsDemo:
    """What a step needs: the running bot, the emulator, who plays, and a way to show things."""

    deps: Deps
    teams: TeamsEmulator
    bot_url: str
    locales: tuple[str, str]  # the first reader's language, the second's
    out: TextIO = field(default=sys.stdout)
    resident: set[asyncio.Task[Any]] = field(default_factory=set)
    scenes_shown: int = 0

    @property
    def t(self) -> Translator:
        return translate(self.locales[0][:2])

    @property
    def members(self) -> list[Member]:
        return self.teams.members

    def title(self, key: str, **params: Any) -> None:
        self.scenes_shown += 1
        heading = f"{self.scenes_shown}. {self.t(key, **params)}"
        print(f"\n{'━' * 88}\n{heading}\n{'━' * 88}", file=self.out)

    def say(self, key: str, **params: Any) -> None:
        print(f"\n▶ {self.t(key, **params)}", file=self.out)

    def show(self, text: str) -> None:
        print("  │ " + text.replace("\n", "\n  │ "), file=self.out)

    async def settle(self, timeout: float = 20.0) -> None:  # noqa: ASYNC109
        """Wait until the bot has finished what it started (replies are sent after the answer,
        in tasks of this loop): what is shown next no longer depends on timing."""
        from bot.demo import _idle_connection

        me = asyncio.current_task()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while busy := [
            task
            for task in asyncio.all_tasks()
            if task is not me and task not in self.resident and not _idle_connection(task)
        ]:
            if loop.time() > deadline:
                raise TimeoutError(f"the bot is still busy: {busy[:3]}")
            await asyncio.sleep(0.005)

    async def says(
        self,
        text: str,
        *,
        member: Member,
        locale: str,
        conversation: str = PERSONAL,
    ) -> list[Json]:
        """`member` writes `@cop <text>` (in the 1:1 chat, or @mentioning it in a channel); the
        bot's replies in that conversation are shown as the reader sees them."""
        if conversation == PERSONAL:
            self.say("demo.teams.writes_personal", who=member.name, command=text)
        else:
            channel = "Data"  # the emulator's channel (its channelData names it so)
            self.say("demo.teams.writes_channel", who=member.name, command=text, channel=channel)
        await self.settle()
        before = len(self.teams.activities.get(conversation, []))
        activity = self.teams.message(text, conversation=conversation, locale=locale, member=member)
        status = await self.teams.deliver(self.bot_url, activity)
        if status != 200:
            raise RuntimeError(f"@cop {text}: HTTP {status}")
        await self.settle()
        replies = self.teams.activities.get(conversation, [])[before:]
        for reply in replies:
            self.show(read_activity(reply))
        return replies

    async def invokes(self, activity: Json) -> Any:
        """A click or a dialog (an invoke activity made with the emulator's `invoke`/`execute`):
        the card or dialog the bot answers with is shown."""
        await self.settle()
        status, body = await self.teams.post(self.bot_url, activity)
        if status != 200:
            raise RuntimeError(f"invoke {activity.get('name')}: HTTP {status}")
        await self.settle()
        for card in _cards_in(body):
            self.show(read_card(card))
        return body


def _cards_in(answer: Any) -> list[Json]:
    """The cards of an invoke's answer: a refreshed card, or a dialog's."""
    if not isinstance(answer, dict):
        return []
    if answer.get("type") == "application/vnd.microsoft.card.adaptive":
        return [answer.get("value") or {}]
    task = (answer.get("task") or {}).get("value")
    if isinstance(task, dict) and isinstance(task.get("card"), dict):
        return [task["card"].get("content") or {}]
    return []


Step = Callable[[TeamsDemo], Awaitable[None]]


async def help_step(demo: TeamsDemo) -> None:
    """`@cop aide` in the 1:1 chat, `@cop help` in a channel: the help card in each language."""
    first, second = demo.locales
    demo.title("demo.teams.help.title")
    word = {"fr": "aide", "en": "help"}
    await demo.says(word[first[:2]], member=demo.members[0], locale=first)
    await demo.says(word[second[:2]], member=demo.members[1], locale=second, conversation=CHANNEL)


def steps() -> list[Step]:
    """The demo's steps, in order: one per feature that works in Teams."""
    return [
        help_step,
    ]


async def run(
    *,
    language: str = "both",
    out: TextIO | None = None,
    environ: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> int:
    out = out or sys.stdout
    environ = dict(os.environ if environ is None else environ)
    cwd = cwd or Path.cwd()
    locales = READERS[language]
    t = translate(locales[0][:2])
    where = database.choose(environ, cwd)
    await database.reset(where)
    teams = TeamsEmulator()
    await teams.start()
    settings = load_settings(
        {
            **{
                k: v
                for k, v in environ.items()
                if k.startswith("COP_") and k not in ("COP_DATABASE_URL", "COP_DEMO_DATABASE_URL")
            },
            "TEAMS_APP_ID": teams.app_id,
            "TEAMS_APP_PASSWORD": teams.app_password,
            "TEAMS_OPENID_URL": teams.openid_url,
            "TEAMS_TOKEN_URL": teams.token_url,
            "COP_DATABASE_URL": where.url,
            "COP_QUIET_HOURS": "off",
        }
    )
    programme = load_programme(settings.config_path)
    programme = programme.model_copy(
        update={"language": locales[0][:2], "name": PROGRAMME_NAMES[locales[0][:2]]}
    )
    deps = build_deps(Config(settings=settings, programme=programme))
    await db.upgrade(deps.engine)
    bolt = build_bolt(deps, slack=False)
    server = uvicorn.Server(
        uvicorn.Config(
            build_asgi(deps, bolt, slack=False, teams=True),
            host="127.0.0.1",
            port=0,
            log_level="warning",
            lifespan="on",
        )
    )
    task = asyncio.create_task(server.serve())
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while not server.started:
        if loop.time() > deadline:
            raise TimeoutError("the bot did not start")
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    demo = TeamsDemo(
        deps=deps,
        teams=teams,
        bot_url=f"http://127.0.0.1:{port}/api/messages",
        locales=locales,
        out=out,
    )
    demo.resident = {task, *(asyncio.all_tasks() - {asyncio.current_task()})}
    print(t("demo.teams.start", programme=programme.name, database=where.where), file=out)
    try:
        for step in steps():
            await step(demo)
        await demo.settle()
    finally:
        server.should_exit = True
        await task
        await deps.engine.dispose()
        await teams.stop()
    print(f"\n{t('demo.teams.finished', calls=len(teams.calls), database=where.where)}", file=out)
    return 0
