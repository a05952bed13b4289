"""Privacy on request: export, erasure that keeps the anonymous aggregates right, retention."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import people, polls, privacy
from bot.models import (
    ActivityDaily,
    AuditLog,
    Membership,
    Person,
    Poll,
    PollDelivery,
    PollResponse,
    SuccessStory,
)
from bot.slack.emulator import SlackEmulator
from tests import factories

TODAY = date(2026, 11, 23)
BALLOT_KEY = b"k" * 32


async def seed(sessions: async_sessionmaker[AsyncSession], emulator: SlackEmulator) -> int:
    """Lucas and Chloé active in Data Science; both answered the pulse poll; Lucas wrote a story."""
    community = await factories.community(sessions, emulator=emulator, leaders=("U0LUCAS",))
    async with sessions.begin() as session:
        lucas = await people.find(session, workspace_id="T0COP", slack_user_id="U0LUCAS")
        chloe = await people.find(session, workspace_id="T0COP", slack_user_id="U0CHLOE")
        assert lucas and chloe
        for person, messages in ((lucas, 5), (chloe, 2)):
            for back in (1, 400):
                session.add(
                    ActivityDaily(
                        workspace_id="T0COP",
                        community_id=community.id,
                        person_id=person.id,
                        day=TODAY - timedelta(days=back),
                        messages=messages,
                        replies=1,
                        reactions=3,
                    )
                )
        salt = "s" * 32
        poll = Poll(
            workspace_id="T0COP",
            community_id=community.id,
            period_key="2026-11",
            questions=[],
            ballot_salt=salt,
            opens_at=datetime(2026, 11, 1, tzinfo=UTC),
            closes_at=datetime(2026, 11, 30, tzinfo=UTC),
        )
        session.add(poll)
        await session.flush()
        for person, score in ((lucas, 5), (chloe, 3)):
            session.add(
                PollDelivery(
                    workspace_id="T0COP",
                    poll_id=poll.id,
                    person_id=person.id,
                    delivered_at=datetime(2026, 11, 1, tzinfo=UTC),
                )
            )
            ballot = polls.ballot(BALLOT_KEY, salt, person.id)
            session.add(
                PollResponse(
                    workspace_id="T0COP",
                    poll_id=poll.id,
                    ballot=ballot,
                    question_key="value",
                    score=score,
                )
            )
        session.add(
            SuccessStory(
                workspace_id="T0COP",
                community_id=community.id,
                author_person_id=lucas.id,
                title="Gain de temps",
                benefit="2 jours",
            )
        )
        session.add(
            AuditLog(
                workspace_id="T0COP",
                actor="U0LUCAS",
                action="charter.saved",
                community_id=community.id,
            )
        )
    return community.id


async def totals(session: AsyncSession, community_id: int) -> tuple[int, int, int, int, int]:
    messages = await session.scalar(
        sa.select(sa.func.sum(ActivityDaily.messages)).where(
            ActivityDaily.community_id == community_id
        )
    )
    members = await session.scalar(
        sa.select(sa.func.count())
        .select_from(Membership)
        .where(Membership.community_id == community_id, Membership.left_at.is_(None))
    )
    answers = await session.scalar(sa.select(sa.func.count()).select_from(PollResponse))
    score = await session.scalar(sa.select(sa.func.sum(PollResponse.score)))
    answered = await session.scalar(
        sa.select(sa.func.count(sa.distinct(PollResponse.ballot))).select_from(PollResponse)
    )
    return (
        int(messages or 0),
        int(members or 0),
        int(answers or 0),
        int(score or 0),
        int(answered or 0),
    )


async def test_export_gives_a_person_what_is_held_about_them(sessions, emulator) -> None:  # type: ignore[no-untyped-def]
    await seed(sessions, emulator)
    async with sessions() as session:
        data = await privacy.export(session, workspace_id="T0COP", slack_user_id="U0LUCAS")
    json.dumps(data)  # JSON-ready
    assert data["person"]["real_name"] == "Lucas Bernard"
    assert [m["community"] for m in data["memberships"]] == ["Data Science"]
    assert len(data["daily_activity_counts"]) == 2
    assert data["success_stories"][0]["title"] == "Gain de temps"
    assert data["polls_sent"][0]["poll"] == "2026-11"
    assert data["actions_you_took"][0]["action"] == "charter.saved"


async def test_erase_removes_identity_but_keeps_community_counts(sessions, emulator) -> None:  # type: ignore[no-untyped-def]
    community_id = await seed(sessions, emulator)
    async with sessions() as session:
        before = await totals(session, community_id)
        lucas_id = (await people.find(session, workspace_id="T0COP", slack_user_id="U0LUCAS")).id  # type: ignore[union-attr]
    async with sessions.begin() as session:
        report = await privacy.erase(session, workspace_id="T0COP", slack_user_id="U0LUCAS")
    assert report.activity_rows_folded == 2 and report.stories_detached == 1
    async with sessions() as session:
        assert (
            await totals(session, community_id) == before
        )  # messages, members, answers, scores, response rate
        assert await people.find(session, workspace_id="T0COP", slack_user_id="U0LUCAS") is None
        tombstone = await session.get(Person, lucas_id)
        assert (
            tombstone is not None
            and tombstone.real_name == ""
            and tombstone.tz is None
            and tombstone.erased_at
        )
        assert tombstone.slack_user_id.startswith("erased-")
        # no activity row, delivery, story or audit entry points at them any more
        assert (
            await session.scalar(
                sa.select(sa.func.count())
                .select_from(ActivityDaily)
                .where(ActivityDaily.person_id == lucas_id)
            )
            == 0
        )
        assert (
            await session.scalar(
                sa.select(sa.func.count())
                .select_from(PollDelivery)
                .where(PollDelivery.person_id == lucas_id)
            )
            == 0
        )
        assert await session.scalar(sa.select(SuccessStory.author_person_id)) is None
        assert (
            await session.scalar(
                sa.select(sa.func.count()).select_from(AuditLog).where(AuditLog.actor == "U0LUCAS")
            )
            == 0
        )
        # Chloé is untouched
        chloe = await people.find(session, workspace_id="T0COP", slack_user_id="U0CHLOE")
        assert chloe is not None and chloe.real_name == "Chloé Dubois"


async def test_retention_folds_old_activity_into_community_totals(sessions, emulator) -> None:  # type: ignore[no-untyped-def]
    community_id = await seed(sessions, emulator)
    async with sessions() as session:
        before = await totals(session, community_id)
    async with sessions.begin() as session:
        folded = await privacy.apply_retention(session, months=12, today=TODAY)
    assert folded == 2  # the two 400-day-old rows
    async with sessions() as session:
        assert await totals(session, community_id) == before
        old = (
            (
                await session.execute(
                    sa.select(ActivityDaily).where(ActivityDaily.day == TODAY - timedelta(days=400))
                )
            )
            .scalars()
            .all()
        )
        assert len(old) == 1 and old[0].person_id is None and old[0].messages == 7
        recent = await session.scalar(
            sa.select(sa.func.count())
            .select_from(ActivityDaily)
            .where(
                ActivityDaily.day == TODAY - timedelta(days=1), ActivityDaily.person_id.is_not(None)
            )
        )
        assert recent == 2
