"""Stories any day, testimonials and the showcase, for tests/test_safe_echo.py: community names,
testimonials and names as typed (hostile) text."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot import stories
from bot.i18n import Translator
from bot.messages import Reader
from bot.models import StoryKind, StoryStatus, SuccessStory
from bot.slack.blocks import story as screens
from bot.slack.messages import render


def _testimonial(x: str) -> SuccessStory:
    return SuccessStory(
        id=6,
        workspace_id="T0COP",
        community_id=3,
        kind=StoryKind.TESTIMONIAL,
        title=x[:150],
        benefit=x,
        people_involved=x,
        shareable=True,
        status=StoryStatus.VALIDATED,
    )


def _story(x: str) -> SuccessStory:
    return SuccessStory(
        id=5,
        workspace_id="T0COP",
        community_id=3,
        kind=StoryKind.STORY,
        title=x[:150],
        context=x,
        contribution=x,
        benefit=x,
        people_involved=x,
        shareable=True,
        status=StoryStatus.VALIDATED,
    )


CASES: dict[str, Callable[[Translator, str], list[Any]]] = {
    "story.build_testimonial_modal": lambda t, x: [
        screens.build_testimonial_modal(t, community_id=3, community=x, name=x),
        # and the testimonial as the leaders' review shows it
        screens.build_story(t, _testimonial(x), author="U0ALICE"),
    ],
    "story.build_picker": lambda t, x: [
        screens.build_picker(t, kind=kind, choices=[(3, x), (4, x)])
        for kind in ("story", "testimonial")
    ],
    "story.build_picker_modal": lambda t, x: [
        screens.build_picker_modal(t, kind="story", choices=[(3, x)])
    ],
    "stories.showcase_message": lambda t, x: [
        render(
            stories.showcase_message(row, community=x, author=author),
            Reader(t.language, "Europe/Paris"),
        )
        for row in (_story(x), _testimonial(x))
        for author in ("U0ALICE", None)
    ],
}
# a parser, not a screen
NOT_BUILDERS = {"story.parse_testimonial"}
