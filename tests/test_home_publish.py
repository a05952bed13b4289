"""App Homes that do not flood Slack: after a change only the Homes opened recently are republished,
a few at most, paced under views.publish's tier and never inside a Retry-After window; everyone
else sees a fresh Home when they next open it (issue 16, point 3)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.slack.emulator import User
from tests import factories
from tests.catalogue import ANY, EN, FR, shows_in_json
from tests.conftest import Bot, eventually
from tests.test_home import home_of, looking_at_home, text_of

LEADER = "U0LUCAS"  # French
EMILY = "U0EMILY"  # English
CHLOE = "U0CHLOE"
HUGO = "U0HUGO"
SETTLE = 1.5  # seconds to wait, once the author is told, for any publish still to come


async def crowd(bot: Bot, n: int = 300) -> list[str]:
    """Data Science with `n` members (its five from the emulator, and more)."""
    channel = bot.emulator.workspace.channels["C0DATA"]
    for i in range(n - len(channel.members)):
        uid = f"U0M{i:04d}"
        bot.emulator.workspace.users[uid] = User(uid, f"membre.{i}", f"Membre {i}")
        channel.members.append(uid)
    await factories.community(bot.sessions, emulator=bot.emulator, leaders=(LEADER,))
    assert len(channel.members) == n
    return list(channel.members)


async def event_modal(bot: Bot, *, user: str = LEADER) -> str:
    """The leader types `/cop événement`: the id of the modal that opens."""
    before = len(bot.emulator.calls_to("views.open"))
    await bot.slack.command("événement", user=user, channel="C0DATA")
    opened = await bot.emulator.wait_for("views.open", count=before + 1)
    return str(opened[-1].response["view"]["id"])


async def submit_event(bot: Bot, view_id: str, title: str, *, user: str = LEADER) -> None:
    day = (datetime.now(UTC) + timedelta(days=3)).date()
    response = await bot.slack.submit_view(
        view_id, user=user, values={"event_title": title, "event_date": day, "event_time": "14:00"}
    )
    assert response.status_code == 200


async def create_event(bot: Bot, title: str, *, user: str = LEADER) -> None:
    """The leader creates an event with `/cop événement`; returns once they are told it is done."""
    told = len([e for e in bot.emulator.ephemerals if e["user"] == user])
    await submit_event(bot, await event_modal(bot, user=user), title, user=user)
    await eventually(lambda: len([e for e in bot.emulator.ephemerals if e["user"] == user]) > told)


def publishes(bot: Bot, since: int) -> list[str]:
    """Whose Home views.publish was called for, after the first `since` calls."""
    return [c.params["user_id"] for c in bot.emulator.calls[since:] if c.method == "views.publish"]


def shows_event(view: dict | None, t: object, title: str) -> bool:
    return shows_in_json(
        text_of(view), t, "home.event_line", title=title, when=ANY, community=ANY, answer=ANY
    )


async def test_an_event_in_a_300_member_community_publishes_no_home_nobody_looks_at(
    bot: Bot,
) -> None:
    """Nobody has the Home open: creating the event makes at most ten views.publish calls (none,
    in fact); a member who opens their Home afterwards sees the event there, in French."""
    await crowd(bot, 300)
    since = len(bot.emulator.calls)
    await create_event(bot, "Webinaire MLOps")
    await asyncio.sleep(SETTLE)
    published = publishes(bot, since)
    assert len(published) <= 10
    assert published == []  # no Home was open: each is fresh on its next open
    home = await home_of(bot, "U0M0042")
    assert shows_event(home, FR, "Webinaire MLOps")
    assert shows_in_json(
        text_of(home),
        FR,
        "home.event_line",
        title="Webinaire MLOps",
        when=ANY,
        community=ANY,
        answer=FR("home.no_answer"),
    )


async def test_the_three_people_looking_get_the_new_event_and_only_they(bot: Bot) -> None:
    """Three members of 300 have their Home open: exactly those three are republished, Emily's
    in English; someone who opens theirs later sees the event too."""
    await crowd(bot, 300)
    for user in (EMILY, CHLOE, HUGO):
        await looking_at_home(bot, user)
    since = len(bot.emulator.calls)
    await create_event(bot, "Café data")
    for user in (EMILY, CHLOE, HUGO):
        t = EN if user == EMILY else FR
        await eventually(
            lambda u=user, t=t: shows_event(bot.emulator.home_views.get(u), t, "Café data")
        )
    await asyncio.sleep(SETTLE)
    assert sorted(publishes(bot, since)) == sorted([EMILY, CHLOE, HUGO])
    assert "America/New_York" in text_of(bot.emulator.home_views[EMILY])  # her zone
    later = await home_of(bot, "U0M0100")
    assert shows_event(later, FR, "Café data")


async def test_at_most_ten_homes_per_change_most_recently_opened_first(bot: Bot) -> None:
    members = await crowd(bot, 300)
    looking = members[-12:]
    for user in looking:  # the last to open is the most recent
        await looking_at_home(bot, user)
    since = len(bot.emulator.calls)
    await create_event(bot, "Atelier dbt")
    await eventually(lambda: len(publishes(bot, since)) >= 10, timeout=15)
    await asyncio.sleep(SETTLE)
    assert sorted(publishes(bot, since)) == sorted(looking[-10:])
    for user in looking[-10:]:
        assert shows_event(bot.emulator.home_views[user], FR, "Atelier dbt")
    # the two opened first are fresh on their next open
    assert not shows_event(bot.emulator.home_views[looking[0]], FR, "Atelier dbt")
    assert shows_event(await home_of(bot, looking[0]), FR, "Atelier dbt")


async def test_a_burst_of_changes_publishes_each_home_once_with_all_of_them(bot: Bot) -> None:
    """Two events created together while Slack answers slowly: a Home still waiting for the
    first refresh is not queued again, and every Home ends up showing both events."""
    await crowd(bot, 300)
    for user in (EMILY, CHLOE, HUGO):
        await looking_at_home(bot, user)
    bot.emulator.set_latency("views.publish", 0.4)
    since = len(bot.emulator.calls)
    first, second = await event_modal(bot), await event_modal(bot)
    await asyncio.gather(
        submit_event(bot, first, "Café data"), submit_event(bot, second, "Revue de code")
    )
    for user in (EMILY, CHLOE, HUGO):
        t = EN if user == EMILY else FR
        await eventually(
            lambda u=user, t=t: (
                shows_event(bot.emulator.home_views.get(u), t, "Café data")
                and shows_event(bot.emulator.home_views.get(u), t, "Revue de code")
            ),
            timeout=15,
        )
    await asyncio.sleep(SETTLE)
    published = publishes(bot, since)
    assert set(published) == {EMILY, CHLOE, HUGO}
    assert len(published) < 6  # two changes, three Homes: fewer than one publish each per change


async def test_a_429_is_respected_no_publish_inside_the_retry_after_window(bot: Bot) -> None:
    await crowd(bot, 300)
    for user in (EMILY, CHLOE, HUGO):
        await looking_at_home(bot, user)
    bot.emulator.inject_failure("views.publish", status=429)  # Retry-After: 1
    since = len(bot.emulator.calls)
    await create_event(bot, "Café data")
    for user in (EMILY, CHLOE, HUGO):
        t = EN if user == EMILY else FR
        await eventually(
            lambda u=user, t=t: shows_event(bot.emulator.home_views.get(u), t, "Café data"),
            timeout=10,
        )
    calls = [c for c in bot.emulator.calls[since:] if c.method == "views.publish"]
    refused = [c for c in calls if c.status == 429]
    assert len(refused) == 1
    after = [c for c in calls if c.at > refused[0].at]
    assert len(after) == 3  # the refused Home again, and the two others
    assert all(c.at - refused[0].at >= 1.0 for c in after)
