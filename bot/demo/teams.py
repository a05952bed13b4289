"""`cop demo --platform teams`: the programme played in Microsoft Teams, against the built-in
Teams emulator (bot/teams/emulator).

The real bot is served over HTTP with Teams configured (and no Slack: `cop serve --platform
teams` builds it the same way); Microsoft's side — people writing to @cop in a 1:1 chat or
@mentioning it in a channel, clicking a card's buttons — is played by the emulator with signed
activities, and every card the bot posts is printed as a French or English reader reads it
(bot.teams.emulator.reading).

The demo is a list of steps (`steps()`), one per feature, each a few lines over `TeamsDemo`:
`says` (a message to @cop, the bot's replies shown), `invokes` (a click or a dialog, the answer
shown, and what the bot posted meanwhile), `drain` (the outbox sends what the rituals owe).
The steps and who plays them are in bot/demo/teams_programme.py, with what the demo seeds
before them. A feature that works in Teams adds its step there; nothing is shown that the bot
did not answer.
"""

from __future__ import annotations

import asyncio
import os
import re
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
from bot.teams.emulator.reading import markdown, read_activity, read_card

Json = dict[str, Any]
# who writes in which language, for each --lang (the narrator speaks the first reader's)
READERS = {"fr": ("fr-FR", "fr-FR"), "en": ("en-US", "en-US"), "both": ("fr-FR", "en-US")}
_PARAM = re.compile(r"\{(\w+)")  # a message's parameter, {name} or {n|one|many}
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
    community_id: int = 0  # Data Science, once seeded
    channel_name: str = "Data"  # the emulator's channel (its channelData names it so)

    @property
    def t(self) -> Translator:
        return translate(self.locales[0][:2])

    @property
    def members(self) -> list[Member]:
        return self.teams.members

    def locale_of(self, member: Member) -> str:
        """Who reads in which language: with --lang both, Alex and Lou (the 2nd and 4th of the
        emulator's people) read English, everyone else French."""
        first, second = self.locales
        index = next((i for i, m in enumerate(self.members) if m is member), 0)
        return second if index in (1, 3) else first

    def title(self, key: str, **params: Any) -> None:
        self.scenes_shown += 1
        heading = f"{self.scenes_shown}. {self.t(key, **params)}"
        print(f"\n{'━' * 88}\n{heading}\n{'━' * 88}", file=self.out)

    def say(self, key: str, **params: Any) -> None:
        print(f"\n▶ {self.t(key, **params)}", file=self.out)

    def show(self, text: str) -> None:
        print("  │ " + text.replace("\n", "\n  │ "), file=self.out)

    def show_activity(self, activity: Json) -> None:
        self.show(read_activity(activity))

    async def settle(self, timeout: float = 20.0) -> None:  # noqa: ASYNC109
        """Wait until the bot has finished what it started (replies are sent after the answer,
        in tasks of this loop): what is shown next no longer depends on timing."""
        from bot.demo import settle

        await settle(self.resident, timeout)

    async def drain(self) -> None:
        """Send what the outbox holds (the demo runs no scheduler)."""
        from rituals.outbox import Drain

        await self.settle()
        await Drain(self.deps, rate_per_minute=60000, teams_rate_per_minute=60000).run_until_empty(
            poll=0.05
        )
        await self.settle()

    async def chat_with(self, member: Member) -> str | None:
        """The member's 1:1 chat as the bot knows it (the one it opened to write to them)."""
        from bot import people

        async with self.deps.sessions() as session:
            person = await people.find(
                session, workspace_id=self.teams.tenant_id, slack_user_id=member.id
            )
        return person.dm_channel_id if person is not None else None

    async def says(
        self,
        text: str,
        *,
        member: Member,
        locale: str,
        conversation: str = PERSONAL,
    ) -> list[Json]:
        """`member` writes `@cop <text>` (in their 1:1 chat, or @mentioning it in a channel);
        the bot's replies in that conversation are shown as the reader sees them."""
        kind = self.teams.conversations[conversation]["conversationType"]
        if kind == "personal":
            self.say("demo.teams.writes_personal", who=member.name, command=text)
        else:
            self.say(
                "demo.teams.writes_channel",
                who=member.name,
                command=text,
                channel=self.channel_name,
            )
        await self.settle()
        before = len(self.teams.activities.get(conversation, []))
        activity = self.teams.message(text, conversation=conversation, locale=locale, member=member)
        status = await self.teams.deliver(self.bot_url, activity)
        if status != 200:
            raise RuntimeError(f"@cop {text}: HTTP {status}")
        await self.settle()
        replies = self.teams.activities.get(conversation, [])[before:]
        for reply in replies:
            self.show_activity(reply)
        return replies

    async def invokes(
        self, activity: Json, *, watch: str | None = None, only: tuple[str, ...] = ()
    ) -> Any:
        """A click or a dialog (an invoke activity made with the emulator's `invoke`/`execute`):
        the card or dialog the bot answers with is shown — whole, or `only` its lines saying
        that catalogue entry — then what the bot posted meanwhile in the `watch` conversation."""
        await self.settle()
        before = len(self.teams.activities.get(watch, [])) if watch else 0
        status, body = await self.teams.post(self.bot_url, activity)
        if status != 200:
            raise RuntimeError(f"invoke {activity.get('name')}: HTTP {status}")
        await self.settle()
        task = (body or {}).get("task") if isinstance(body, dict) else None
        if isinstance(task, dict) and task.get("type") == "message":
            self.say("demo.teams.dialog_closes")
            self.show(markdown(str(task.get("value") or "")))
        elif isinstance(task, dict) and activity.get("name") == "task/submit":
            self.say("demo.teams.dialog_again")  # sent back: what to fix, what was typed kept
        elif isinstance(task, dict) and isinstance(task.get("value"), dict):
            self.say("demo.teams.dialog_opens", title=str(task["value"].get("title") or ""))
        for card in _cards_in(body):
            text = read_card(card)
            if only:
                language = str(activity.get("locale") or self.locales[0])[:2]
                text = "\n".join(_saying(text.splitlines(), translate(language), only))
            self.show(text)
        if watch:
            posted = self.teams.activities.get(watch, [])[before:]
            if posted:
                self.say("demo.teams.posted_channel", channel=self.channel_name)
            for new in posted:
                self.show_activity(new)
        return body


def _saying(lines: list[str], t: Translator, keys: tuple[str, ...]) -> list[str]:
    """The lines of a card that say one of these catalogue messages (whatever their
    parameters): the answer a click gave, without the rest of the card again."""
    hole = "\x00"
    patterns = []
    for key in keys:
        names = set(_PARAM.findall(t(key)))  # without parameters: the template as written
        parts = markdown(t(key, **dict.fromkeys(names, hole))).split(hole)
        patterns.append(re.compile(".+?".join(re.escape(p) for p in parts)))
    return [line for line in lines if any(p.search(line) for p in patterns)] or lines[:1]


def _cards_in(answer: Any) -> list[Json]:
    """The cards of an invoke's answer: a refreshed card, or a dialog's."""
    if not isinstance(answer, dict):
        return []
    if answer.get("type") == "application/vnd.microsoft.card.adaptive":
        return [answer.get("value") or {}]
    task = answer.get("task")
    value = task.get("value") if isinstance(task, dict) else None
    if isinstance(value, dict) and isinstance(value.get("card"), dict):
        return [value["card"].get("content") or {}]
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
    from bot.demo import teams_programme as programme

    return [
        help_step,
        programme.charter_step,
        programme.event_step,
        programme.pulse_step,
        programme.story_step,
        programme.talk_step,
        programme.health_step,
    ]


async def run(
    *,
    language: str = "both",
    out: TextIO | None = None,
    environ: dict[str, str] | None = None,
    cwd: Path | None = None,
    teams: TeamsEmulator | None = None,
) -> int:
    """Play the demo; `teams`, if given, is the emulator to play it on (not started): what it
    kept of the conversations stays readable after (docs/teams/render_cards.py draws its cards)."""
    out = out or sys.stdout
    environ = dict(os.environ if environ is None else environ)
    cwd = cwd or Path.cwd()
    locales = READERS[language]
    t = translate(locales[0][:2])
    where = database.choose(environ, cwd)
    await database.reset(where)
    teams = teams or TeamsEmulator()
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
    from bot.demo import teams_programme

    # the programme's community manager, named as an operator names one for Teams: by her
    # Microsoft Entra object id (her Teams id changes with each bot registration)
    manager = teams.add_person(teams_programme.MANAGER_NAME, teams_programme.MANAGER_NUMBER)
    programme = load_programme(settings.config_path)
    programme = programme.model_copy(
        update={
            "language": locales[0][:2],
            "name": PROGRAMME_NAMES[locales[0][:2]],
            "managers": [*programme.managers, manager.aad_object_id],
        }
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
        await teams_programme.seed(demo)
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
