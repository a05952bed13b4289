"""The sponsor digest end to end: the quarterly tick, the leaders' preview, the sponsors' DM a week
later in their language with the figures bot.kpis computes, the chart, the programme's view."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from bot import activity, communities, kpis, people
from bot.disclosure import Rule
from bot.i18n import translate
from bot.models import (
    Community,
    Outbox,
    Poll,
    PollDelivery,
    PollResponse,
    PollStatus,
    Ritual,
    Role,
    StoryStatus,
    SuccessStory,
    ValueKind,
    utcnow,
)
from bot.slack.emulator import SlackEmulator
from bot.slack.render import render_message
from rituals import cadence, scheduler, sponsor_digest
from rituals.outbox import Drain
from tests import factories
from tests.catalogue import EN, FR
from tests.conftest import Bot, make_config, running_bot
from tests.factories import WORKSPACE

QUIET = {"pulse": {"enabled": False}, "stories": {"enabled": False}}
QUIET["welcome"] = {"digest_cadence": "off"}


@pytest.fixture
async def bot(database_url: str, emulator: SlackEmulator) -> AsyncIterator[Bot]:
    config = make_config(database_url, emulator, sponsor="U0JAMES", rituals=QUIET)
    async with running_bot(config, emulator) as running:
        yield running


async def _programme(bot: Bot) -> tuple[Community, Community]:
    """Data Science (sponsors Emily, en, and Hugo, fr; a closed poll with five answers; stories)
    and Agilité (sponsor Léa; a poll with two answers, under the threshold); today's activity."""
    data = await factories.community(
        bot.sessions, emulator=bot.emulator, leaders=("U0CAMILLE",), sponsor="U0EMILY"
    )
    agile = await factories.community(
        bot.sessions,
        emulator=bot.emulator,
        channel="C0AGILE",
        name="Agilité",
        leaders=("U0NATHAN",),
        sponsor="U0LEA",
    )
    await factories.community(  # no sponsor: nothing is sent for it
        bot.sessions, emulator=bot.emulator, channel="C0SEC", name="Sécurité", leaders=("U0LUCAS",)
    )
    now = utcnow()
    async with bot.sessions.begin() as session:
        row = await session.get(Community, data.id)
        assert row is not None
        await communities.set_role(
            session, community=row, slack_user_id="U0HUGO", role=Role.SPONSOR
        )
        await activity.add(
            session,
            workspace_id=WORKSPACE,
            tallies=[
                activity.Tally(data.id, "U0LUCAS", now.date(), messages=7),
                activity.Tally(data.id, "U0CHLOE", now.date(), replies=3),
                activity.Tally(agile.id, "U0LEA", now.date(), messages=2),
            ],
        )
        for community, answers in (
            (data, ((4, 10), (5, 9), (3, 5), (4, 8), (4, 10))),
            (agile, ((1, 0), (2, 3))),
        ):
            poll = Poll(
                workspace_id=WORKSPACE,
                community_id=community.id,
                period_key="test",
                opens_at=now - timedelta(minutes=1),
                closes_at=now,
                status=PollStatus.CLOSED,
            )
            session.add(poll)
            await session.flush()
            for i, (value, recommend) in enumerate(answers):
                session.add_all(
                    [
                        PollResponse(
                            workspace_id=WORKSPACE,
                            poll_id=poll.id,
                            ballot=f"b{i}",
                            question_key=key,
                            score=score,
                        )
                        for key, score in (("value", value), ("recommend", recommend))
                    ]
                )
            members = bot.emulator.workspace.channels[community.channel_id].members
            asked = await people.ensure_many(
                session, workspace_id=WORKSPACE, slack_user_ids=members
            )
            for person in asked.values():
                session.add(
                    PollDelivery(
                        workspace_id=WORKSPACE,
                        poll_id=poll.id,
                        person_id=person.id,
                        delivered_at=now,
                    )
                )
        for title, status, shareable in (
            ("Pipeline MLOps partagé", StoryStatus.VALIDATED, True),
            ("Audit confidentiel", StoryStatus.VALIDATED, False),
            ("Brouillon pas encore validé", StoryStatus.SUBMITTED, True),
        ):
            session.add(
                SuccessStory(
                    workspace_id=WORKSPACE,
                    community_id=data.id,
                    title=title,
                    benefit="deux jours gagnés par mise en production",
                    status=status,
                    shareable=shareable,
                    value_amount=Decimal("16"),
                    value_unit="hours",
                    value_kind=ValueKind.REALISED,
                )
            )
    return data, agile


def _due() -> datetime:
    """The quarterly run after today (the first Tuesday of the next quarter, 10:00 in Paris)."""
    due = cadence.next_run("quarterly", after=utcnow(), zone=ZoneInfo("Europe/Paris"), hour=10)
    assert due is not None
    return due


def _dms(bot: Bot, user: str, marker: str) -> list[str]:
    channel = "D" + user[1:]
    return [
        render_message(message)
        for message in bot.emulator.messages.get(channel, [])
        if marker in render_message(message)
    ]


async def _figures(bot: Bot, community: Community, due: datetime) -> kpis.CommunityKpis:
    window = sponsor_digest.closed_quarter(due, "Europe/Paris")
    async with bot.sessions() as session:
        found = await kpis.compute(
            session,
            workspace_id=WORKSPACE,
            window=window,
            community_ids=[community.id],
            now=due,
            rule=Rule(min_answers=5),
        )
    (figures,) = found.communities
    return figures


async def test_leaders_preview_then_sponsors_get_it_in_their_language_once(bot: Bot) -> None:
    data, agile = await _programme(bot)
    async with bot.sessions.begin() as session:  # the settings exist before the quarter turns
        for c in (data, agile):
            await cadence.settings_of(
                session, community=c, programme=bot.deps.programme, now=utcnow()
            )
    due = _due()
    drain = Drain(bot.deps, rate_per_minute=60000)
    assert await scheduler.tick(bot.deps, now=due) >= 2
    await drain.run_once(now=due)
    quarter = sponsor_digest.closed_quarter(due, "Europe/Paris")
    q = (quarter.start.month - 1) // 3 + 1
    fr_title, en_title = (
        f"Data Science — bilan du T{q} {quarter.start.year}",
        f"Data Science — Q{q} {quarter.start.year} review",
    )

    # the leader's preview, at once; the sponsors' digest not yet
    (preview,) = _dms(bot, "U0CAMILLE", fr_title)
    assert "*Aperçu :* voici le bilan que recevra @U0" in preview
    assert "@U0EMILY" in preview and "@U0HUGO" in preview
    assert not _dms(bot, "U0EMILY", "Data Science") and not _dms(bot, "U0HUGO", "Data Science")

    # a week later: each sponsor in their language, with what bot.kpis counts
    await drain.run_once(now=due + timedelta(days=7, minutes=1))
    figures = await _figures(bot, data, due)
    assert figures.members == 5 and figures.messages == 7 and figures.replies == 3
    (en,) = _dms(bot, "U0EMILY", en_title)
    (fr,) = _dms(bot, "U0HUGO", fr_title)
    en_t, fr_t = translate("en"), translate("fr")
    assert f"*Members:* {figures.members} ({figures.new_members} joined" in en
    active = f"*{EN('figure.active_members')}:* {figures.active_members}"
    assert f"{active} ({en_t.percent(figures.active_rate or 0)})" in en
    assert f"*Membres :* {figures.members} ({figures.new_members} arrivées" in fr
    assert f"{figures.messages} messages, {figures.replies} réponses" in fr
    pulse = fr_t.number(figures.pulse_score or 0)
    shown = FR("health.with_n", value=f"{pulse} / 5", answers=figures.pulse_answers)
    assert f"*{FR('figure.pulse')} :* {shown}" in fr
    assert f"*eNPS :* {FR('health.with_n', value=round(figures.enps or 0), answers=5)}" in fr
    assert f"*{EN('figure.stories')}:* {figures.stories} · 32 hours saved" in en
    assert "Pipeline MLOps partagé" in en and "Pipeline MLOps partagé" in fr
    assert "Audit confidentiel" not in en  # validated, but its author did not agree to share it
    assert "Brouillon pas encore validé" not in en + fr + preview  # not validated: not shown
    assert "1 more validated story its author chose not to share" in en
    assert "What the community needs from you" in en and "*Next step for the leaders:*" in en
    # the preview was the very message the French sponsor got, under its banner
    assert fr in preview
    charts = [u for u in bot.emulator.uploads if u["channel_id"] in ("D0EMILY", "D0HUGO")]
    assert len(charts) == 2 and all(u["content"].startswith(b"\x89PNG") for u in charts)

    # a community whose poll had fewer answers than the threshold shows no survey figure
    (agile_fr,) = _dms(bot, "U0LEA", "Agilité — bilan")
    withheld = FR("health.withheld.too_few", answers=2)
    assert f"*{FR('figure.pulse')} :* {withheld}" in agile_fr and "/ 5" not in agile_fr
    assert f"*eNPS :* {withheld}" in agile_fr

    # a second tick, or a run by hand, in the same quarter writes nothing more
    async with bot.sessions() as session:
        before = await session.scalar(sa.select(sa.func.count()).select_from(Outbox))
    assert await scheduler.tick(bot.deps, now=due + timedelta(hours=1)) == 0
    await scheduler.run_now(
        bot.deps, ritual=Ritual.SPONSOR_DIGEST, community_id=data.id, now=due + timedelta(hours=2)
    )
    async with bot.sessions() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(Outbox)) == before
    await drain.run_once(now=due + timedelta(days=8))
    assert len(_dms(bot, "U0EMILY", en_title)) == 1 and len(_dms(bot, "U0CAMILLE", fr_title)) == 1
    # nobody sponsors Sécurité: nothing was written for it
    assert not _dms(bot, "U0LUCAS", "Sécurité")


async def test_the_programme_sponsor_gets_the_programme_view(bot: Bot) -> None:
    data, _agile = await _programme(bot)
    due = _due()
    detail = await scheduler.run_now(
        bot.deps, ritual=Ritual.SPONSOR_DIGEST, community_id=data.id, now=due
    )
    assert "programme: 1 sponsor" in detail
    drain = Drain(bot.deps, rate_per_minute=60000)
    await drain.run_once(now=due)
    (preview,) = _dms(bot, "U0CAMILLE", "Programme test — bilan")  # the manager's preview
    assert "recevra @U0JAMES le" in preview
    await drain.run_once(now=due + timedelta(days=7, minutes=1))
    (view,) = _dms(bot, "U0JAMES", "Programme test —")
    assert "You sponsor the programme" in view
    assert "*Communities:* 3 ·" in view and "1 community has no sponsor." in view
    assert "Data Science · *Pipeline MLOps partagé*" in view
    assert "Brouillon pas encore validé" not in view
