"""The rituals on Microsoft Teams, through the real outbox drain and scheduler: the welcome as a
proactive card in a 1:1 chat the bot opens, the pulse poll by card with Action.Execute buttons, a
webinar reminder in the channel, quiet hours in the person's zone, a person who blocked the bot,
a 429 waited out — and every card accepted by the emulator (Adaptive Card 1.5)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from bot import communities, installation, roster
from bot import messages as m
from bot.config import QuietHours
from bot.models import (
    ChannelStatus,
    CharterVersion,
    Community,
    Outbox,
    OutboxStatus,
    Person,
    Ritual,
    TeamsConversation,
)
from bot.ports import DeliveryError
from bot.teams import conversations
from bot.teams.emulator import CHANNEL, PERSONAL, TeamsEmulator
from bot.teams.emulator.server import TEAM
from rituals import reminders, scheduler, welcome
from rituals.outbox import Drain, enqueue
from rituals.outbox.quiet_hours import next_allowed
from tests import factories
from tests.conftest import TeamsBot
from tests.teams_data import (
    ALEX,
    CAMILLE,
    LOU,
    NOA,
    SAM,
    SPOKEN,
    composed_deps,
    dm_of,
    event_going,
    spoken_community,
)


def _message(user: str) -> m.Message:
    return welcome.welcome_message(
        user_id=user,
        community="Data Science",
        channel_id=CHANNEL,
        mission=None,
        leaders=[CAMILLE],
        next_event=None,
        in_channel=False,
    )


async def _rows(tb: TeamsBot) -> dict[str, tuple[OutboxStatus, str | None]]:
    async with tb.bot.sessions() as session:
        rows = await session.execute(
            sa.select(Outbox.idempotency_key, Outbox.status, Outbox.last_error)
        )
        return {key: (status, error) for key, status, error in rows}


def _texts(card: dict) -> str:
    return " ".join(str(b.get("text", "")) for b in card["body"] if b.get("type") == "TextBlock")


def _refused(teams: TeamsEmulator) -> list:
    """Cards Teams would not render: the emulator answers them 400."""
    return [c for c in teams.calls if c.status == 400]


async def test_a_newcomer_gets_the_welcome_as_a_card_in_a_1to1_chat_the_bot_opens(
    teams_bot: TeamsBot,
) -> None:
    tb, teams = teams_bot, teams_bot.teams
    community_id = await spoken_community(tb)
    async with tb.bot.sessions.begin() as session:
        session.add(
            CharterVersion(
                workspace_id=teams.tenant_id,
                community_id=community_id,
                version=1,
                mission="Partager nos pratiques de data science",
            )
        )
    async with composed_deps(tb) as deps:
        async with tb.bot.sessions.begin() as session:
            community = await session.get(Community, community_id)
            assert community is not None
            joined = await communities.member_joined(
                session, community=community, slack_user_id=NOA
            )
        # the name comes from Teams (GET …/members/{id} in the team), as a join does on Slack
        with installation.speaking_in(teams.tenant_id):
            await roster.refresh_people(deps.sessions, deps.directory, teams.tenant_id, [NOA])
        assert await welcome.on_join(deps, community_id=community_id, joined=joined) == "welcomed"
        await Drain(deps).run_once()
    dm = await dm_of(tb, NOA)
    assert dm is not None and dm.startswith("a:")  # a 1:1 chat the bot opened itself
    created = [c for c in teams.calls if c.method == "POST" and c.path == "/v3/conversations"]
    assert [c.body["members"] for c in created] == [[{"id": NOA}]]
    assert created[0].body["tenantId"] == teams.tenant_id
    (card,) = teams.cards(dm)
    assert "Data Science" in _texts(card) and "Partager nos pratiques" in _texts(card)
    # the newcomer (and the leaders) mentioned by the names Teams gave, backed by entities
    assert "Bienvenue <at>Noa Robert</at>" in _texts(card)
    mentioned = {e["text"]: e["mentioned"]["id"] for e in card["msteams"]["entities"]}
    assert mentioned["<at>Noa Robert</at>"] == NOA
    async with tb.bot.sessions() as session:
        noa = await session.scalar(sa.select(Person).where(Person.slack_user_id == NOA))
        ref = await conversations.personal(session, workspace_id=teams.tenant_id, user_id=NOA)
    assert noa is not None and noa.real_name == "Noa Robert"
    assert ref is not None and ref.conversation_id == dm  # the reference is kept for next time
    assert not _refused(teams)


async def test_the_pulse_poll_reaches_each_member_as_a_card_with_buttons(
    teams_bot: TeamsBot,
) -> None:
    tb, teams = teams_bot, teams_bot.teams
    community_id = await spoken_community(tb)
    async with composed_deps(tb) as deps:
        await scheduler.run_now(deps, ritual=Ritual.PULSE, community_id=community_id)
        await Drain(deps).run_once()
    camille, alex = await dm_of(tb, CAMILLE), await dm_of(tb, ALEX)
    assert camille == PERSONAL  # her 1:1 was known: no new chat opened for her
    assert alex is not None and alex != PERSONAL
    for dm in (camille, alex):
        (card,) = teams.cards(dm)
        actions = [a for b in card["body"] if b.get("type") == "ActionSet" for a in b["actions"]]
        assert actions and all(a["type"] == "Action.Execute" and a["verb"] for a in actions)
        assert all(a["data"]["cop"] == a["verb"] for a in actions)
    assert "Data Science" in _texts(teams.cards(camille)[0])
    assert "Would you recommend" in str(teams.cards(alex)[0])  # in Alex's language
    created = [c for c in teams.calls if c.path == "/v3/conversations" and c.status == 201]
    assert len(created) == 3  # Alex, Sam, Lou
    assert not _refused(teams)


async def test_a_webinar_reminder_is_posted_in_the_channel_and_to_those_going(
    teams_bot: TeamsBot,
) -> None:
    tb, teams = teams_bot, teams_bot.teams
    community_id = await spoken_community(tb)
    event = await event_going(
        tb,
        community_id,
        title="Webinaire IA générative",
        going=ALEX,
        link="https://meet.example.com/ia",
    )
    starts = event.starts_at
    async with composed_deps(tb) as deps:
        assert await reminders.plan(deps, now=starts - timedelta(hours=23)) == 2
        await Drain(deps).run_once()
    (posted,) = teams.activities[CHANNEL]
    assert "Webinaire IA générative" in _texts(posted["attachments"][0]["content"])
    assert "https://meet.example.com/ia" in str(posted)
    alex_dm = await dm_of(tb, ALEX)
    assert alex_dm is not None
    assert "Reminder" in str(teams.activities[alex_dm][-1]["summary"])  # in English
    assert "Webinaire IA générative" in str(teams.cards(alex_dm)[-1])
    assert {status for status, _ in (await _rows(tb)).values()} == {OutboxStatus.SENT}
    assert not _refused(teams)


async def test_a_ritual_dm_waits_for_working_hours_in_the_person_zone(
    teams_bot: TeamsBot,
) -> None:
    tb, teams = teams_bot, teams_bot.teams
    now = datetime.now(UTC)
    quiet = QuietHours()
    candidates = ["Asia/Tokyo", "Pacific/Kiritimati", "Pacific/Pago_Pago", "Europe/Paris"]
    candidates += ["America/Los_Angeles", "Asia/Kolkata", "America/Sao_Paulo"]
    asleep = next(
        z
        for z in candidates
        if next_allowed(now, tz=z, quiet=quiet, default_tz=z) > now + timedelta(hours=1)
    )
    awake = next(
        (z for z in candidates if next_allowed(now, tz=z, quiet=quiet, default_tz=z) <= now), None
    )
    community_id = await spoken_community(
        tb,
        members=(CAMILLE, ALEX, LOU),
        spoken={**SPOKEN, ALEX: ("en-US", asleep), LOU: ("en-GB", awake or asleep)},
    )
    async with composed_deps(tb, quiet_hours=True) as deps:
        async with tb.bot.sessions.begin() as session:
            ids = dict((await session.execute(sa.select(Person.slack_user_id, Person.id))).all())
            for user in (ALEX, LOU):
                await enqueue(
                    session,
                    workspace_id=teams.tenant_id,
                    key=f"welcome-{user}",
                    kind="welcome",
                    message=_message(user),
                    reader=m.Reader("en"),
                    person_id=ids[user],
                    community_id=community_id,
                )
        await Drain(deps).run_once()
    async with tb.bot.sessions() as session:
        held = await session.scalar(
            sa.select(Outbox).where(Outbox.idempotency_key == f"welcome-{ALEX}")
        )
    assert held is not None and held.status == OutboxStatus.PENDING
    opens = next_allowed(now, tz=asleep, quiet=quiet, default_tz=asleep)
    assert abs((held.next_attempt_at.replace(tzinfo=UTC) - opens).total_seconds()) < 60
    assert await dm_of(tb, ALEX) is None  # nothing reached Alex: not even a chat opened
    if awake is not None:  # someone in working hours right now gets theirs at once
        lou = await dm_of(tb, LOU)
        assert lou is not None and len(teams.cards(lou)) == 1
    # when Alex's working day opens, the drain sends it: once, in a 1:1 chat it opens then
    async with composed_deps(tb, quiet_hours=True) as deps:
        await Drain(deps).run_once(now=opens + timedelta(minutes=1))
        await Drain(deps).run_once(now=opens + timedelta(minutes=2))
    alex = await dm_of(tb, ALEX)
    assert alex is not None and len(teams.cards(alex)) == 1
    assert not _refused(teams)


async def test_a_person_who_blocked_the_bot_is_recorded_and_the_others_get_theirs(
    teams_bot: TeamsBot,
) -> None:
    tb, teams = teams_bot, teams_bot.teams
    community_id = await spoken_community(tb)
    teams.blocked.add(SAM)
    async with composed_deps(tb) as deps:
        await scheduler.run_now(deps, ritual=Ritual.PULSE, community_id=community_id)
        await Drain(deps).run_once()
    rows = await _rows(tb)
    failed = {key: error for key, (status, error) in rows.items() if status == OutboxStatus.FAILED}
    assert list(failed.values()) == ["blocked_bot"]
    assert sum(status == OutboxStatus.SENT for status, _ in rows.values()) == 3
    async with tb.bot.sessions() as session:
        sam = await session.scalar(sa.select(Person).where(Person.slack_user_id == SAM))
    assert sam is not None and sam.unreachable_reason == "blocked_bot"
    assert sam.dm_channel_id is None
    for user in (CAMILLE, ALEX, LOU):
        dm = await dm_of(tb, user)
        assert dm is not None and len(teams.cards(dm)) == 1
    assert [c.status for c in teams.calls if c.status == 403] == [403]  # asked once, not retried
    assert not _refused(teams)


async def test_a_429_is_waited_out_and_the_message_delivered_once(teams_bot: TeamsBot) -> None:
    tb, teams = teams_bot, teams_bot.teams
    community_id = await spoken_community(tb, members=(CAMILLE,))
    async with tb.bot.sessions.begin() as session:
        await enqueue(
            session,
            workspace_id=teams.tenant_id,
            key="channel-news",
            kind="test",
            message=_message(CAMILLE),
            reader=m.Reader("fr", "Europe/Paris"),
            channel_id=CHANNEL,
            community_id=community_id,
        )
    teams.faults.append((429, 1.5))
    started = time.monotonic()
    async with composed_deps(tb) as deps:
        drain = Drain(deps)
        await drain.run_once()
    waited = time.monotonic() - started
    assert len(teams.activities[CHANNEL]) == 1
    assert [c.status for c in teams.calls if "/activities" in c.path] == [429, 201]
    assert waited >= 1.5  # Teams' Retry-After, honoured
    assert drain.stats.sent == 1 and drain.stats.retried == 0
    assert (await _rows(tb))["channel-news"][0] == OutboxStatus.SENT
    assert not _refused(teams)


async def test_the_directory_reads_the_team_roster_and_one_member(teams_bot: TeamsBot) -> None:
    tb, teams = teams_bot, teams_bot.teams
    await spoken_community(tb)
    async with composed_deps(tb) as deps, tb.bot.sessions() as session:
        with installation.speaking_in(teams.tenant_id):
            members = await deps.directory.channel_members(CHANNEL)
            lou = await deps.directory.user(LOU)
            stranger = await deps.directory.user("29:1emu-user-99")
            channel = await deps.directory.channel(CHANNEL)
            named = await deps.directory.channel_named("Data")
            assert await deps.directory.token_workspace() == teams.tenant_id
        ref = await session.get(TeamsConversation, (teams.tenant_id, CHANNEL))
    assert members == [m.id for m in teams.members]
    assert any(c.path.endswith(f"{TEAM}/pagedmembers") for c in teams.calls)  # the team's roster
    assert lou is not None and lou.real_name == "Lou Petit"
    assert stranger is None
    assert channel is not None and channel.name == "Data" == (named.name if named else None)
    assert ref is not None and ref.team_id == TEAM


async def test_slack_and_teams_rows_each_reach_their_own_platform_in_one_drain(
    teams_bot: TeamsBot,
) -> None:
    tb, teams = teams_bot, teams_bot.teams
    teams_community = await spoken_community(tb, members=(CAMILLE,))
    slack_community = await factories.community(tb.bot.sessions, emulator=tb.bot.emulator)
    async with tb.bot.sessions.begin() as session:
        for workspace, channel, community in (
            (teams.tenant_id, CHANNEL, teams_community),
            (factories.WORKSPACE, "C0DATA", slack_community.id),
        ):
            await enqueue(
                session,
                workspace_id=workspace,
                key=f"news-{workspace}",
                kind="test",
                message=_message(CAMILLE),
                reader=m.Reader("fr", "Europe/Paris"),
                channel_id=channel,
                community_id=community,
            )
    async with composed_deps(tb) as deps:
        await Drain(deps).run_once()
    assert len(teams.activities[CHANNEL]) == 1
    assert len(tb.bot.emulator.messages["C0DATA"]) == 1
    assert "Bienvenue" in tb.bot.emulator.messages["C0DATA"][0]["text"]  # Slack's own form
    # the card alone (Teams splits text + card in two), its line in the notification's summary
    assert "Bienvenue" in teams.activities[CHANNEL][0]["summary"]


async def test_a_channel_gone_from_teams_marks_its_community_and_old_slack_rows_are_refused(
    teams_bot: TeamsBot,
) -> None:
    tb, teams = teams_bot, teams_bot.teams
    await spoken_community(tb)
    gone = await factories.community(
        tb.bot.sessions,
        channel="19:supprime@thread.tacv2",
        name="Agilité",
        members=(),
        workspace_id=teams.tenant_id,
    )
    async with tb.bot.sessions.begin() as session:
        sam = await session.scalar(sa.select(Person.id).where(Person.slack_user_id == SAM))
        await enqueue(
            session,
            workspace_id=teams.tenant_id,
            key="in-the-gone-channel",
            kind="test",
            message=_message(CAMILLE),
            reader=m.Reader("fr"),
            channel_id=gone.channel_id,
            community_id=gone.id,
        )
        # a row in Slack's own form (written before messages were neutral): nothing Teams shows
        await enqueue(
            session, workspace_id=teams.tenant_id, key="slack-form", kind="test", text="*hi*",
            person_id=sam,
        )  # fmt: skip
    async with composed_deps(tb) as deps:
        await Drain(deps).run_once()
    rows = await _rows(tb)
    assert rows["in-the-gone-channel"] == (OutboxStatus.FAILED, "channel_not_found")
    assert rows["slack-form"] == (OutboxStatus.FAILED, "slack_form_message")
    async with tb.bot.sessions() as session:
        community = await session.get(Community, gone.id)
        person = await session.get(Person, sam)
    assert community is not None and community.channel_status == ChannelStatus.GONE
    assert person is not None and person.unreachable_reason is None  # not Sam's doing
    assert not [c for c in teams.calls if c.path == "/v3/conversations"]  # no chat opened for it


async def test_the_connector_follows_microsofts_retry_rules(teams_bot: TeamsBot) -> None:
    tb, teams = teams_bot, teams_bot.teams
    await spoken_community(tb)
    async with composed_deps(tb) as deps:
        with installation.speaking_in(teams.tenant_id):
            assert await deps.directory.token_workspace() == teams.tenant_id  # a token
            issued = teams.tokens_issued
            teams.faults += [(503, None), (401, None)]  # backed off, then a new token
            assert len(await deps.directory.channel_members(CHANNEL)) == len(teams.members)
            assert teams.tokens_issued == issued + 1  # the refused token was forgotten
            teams.faults.append((404, None))  # no retry: a conversation gone stays gone
            with pytest.raises(DeliveryError) as gone:
                await deps.directory.channel_members(CHANNEL)
    assert gone.value.permanent and gone.value.reason == "channel_not_found"
    statuses = [c.status for c in teams.calls if c.path.endswith("/pagedmembers")]
    assert statuses == [503, 401, 200, 404]
