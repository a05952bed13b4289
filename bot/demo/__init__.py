"""`cop demo`: a demo programme run end to end against the built-in Slack emulator.

The real bot is served over HTTP; Slack's side (people typing commands, clicking, joining) is
played by the driver with signed requests; each scene prints what people would see in Slack.
Scenes live in their own modules (`registry`, and one per feature) and run in order; `cast`
says who plays them in each language, `database` where the data goes.

Two runs print the same thing: each step waits until the bot has finished all it started (no
listener still running) before it shows anything, and shows the reply to its own request.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import sys
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

import uvicorn
import yaml

from bot import db
from bot.app import build_asgi, build_bolt, build_deps
from bot.communities import slugify
from bot.config import Config, load_programme, load_settings
from bot.demo import database
from bot.demo.cast import CASTS, DATA, GENERAL, MANAGER, Cast
from bot.deps import Deps
from bot.i18n import Translator, translate
from bot.slack.driver import SlackDriver
from bot.slack.emulator import SlackEmulator
from bot.slack.render import render_message, render_view

DEMO_SECRET = "demo-signing-secret"
_MENTION = re.compile(r"<@(\w+)>")
# a dashboard link's signature changes with the second it was given: shown without it, two runs
# of the demo print the same thing
_DASHBOARD_TOKEN = re.compile(r"(/dashboard(?:/c/\d+)?\?t=)[\w.\-]+")

__all__ = ["MANAGER", "Demo", "closing_commands", "run", "wait_until"]


@dataclass
class Demo:
    """What a scene needs: the running bot, the emulator, Slack's side, and a way to show things."""

    deps: Deps
    emulator: SlackEmulator
    slack: SlackDriver
    cast: Cast
    out: TextIO = field(default=sys.stdout)
    folder: Path = field(default_factory=Path.cwd)  # where the demo writes its files
    resident: set[asyncio.Task[Any]] = field(default_factory=set)
    scenes_shown: int = 0  # the scenes are numbered as they are played

    @property
    def t(self) -> Translator:
        return translate(self.cast.narration)

    @property
    def content(self) -> dict[str, str]:
        return self.cast.content

    def names(self) -> dict[str, str]:
        ws = self.emulator.workspace
        return {
            **{u.id: u.real_name for u in ws.users.values()},
            **{c.id: c.name for c in ws.channels.values()},
        }

    def who(self, user: str) -> str:
        return self.emulator.workspace.users[user].real_name

    def first_name(self, user: str) -> str:
        return self.who(user).split()[0]

    def where(self, channel: str) -> str:
        found = self.emulator.workspace.channels.get(channel)
        return found.name if found else channel

    def typed(self, text: str) -> str:
        """A command as the person typed it: `@Name`, not Slack's `<@U…>`."""
        return _MENTION.sub(lambda m: "@" + self.names().get(m.group(1), m.group(1)), text)

    def title(self, key: str, **params: Any) -> None:
        self.scenes_shown += 1
        heading = f"{self.scenes_shown}. {self.t(key, **params)}"
        print(f"\n{'━' * 88}\n{heading}\n{'━' * 88}", file=self.out)

    def say(self, key: str, **params: Any) -> None:
        """A line of narration, in the narrator's language."""
        self.step(self.t(key, **params))

    def step(self, text: str) -> None:
        print(f"\n▶ {text}", file=self.out)

    def show(self, text: str) -> None:
        text = _DASHBOARD_TOKEN.sub(r"\1…", text)
        print("  │ " + text.replace("\n", "\n  │ "), file=self.out)

    def show_message(self, message: dict[str, Any]) -> None:
        self.show(render_message(message, names=self.names()))

    def show_view(self, view: dict[str, Any]) -> None:
        self.show(render_view(view, names=self.names()))

    async def settle(self, timeout: float = 20.0) -> None:  # noqa: ASYNC109
        """Wait until the bot has finished everything it started (its listeners run after the
        ack, in tasks of this same loop): what is shown next no longer depends on timing."""
        await settle(self.resident, timeout)

    async def command(self, text: str, *, user: str, channel: str) -> dict[str, Any]:
        """Type a /cop command and show the bot's answer to it (matched by its response_url)."""
        self.say(
            "demo.types", who=self.who(user), command=self.typed(text), channel=self.where(channel)
        )
        reply = await self.quietly(text, user=user, channel=channel)
        if reply:
            self.show_message(reply)
        return reply

    async def quietly(self, text: str, *, user: str, channel: str) -> dict[str, Any]:
        """Type a /cop command; return the bot's answer to it, shown or not."""
        await self.settle()
        ephemerals = len(self.emulator.ephemerals)
        response = await self.slack.command(text, user=user, channel=channel)
        if response.status_code != 200:
            raise RuntimeError(f"/cop {text}: HTTP {response.status_code}")
        key = (self.slack.last_response_url or "").rstrip("/").rsplit("/", 1)[-1]
        await self.settle()
        replies = [r for r in self.emulator.responses if r.get("key") == key]
        # or a private note (chat.postEphemeral) to this person in this channel
        replies += [
            e
            for e in self.emulator.ephemerals[ephemerals:]
            if e.get("user") == user and e.get("channel") == channel
        ]
        return replies[-1] if replies else {}


async def settle(resident: Collection[asyncio.Task[Any]], timeout: float = 20.0) -> None:  # noqa: ASYNC109
    """Wait until every task of this loop but ours and the `resident` ones (servers, the
    emulators) has finished, idle keep-alive connections apart — Slack's demo and Teams' alike."""
    me = asyncio.current_task()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while busy := [
        task
        for task in asyncio.all_tasks()
        if task is not me and task not in resident and not _idle_connection(task)
    ]:
        if loop.time() > deadline:
            raise TimeoutError(f"the bot is still busy: {busy[:3]}")
        await asyncio.sleep(0.005)


def _idle_connection(task: asyncio.Task[Any]) -> bool:
    """A keep-alive connection of the emulator's web server waiting for its next request."""
    code = getattr(task.get_coro(), "cr_code", None)
    return code is not None and "aiohttp" in code.co_filename


async def wait_until(check: Callable[[], Any], timeout: float = 10.0) -> Any:  # noqa: ASYNC109
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (result := check()):
        if loop.time() > deadline:
            raise TimeoutError("the bot did not answer in time")
        await asyncio.sleep(0.02)
    return result


Scene = Callable[[Demo], Awaitable[None]]


def scenes() -> list[Scene]:
    from bot.demo import (
        compass,
        discover,
        engagement,
        event_days,
        kpis,
        leaders,
        leaders_network,
        lifecycle,
        objectives,
        proposals,
        registry,
        rituals,
        series,
        showcase,
        survey,
    )

    return [
        registry.scene,
        leaders.scene,
        lifecycle.scene,
        objectives.scene,
        rituals.scene,
        survey.scene,
        kpis.scene,
        engagement.scene,
        compass.scene,
        discover.scene,
        proposals.scene,
        showcase.scene,
        event_days.scene,
        series.scene,
        leaders_network.scene,
    ]


PROGRAMME_FILE = "cop-demo.yaml"
PROGRAMME_NOTE = (
    "The programme cop demo played (written again at each demo): COP_CONFIG=cop-demo.yaml"
)


def closing_commands(
    where: database.DemoDatabase,
    *,
    config_path: Path | None,
    language: str,
    period: str,
    community: str,
) -> list[str]:
    """The commands that show what the demo made, exactly as the operator can paste them.

    One setting line, then one command per line; add new read-only commands here."""
    settings = [f"COP_DATABASE_URL={shlex.quote(where.url)}"]
    if config_path is not None:
        settings.append(f"COP_CONFIG={shlex.quote(str(config_path))}")
    lang = f" --lang {language}"
    return [
        "export " + " ".join(settings),
        "cop communities list",
        f"cop health{lang}",
        f"cop health {shlex.quote(slugify(community))}{lang}",
        f"cop health --status at-risk{lang}",
        f"cop report --period {period} --format html{lang}",
    ]


async def run(
    *,
    scale: str = "small",
    language: str = "both",
    out: TextIO | None = None,
    progress: TextIO | None = None,
    environ: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> int:
    out = out or sys.stdout
    progress = progress or sys.stderr
    environ = dict(os.environ if environ is None else environ)
    cwd = cwd or Path.cwd()
    cast = CASTS[language]
    t = translate(cast.narration)
    where = database.choose(environ, cwd)
    await database.reset(where)
    emulator = SlackEmulator(cast.workspace())
    await emulator.start()
    settings = load_settings(
        {
            **{
                k: v
                for k, v in environ.items()
                if k.startswith("COP_") and k not in ("COP_DATABASE_URL", "COP_DEMO_DATABASE_URL")
            },
            "SLACK_BOT_TOKEN": emulator.workspace.bot_token,
            "SLACK_SIGNING_SECRET": DEMO_SECRET,
            "SLACK_API_URL": emulator.api_url,
            "COP_DATABASE_URL": where.url,
            "COP_QUIET_HOURS": "off",
        }
    )
    programme = load_programme(settings.config_path)
    programme = programme.model_copy(
        update={
            "managers": [*programme.managers, MANAGER],
            "language": cast.programme_language,
            "name": cast.programme_name,
            "showcase_channel": programme.showcase_channel or GENERAL,
        }
    )
    # the programme as the demo plays it (its name, language, managers), for the closing commands
    programme_file = cwd / PROGRAMME_FILE
    programme_file.write_text(
        f"# {PROGRAMME_NOTE}\n"
        + yaml.safe_dump(programme.model_dump(mode="json"), allow_unicode=True, sort_keys=False),
        encoding="utf-8",
    )
    config = Config(settings=settings, programme=programme)
    deps = build_deps(config)
    await db.upgrade(deps.engine)
    bolt = build_bolt(deps)
    server = uvicorn.Server(
        uvicorn.Config(
            build_asgi(deps, bolt), host="127.0.0.1", port=0, log_level="warning", lifespan="off"
        )
    )
    task = asyncio.create_task(server.serve())
    await wait_until(lambda: server.started)
    port = server.servers[0].sockets[0].getsockname()[1]
    slack = SlackDriver(
        emulator, bot_url=f"http://127.0.0.1:{port}/slack/events", signing_secret=DEMO_SECRET
    )
    demo = Demo(deps=deps, emulator=emulator, slack=slack, cast=cast, out=out, folder=cwd)
    demo.resident = {task, *(asyncio.all_tasks() - {asyncio.current_task()})}
    print(t("demo.start", programme=programme.name, database=where.where), file=out)
    try:
        if scale == "large":
            from bot.demo import large, survey

            def told(key: str, **counts: int) -> None:
                shown = {name: t.number(value) for name, value in counts.items()}
                print(f"cop demo: {t(key, **shown)}", file=progress, flush=True)

            await large.generate(
                deps.sessions, workspace_id=emulator.workspace.team_id, progress=told
            )
            await survey.fill_years(deps, workspace_id=emulator.workspace.team_id)
        for scene in scenes():
            await scene(demo)
        await demo.settle()
    finally:
        await slack.aclose()
        server.should_exit = True
        await task
        await deps.engine.dispose()
        await emulator.stop()
    today = datetime.now(UTC).astimezone(ZoneInfo(programme.timezone)).date()
    from bot import periods

    period = periods.to_date(periods.Period.QUARTER, today, programme.timezone).label
    config_path = programme_file.resolve()
    print(f"\n{t('demo.finished', calls=len(emulator.calls), database=where.where)}", file=out)
    print(t("demo.explore"), file=out)
    for line in closing_commands(
        where,
        config_path=config_path,
        language=cast.narration,
        period=period,
        community=cast.communities[DATA],
    ):
        print(f"  {line}", file=out)
    return 0
