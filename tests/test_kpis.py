"""KPI arithmetic on small hand-computed programmes, and the daily snapshot job."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import activity, communities, disclosure, kpis, people, periods
from bot.models import (
    CharterVersion,
    Community,
    Event,
    EventAttendance,
    EventStatus,
    KpiSnapshot,
    Person,
    Poll,
    PollDelivery,
    PollResponse,
    PollStatus,
    StoryStatus,
    SuccessStory,
    ValueKind,
    utcnow,
)
from bot.slack.emulator import SlackEmulator, default_workspace
from tests import factories
from tests.factories import WORKSPACE

EMU = SlackEmulator(default_workspace())  # only its seeded users are read; never started
RULE = disclosure.Rule(min_answers=5)


async def person_id(session: AsyncSession, uid: str) -> int:
    pid = await session.scalar(sa.select(Person.id).where(Person.slack_user_id == uid))
    assert pid is not None
    return pid


async def small_programme(sessions: async_sessionmaker[AsyncSession]) -> dict[str, Community]:
    """Data: Lucas, Chloé, Hugo · Agile: Lucas, Léa · Sécu: Lucas (Hugo left) · Vide: nobody."""
    data = await factories.community(
        sessions, emulator=EMU, channel="C0DATA", members=("U0LUCAS", "U0CHLOE", "U0HUGO")
    )
    agile = await factories.community(
        sessions, emulator=EMU, channel="C0AGILE", name="Agilité", members=("U0LUCAS", "U0LEA")
    )
    secu = await factories.community(
        sessions, emulator=EMU, channel="C0SEC", name="Sécurité", members=("U0LUCAS", "U0HUGO")
    )
    empty = await factories.community(sessions, channel="C0GEN", name="Vide", members=())
    now = utcnow()
    today = now.date()
    async with sessions.begin() as session:
        row = await session.get(Community, secu.id)
        assert row is not None
        await communities.member_left(session, community=row, slack_user_id="U0HUGO")
        await activity.add(
            session,
            workspace_id=WORKSPACE,
            tallies=[
                activity.Tally(data.id, "U0LUCAS", today, messages=2),
                activity.Tally(data.id, "U0CHLOE", today, replies=1),
                activity.Tally(agile.id, "U0LUCAS", today, reactions=1),
                activity.Tally(data.id, "U0LUCAS", today, messages=1),  # merges: 3 messages
            ],
        )
        past = now - timedelta(minutes=5)
        session.add_all(
            [
                Event(
                    workspace_id=WORKSPACE,
                    community_id=data.id,
                    title="Webinaire",
                    starts_at=past,
                    tz="Europe/Paris",
                    attendance_count=12,
                ),
                Event(
                    workspace_id=WORKSPACE,
                    community_id=data.id,
                    title="Annulé",
                    starts_at=past,
                    tz="Europe/Paris",
                    status=EventStatus.CANCELLED,
                ),
                Event(
                    workspace_id=WORKSPACE,
                    community_id=data.id,
                    title="À venir",
                    starts_at=now + timedelta(hours=3),
                    tz="Europe/Paris",
                ),
            ]
        )
        meetup = Event(
            workspace_id=WORKSPACE,
            community_id=agile.id,
            title="Meetup",
            starts_at=past,
            tz="Europe/Paris",
        )
        session.add(meetup)
        await session.flush()
        for uid in ("U0LUCAS", "U0LEA"):
            session.add(
                EventAttendance(
                    event_id=meetup.id,
                    workspace_id=WORKSPACE,
                    person_id=await person_id(session, uid),
                )
            )
        session.add_all(
            [
                CharterVersion(
                    workspace_id=WORKSPACE,
                    community_id=data.id,
                    version=1,
                    objectives=["old"],
                    objectives_year=today.year - 1,
                ),
                CharterVersion(
                    workspace_id=WORKSPACE,
                    community_id=data.id,
                    version=2,
                    objectives=["Partager"],
                    objectives_year=today.year,
                ),
                CharterVersion(
                    workspace_id=WORKSPACE,
                    community_id=agile.id,
                    version=1,
                    objectives=["x"],
                    objectives_year=today.year - 1,
                ),
            ]
        )
        asked = await people.ensure_many(
            session,
            workspace_id=WORKSPACE,
            slack_user_ids=["U0LUCAS", "U0CHLOE", "U0HUGO", "U0LEA", "U0CAMILLE", "U0EMILY"],
        )
        # Data's poll: six asked, five answered (the threshold), closed. Agile's: two answered.
        for community, who, answers in (
            (data, list(asked), ((4, 10), (5, 9), (3, 5), (4, 8), (4, 10))),
            (agile, ["U0LUCAS", "U0LEA"], ((1, 0), (2, 3))),
        ):
            poll = Poll(
                workspace_id=WORKSPACE,
                community_id=community.id,
                period_key="test",
                opens_at=now - timedelta(minutes=1),
                closes_at=now + timedelta(days=7),
                status=PollStatus.CLOSED,
            )
            session.add(poll)
            await session.flush()
            for uid in who:
                session.add(
                    PollDelivery(
                        workspace_id=WORKSPACE,
                        poll_id=poll.id,
                        person_id=asked[uid].id,
                        delivered_at=now,
                    )
                )
            for i, (value, recommend) in enumerate(answers):
                for key, score, comment in (
                    ("value", value, None),
                    ("recommend", recommend, None),
                    ("comment", None, "merci"),
                ):
                    session.add(
                        PollResponse(
                            workspace_id=WORKSPACE,
                            poll_id=poll.id,
                            ballot=f"b{i}",
                            question_key=key,
                            score=score,
                            comment=comment,
                        )
                    )
        for cid, amount, unit, kind, status in (
            (data.id, "10", "hours", ValueKind.REALISED, StoryStatus.VALIDATED),
            (data.id, "5.5", "hours", ValueKind.REALISED, StoryStatus.SUBMITTED),
            (data.id, "1000", "EUR", ValueKind.POTENTIAL, StoryStatus.VALIDATED),
            (agile.id, None, None, None, StoryStatus.VALIDATED),
            (agile.id, "500", "EUR", ValueKind.REALISED, StoryStatus.REJECTED),
        ):
            session.add(
                SuccessStory(
                    workspace_id=WORKSPACE,
                    community_id=cid,
                    status=status,
                    value_amount=Decimal(amount) if amount else None,
                    value_unit=unit,
                    value_kind=kind,
                )
            )
    return {"data": data, "agile": agile, "secu": secu, "empty": empty}


def window() -> periods.Window:
    today = utcnow().date()
    return periods.Window(today - timedelta(days=1), today + timedelta(days=1))


async def test_members_summed_unique_and_overlap(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    made = await small_programme(sessions)
    async with sessions() as session:
        report = await kpis.compute(session, workspace_id=WORKSPACE, window=window(), rule=RULE)
    by = {c.community_id: c for c in report.communities}
    assert [by[made[k].id].members for k in ("data", "agile", "secu", "empty")] == [3, 2, 1, 0]
    p = report.programme
    assert p.communities == 4
    assert p.members_summed == 6  # 3 + 2 + 1
    assert p.members_unique == 4  # Lucas, Chloé, Hugo, Léa
    assert p.overlap == {"1": 3, "2": 0, "3+": 1}  # Lucas is in three
    assert by[made["secu"].id].departed_members == 1
    assert p.new_members == 7 and p.departed_members == 1


async def test_activity_active_rate_and_events(sessions: async_sessionmaker[AsyncSession]) -> None:
    made = await small_programme(sessions)
    async with sessions() as session:
        report = await kpis.compute(session, workspace_id=WORKSPACE, window=window(), rule=RULE)
    by = {c.community_id: c for c in report.communities}
    data, agile, empty = by[made["data"].id], by[made["agile"].id], by[made["empty"].id]
    assert (data.messages, data.replies, data.reactions) == (3, 1, 0)
    assert data.active_members == 2 and data.active_rate == 2 / 3
    assert agile.active_rate == 1 / 2
    assert empty.active_rate is None and not empty.has_data  # no members: no data, no crash
    p = report.programme
    assert (p.messages, p.replies, p.reactions) == (3, 1, 1)
    assert p.active_members == 2 and p.active_rate == 2 / 4  # over unique people, not summed
    assert (data.events_held, data.attendance) == (1, 12)  # cancelled and future not held
    assert (agile.events_held, agile.attendance) == (1, 2)  # from the names recorded
    assert (data.charter_up_to_date, agile.charter_up_to_date) == (1, 0)
    assert p.charter_up_to_date == 1


async def test_pulse_enps_and_response_rate(sessions: async_sessionmaker[AsyncSession]) -> None:
    made = await small_programme(sessions)
    async with sessions() as session:
        report = await kpis.compute(session, workspace_id=WORKSPACE, window=window(), rule=RULE)
    by = {c.community_id: c for c in report.communities}
    data, agile, secu = by[made["data"].id], by[made["agile"].id], by[made["secu"].id]
    assert data.pulse_score == 4.0  # (4 + 5 + 3 + 4 + 4) / 5
    assert data.enps == 40.0  # (3 promoters - 1 detractor) / 5 answers
    assert (data.pulse_answers, data.enps_answers) == (5, 5)
    assert data.response_rate == 5 / 6
    # two answers in Agile: a rate may show, the scores may not, not even in the programme's
    assert agile.response_rate == 1.0
    assert agile.pulse_score is None and agile.enps is None
    assert (agile.pulse_withheld, agile.pulse_answers) == ("too_few", 2)
    assert secu.pulse_score is None and secu.response_rate is None and secu.pulse_withheld is None
    p = report.programme
    assert p.response_rate == 7 / 8 and p.polls_answered == 7
    assert (p.pulse_score, p.enps, p.pulse_answers) == (4.0, 40.0, 5)


async def test_story_values_by_unit_and_kind(sessions: async_sessionmaker[AsyncSession]) -> None:
    made = await small_programme(sessions)
    async with sessions() as session:
        report = await kpis.compute(session, workspace_id=WORKSPACE, window=window(), rule=RULE)
    by = {c.community_id: c for c in report.communities}
    p = report.programme
    assert p.stories == 3  # validated only: the submitted one waits, the rejected one never counts
    assert p.stories_pending == 1 and by[made["data"].id].stories_pending == 1
    assert p.value_by_unit == {"hours": 10.0, "EUR": 1000.0}
    assert p.stories_by_kind["realised"].count == 1
    assert p.stories_by_kind["realised"].value == {"hours": 10.0}
    assert p.stories_by_kind["potential"].value == {"EUR": 1000.0}
    assert p.stories_by_kind["unspecified"].count == 1
    assert by[made["agile"].id].value_by_unit == {}


async def test_an_empty_programme_and_an_empty_period(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        report = await kpis.compute(session, workspace_id=WORKSPACE, window=window(), rule=RULE)
    assert report.communities == [] and report.programme.active_rate is None
    assert report.programme.response_rate is None and not report.programme.has_data
    await small_programme(sessions)
    async with sessions() as session:
        old = await kpis.compute(
            session, workspace_id=WORKSPACE, window=periods.parse_period("2001-Q1"), rule=RULE
        )
    assert old.programme.messages == 0 and old.programme.members == 0
    assert old.programme.active_rate is None


def test_periods() -> None:
    q4 = periods.parse_period("2026-Q4")
    assert (q4.start, q4.end, q4.label) == (date(2026, 10, 1), date(2027, 1, 1), "2026-Q4")
    assert periods.parse_period("2026-11").end == date(2026, 12, 1)
    assert periods.parse_period("2026").label == "2026"
    assert periods.parse_period("2026-w47").start == date(2026, 11, 16)
    week = periods.to_date(periods.Period.WEEK, date(2026, 11, 25))
    assert (week.start, week.end) == (date(2026, 11, 23), date(2026, 11, 26))


@pytest.mark.parametrize("bad", ["2026-Q5", "demain", "26-11"])
def test_a_period_that_does_not_exist_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="expected a period"):
        periods.parse_period(bad)


async def test_snapshots_are_written_once_per_scope_and_period(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await small_programme(sessions)
    today = utcnow().date()
    for _ in range(2):  # running the job twice refreshes, never duplicates
        async with sessions.begin() as session:
            written = await kpis.snapshot(session, workspace_id=WORKSPACE, as_of=today, rule=RULE)
        assert written == 4 * 5  # (programme + 4 communities) × day/week/month/year
    async with sessions() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(KpiSnapshot)) == 20
        found = await kpis.latest_programme(
            session, workspace_id=WORKSPACE, period=periods.Period.MONTH, since=today
        )
    assert found is not None
    assert found[1].members_unique == 4 and found[1].stories_by_kind["realised"].count == 1
