"""The programme registry end to end: /cop community create, /cop role, joins and leaves, CSV import."""

from __future__ import annotations

import sqlalchemy as sa

from bot import communities, csv_import
from bot.models import Community, Membership, Person, Role
from bot.slack.echo import say
from tests.catalogue import ANY, FR, shows
from tests.conftest import MANAGER, Bot, eventually


async def active_members(bot: Bot, channel: str) -> dict[str, Role]:
    async with bot.sessions() as session:
        rows = await session.execute(
            sa.select(Person.slack_user_id, Membership.role)
            .join(Membership, Membership.person_id == Person.id)
            .join(Community, Community.id == Membership.community_id)
            .where(Community.channel_id == channel, Membership.left_at.is_(None))
        )
        return dict(rows.all())


async def create(bot: Bot, channel: str, name: str, user: str = MANAGER) -> str:
    before = len(bot.emulator.responses)
    await bot.slack.command(f"community create {name}", user=user, channel=channel)
    replies = await eventually(lambda: bot.emulator.responses[before:])
    return str(replies[-1]["text"])


def test_slugs_come_from_names() -> None:
    assert communities.slugify("Data Science") == "data-science"
    assert communities.slugify("Agilité & Lean  ") == "agilite-lean"
    assert communities.slugify("!!!") == "community"


async def test_manager_creates_a_community_and_its_members_are_synced(bot: Bot) -> None:
    text = await create(bot, "C0DATA", "Data Science")
    assert shows(
        text, FR, "community.created", name="Data Science", slug="data-science", members=ANY
    )
    members = await active_members(bot, "C0DATA")
    # the channel's humans, not the bot itself
    assert set(members) == {"U0CAMILLE", "U0LUCAS", "U0CHLOE", "U0HUGO", "U0EMILY"}
    assert set(members.values()) == {Role.MEMBER}
    async with bot.sessions() as session:
        emily = await session.scalar(sa.select(Person).where(Person.slack_user_id == "U0EMILY"))
    assert emily is not None and emily.tz == "America/New_York" and emily.locale == "en-US"


async def test_a_second_community_with_the_same_name_gets_its_own_slug(bot: Bot) -> None:
    await create(bot, "C0DATA", "Data Science")
    text = await create(bot, "C0AGILE", "Data Science")
    assert shows(
        text, FR, "community.created", name="Data Science", slug="data-science-2", members=ANY
    )


async def test_a_channel_holds_one_community(bot: Bot) -> None:
    await create(bot, "C0DATA", "Data Science")
    text = await create(bot, "C0DATA", "Autre nom")
    assert FR("community.channel_taken", name="Data Science", slug="data-science") in text


async def test_only_managers_create_communities(bot: Bot) -> None:
    text = await create(bot, "C0DATA", "Data Science", user="U0LUCAS")
    assert FR("permission.create_community") in text
    async with bot.sessions() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(Community)) == 0


async def test_community_create_needs_a_name(bot: Bot) -> None:
    text = await create(bot, "C0DATA", "")
    assert FR("community.name_missing") in text


async def test_joins_and_leaves_keep_membership_history_and_count_once(bot: Bot) -> None:
    await create(bot, "C0DATA", "Data Science")
    await bot.slack.join(user="U0LEA", channel="C0DATA")
    event_id = bot.slack.last_event_id
    # Slack redelivers the same event: nothing changes
    await bot.slack.event(
        {"type": "member_joined_channel", "user": "U0LEA", "channel": "C0DATA", "team": "T0COP"},
        event_id=event_id,
        retry_num=1,
    )
    await eventually(lambda: _has_member(bot, "C0DATA", "U0LEA"))
    await bot.slack.leave(user="U0LEA", channel="C0DATA")
    await eventually(lambda: _not_member(bot, "C0DATA", "U0LEA"))
    await bot.slack.join(user="U0LEA", channel="C0DATA")
    await eventually(lambda: _has_member(bot, "C0DATA", "U0LEA"))
    async with bot.sessions() as session:
        stints = (
            await session.execute(
                sa.select(Membership.joined_at, Membership.left_at)
                .join(Person, Person.id == Membership.person_id)
                .where(Person.slack_user_id == "U0LEA")
                .order_by(Membership.id)
            )
        ).all()
    assert len(stints) == 2
    assert stints[0].left_at is not None and stints[1].left_at is None


async def _has_member(bot: Bot, channel: str, user: str) -> bool:
    return user in await active_members(bot, channel)


async def _not_member(bot: Bot, channel: str, user: str) -> bool:
    return user not in await active_members(bot, channel)


async def test_events_for_channels_that_are_not_communities_are_ignored(bot: Bot) -> None:
    await bot.slack.join(user="U0LEA", channel="C0SEC")
    await eventually(
        lambda: (
            bot.deps.metrics.slack_events.labels(
                type="member_joined_channel", result="ignored"
            )._value.get()
            == 1
        )
    )
    async with bot.sessions() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(Membership)) == 0


async def test_leader_gives_roles_in_own_community_only(bot: Bot) -> None:
    await create(bot, "C0DATA", "Data Science")
    await create(bot, "C0AGILE", "Agilité")
    before = len(bot.emulator.responses)
    await bot.slack.command("role <@U0LUCAS|lucas> leader", user=MANAGER, channel="C0DATA")
    # Lucas gives roles once he is a leader (the role is set after Slack confirmed who he is)
    await eventually(lambda: len(bot.emulator.responses) > before)
    await bot.slack.command("rôle <@U0CHLOE> noyau", user="U0LUCAS", channel="C0DATA")
    await bot.slack.command("role <@U0LEA> core", user="U0LUCAS", channel="C0AGILE")
    replies = await eventually(
        lambda: len(bot.emulator.responses) >= before + 3 and bot.emulator.responses[before:]
    )
    texts = [r["text"] for r in replies]
    leader, core = FR("role.leader"), FR("role.core_team")
    assert FR("role.set", user="<@U0LUCAS>", role=leader, community="Data Science") in texts
    assert FR("role.set", user="<@U0CHLOE>", role=core, community="Data Science") in texts
    assert FR("permission.set_role") in texts  # Lucas leads Data Science, not Agilité
    assert (await active_members(bot, "C0DATA"))["U0CHLOE"] == Role.CORE_TEAM
    assert (await active_members(bot, "C0AGILE")).get("U0LEA") == Role.MEMBER


async def test_role_outside_a_community_channel_says_so(bot: Bot) -> None:
    await bot.slack.command("role <@U0LUCAS> leader", user=MANAGER, channel="C0GEN")
    replies = await eventually(lambda: bot.emulator.responses)
    assert say(FR, "command.not_a_community") in replies[-1]["text"]  # `<nom>` escaped


async def test_archived_channel_makes_the_community_read_only(bot: Bot) -> None:
    await create(bot, "C0DATA", "Data Science")
    await bot.slack.event({"type": "channel_archive", "channel": "C0DATA", "user": MANAGER})

    async def archived() -> bool:
        async with bot.sessions() as session:
            c = await session.scalar(sa.select(Community).where(Community.channel_id == "C0DATA"))
            return c is not None and c.channel_status == "archived"

    await eventually(archived)
    before = len(bot.emulator.responses)
    await bot.slack.command("role <@U0LUCAS> leader", user=MANAGER, channel="C0DATA")
    replies = await eventually(lambda: bot.emulator.responses[before:])
    assert FR("command.community_archived", name="Data Science") in replies[-1]["text"]


CSV = """name,channel_id,kind,language,leaders,sponsor
Data Science,C0DATA,piloted,en,U0LUCAS;U0CHLOE,U0HUGO
Agilité,C0AGILE,spontaneous,,U0LEA,
,C0SEC,,,,
Bad,XYZ,often,de,nobody,
"""


def test_csv_parsing_reports_every_bad_line_with_its_number() -> None:
    rows, errors = csv_import.parse_csv(CSV)
    assert [r.name for r in rows] == ["Data Science", "Agilité"]
    assert rows[0].leaders == ("U0LUCAS", "U0CHLOE") and rows[0].sponsor == "U0HUGO"
    assert errors[0].startswith("line 4: name is empty")
    assert errors[1].startswith("line 5:")
    assert "not a Slack channel id" in errors[1] and "not spontaneous or piloted" in errors[1]
    assert "not fr or en" in errors[1] and "'nobody' is not a Slack user id" in errors[1]


def test_csv_without_required_columns_is_refused() -> None:
    rows, errors = csv_import.parse_csv("nom;canal\nA;C1\n")
    assert rows == [] and "missing column(s) name, channel_id" in errors[0]


async def test_csv_import_is_idempotent(sessions) -> None:  # type: ignore[no-untyped-def]
    rows, _ = csv_import.parse_csv(CSV)
    for _ in range(2):
        async with sessions.begin() as session:
            await csv_import.import_rows(session, workspace_id="T0COP", rows=rows)
    async with sessions() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(Community)) == 2
        leaders = await session.scalar(
            sa.select(sa.func.count()).select_from(Membership).where(Membership.role == Role.LEADER)
        )
        assert leaders == 3
        data = await session.scalar(sa.select(Community).where(Community.slug == "data-science"))
        assert data is not None and data.language == "en" and data.kind == "piloted"
