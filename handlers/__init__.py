"""Slack listeners, thin: parse → call the domain → render. `register_handlers` wires them all.

One module per feature (its sub-commands, buttons and modals together), plus `commands` (the
/cop dispatcher), `membership` (Slack's membership, channel and account events) and
`middleware`.
"""

from __future__ import annotations

import re

from slack_bolt.async_app import AsyncApp

from bot.deps import Deps
from handlers import (
    activity,
    charters,
    commands,
    community_events,
    compass,
    discover,
    engagement,
    feedback,
    health,
    home,
    lifecycle,
    membership,
    middleware,
    polls,
    proposals,
    report,
    rituals,
    series,
    stories,
    survey,
)

# activity first: channel messages and reactions are nearly all of the traffic, and Bolt tries
# its listeners in the order they were registered (each try costs a matcher call)
FEATURES = (
    activity,
    charters,
    community_events,
    home,
    rituals,
    polls,
    stories,
    health,
    lifecycle,
    report,
    compass,
    survey,
    discover,
    engagement,
    feedback,
    proposals,
    series,
)


def register_handlers(app: AsyncApp, deps: Deps) -> None:
    app.use(middleware.attach_deps(deps))
    app.error(middleware.handle_error)
    for feature in FEATURES:
        feature.register(app)
    commands.register(app)
    membership.register(app)
    community_events.install(deps)  # the clock re-renders announcements once events start
    # last: buttons and modals no listener knows (an old message, a forged payload) are answered
    app.action(re.compile(".*"))(middleware.handle_stale_action)
    app.view(re.compile(".*"))(middleware.handle_stale_view)
