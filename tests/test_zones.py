"""Time zones at every seam: only the zones of places (and UTC) are zones — in app.yaml, typed in
the event modal, or in a Slack profile — and a local time the clocks skip is refused with the
first time that exists, in the leader's language. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from bot.config import ConfigError, load_programme
from bot.models import Event, Person
from tests import factories
from tests.conftest import MANAGER, Bot, eventually
from tests.test_hostile_payloads import field_errors, opened, snapshot, submit

LEADER = "U0LUCAS"  # French
EMILY = "U0EMILY"  # English (en-US), core team below
PARIS = ZoneInfo("Europe/Paris")
NOT_PLACES = [
    "localtime",
    "Factory",
    "posixrules",
    "posix/Europe/Paris",
    "right/Europe/Paris",
    "EST5EDT",
    "Etc/GMT+5",
]


def next_change(*, spring: bool) -> date:
    """The next day (from a week ahead) the clocks change in Paris: spring (02:30 does not
    exist) or autumn (02:30 happens twice)."""
    day = datetime.now(UTC).date() + timedelta(days=7)
    for _ in range(400):
        first = datetime.combine(day, time(2, 30), tzinfo=PARIS)
        second = first.replace(fold=1)
        before, after = first.utcoffset(), second.utcoffset()
        assert before is not None and after is not None
        if before != after and (before < after) == spring:  # a gap reads +1 then +2
            return day
        day += timedelta(days=1)
    raise AssertionError("no change of time within a year")


def event_values(**over: Any) -> dict[str, Any]:
    return {
        "event_title": "Atelier de nuit",
        "event_date": (datetime.now(UTC) + timedelta(days=7)).date(),
        "event_time": "14:00",
        "event_duration": "60",
        "event_tz": "Europe/Paris",
        **over,
    }


async def setup(bot: Bot, **kwargs: Any) -> None:
    await factories.community(
        bot.sessions, emulator=bot.emulator, leaders=(LEADER,), core=(EMILY,), **kwargs
    )


# --- app.yaml ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NOT_PLACES)
def test_app_yaml_refuses_a_zone_that_is_not_a_place(tmp_path: Path, name: str) -> None:
    path = tmp_path / "app.yaml"
    path.write_text(f"name: X\ntimezone: {name}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_programme(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: timezone: expected an IANA time zone such as Europe/Paris")
    assert repr(name) in message


@pytest.mark.parametrize(
    ("name", "kept"),
    [("europe/paris", "Europe/Paris"), ("UTC", "UTC"), ("US/Eastern", "US/Eastern")],
)
def test_app_yaml_takes_the_zones_of_places_and_utc(tmp_path: Path, name: str, kept: str) -> None:
    path = tmp_path / "app.yaml"
    path.write_text(f"name: X\ntimezone: {name}\n", encoding="utf-8")
    assert load_programme(path).timezone == kept


# --- the event modal -----------------------------------------------------------------------------


async def test_the_event_modal_refuses_zone_names_that_are_not_places(bot: Bot) -> None:
    await setup(bot)
    view = await opened(bot, bot.slack.command("event", user=LEADER, channel="C0DATA"))
    for name in NOT_PLACES:
        before = await snapshot(bot)
        response = await submit(bot, view["id"], user=LEADER, values=event_values(event_tz=name))
        assert field_errors(response) == {
            "event_tz": f"Je ne connais pas le fuseau horaire « {name} ». "
            "Indiquez un nom comme Europe/Paris ou America/Montreal."
        }
        assert await snapshot(bot) == before


# --- a Slack profile -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["localtime", "Factory", "posixrules"])
async def test_a_slack_profile_zone_that_is_not_a_place_is_ignored(bot: Bot, name: str) -> None:
    """The manager's profile says `Factory`: the bot does not keep it, and shows times in the
    community's zone instead (the programme's would come next)."""
    await factories.community(
        bot.sessions, emulator=bot.emulator, members=(LEADER,), tz="Europe/Brussels"
    )
    bot.emulator.workspace.users[MANAGER].tz = name  # learnt with users.info at the first command
    view = await opened(bot, bot.slack.command("event", user=MANAGER, channel="C0DATA"))
    tz_block = next(b for b in view["blocks"] if b.get("block_id") == "event_tz")
    assert tz_block["element"]["initial_value"] == "Europe/Brussels"
    async with bot.sessions() as session:
        manager = await session.scalar(sa.select(Person).where(Person.slack_user_id == MANAGER))
    assert manager is not None and manager.name  # looked up, and the zone left out
    assert manager.tz is None


# --- daylight saving -----------------------------------------------------------------------------


async def test_a_time_the_clocks_skip_is_refused_with_the_first_time_that_exists(bot: Bot) -> None:
    await setup(bot)
    spring = next_change(spring=True)
    for user, expected in (
        (
            LEADER,
            "Cette heure n'existe pas dans le fuseau Europe/Paris : le {day}, les horloges passent "
            "directement de 02:00 à 03:00 (changement d'heure). L'heure valable la plus proche est "
            "03:00.",
        ),
        (
            EMILY,
            "That time does not exist in Europe/Paris: on {day} the clocks jump straight from "
            "02:00 to 03:00 (daylight saving). The nearest valid time is 03:00.",
        ),
    ):
        view = await opened(bot, bot.slack.command("event", user=user, channel="C0DATA"))
        for typed in ("02:00", "02:30", "02:59"):
            before = await snapshot(bot)
            response = await submit(
                bot, view["id"], user=user, values=event_values(event_date=spring, event_time=typed)
            )
            errors = field_errors(response)
            assert set(errors) == {"event_time"}
            day = "{d} {m} {y}".format(
                d=spring.day, m=("mars" if user == LEADER else "March"), y=spring.year
            )
            assert errors["event_time"] == expected.format(day=day), errors
            assert await snapshot(bot) == before
    # the time it names is accepted
    view = await opened(bot, bot.slack.command("event", user=LEADER, channel="C0DATA"))
    response = await submit(
        bot, view["id"], user=LEADER, values=event_values(event_date=spring, event_time="03:00")
    )
    assert field_errors(response) == {}
    event = await eventually(lambda: _event(bot))
    assert event.starts_at == datetime.combine(spring, time(1, 0), tzinfo=UTC)


async def test_a_time_the_clocks_repeat_is_its_first_occurrence(bot: Bot) -> None:
    """02:30 on the night the clocks go back happens twice: the event is at the first 02:30
    (still summer time, UTC+2), as calendars read it, and is announced as 02:30."""
    await setup(bot)
    autumn = next_change(spring=False)
    view = await opened(bot, bot.slack.command("event", user=LEADER, channel="C0DATA"))
    response = await submit(
        bot, view["id"], user=LEADER, values=event_values(event_date=autumn, event_time="02:30")
    )
    assert field_errors(response) == {}
    event = await eventually(lambda: _event(bot))
    assert event.starts_at == datetime.combine(autumn, time(0, 30), tzinfo=UTC)
    assert event.starts_at.astimezone(PARIS).strftime("%H:%M") == "02:30"


async def _event(bot: Bot) -> Event | None:
    async with bot.sessions() as session:
        return await session.scalar(sa.select(Event))
