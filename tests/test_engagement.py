"""Engagement tiers: core / active / peripheral per period, retention, and who sees what.

A person's own tier shows to that person only (their App Home, `/cop me`); leaders, sponsors and
managers read counts and retention (`/cop health`, the leader's Home, the report). Poll answers
never count: a ballot is not linked to a person.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import activity, disclosure, engagement, figures, kpis
from bot.config import ConfigError, Engagement, load_programme
from bot.engagement import Participation, Tier, tier_of
from bot.models import (
    Event,
    EventAttendance,
    Membership,
    Person,
    StoryKind,
    StoryStatus,
    SuccessStory,
    utcnow,
)
from bot.periods import Period, Window
from bot.slack.emulator import SlackEmulator, default_workspace
from tests import factories
from tests.catalogue import EN, FR
from tests.conftest import Bot, command_answer, eventually
from tests.factories import WORKSPACE

EMU = SlackEmulator(default_workspace())  # only its seeded users are read; never started
RULE = Engagement()
LEADER, CHLOE, HUGO, EMILY = "U0LUCAS", "U0CHLOE", "U0HUGO", "U0EMILY"
NOVEMBER = Window(date(2026, 11, 1), date(2026, 12, 1), Period.MONTH, "Europe/Paris")


# --- the thresholds ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("done", "tier"),
    [
        (Participation(), Tier.PERIPHERAL),
        (Participation(reactions=1), Tier.ACTIVE),  # a reaction is enough to be active
        (Participation(messages=1, days=1), Tier.ACTIVE),
        (Participation(messages=9, days=4), Tier.ACTIVE),  # one contribution short of the core
        (Participation(messages=10, days=3), Tier.ACTIVE),  # one day short
        (Participation(messages=10, days=4), Tier.CORE),
        (Participation(messages=4, replies=4, events=1, stories=1, days=4), Tier.CORE),
        (Participation(reactions=50, days=20), Tier.ACTIVE),  # reactions are not contributions
        (Participation(events=1, stories=1), Tier.CORE),  # came, and shared what it brought
        (Participation(events=2), Tier.ACTIVE),
    ],
)
def test_tiers_at_their_boundaries(done: Participation, tier: Tier) -> None:
    assert tier_of(done, RULE) is tier


def test_thresholds_come_from_app_yaml() -> None:
    strict = Engagement(core_contributions=3, core_days=2, active_actions=2)
    assert tier_of(Participation(reactions=1), strict) is Tier.PERIPHERAL
    assert tier_of(Participation(reactions=2), strict) is Tier.ACTIVE
    assert tier_of(Participation(messages=3, days=2), strict) is Tier.CORE


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        (
            "engagement:\n  period: year\n",
            "engagement.period: Input should be 'week', 'month' or 'quarter', got 'year'",
        ),
        (
            "engagement:\n  core_contributions: 0\n",
            "engagement.core_contributions: Input should be greater than or equal to 1, got 0",
        ),
        (
            "engagement:\n  core_contributions: 2\n  active_actions: 3\n",
            "engagement: core_contributions (2) must be at least active_actions (3): the core "
            "is a part of the active members",
        ),
        (
            "engagement:\n  period: week\n  core_days: 8\n",
            "engagement: core_days (8) must fit in a week (at most 7 days)",
        ),
        ("engagement:\n  core: 5\n", "engagement.core: unknown field (check the spelling)"),
    ],
)
def test_bad_engagement_settings_are_named(tmp_path: Path, yaml_text: str, expected: str) -> None:
    path = tmp_path / "app.yaml"
    path.write_text("name: X\n" + yaml_text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_programme(path)
    assert expected in str(caught.value), str(caught.value)


def test_the_shipped_app_yaml_says_the_defaults() -> None:
    shipped = load_programme(Path(__file__).resolve().parent.parent / "app.yaml").engagement
    assert shipped == Engagement()


# --- counting, over a period in each community's zone -----------------------------------------


async def _ids(session: AsyncSession) -> dict[str, int]:
    return {
        uid: pid for pid, uid in await session.execute(sa.select(Person.id, Person.slack_user_id))
    }


async def _members_since(session: AsyncSession, when: datetime) -> None:
    """The seeded memberships, as if they began long ago (they are written today)."""
    await session.execute(sa.update(Membership).values(joined_at=when))


def _event(community_id: int, starts_at: datetime, title: str = "Atelier") -> Event:
    return Event(
        workspace_id=WORKSPACE,
        community_id=community_id,
        title=title,
        starts_at=starts_at,
        tz="UTC",
    )


def _story(community_id: int, author: int, at: datetime, **more: Any) -> SuccessStory:
    return SuccessStory(
        workspace_id=WORKSPACE,
        community_id=community_id,
        author_person_id=author,
        title="Un retour",
        created_at=at,
        **more,
    )


async def test_a_period_is_counted_in_each_communitys_own_zone(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # 31 October 12:00 UTC is already 1 November in Auckland, still 31 October in Paris
    auckland = await factories.community(
        sessions, emulator=EMU, channel="C0DATA", tz="Pacific/Auckland", members=(CHLOE,)
    )
    paris = await factories.community(
        sessions,
        emulator=EMU,
        channel="C0AGILE",
        name="Agilité",
        tz="Europe/Paris",
        members=(CHLOE,),
    )
    edge = datetime(2026, 10, 31, 12, 0, tzinfo=UTC)
    async with sessions.begin() as session:
        await _members_since(session, datetime(2026, 1, 1, tzinfo=UTC))
        chloe = (await _ids(session))[CHLOE]
        for community in (auckland, paris):
            event = _event(community.id, edge)
            session.add(event)
            await session.flush()
            session.add(EventAttendance(event_id=event.id, workspace_id=WORKSPACE, person_id=chloe))
            session.add(_story(community.id, chloe, edge))
    async with sessions() as session:
        done, members = await engagement.participation(
            session, communities=[auckland.id, paris.id], window=NOVEMBER, default_tz="UTC"
        )
    assert done[(auckland.id, chloe)] == Participation(events=1, stories=1)
    assert (paris.id, chloe) not in done  # October there
    assert members == {(auckland.id, chloe), (paris.id, chloe)}


async def test_counts_and_retention_through_the_kpis(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """October: Lucas, Chloé, Hugo active. November: Lucas core, Chloé active (a reaction),
    Hugo nothing, Emily (silent in October) came to an event; Léa left the community."""
    data = await factories.community(
        sessions, emulator=EMU, members=(LEADER, CHLOE, HUGO, EMILY, "U0LEA")
    )
    async with sessions.begin() as session:
        await _members_since(session, datetime(2026, 1, 1, tzinfo=UTC))
        ids = await _ids(session)
        await session.execute(
            sa.update(Membership)
            .where(Membership.person_id == ids["U0LEA"])
            .values(left_at=datetime(2026, 11, 20, tzinfo=UTC))
        )

        def on(day: date, uid: str, **counts: int) -> activity.Tally:
            return activity.Tally(data.id, uid, day, **counts)

        tallies = [on(date(2026, 10, 5), uid, messages=1) for uid in (LEADER, CHLOE, HUGO, "U0LEA")]
        tallies += [on(date(2026, 11, d), LEADER, messages=3) for d in (2, 9, 16, 23)]
        tallies += [on(date(2026, 11, 30), CHLOE, reactions=1)]
        tallies += [on(date(2026, 11, 3), "U0LEA", messages=5)]
        await activity.add(session, workspace_id=WORKSPACE, tallies=tallies)
        event = _event(data.id, datetime(2026, 11, 12, 17, tzinfo=UTC))
        session.add(event)
        await session.flush()
        session.add(
            EventAttendance(event_id=event.id, workspace_id=WORKSPACE, person_id=ids[EMILY])
        )
        # a rejected story is not participation
        session.add(
            _story(
                data.id, ids[HUGO], datetime(2026, 11, 5, tzinfo=UTC), status=StoryStatus.REJECTED
            )
        )
    async with sessions() as session:
        found = await kpis.compute(
            session,
            workspace_id=WORKSPACE,
            window=NOVEMBER,
            rule=disclosure.Rule(min_answers=5),
            engagement_rule=RULE,
            now=datetime(2026, 12, 1, 12, tzinfo=UTC),
        )
    k = found.communities[0]
    # members at the end of November: Lucas, Chloé, Hugo, Emily (Léa left)
    assert (k.engaged_core, k.engaged_active, k.engaged_peripheral) == (1, 2, 1)
    # active in October: Lucas, Chloé, Hugo, Léa; again in November: Lucas, Chloé
    assert (k.retained, k.retained_of) == (2, 4)
    assert figures.read("retention", k) == 0.5
    assert figures.read("engagement_tiers", k) == (1, 2, 1)
    assert found.programme.retention == 0.5
    assert figures.tiers(FR, k) == "1 au cœur · 2 actifs · 1 périphérique"
    assert figures.retention(FR, k) == FR(
        "engagement.retention", rate=FR.percent(0.5), retained="2", of="4"
    )
    assert figures.tiers(EN, k) == "1 core · 2 active · 1 peripheral"
    # a month still running is compared with the whole month before it
    async with sessions() as session:
        december = await engagement.counts(
            session,
            communities=[data.id],
            window=Window(date(2026, 12, 1), date(2026, 12, 2), Period.MONTH, "Europe/Paris"),
            rule=RULE,
            default_tz="Europe/Paris",
        )
    assert december[data.id].retained_of == 3  # Lucas, Chloé, Emily active in November
    assert december[data.id].retained == 0


# --- who sees what, over HTTP ----------------------------------------------------------------


async def home_of(bot: Bot, user: str) -> str:
    before = len(
        [c for c in bot.emulator.calls_to("views.publish") if c.params.get("user_id") == user]
    )
    await bot.slack.open_home(user=user)
    await bot.emulator.wait_for(
        "views.publish", lambda c: c.params.get("user_id") == user, count=before + 1
    )
    return json.dumps(bot.emulator.home_views[user]["blocks"], ensure_ascii=False)


async def _busy_month(bot: Bot) -> int:
    """Data Science today: Chloé wrote 12 messages and came to an event; Emily nothing yet."""
    data = await factories.community(
        bot.sessions, emulator=bot.emulator, leaders=(LEADER,), sponsor=HUGO
    )
    now = utcnow()
    today = now.astimezone(ZoneInfo("Europe/Paris")).date()
    async with bot.sessions.begin() as session:
        ids = await _ids(session)
        await activity.add(
            session,
            workspace_id=WORKSPACE,
            tallies=[activity.Tally(data.id, CHLOE, today, messages=12)],
        )
        event = _event(data.id, now - timedelta(minutes=1), "Café data")
        session.add(event)
        await session.flush()
        session.add(
            EventAttendance(event_id=event.id, workspace_id=WORKSPACE, person_id=ids[CHLOE])
        )
    return data.id


def _line(t: Any, tier: str, done: str, community: str = "Data Science") -> str:
    return t(
        "engagement.mine_line",
        community=community,
        period=t("engagement.period.month"),
        tier=t(f"engagement.tier.{tier}"),
        done=done,
    )


async def test_a_member_sees_their_own_tier_on_their_home_in_french(bot: Bot) -> None:
    await _busy_month(bot)
    home = await home_of(bot, CHLOE)
    assert _line(FR, "active", "12 messages, 1 jour actif, 1 événement") in home
    assert "Dans « Data Science » ce mois-ci : *membre actif* — 12 messages" in home
    assert FR("engagement.mine_note") in home
    # nobody else's line, and not the counts (she does not run the community)
    assert home.count("Dans «") == 1
    assert FR("figure.engagement_tiers") not in home


async def test_a_member_sees_their_own_tier_in_english_and_moves_up_by_taking_part(
    bot: Bot,
) -> None:
    await _busy_month(bot)
    home = await home_of(bot, EMILY)
    assert _line(EN, "peripheral", EN("engagement.mine_nothing")) in home
    assert "12 messages" not in home  # Chloé's counts are hers alone
    # one message in the channel, over HTTP, and Emily is an active member
    await bot.slack.message(user=EMILY, channel="C0DATA", text="Hello!")

    async def moved() -> bool:
        return _line(EN, "active", "1 message, 1 day active") in await home_of(bot, EMILY)

    await eventually(moved)


async def test_the_leader_sees_counts_and_retention_never_who(bot: Bot) -> None:
    await _busy_month(bot)
    home = await home_of(bot, LEADER)
    # Chloé: 13 contributions on one day, so active (the core needs 4 days); the rest silent
    counts = FR(
        "engagement.named_period",
        name=FR("figure.engagement_tiers"),
        period=FR("engagement.period.month"),
        value="0 au cœur · 1 actif · 4 périphériques",
    )
    assert counts in home
    assert (
        FR("engagement.named", name=FR("figure.retention"), value=FR("engagement.retention_none"))
        in home
    )
    assert "12 messages" not in home
    assert home.count("Dans «") == 1  # his own line only
    health = await command_answer(bot, "santé", user=LEADER, channel="C0DATA")
    text = json.dumps(health, ensure_ascii=False)
    assert "0 au cœur · 1 actif · 4 périphériques" in text
    assert FR("figure.retention") in text
    for name in ("Chloé", CHLOE, "Emily", EMILY):
        assert name not in text
    # the sponsor reads the same counts
    sponsor = json.dumps(
        await command_answer(bot, "santé", user=HUGO, channel="C0DATA"), ensure_ascii=False
    )
    assert "0 au cœur · 1 actif · 4 périphériques" in sponsor


async def test_nobody_gets_someone_elses_tier_by_any_command_or_payload(bot: Bot) -> None:
    await _busy_month(bot)
    chloes = "12 messages"
    for text in (f"moi <@{CHLOE}>", f"me {CHLOE}", "me chloe.dubois", f"moi <@{CHLOE}|chloe>"):
        answer = await command_answer(bot, text, user=LEADER, channel="C0DATA")
        assert answer["text"] == FR("engagement.only_yours")
        assert chloes not in json.dumps(answer, ensure_ascii=False)
    mine = json.dumps(
        await command_answer(bot, "moi", user=LEADER, channel="C0DATA"), ensure_ascii=False
    )
    assert _line(FR, "peripheral", FR("engagement.mine_nothing")) in mine
    assert chloes not in mine
    # in English, from a DM, the person's own line only
    emily = json.dumps(
        await command_answer(bot, "me", user=EMILY, channel=bot.emulator.dm_channel_for(EMILY)),
        ensure_ascii=False,
    )
    assert _line(EN, "peripheral", EN("engagement.mine_nothing")) in emily
    # Home views are only ever published to their owner: Chloé's counts go to Chloé alone
    await home_of(bot, CHLOE)
    await home_of(bot, LEADER)
    for call in bot.emulator.calls_to("views.publish"):
        if chloes in json.dumps(call.params, ensure_ascii=False):
            assert call.params.get("user_id") == CHLOE
    # a forged app_home_opened (bad signature) publishes nothing
    before = len(bot.emulator.calls_to("views.publish"))
    body = {
        "type": "event_callback",
        "event": {"type": "app_home_opened", "user": CHLOE, "tab": "home"},
    }
    async with httpx.AsyncClient() as client:
        forged = await client.post(
            f"{bot.url}/slack/events",
            json=body,
            headers={"x-slack-request-timestamp": "1", "x-slack-signature": "v0=forged"},
        )
    assert forged.status_code == 401
    assert len(bot.emulator.calls_to("views.publish")) == before


async def test_poll_answers_are_no_part_of_a_tier(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The tiers read activity, attendance and stories only: the ballots table has no person."""
    from bot.models import PollResponse

    assert "person_id" not in PollResponse.__table__.columns
    data = await factories.community(sessions, emulator=EMU, members=(CHLOE,))
    async with sessions() as session:
        done, members = await engagement.participation(
            session, communities=[data.id], window=NOVEMBER, default_tz="UTC"
        )
    assert not done
    del members
    assert StoryKind.TESTIMONIAL  # testimonials count as stories shared (kind is not filtered)


async def test_after_erasure_the_counts_stand_and_nobody_has_a_tier_to_see(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Erasure needs nothing new: the tombstone keeps member counts right and holds no tier
    anyone can read; its channel activity went into the anonymous totals."""
    from bot import privacy

    data = await factories.community(sessions, emulator=EMU, members=(LEADER, CHLOE))
    async with sessions.begin() as session:
        await _members_since(session, datetime(2026, 1, 1, tzinfo=UTC))
        await activity.add(
            session,
            workspace_id=WORKSPACE,
            tallies=[
                activity.Tally(data.id, CHLOE, date(2026, 11, d), messages=3)
                for d in (2, 9, 16, 23)
            ],
        )

    async def counts() -> engagement.Counts:
        async with sessions() as session:
            found = await engagement.counts(
                session,
                communities=[data.id],
                window=NOVEMBER,
                rule=RULE,
                default_tz="Europe/Paris",
            )
        return found[data.id]

    assert (await counts()).core == 1
    async with sessions.begin() as session:
        await privacy.erase(session, workspace_id=WORKSPACE, slack_user_id=CHLOE)
    after = await counts()
    assert (after.core, after.active, after.peripheral) == (0, 0, 2)  # still two members
    async with sessions() as session:
        mine = await engagement.mine_of(
            session,
            workspace_id=WORKSPACE,
            slack_user_id=CHLOE,
            rule=RULE,
            now=datetime(2026, 11, 30, tzinfo=UTC),
            default_tz="Europe/Paris",
        )
    assert mine == []
