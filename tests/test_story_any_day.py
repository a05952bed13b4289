"""Stories any day, testimonials and the programme's showcase (issue 15, point 3): `/cop story`
in a community's channel and elsewhere, the Home's buttons, a testimonial validated like a story,
and the cross-post to the showcase channel — only when validated and shareable, and once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa

from bot import figures, kpis, periods
from bot.disclosure import Rule
from bot.models import StoryKind, StoryStatus, SuccessStory
from bot.slack.emulator import SlackEmulator
from bot.slack.render import render_message
from rituals.outbox import Drain
from tests import factories
from tests.conftest import Bot, eventually, make_config, running_bot
from tests.test_stories import GOOD

SHOWCASE = "C0GEN"
QUIET = {"pulse": {"enabled": False}, "stories": {"enabled": False}}


@pytest.fixture
async def bot(database_url: str, emulator: SlackEmulator) -> AsyncIterator[Bot]:
    config = make_config(database_url, emulator, showcase_channel=SHOWCASE, rituals=QUIET)
    async with running_bot(config, emulator) as running:
        yield running


async def _data(bot: Bot, *, language: str | None = None) -> int:
    community = await factories.community(
        bot.sessions, emulator=bot.emulator, leaders=("U0CAMILLE",), language=language
    )
    return community.id


async def _security(bot: Bot) -> int:
    community = await factories.community(
        bot.sessions, emulator=bot.emulator, channel="C0SEC", name="Sécurité", leaders=("U0HUGO",)
    )
    return community.id


async def _new_view(bot: Bot, before: set[str]) -> dict[str, Any]:
    new = await eventually(lambda: sorted(set(bot.emulator.views) - before))
    return bot.emulator.views[new[-1]]


async def _reply(bot: Bot, before: int) -> dict[str, Any]:
    replies: list[dict[str, Any]] = await eventually(lambda: bot.emulator.responses[before:])
    return replies[-1]


async def _rows(bot: Bot) -> list[SuccessStory]:
    async with bot.sessions() as session:
        return list(await session.scalars(sa.select(SuccessStory).order_by(SuccessStory.id)))


def _texts(bot: Bot, channel: str) -> list[str]:
    return [render_message(m) for m in bot.emulator.messages.get(channel, [])]


async def _validate(bot: Bot, story_id: int, *, leader: str = "U0CAMILLE") -> None:
    """A leader validates it from `/cop histoires`, as in the channel."""
    before = len(bot.emulator.responses)
    await bot.slack.command("histoires", user=leader, channel="C0DATA")
    listing = await _reply(bot, before)
    bot.emulator.add_message("C0DATA", user="UBOT", text=listing["text"], blocks=listing["blocks"])
    ts = bot.emulator.messages["C0DATA"][-1]["ts"]
    before = len(bot.emulator.responses)
    await bot.slack.click(
        user=leader, action_id=f"story_validate:{story_id}", message=("C0DATA", ts)
    )
    await _reply(bot, before)


async def _drain_twice(bot: Bot) -> None:
    drain = Drain(bot.deps, rate_per_minute=60000)
    await drain.run_once()
    await drain.run_once()


async def test_cop_story_in_a_channel_opens_that_communitys_form_any_day(bot: Bot) -> None:
    """No prompt was sent: a member types /cop histoire in the channel and tells their story;
    once validated it reaches the showcase, with the community's name, exactly once."""
    await _data(bot)
    before = set(bot.emulator.views)
    await bot.slack.command("histoire", user="U0CHLOE", channel="C0DATA")
    view = await _new_view(bot, before)
    assert view["title"]["text"] == "Success story"
    assert "*Data Science*" in str(view["blocks"][0])
    await bot.slack.submit_view(view["id"], user="U0CHLOE", values=GOOD)
    story = (await eventually(lambda: _rows(bot)))[0]
    assert (story.kind, story.status) == (StoryKind.STORY, StoryStatus.SUBMITTED)
    await _drain_twice(bot)
    assert _texts(bot, SHOWCASE) == []  # not before a leader validates it
    await _validate(bot, story.id)
    await _drain_twice(bot)
    await _drain_twice(bot)
    posts = [t for t in _texts(bot, SHOWCASE) if "Success story" in t]
    assert len(posts) == 1
    assert "Success story de la communauté Data Science : Pipeline de tests partagé" in posts[0]
    assert "120 heures gagnées" in posts[0]


async def test_elsewhere_a_member_picks_among_their_communities(bot: Bot) -> None:
    """Lucas is in Data Science and Sécurité: typed in a DM, /cop story asks which one."""
    await _data(bot)
    security = await _security(bot)
    before = len(bot.emulator.responses)
    await bot.slack.command("story", user="U0LUCAS", channel="D0LUCAS")
    picker = await _reply(bot, before)
    assert picker["text"] == "Pour quelle communauté voulez-vous raconter une success story ?"
    names = str(picker["blocks"])
    assert "Data Science" in names and "Sécurité" in names
    bot.emulator.add_message("C0GEN", user="UBOT", text=picker["text"], blocks=picker["blocks"])
    ts = bot.emulator.messages["C0GEN"][-1]["ts"]
    views = set(bot.emulator.views)
    await bot.slack.click(
        user="U0LUCAS", action_id=f"story_pick:story:{security}", message=("C0GEN", ts)
    )
    view = await _new_view(bot, views)
    assert "*Sécurité*" in str(view["blocks"][0])
    await bot.slack.submit_view(view["id"], user="U0LUCAS", values=GOOD)
    story = (await eventually(lambda: _rows(bot)))[0]
    assert story.community_id == security


async def test_a_member_of_no_community_is_told_so(bot: Bot) -> None:
    await _data(bot)  # Léa is not in its channel
    for word, expected in (
        ("histoire", "Vous ne faites partie d'aucune communauté pour l'instant"),
        ("témoignage", "Vous ne faites partie d'aucune communauté pour l'instant"),
    ):
        before = len(bot.emulator.responses)
        await bot.slack.command(word, user="U0LEA", channel="C0AGILE")
        reply = await _reply(bot, before)
        assert reply["text"].startswith(expected)
    assert await _rows(bot) == []


async def test_the_home_button_opens_the_form_and_a_testimonial_reaches_the_showcase(
    bot: Bot,
) -> None:
    """Emily (English) leaves a testimonial from her Home; it is signed with her name by
    default, reviewed apart from stories, and cross-posted once validated."""
    await _data(bot)
    await bot.slack.open_home(user="U0EMILY")
    home = await eventually(lambda: bot.emulator.home_views.get("U0EMILY"))
    assert "Share a success story" in str(home["blocks"])
    assert "Leave a testimonial" in str(home["blocks"])
    before = set(bot.emulator.views)
    await bot.slack.click(user="U0EMILY", action_id="home_story_share_testimonial")
    view = await _new_view(bot, before)
    assert view["title"]["text"] == "Testimonial"
    name = next(b for b in view["blocks"] if b.get("block_id") == "name")
    assert name["element"]["initial_value"] == "Emily Smith"
    response = await bot.slack.submit_view(
        view["id"], user="U0EMILY", values={"sentence": "", "name": "Emily", "shareable": ["yes"]}
    )
    assert response.json()["errors"] == {"sentence": "This field is required."}
    await bot.slack.submit_view(
        view["id"],
        user="U0EMILY",
        values={
            "sentence": "This community made me a better data engineer.",
            "name": "Emily S.",
            "shareable": ["yes"],
        },
    )
    row = (await eventually(lambda: _rows(bot)))[0]
    assert (row.kind, row.status, row.shareable) == (
        StoryKind.TESTIMONIAL,
        StoryStatus.SUBMITTED,
        True,
    )
    thanks = await eventually(
        lambda: [
            m for m in bot.emulator.messages.values() for m in m if "testimonial!" in m["text"]
        ]
    )
    assert thanks[0]["text"] == "Thank you for your testimonial! The leaders will review it."
    await _validate(bot, row.id)
    await _drain_twice(bot)
    await _drain_twice(bot)
    posts = [t for t in _texts(bot, SHOWCASE) if "Témoignage" in t]
    assert len(posts) == 1  # the programme's language
    assert "Témoignage sur la communauté Data Science" in posts[0]
    assert "« This community made me a better data engineer. » — Emily S." in posts[0]
    # counted apart: a testimonial, not a success story (nor value)
    programme = await _programme_kpis(bot)
    assert (figures.read("testimonials", programme), figures.read("stories", programme)) == (1, 0)
    assert programme.stories_pending == 0


async def _programme_kpis(bot: Bot) -> kpis.Kpis:
    deps = bot.deps
    month = periods.to_date(periods.Period.MONTH, deps.today(), deps.programme.timezone)
    async with bot.sessions() as session:
        computed = await kpis.compute(
            session, workspace_id="T0COP", window=month, rule=Rule.of(deps.programme)
        )
    return computed.programme


async def test_the_home_picker_lists_the_persons_communities(bot: Bot) -> None:
    await _data(bot, language="en")
    security = await _security(bot)
    await bot.slack.open_home(user="U0LUCAS")
    await eventually(lambda: bot.emulator.home_views.get("U0LUCAS"))
    before = set(bot.emulator.views)
    await bot.slack.click(user="U0LUCAS", action_id="home_story_share")
    picker = await _new_view(bot, before)
    assert "Pour quelle communauté" in str(picker["blocks"])
    before = set(bot.emulator.views)
    await bot.slack.click(
        user="U0LUCAS", action_id=f"story_pick:story:{security}", view_id=picker["id"]
    )
    form = await _new_view(bot, before)  # pushed on top of the picker
    assert form["title"]["text"] == "Success story"
    assert "*Sécurité*" in str(form["blocks"][0])


async def test_not_shareable_or_rejected_never_reaches_the_showcase(bot: Bot) -> None:
    await _data(bot)
    before = set(bot.emulator.views)
    await bot.slack.command("témoignage", user="U0CHLOE", channel="C0DATA")
    view = await _new_view(bot, before)
    assert view["title"]["text"] == "Témoignage"
    await bot.slack.submit_view(
        view["id"], user="U0CHLOE", values={"sentence": "Un vrai gain de temps.", "name": "Chloé"}
    )
    before = set(bot.emulator.views)
    await bot.slack.command("histoire", user="U0LUCAS", channel="C0DATA")
    view = await _new_view(bot, before)
    await bot.slack.submit_view(view["id"], user="U0LUCAS", values=GOOD)
    rows = await eventually(lambda: _two(bot))
    # the two were submitted one after the other, but each is written after its modal's ack:
    # tell them apart by kind, not by the order they reached the database
    testimonial, story = sorted(rows, key=lambda r: r.kind != StoryKind.TESTIMONIAL)
    assert testimonial.kind == StoryKind.TESTIMONIAL
    assert not testimonial.shareable
    await _validate(bot, testimonial.id)
    # the leaders' list shows the testimonial as a quote, apart from a story's fields
    before = len(bot.emulator.responses)
    await bot.slack.command("histoires", user="U0CAMILLE", channel="C0DATA")
    listing = str((await _reply(bot, before))["blocks"])
    assert "« Un vrai gain de temps. » — Chloé" in listing
    # a rejected story is not cross-posted either
    before = len(bot.emulator.responses)
    await bot.slack.command("histoires", user="U0CAMILLE", channel="C0DATA")
    listing_msg = await _reply(bot, before)
    bot.emulator.add_message(
        "C0DATA", user="UBOT", text=listing_msg["text"], blocks=listing_msg["blocks"]
    )
    ts = bot.emulator.messages["C0DATA"][-1]["ts"]
    before = len(bot.emulator.responses)
    await bot.slack.click(
        user="U0CAMILLE", action_id=f"story_reject:{story.id}", message=("C0DATA", ts)
    )
    await _reply(bot, before)
    await _drain_twice(bot)
    assert _texts(bot, SHOWCASE) == []


async def _two(bot: Bot) -> list[SuccessStory] | None:
    rows = await _rows(bot)
    return rows if len(rows) == 2 else None


async def test_without_a_showcase_nothing_is_cross_posted(
    database_url: str, emulator: SlackEmulator
) -> None:
    config = make_config(database_url, emulator, rituals=QUIET)
    async with running_bot(config, emulator) as bot:
        await _data(bot, language="en")
        before = set(bot.emulator.views)
        await bot.slack.command("story", user="U0EMILY", channel="C0DATA")
        view = await _new_view(bot, before)
        await bot.slack.submit_view(view["id"], user="U0EMILY", values=GOOD)
        story = (await eventually(lambda: _rows(bot)))[0]
        await _validate(bot, story.id)
        await _drain_twice(bot)
        assert (await _rows(bot))[0].status == StoryStatus.VALIDATED
        assert _texts(bot, SHOWCASE) == []


def test_the_showcase_must_be_a_channel_id() -> None:
    from pydantic import ValidationError

    from bot.config import Programme

    assert Programme.model_validate({"name": "P", "showcase_channel": "C078SHOW"})
    with pytest.raises(ValidationError, match="expected a Slack channel id such as C012ABC"):
        Programme.model_validate({"name": "P", "showcase_channel": "#vitrine"})
