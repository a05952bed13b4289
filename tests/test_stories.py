"""Success stories end to end: the prompt in the channel, the modal (with field errors), leaders
validating and posting; in French and English."""

from __future__ import annotations

import sqlalchemy as sa

from bot.models import Community, Ritual, StoryStatus, SuccessStory
from bot.slack.render import render_message
from rituals import scheduler
from rituals.outbox import Drain
from tests import factories
from tests.conftest import Bot, eventually

GOOD = {
    "title": "Pipeline de tests partagé",
    "context": "Chaque équipe réécrivait ses tests de données.",
    "contribution": "Un atelier de la communauté a produit un modèle commun.",
    "benefit": "Moins de temps perdu sur les régressions.",
    "value_amount": "120",
    "value_unit": "hours",
    "people_involved": "Lucas, Chloé",
    "value_kind": "realised",
    "shareable": ["yes"],
}


async def _prompted(bot: Bot, language: str | None = None) -> Community:
    community = await factories.community(
        bot.sessions, emulator=bot.emulator, leaders=("U0CAMILLE",), language=language
    )
    await scheduler.run_now(bot.deps, ritual=Ritual.STORIES, community_id=community.id)
    await Drain(bot.deps, rate_per_minute=60000).run_once()
    return community


async def _open_modal(bot: Bot, user: str) -> str:
    prompt = bot.emulator.messages["C0DATA"][-1]
    before = set(bot.emulator.views)
    await bot.slack.click(user=user, action_id="story_share", message=("C0DATA", prompt["ts"]))
    new = await eventually(lambda: sorted(set(bot.emulator.views) - before))
    return new[-1]


async def _stories(bot: Bot) -> list[SuccessStory]:
    async with bot.sessions() as session:
        return list(await session.scalars(sa.select(SuccessStory)))


async def test_a_member_shares_a_story_from_the_channel_prompt(bot: Bot) -> None:
    await _prompted(bot)
    prompt = bot.emulator.messages["C0DATA"][-1]
    assert prompt["text"].startswith("✨ La communauté *Data Science* vous a fait gagner du temps")
    view_id = await _open_modal(bot, "U0LUCAS")
    assert bot.emulator.views[view_id]["title"]["text"] == "Success story"
    # a bad amount comes back as a field error in the modal, nothing is saved
    response = await bot.slack.submit_view(
        view_id, user="U0LUCAS", values={**GOOD, "value_amount": "beaucoup"}
    )
    assert response.json()["errors"] == {
        "value_amount": "Indiquez un nombre, par exemple 12 ou 3,5."
    }
    assert await _stories(bot) == []
    response = await bot.slack.submit_view(view_id, user="U0LUCAS", values=GOOD)
    assert response.status_code == 200
    stories = await eventually(lambda: _stories(bot))
    story = stories[0]
    assert story.status == StoryStatus.SUBMITTED and story.shareable
    assert (story.value_amount, story.value_unit, story.value_kind) == (120, "hours", "realised")


async def test_leaders_validate_then_post_a_shareable_story(bot: Bot) -> None:
    await _prompted(bot, language="en")
    view_id = await _open_modal(bot, "U0EMILY")
    await bot.slack.submit_view(view_id, user="U0EMILY", values=GOOD)
    story = (await eventually(lambda: _stories(bot)))[0]
    # a member cannot validate
    before = len(bot.emulator.responses)
    await bot.slack.command("stories", user="U0LUCAS", channel="C0DATA")
    member_view = (await eventually(lambda: bot.emulator.responses[before:]))[-1]
    assert "story_validate" not in str(member_view.get("blocks"))
    # the leader does, then posts it
    before = len(bot.emulator.responses)
    await bot.slack.command("histoires", user="U0CAMILLE", channel="C0DATA")
    listing = (await eventually(lambda: bot.emulator.responses[before:]))[-1]
    assert listing["text"] == "Success stories — Data Science"
    assert "à valider" in str(listing["blocks"])
    bot.emulator.add_message("C0DATA", user="UBOT", text=listing["text"], blocks=listing["blocks"])
    ts = bot.emulator.messages["C0DATA"][-1]["ts"]
    before = len(bot.emulator.responses)
    await bot.slack.click(
        user="U0CAMILLE", action_id=f"story_validate:{story.id}", message=("C0DATA", ts)
    )
    updated = (await eventually(lambda: bot.emulator.responses[before:]))[-1]
    assert "validée" in str(updated["blocks"])
    assert (await _stories(bot))[0].status == StoryStatus.VALIDATED
    bot.emulator.add_message("C0DATA", user="UBOT", text=updated["text"], blocks=updated["blocks"])
    ts = bot.emulator.messages["C0DATA"][-1]["ts"]
    await bot.slack.click(
        user="U0CAMILLE", action_id=f"story_post:{story.id}", message=("C0DATA", ts)
    )
    drain = Drain(bot.deps, rate_per_minute=60000)

    async def sent() -> bool:
        await drain.run_once()
        return await _posted(bot)

    await eventually(sent)
    posted = bot.emulator.messages["C0DATA"][-1]
    assert (await _stories(bot))[0].posted_ts == posted["ts"]  # the real message, once posted
    assert posted["text"] == "🌟 Success story : Pipeline de tests partagé"
    assert "120 heures gagnées" in str(posted["blocks"])


async def _posted(bot: Bot) -> bool:
    return bool((await _stories(bot))[0].posted_ts)


async def test_amounts_that_cannot_be_stored_are_field_errors_not_silent_losses(bot: Bot) -> None:
    await _prompted(bot)
    view_id = await _open_modal(bot, "U0LUCAS")
    cases = {
        # the case: 12 digits and 3 decimals would round past the column and be lost
        ("999 999 999 999,995", "euros"): "Pas plus de 2 décimales, par exemple 12,5.",
        ("999 999 999 999", "euros"): "Pas plus de 100\u202f000\u202f000 pour cette unité",
        ("200 000", "hours"): "Pas plus de 100\u202f000 pour cette unité",
        ("0", "hours"): "Indiquez un nombre, par exemple 12 ou 3,5.",
        ("-3", "hours"): "Indiquez un nombre, par exemple 12 ou 3,5.",
        ("NaN", "hours"): "Indiquez un nombre, par exemple 12 ou 3,5.",
        ("1e9", "euros"): "Pas plus de 100\u202f000\u202f000 pour cette unité",
        ("١٢", "hours"): "Indiquez un nombre, par exemple 12 ou 3,5.",  # Arabic-Indic digits
    }
    for (amount, unit), error in cases.items():
        response = await bot.slack.submit_view(
            view_id, user="U0LUCAS", values={**GOOD, "value_amount": amount, "value_unit": unit}
        )
        assert response.json()["errors"]["value_amount"].startswith(error), amount
    assert await _stories(bot) == []
    response = await bot.slack.submit_view(
        view_id, user="U0LUCAS", values={**GOOD, "value_amount": "1 250,50", "value_unit": "euros"}
    )
    assert response.status_code == 200 and "errors" not in (response.text or "")
    story = (await eventually(lambda: _stories(bot)))[0]
    assert (str(story.value_amount), story.value_unit) == ("1250.50", "euros")


async def test_a_story_counts_as_value_only_once_validated(bot: Bot) -> None:
    """Right after a submission, /cop health shows it apart, 'awaiting validation', and counts
    nothing; once a leader validates it, it counts."""
    await _prompted(bot)
    view_id = await _open_modal(bot, "U0LUCAS")
    await bot.slack.submit_view(
        view_id,
        user="U0LUCAS",
        values={**GOOD, "value_amount": "99 999 999", "value_unit": "euros"},
    )
    story = (await eventually(lambda: _stories(bot)))[0]

    async def health() -> str:
        before = len(bot.emulator.responses)
        await bot.slack.command("santé", user="U0CAMILLE", channel="C0DATA")
        reply = (await eventually(lambda: bot.emulator.responses[before:], timeout=20))[-1]
        return " ".join(render_message(reply).split())  # one line: the renderer wraps at 88

    pending = await health()
    assert (
        "*Valeur :* 0 success story · aucune valeur chiffrée" in pending
        or "0 success story" in pending
    )
    assert "1 en attente de validation (pas encore pris en compte)" in pending
    assert "99" not in pending.split("Valeur")[1].split("\\n")[0].replace("1 en attente", "")
    async with bot.sessions.begin() as session:
        from bot import stories

        row = await session.get(SuccessStory, story.id)
        assert row is not None
        await stories.decide(session, story=row, validate=True, by_person_id=None)
    counted = await health()
    assert "*Valeur :* 1 success story · 99 999 999 euros" in counted
    assert "en attente de validation" not in counted


def test_what_counts_as_value_is_defined_once() -> None:
    """Every figure of value reads stories.counted(): no KPI, health, Home, report or export
    module filters stories by status on its own (where 'not rejected' once let pending ones in)."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    figures = ["bot/kpis.py", "bot/health.py", "bot/home.py", "bot/report.py", "bot/cli_kpis.py"]
    figures += [p.relative_to(root).as_posix() for p in root.glob("bot/slack/blocks/*.py")]
    for name in figures:
        tree = ast.parse((root / name).read_text(encoding="utf-8"))
        used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        assert "StoryStatus" not in used, name
