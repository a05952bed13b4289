"""`cop demo`: a demo programme run end to end against the built-in Slack emulator.

The real bot is served over HTTP; Slack's side (people typing commands, clicking, joining) is
played by the driver with signed requests; each scene prints what people would see in Slack.
Scenes live in their own modules (`registry`, and one per feature) and run in order.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

from bot import db
from bot.app import build_asgi, build_bolt, build_deps
from bot.config import Config, load_programme, load_settings
from bot.deps import Deps
from bot.slack.driver import SlackDriver
from bot.slack.emulator import SlackEmulator, default_workspace
from bot.slack.render import render_message, render_view

MANAGER = "U0CAMILLE"
DEMO_SECRET = "demo-signing-secret"


@dataclass
class Demo:
    """What a scene needs: the running bot, the emulator, Slack's side, and a way to show things."""

    deps: Deps
    emulator: SlackEmulator
    slack: SlackDriver
    languages: tuple[str, ...]
    out: Any = field(default=sys.stdout)

    def names(self) -> dict[str, str]:
        return {u.id: u.real_name for u in self.emulator.workspace.users.values()}

    def title(self, text: str) -> None:
        print(f"\n{'━' * 88}\n{text}\n{'━' * 88}", file=self.out)

    def step(self, text: str) -> None:
        print(f"\n▶ {text}", file=self.out)

    def show(self, text: str) -> None:
        print("  │ " + text.replace("\n", "\n  │ "), file=self.out)

    def show_message(self, message: dict[str, Any]) -> None:
        self.show(render_message(message, names=self.names()))

    def show_view(self, view: dict[str, Any]) -> None:
        self.show(render_view(view, names=self.names()))

    async def command(self, text: str, *, user: str, channel: str) -> dict[str, Any]:
        """Type a /cop command and show the bot's (ephemeral) answer."""
        who = self.emulator.workspace.users[user].real_name
        where = (
            self.emulator.workspace.channels[channel].name
            if channel in self.emulator.workspace.channels
            else channel
        )
        self.step(f"{who} types `/cop {text}` in #{where}")
        before = len(self.emulator.responses)
        response = await self.slack.command(text, user=user, channel=channel)
        if response.status_code != 200:
            raise RuntimeError(f"/cop {text}: HTTP {response.status_code}")
        await wait_until(lambda: len(self.emulator.responses) > before or self._opened_view(before))
        if len(self.emulator.responses) > before:
            reply = self.emulator.responses[-1]
            self.show_message(reply)
            return reply
        return {}

    def _opened_view(self, _: int) -> bool:
        return False


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
    from bot.demo import kpis, leaders, registry, rituals

    return [registry.scene, leaders.scene, rituals.scene, kpis.scene]


async def run(*, scale: str = "small", language: str = "both", keep: bool = False) -> int:
    db_path = Path.cwd() / "cop-demo.db"
    if db_path.exists() and not keep:
        db_path.unlink()
    emulator = SlackEmulator(default_workspace())
    await emulator.start()
    settings = load_settings(
        {
            **{
                k: v
                for k, v in os.environ.items()
                if k.startswith("COP_") and k != "COP_DATABASE_URL"
            },
            "SLACK_BOT_TOKEN": emulator.workspace.bot_token,
            "SLACK_SIGNING_SECRET": DEMO_SECRET,
            "SLACK_API_URL": emulator.api_url,
            "COP_DATABASE_URL": os.environ.get("COP_DEMO_DATABASE_URL") or f"sqlite:///{db_path}",
            "COP_QUIET_HOURS": "off",
        }
    )
    programme = load_programme(settings.config_path)
    programme = programme.model_copy(update={"managers": [*programme.managers, MANAGER]})
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
    languages = ("fr", "en") if language == "both" else (language,)
    demo = Demo(deps=deps, emulator=emulator, slack=slack, languages=languages)
    print(
        f"cop demo — programme « {programme.name} », bot at http://127.0.0.1:{port}, Slack emulator at {emulator.url}"
    )
    try:
        if scale == "large":
            from bot.demo import large

            summary = await large.generate(deps.sessions, workspace_id=emulator.workspace.team_id)
            print(f"large programme generated: {summary.line()}")
        for scene in scenes():
            await scene(demo)
    finally:
        await slack.aclose()
        server.should_exit = True
        await task
        await deps.engine.dispose()
        await emulator.stop()
    print(
        f"\nDemo finished: {len(emulator.calls)} Slack API calls served by the emulator; data in {db_path.name}."
    )
    return 0
