"""Microsoft Teams handlers, thin as the Slack ones: parse the activity → call the domain →
render (bot/teams/cards/, bot/teams/render.py). Each module registers its own on the edge."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.deps import Deps
    from bot.teams.edge import TeamsEdge


def register_all(edge: TeamsEdge, deps: Deps) -> None:
    """Every Teams feature, on one edge (bot/app.py calls this)."""
    from handlers.teams import (
        activity,
        attendance,
        charters,
        communities,
        compass,
        events,
        health,
        home,
        people,
        polls,
        preferences,
        stories,
        survey,
    )

    people.register(edge, deps)  # first: who and where, for the handlers after it
    for feature in (charters, compass, events, health, home, polls, preferences, stories, survey):
        feature.register(edge, deps)
    communities.register(edge, deps)
    attendance.register(edge, deps)  # a started event's « Qui est venu ? » (teams-attend)
    activity.register(edge, deps)
