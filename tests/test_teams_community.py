"""Microsoft Teams communities, people and activity (issue 17, points 3 and 4), through the real
bot over HTTP and the Teams emulator: a team's roster becomes people, a team's channel becomes a
community with the team's members, members come and go, channels and teams are deleted or
archived, and channel messages, thread replies and reactions are counted into the same KPIs as
Slack's — each once, the bot's own not at all, never their text."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bot import communities, disclosure, kpis, periods
from bot.config import load_settings
from bot.models import (
    ActivityDaily,
    Base,
    ChannelStatus,
    Community,
    Membership,
    Outbox,
    Person,
    TeamsConversation,
    utcnow,
)
from bot.slack.emulator import SlackEmulator
from bot.teams.emulator import CHANNEL, TeamsEmulator
from bot.teams.emulator.server import TEAM
from tests.conftest import TeamsBot, both_env, eventually, make_config, running_bot, teams_env
from tests.test_cli import run_cop

TEAMS_MANAGER = "29:1emu-user-1"  # Camille Martin, the emulator's first member
MANAGER_EMAIL = "camille@contoso.example"  # how app.yaml names her: Teams ids change per bot
TENANT = "72f988bf-0000-4000-8000-00000000c0b0"
CHECKOUT = Path(__file__).resolve().parent.parent  # app.yaml, for `cop privacy`


@pytest.fixture
async def cop(
    database_url: str, emulator: SlackEmulator, teams: TeamsEmulator
) -> AsyncIterator[TeamsBot]:
    """The real bot with Teams configured and Camille (Teams) a programme manager."""
    config = make_config(database_url, emulator, managers=["U0CAMILLE", MANAGER_EMAIL])
    settings = load_settings(both_env(database_url, emulator, teams))
    config = dataclasses.replace(config, settings=settings)
    async with running_bot(config, emulator) as bot:
        yield TeamsBot(bot, teams)


async def people_of(cop: TeamsBot) -> dict[str, Person]:
    async with cop.bot.sessions() as session:
        rows = await session.scalars(sa.select(Person).where(Person.workspace_id == TENANT))
        return {p.slack_user_id: p for p in rows}


async def community_of(cop: TeamsBot, channel: str = CHANNEL) -> Community | None:
    async with cop.bot.sessions() as session:
        return await communities.by_channel(session, workspace_id=TENANT, channel_id=channel)


async def members_of(cop: TeamsBot, community_id: int) -> set[str]:
    async with cop.bot.sessions() as session:
        rows = await communities.active_memberships(session, community_id=community_id)
        return {p.slack_user_id for _, p in rows}


async def stints(cop: TeamsBot, community_id: int, user_id: str) -> list[Membership]:
    async with cop.bot.sessions() as session:
        rows = await session.scalars(
            sa.select(Membership)
            .join(Person, Person.id == Membership.person_id)
            .where(Membership.community_id == community_id, Person.slack_user_id == user_id)
            .order_by(Membership.id)
        )
        return list(rows)


async def make_community(cop: TeamsBot, extra: int = 0) -> Community:
    """The bot added to the team (roster synced), then Data's channel made a community by the
    programme manager, in the channel."""
    teams = cop.teams
    teams.add_team(extra)
    assert await cop.send(teams.bot_added()) == 200
    await eventually(lambda: _count_people(cop, 5 + extra), timeout=15)
    create = teams.channel_post("communauté créer Data", mention=True)
    assert await cop.send(create) == 200
    await eventually(lambda: _replied(teams, "accueille désormais la communauté"), timeout=15)
    found = await community_of(cop)
    assert found is not None
    return found


async def _count_people(cop: TeamsBot, n: int) -> bool:
    return len([p for p in (await people_of(cop)).values() if p.name]) >= n


def _replied(teams: TeamsEmulator, words: str) -> bool:
    return any(words in str(a.get("text") or "") for c in teams.activities.values() for a in c)


async def test_the_roster_becomes_people_and_a_channel_a_community_with_its_members(
    cop: TeamsBot,
) -> None:
    teams = cop.teams
    community = await make_community(cop, extra=240)  # 245 people: two pages of the roster
    pages = [c for c in teams.calls if c.path.endswith("/pagedmembers")]
    assert len(pages) >= 4  # two pages when the bot joined, two more when Data was created
    known = await people_of(cop)
    assert known["29:1emu-member-240"].real_name == "Membre 240"
    assert known["29:1emu-member-240"].email == "membre.240@contoso.example"
    assert known["29:1emu-user-2"].name == "Alex Durand"
    # Camille wrote in French from Paris: her language and zone are known
    assert (known[TEAMS_MANAGER].locale, known[TEAMS_MANAGER].tz) == ("fr-FR", "Europe/Paris")
    assert f"28:{teams.app_id}" not in known  # the bot is nobody's member
    # the community's members are the team's, as `cop communities list` shows them
    assert len(await members_of(cop, community.id)) == 245
    async with cop.bot.sessions() as session:
        listed = await communities.listing(session, workspace_id=TENANT)
        reference = await session.get(TeamsConversation, (TENANT, CHANNEL))
    assert [(c.name, c.channel_id, c.members) for c in listed] == [("Data", CHANNEL, 245)]
    assert reference is not None and reference.team_id == TEAM
    assert reference.service_url == teams.service_url.rstrip("/")
    assert _replied(teams, "J'en connais les 245 membres")


async def test_an_install_without_conversation_update_still_reads_the_roster(
    cop: TeamsBot,
) -> None:
    """Installs through Graph or a policy may send only installationUpdate (README)."""
    teams = cop.teams
    teams.add_team(60)
    assert await cop.send(teams.installation_update("add")) == 200
    await eventually(lambda: _count_people(cop, 65), timeout=10)
    # the create command delivered twice makes one community and answers once
    create = teams.channel_post("communauté créer Data", mention=True)
    assert await cop.send(create) == 200
    assert await cop.send(create) == 200
    await eventually(lambda: _replied(teams, "J'en connais les 65 membres"), timeout=10)
    await asyncio.sleep(0.3)
    answers = [a for c in teams.activities.values() for a in c]
    assert len(answers) == 1, [a.get("text") for a in answers]


async def test_only_a_programme_manager_makes_a_community(cop: TeamsBot) -> None:
    teams = cop.teams
    teams.add_team()
    alex = teams.team_member(1)
    asked = teams.channel_post("community create Data", member=alex, mention=True, locale="en-US")
    assert await cop.send(asked) == 200
    await eventually(lambda: _replied(teams, "Only programme managers"), timeout=10)
    assert await community_of(cop) is None
    # in a 1:1 chat there is no channel to make a community of
    assert await cop.send(teams.message("communauté créer Data")) == 200
    await eventually(lambda: _replied(teams, "se crée dans le canal d'une équipe"))


async def test_members_added_and_removed_open_and_close_stints_once(cop: TeamsBot) -> None:
    teams = cop.teams
    community = await make_community(cop)
    newcomer = teams.add_person("Léa Nouvelle", 9)  # of the tenant, not in the team yet
    added = teams.members_added([newcomer])
    assert await cop.send(added) == 200
    assert await cop.send(added) == 200  # Teams redelivers: one stint still
    await eventually(lambda: _is_member(cop, community.id, newcomer.id))
    assert len(await stints(cop, community.id, newcomer.id)) == 1
    # her name asked of Teams (the event carries her id only), and her welcome owed, once
    await eventually(lambda: _welcomes(cop, newcomer.id, 1), timeout=10)
    assert (await people_of(cop))[newcomer.id].real_name == "Léa Nouvelle"
    removed = teams.members_removed([newcomer])
    assert await cop.send(removed) == 200
    await eventually(lambda: _is_member(cop, community.id, newcomer.id, member=False))
    (stint,) = await stints(cop, community.id, newcomer.id)
    assert stint.left_at is not None and stint.source == "event"
    # back in the team: a new stint, the old one kept (history)
    assert await cop.send(teams.members_added([newcomer])) == 200
    await eventually(lambda: _is_member(cop, community.id, newcomer.id))
    assert len(await stints(cop, community.id, newcomer.id)) == 2


async def _welcomes(cop: TeamsBot, user: str, n: int) -> bool:
    async with cop.bot.sessions() as session:
        found = await session.scalar(
            sa.select(sa.func.count(Outbox.id))
            .join(Person, Person.id == Outbox.person_id)
            .where(Person.slack_user_id == user, Outbox.kind.like("%welcome%"))
        )
    return found == n


async def _is_member(cop: TeamsBot, community_id: int, user: str, *, member: bool = True) -> bool:
    return (user in await members_of(cop, community_id)) == member


async def test_channel_and_team_events_mark_the_community(cop: TeamsBot) -> None:
    teams = cop.teams
    community = await make_community(cop)

    async def status() -> ChannelStatus:
        found = await community_of(cop)
        assert found is not None
        return found.channel_status

    async def becomes(wanted: ChannelStatus) -> None:
        await eventually(lambda: _status_is(status, wanted), timeout=10)

    assert await cop.send(teams.channel_event("channelRenamed", name="Data & IA")) == 200
    assert await cop.send(teams.channel_event("channelDeleted", name="Data & IA")) == 200
    await becomes(ChannelStatus.GONE)
    await eventually(lambda: _reference_named(cop, CHANNEL, "Data & IA"))
    assert (await community_of(cop)).name == "Data"  # type: ignore[union-attr]
    # a team unarchived does not bring back a channel deleted before
    assert await cop.send(teams.team_event("teamUnarchived")) == 200
    assert await cop.send(teams.channel_event("channelRestored")) == 200
    await becomes(ChannelStatus.OK)
    assert await cop.send(teams.team_event("teamArchived")) == 200
    await becomes(ChannelStatus.ARCHIVED)
    assert await cop.send(teams.team_event("teamUnarchived")) == 200
    await becomes(ChannelStatus.OK)
    # a channel created in the team is known to be the team's
    other = "19:emu-autre@thread.tacv2"
    assert await cop.send(teams.channel_event("channelCreated", channel=other, name="Autre")) == 200
    await eventually(lambda: _reference(cop, other))
    assert community.id == (await community_of(cop)).id  # type: ignore[union-attr]


async def _reference_named(cop: TeamsBot, conversation: str, name: str) -> bool:
    async with cop.bot.sessions() as session:
        found = await session.get(TeamsConversation, (TENANT, conversation))
    return found is not None and found.name == name


async def _status_is(status: Any, wanted: ChannelStatus) -> bool:
    return bool(await status() == wanted)


async def _reference(cop: TeamsBot, conversation: str) -> bool:
    async with cop.bot.sessions() as session:
        found = await session.get(TeamsConversation, (TENANT, conversation))
    return found is not None and found.team_id == TEAM


async def test_locale_and_time_zone_follow_what_teams_reports(cop: TeamsBot) -> None:
    teams = cop.teams
    await make_community(cop)
    sam = teams.team_member(2)
    post = teams.channel_post("Hello", member=sam, locale="en-US", timezone="America/New_York")
    assert await cop.send(post) == 200
    await eventually(lambda: _locale_is(cop, sam.id, "en-US"))
    before = (await people_of(cop))[sam.id]
    assert before.tz == "America/New_York" and before.email == "sam@contoso.example"
    # the same details again: nothing written (the row is not touched)
    for _ in range(3):
        again = teams.channel_post("Again", member=sam, locale="en-US", timezone="America/New_York")
        assert await cop.send(again) == 200
    await asyncio.sleep(0.3)
    assert (await people_of(cop))[sam.id].updated_at == before.updated_at
    # Sam moves to Paris and switches Teams to French
    moved = teams.channel_post("Bonjour", member=sam, locale="fr-FR", timezone="Europe/Paris")
    assert await cop.send(moved) == 200
    await eventually(lambda: _locale_is(cop, sam.id, "fr-FR"))
    assert (await people_of(cop))[sam.id].tz == "Europe/Paris"
    # in the 1:1 chat: the bot learns where to write to Sam
    personal = teams.message("aide", member=sam, locale="fr-FR")
    assert await cop.send(personal) == 200
    await eventually(lambda: _dm_is(cop, sam.id, personal["conversation"]["id"]))


async def _locale_is(cop: TeamsBot, user: str, locale: str) -> bool:
    found = (await people_of(cop)).get(user)
    return found is not None and found.locale == locale


async def _dm_is(cop: TeamsBot, user: str, conversation: str) -> bool:
    found = (await people_of(cop)).get(user)
    return found is not None and found.dm_channel_id == conversation


SENTENCE = "Notre retour d'expérience sur le projet Lumière est confidentiel"


async def test_messages_replies_and_reactions_counted_once_never_their_text(
    cop: TeamsBot,
) -> None:
    teams = cop.teams
    community = await make_community(cop)  # Camille's command: to the bot, not counted
    members = [teams.team_member(i) for i in range(5)]
    posts = [teams.channel_post(f"{SENTENCE} ({i})", member=members[i % 5]) for i in range(20)]
    replies = [
        teams.thread_reply(f"{SENTENCE} — réponse {i}", posts[i]["id"], member=members[(i + 1) % 5])
        for i in range(5)
    ]
    bot_card = "1700000000000"  # the bot's own post: Teams sends reactions on those only
    reactions = [teams.reaction(bot_card, member=members[i]) for i in range(3)]
    taken_back = teams.reaction(bot_card, member=members[0], added=False)
    ours = teams.channel_post("Annonce du robot")
    ours["from"] = {"id": f"28:{teams.app_id}", "name": "cop"}
    for activity in [*posts, *replies, *reactions, taken_back, ours, teams.bot_post("robot")]:
        assert await cop.send(activity) == 200
    for activity in [*posts[:7], *replies[:2], reactions[0]]:  # redelivered: counted once
        assert await cop.send(activity) == 200

    async def counted() -> tuple[int, int, int]:
        today = utcnow().date()
        window = periods.Window(today - timedelta(days=1), today + timedelta(days=1))
        async with cop.bot.sessions() as session:
            report = await kpis.compute(
                session,
                workspace_id=TENANT,
                window=window,
                rule=disclosure.Rule(min_answers=5),
                community_ids=[community.id],
            )
        (data,) = report.communities
        return data.messages, data.replies, data.reactions

    seen: list[tuple[int, int, int]] = []

    async def as_wanted() -> bool:
        seen.append(await counted())
        return seen[-1] == (20, 5, 3)

    try:
        await eventually(as_wanted, timeout=30)
    except AssertionError:
        raise AssertionError(f"counted {seen[-1]}, not (20, 5, 3)") from None
    await asyncio.sleep(0.3)  # whatever would count twice has had time to
    assert await counted() == (20, 5, 3)
    # nowhere in the database
    assert await _anywhere(cop, "Lumière") == []


async def _anywhere(cop: TeamsBot, needle: str) -> list[str]:
    """Every table's rows, as text, searched for the needle."""
    found = []
    async with cop.bot.sessions() as session:
        for table in Base.metadata.sorted_tables:
            for row in await session.execute(sa.select(table)):
                if needle in repr(tuple(row)):
                    found.append(table.name)
    return found


@pytest.mark.parametrize("n", [300])
async def test_measure_activities_per_second_with_who_and_where(cop: TeamsBot, n: int) -> None:
    """A rough figure: channel posts (the `before` listener, then counting) against `@cop aide`
    in the 1:1 (the `before` listener, then a card sent back through the Connector)."""
    teams = cop.teams
    await make_community(cop)
    members = [teams.team_member(i) for i in range(5)]

    async def rate(activities: list[dict[str, Any]]) -> float:
        gate = asyncio.Semaphore(16)

        async def one(activity: dict[str, Any]) -> None:
            async with gate:
                assert await cop.send(activity) == 200

        started = time.perf_counter()
        await asyncio.gather(*(one(a) for a in activities))
        return len(activities) / (time.perf_counter() - started)

    posts = [teams.channel_post(f"post {i}", member=members[i % 5]) for i in range(n)]
    helps = [teams.message("aide") for _ in range(n // 10)]
    started = time.perf_counter()
    posts_rate = await rate(posts)
    community = await community_of(cop)
    assert community is not None

    totals: list[Any] = []

    async def all_counted() -> bool:
        async with cop.bot.sessions() as session:
            totals.append(
                await session.scalar(
                    sa.select(sa.func.sum(ActivityDaily.messages)).where(
                        ActivityDaily.community_id == community.id
                    )
                )
            )
        return totals[-1] == n

    try:
        await eventually(all_counted, timeout=30)
    except AssertionError:
        raise AssertionError(f"counted {totals[-1]} of {n}") from None
    counted_rate = n / (time.perf_counter() - started)
    help_rate = await rate(helps)
    print(
        f"\nTeams edge: {posts_rate:.0f} channel posts/s accepted, {counted_rate:.0f}/s counted "
        f"end to end; {help_rate:.0f} '@cop aide'/s accepted"
    )
    assert counted_rate > 5  # a figure to read (-s), not a benchmark: the machine is shared


async def test_cop_communities_import_takes_teams_channels_with_their_members(
    cop: TeamsBot, tmp_path: Path, database_url: str
) -> None:
    """The operator's path, as for Slack: a CSV naming the team's channel by its Teams id; the
    members come from the team's roster (the bot has seen the channel); a Slack channel in this
    Teams workspace is refused by its line."""
    teams = cop.teams
    teams.add_team(3)
    assert await cop.send(teams.bot_added()) == 200
    assert await cop.send(teams.channel_post("Bonjour à tous", member=teams.team_member(4))) == 200
    await eventually(lambda: _reference(cop, CHANNEL))
    unseen = "19:emu-pas-encore-vu@thread.tacv2"
    csv_path = tmp_path / "programme.csv"
    csv_path.write_text(
        "name;channel_id;kind;language;leaders;sponsor\n"
        f"Data;{CHANNEL};piloted;fr;{TEAMS_MANAGER};\n"
        f"Agilité;{unseen};;;;\n"
        "Sécurité;C0SECU;;;;\n",
        encoding="utf-8",
    )
    env = {"COP_DATABASE_URL": database_url, **teams_env(teams)}
    args = ("communities", "import", str(csv_path), "--workspace", TENANT)
    refused = await asyncio.to_thread(run_cop, *args, env=env, cwd=tmp_path)
    assert refused.returncode == 1
    assert "line 4: channel_id C0SECU is not a Microsoft Teams channel" in refused.stderr
    assert await community_of(cop) is None  # nothing imported without --partial
    done = await asyncio.to_thread(run_cop, *args, "--partial", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"{CHANNEL}: 8 members" in done.stdout
    assert f"{unseen}: not seen by the bot yet" in done.stdout
    assert "2 created, 0 updated, 1 line(s) skipped" in done.stdout
    community = await community_of(cop)
    assert community is not None
    assert len(await members_of(cop, community.id)) == 8
    async with cop.bot.sessions() as session:
        role = await communities.current_role(
            session, workspace_id=TENANT, community_id=community.id, slack_user_id=TEAMS_MANAGER
        )
    assert role == "leader"
    # the unseen channel's first message brings its team's members
    other = await community_of(cop, unseen)
    assert other is not None and await members_of(cop, other.id) == set()
    first = teams.channel_post("Premier message")
    first["conversation"]["id"] = f"{unseen};messageid={first['id']}"
    first["channelData"]["channel"] = {"id": unseen, "name": "Agilité"}
    teams.conversations[first["conversation"]["id"]] = teams.conversations[CHANNEL]
    assert await cop.send(first) == 200
    await eventually(lambda: _members_count(cop, other.id, 8), timeout=10)


async def _members_count(cop: TeamsBot, community_id: int, n: int) -> bool:
    return len(await members_of(cop, community_id)) == n


async def test_a_teams_person_erased_leaves_no_id_no_email_no_chat(
    cop: TeamsBot, database_url: str
) -> None:
    """`cop privacy erase 29:…`: the Teams id, the e-mail the roster gave and the 1:1 chat's
    reference are nowhere afterwards; the community's counts stay."""
    teams = cop.teams
    community = await make_community(cop)
    sam = teams.team_member(2)
    assert await cop.send(teams.channel_post("Bonjour", member=sam)) == 200
    personal = teams.message("aide", member=sam)
    assert await cop.send(personal) == 200
    await eventually(lambda: _dm_is(cop, sam.id, personal["conversation"]["id"]))
    assert await _anywhere(cop, sam.id)
    env = {"COP_DATABASE_URL": database_url, "COP_LOG_LEVEL": "WARNING"}
    erased = await asyncio.to_thread(
        run_cop, "privacy", "erase", sam.id, "--yes", "--workspace", TENANT, env=env, cwd=CHECKOUT
    )
    assert erased.returncode == 0, erased.stderr
    for trace in (sam.id, sam.email, personal["conversation"]["id"]):
        assert await _anywhere(cop, trace) == [], trace
    assert len(await members_of(cop, community.id)) == 5  # a member still counted, as nobody
