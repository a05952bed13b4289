"""A small programme for the dashboard tests, and how to read `/cop health`'s answer."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from bot import activity
from bot.models import utcnow
from bot.slack.render import render_message
from tests import factories
from tests.conftest import Bot, eventually
from tests.factories import WORKSPACE

NAMES = ("Data Science", "Agilité", "Sécurité", "Cuisine du monde")


async def seed(bot: Bot) -> None:
    """Four communities: Data Science (lively, led by Lucas, sponsored by Hugo), Agilité (quiet),
    Sécurité (lively, older) and Cuisine du monde (a few members, no activity)."""
    data = await factories.community(
        bot.sessions,
        emulator=bot.emulator,
        channel="C0DATA",
        leaders=("U0LUCAS",),
        sponsor="U0HUGO",
        age_days=45,
    )
    await factories.community(
        bot.sessions, emulator=bot.emulator, channel="C0AGILE", name="Agilité", age_days=45
    )
    security = await factories.community(
        bot.sessions,
        emulator=bot.emulator,
        channel="C0SEC",
        name="Sécurité",
        sponsor="U0LEA",
        age_days=200,
    )
    await factories.community(
        bot.sessions,
        emulator=bot.emulator,
        channel="C0COOK",
        name="Cuisine du monde",
        members=("U0MANON", "U0JAMES"),
        age_days=10,
    )
    today = utcnow().date()
    async with bot.sessions.begin() as session:
        await activity.add(
            session,
            workspace_id=WORKSPACE,
            tallies=[
                activity.Tally(data.id, uid, today - timedelta(days=d), messages=2, replies=1)
                for uid in ("U0LUCAS", "U0CHLOE", "U0HUGO")
                for d in (0, 8, 15, 29)
            ]
            + [
                activity.Tally(security.id, uid, today - timedelta(days=d), messages=1)
                for uid in ("U0HUGO", "U0NATHAN")
                for d in (0, 3, 22, 40, 60)
            ],
        )


async def ask(bot: Bot, text: str, *, user: str, channel: str = "C0GEN") -> dict[str, Any]:
    """`/cop <text>` over signed HTTP; the answer as the emulator received it."""
    before = len(bot.emulator.responses)
    response = await bot.slack.command(text, user=user, channel=channel)
    assert response.status_code == 200
    replies = await eventually(lambda: bot.emulator.responses[before:])
    return replies[-1]


def dashboard_link(bot: Bot, reply: dict[str, Any]) -> str:
    """The dashboard address in an answer, pointed at the bot under test (which listens on a
    port of its own, not the COP_PUBLIC_URL it was configured with)."""
    found = re.search(r"<(https?://[^|>]+)\|", str(reply.get("blocks")))
    assert found, "no dashboard link in the answer"
    parts = urlsplit(found.group(1).replace("&amp;", "&"))
    return f"{bot.url}{parts.path}?{parts.query}"


FIGURES = re.compile(
    r"Ce mois-ci :\W*\s(?P<members>\S+)\s+membres?\s+\((?P<new>\S+)\s+arrivées?,\s+"
    r"(?P<departed>\S+)\s+départs?\)\s+·\s+(?P<active>\S+)\s+actifs?\s+\((?P<rate>[^)]+)\)"
    r"\s+·\s+(?P<messages>\S+)\s+messages?,\s+(?P<replies>\S+)\s+réponses?,\s+"
    r"(?P<reactions>\S+)\s+réactions?\s+·\s+(?P<events>\S+)\s+événements?"
)


def health_figures(reply: dict[str, Any]) -> dict[str, str]:
    """The month's figures of a community's `/cop health` answer, as written there."""
    text = render_message(reply)
    found = FIGURES.search(text)
    assert found, text
    return found.groupdict()
