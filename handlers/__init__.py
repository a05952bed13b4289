"""Slack listeners, thin: parse → call the domain → render. `register_handlers` wires them all."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.deps import Deps
from handlers import actions, commands, events, middleware, views


def register_handlers(app: AsyncApp, deps: Deps) -> None:
    app.use(middleware.attach_deps(deps))
    app.error(middleware.handle_error)
    commands.register(app)
    actions.register(app)
    views.register(app)
    events.register(app)
