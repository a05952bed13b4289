"""Discover's screens for tests/test_safe_echo.py: community names, missions, leaders' names and
event titles as typed (hostile) text."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bot import discover
from bot.i18n import Translator
from bot.models import CommunityKind, Stage
from bot.slack.blocks import discover as screens

NOW = datetime(2030, 3, 4, 9, 30, tzinfo=UTC)


def _card(x: str, *, member: bool = False) -> discover.Card:
    return discover.Card(
        id=3,
        name=x,
        channel_id="C0HOME",
        kind=CommunityKind.PILOTED,
        stage=Stage.GROWTH,
        mission=x,
        leaders=(x, "Léa Robert"),
        members=12,
        next_event=discover.NextEvent(x, NOW),
        is_member=member,
    )


def _listing(x: str) -> discover.Listing:
    return discover.Listing(
        cards=(_card(x), _card(x, member=True)),
        total=23,
        filters=discover.Filters(query=x[:60], kind=CommunityKind.PILOTED, page=1),
        page=1,
        pages=3,
        page_size=10,
    )


CASES: dict[str, Callable[[Translator, str], list[Any]]] = {
    "discover.build_listing": lambda t, x: [
        screens.build_listing(t, _listing(x), tz="Europe/Paris")
    ],
    "discover.listing_blocks": lambda t, x: [
        screens.listing_blocks(t, _listing(x), tz="Europe/Paris")
    ],
    "discover.home_section": lambda t, x: [screens.home_section(t, _listing(x), tz="Europe/Paris")],
    "discover.card_block": lambda t, x: [[screens.card_block(t, _card(x), tz="Europe/Paris")]],
    "discover.request_blocks": lambda t, x: [
        screens.request_blocks(t, requester="U0ALICE", community_name=x, request_id=4)
    ],
    "discover.decided_text": lambda t, x: [
        screens.decided_text(
            t, accepted=accepted, who="U0BOB", requester="U0ALICE", community_name=x
        )
        for accepted in (True, False)
    ],
}
# values and addresses, not screens
NOT_BUILDERS = {"discover.encode", "discover.decode", "discover.channel_url"}
