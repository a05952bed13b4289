"""Who is who: the bot joining a channel is not a member joining; a person deactivated in Slack
loses every right, every count and every DM; `/cop role` names only people Slack knows, who are
human and in the channel. All through signed requests and the Slack emulator."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from bot.models import Community, Membership, Outbox, Person, Ritual
from rituals import scheduler
from rituals.outbox import Drain
from tests import factories
from tests.catalogue import ANY, EN, FR, shows
from tests.conftest import MANAGER, Bot, eventually

LUCAS, CHLOE, HUGO, EMILY = "U0LUCAS", "U0CHLOE", "U0HUGO", "U0EMILY"


async def members(bot: Bot, channel: str = "C0DATA") -> set[str]:
    async with bot.sessions() as session:
        rows = await session.scalars(
            sa.select(Person.slack_user_id)
            .join(Membership, Membership.person_id == Person.id)
            .join(Community, Community.id == Membership.community_id)
            .where(Community.channel_id == channel, Membership.left_at.is_(None))
        )
        return set(rows)


async def is_member(bot: Bot, user: str) -> bool:
    return user in await members(bot)


async def rows(bot: Bot) -> tuple[int, int]:
    """(people, memberships) the bot holds: what a made-up id must not grow."""
    async with bot.sessions() as session:
        return (
            int(await session.scalar(sa.select(sa.func.count()).select_from(Person)) or 0),
            int(await session.scalar(sa.select(sa.func.count()).select_from(Membership)) or 0),
        )


async def reply_to(bot: Bot, text: str, *, user: str, channel: str = "C0DATA") -> str:
    before = len(bot.emulator.responses)
    await bot.slack.command(text, user=user, channel=channel)
    replies = await eventually(lambda: bot.emulator.responses[before:])
    return str(replies[-1]["text"])


def ignored_joins(bot: Bot) -> float:
    metric = bot.deps.metrics.slack_events.labels(type="member_joined_channel", result="ignored")
    return float(metric._value.get())


# --- the bot itself -------------------------------------------------------------------------------


async def test_the_bot_joining_a_channel_is_not_a_member_joining(bot: Bot) -> None:
    await factories.community(bot.sessions, emulator=bot.emulator, leaders=("U0CAMILLE",))
    bot_user = bot.emulator.workspace.bot_user_id
    bot.emulator.workspace.channels["C0DATA"].members.remove(bot_user)
    before = await members(bot)
    # the bot is invited back (e.g. after a reinstall): Slack tells it as a member_joined_channel
    response = await bot.slack.join(user=bot_user, channel="C0DATA")
    assert response.status_code == 200
    await eventually(lambda: ignored_joins(bot) == 1)
    await bot.slack.join(user="U0LEA", channel="C0DATA")  # a real newcomer, as a marker

    async def welcomes() -> list[str]:
        async with bot.sessions() as session:
            return list(
                await session.scalars(
                    sa.select(Person.slack_user_id)
                    .join(Outbox, Outbox.person_id == Person.id)
                    .where(Outbox.kind.startswith("welcome"))
                )
            )

    assert await eventually(welcomes) == ["U0LEA"]
    assert await members(bot) == before | {"U0LEA"}
    async with bot.sessions() as session:
        # not even a closed stint: the bot never was a member, so no count over time moves
        assert (
            await session.scalar(
                sa.select(sa.func.count())
                .select_from(Membership)
                .join(Person, Person.id == Membership.person_id)
                .where(Person.slack_user_id == bot_user)
            )
            == 0
        )


# --- deactivated in Slack -------------------------------------------------------------------------


async def deactivate(bot: Bot, user: str) -> None:
    """An admin deactivates the account; Slack sends the bot a user_change."""
    response = await bot.slack.event(bot.emulator.deactivate(user))
    assert response.status_code == 200

    async def known_deactivated() -> bool:
        async with bot.sessions() as session:
            person = await session.scalar(sa.select(Person).where(Person.slack_user_id == user))
            return person is not None and person.deleted

    await eventually(known_deactivated)


async def test_a_deactivated_leader_loses_every_right_count_and_dm(bot: Bot) -> None:
    community = await factories.community(
        bot.sessions, emulator=bot.emulator, leaders=(LUCAS, "U0CAMILLE")
    )
    assert LUCAS in await members(bot)
    assert "views.open" not in {c.method for c in bot.emulator.calls}
    await deactivate(bot, LUCAS)
    # no longer counted
    assert LUCAS not in await members(bot)
    # a request in his name (sent before the deactivation reached Slack, or forged) is refused
    answer = await reply_to(bot, "charte", user=LUCAS)
    assert FR("permission.edit_charter") in answer
    assert bot.emulator.calls_to("views.open") == []
    answer = await reply_to(bot, f"role <@{CHLOE}> leader", user=LUCAS)
    assert FR("permission.set_role") in answer
    # no leaders' DM: the digest of newcomers goes to the other leader only
    await bot.slack.join(user="U0NATHAN", channel="C0DATA")
    await eventually(lambda: is_member(bot, "U0NATHAN"))
    await scheduler.run_now(bot.deps, ritual=Ritual.DIGEST, community_id=community.id)
    await Drain(bot.deps, rate_per_minute=60000).run_once()
    assert "D0CAMILLE" in bot.emulator.messages
    assert "D0LUCAS" not in bot.emulator.messages
    to_lucas = [
        c
        for c in bot.emulator.calls_to("chat.postMessage")
        if c.params["channel"] in {LUCAS, "D0LUCAS"}
    ]
    assert to_lucas == []


async def test_a_deactivated_programme_manager_loses_the_programme(bot: Bot) -> None:
    await factories.community(bot.sessions, emulator=bot.emulator)
    created = await reply_to(bot, "community create Agilité", user=MANAGER, channel="C0AGILE")
    assert shows(created, FR, "community.created", name="Agilité", slug="agilite", members=ANY)
    await deactivate(bot, MANAGER)
    answer = await reply_to(bot, "community create Sécurité", user=MANAGER, channel="C0SEC")
    assert FR("permission.create_community") in answer
    async with bot.sessions() as session:
        assert (
            await session.scalar(
                sa.select(sa.func.count())
                .select_from(Community)
                .where(Community.channel_id == "C0SEC")
            )
            == 0
        )


# --- /cop role --------------------------------------------------------------------------------------


async def test_role_accepts_only_humans_in_the_channel(bot: Bot) -> None:
    await factories.community(bot.sessions, emulator=bot.emulator, leaders=(LUCAS,), core=(EMILY,))
    before_members = await members(bot)
    before_rows = await rows(bot)
    # ten made-up ids at once: refused, in the caller's language, and nothing written
    fakes = [f"UFAKE{i:04d}" for i in range(10)]
    start = len(bot.emulator.responses)
    await asyncio.gather(
        *(bot.slack.command(f"role {fake} leader", user=LUCAS, channel="C0DATA") for fake in fakes)
    )
    replies = await eventually(
        lambda: len(bot.emulator.responses) >= start + 10 and bot.emulator.responses[start:]
    )
    assert len(replies) == 10
    for fake in fakes:
        assert any(FR("role.unknown_user", user=fake) in r["text"] for r in replies)
    assert await members(bot) == before_members
    assert await rows(bot) == before_rows
    # a bot, a deactivated account, someone outside the channel: each refused with its reason
    # (each names the person with a real mention, which Slack shows as their name)
    assert FR("role.not_a_person", user="<@U0JIRA>") in await reply_to(
        bot, "role <@U0JIRA> leader", user=LUCAS
    )
    assert FR("role.deactivated", user="<@U0PIERRE>") in await reply_to(
        bot, "role <@U0PIERRE> core", user=LUCAS
    )
    assert FR("role.not_in_channel", user="<@U0LEA>") in await reply_to(
        bot, "role <@U0LEA> sponsor", user=LUCAS
    )
    assert await rows(bot) == before_rows
    # an English speaker is answered in English
    # (Emily is core team: not allowed to give roles, so first a leader makes her one)
    assert FR(
        "role.set", user=f"<@{EMILY}>", role=FR("role.leader"), community="Data Science"
    ) in await reply_to(bot, f"role <@{EMILY}> leader", user=LUCAS)
    assert EN("role.unknown_user", user="UFAKE9999") in await reply_to(
        bot, "role UFAKE9999 leader", user=EMILY
    )
    # someone really in the channel gets the role
    assert FR(
        "role.set", user=f"<@{HUGO}>", role=FR("role.core_team"), community="Data Science"
    ) in await reply_to(bot, f"role <@{HUGO}> core", user=LUCAS)

    assert await members(bot) == before_members


async def test_someone_new_joining_two_communities_at_once_is_one_person_in_both(bot: Bot) -> None:
    """Two member_joined events for a person the bot has never seen, at the same moment (an
    admin adding them to two channels): both joins count, one person row, no error."""
    await factories.community(bot.sessions, emulator=bot.emulator, leaders=("U0CAMILLE",))
    await factories.community(
        bot.sessions,
        emulator=bot.emulator,
        name="Agilité",
        channel="C0AGILE",
        leaders=("U0CAMILLE",),
    )
    for _ in range(3):  # a race: a few tries make a lost one visible
        user = f"U0NEW{_}"
        answers = await asyncio.gather(
            bot.slack.join(user=user, channel="C0DATA"),
            bot.slack.join(user=user, channel="C0AGILE"),
        )
        assert [a.status_code for a in answers] == [200, 200]
        await eventually(lambda user=user: is_member(bot, user), timeout=10)
        assert await eventually(lambda user=user: members_of(bot, user), timeout=10) == {
            "C0DATA",
            "C0AGILE",
        }
        async with bot.sessions() as session:
            assert (
                await session.scalar(
                    sa.select(sa.func.count())
                    .select_from(Person)
                    .where(Person.slack_user_id == user)
                )
                == 1
            )


async def members_of(bot: Bot, user: str) -> set[str] | None:
    """The channels of the communities the person is in, once they are in two."""
    async with bot.sessions() as session:
        channels = set(
            await session.scalars(
                sa.select(Community.channel_id)
                .join(Membership, Membership.community_id == Community.id)
                .join(Person, Person.id == Membership.person_id)
                .where(Person.slack_user_id == user, Membership.left_at.is_(None))
            )
        )
    return channels if len(channels) == 2 else None
