"""Microsoft Teams: who came to an event. Once it has started, the channel's card loses its RSVP
buttons and offers « Qui est venu ? »; the community's leaders record the attendance in a dialog
prefilled with those who said they would come — the real bot over HTTP, the Teams emulator
checking every card against schema 1.5, the same domain (bot.event_changes.take_attendance)
and the same guard as Slack's attendance form, counted in /cop health as Slack's is."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from bot.models import AuditLog, Community, Event, EventAttendance, Person, utcnow
from bot.teams import conversations
from bot.teams.emulator import CHANNEL, Member, card_errors
from handlers import health as health_handlers
from rituals import event_starts
from tests.catalogue import EN, FR
from tests.conftest import TeamsBot, eventually
from tests.teams_data import teams_community
from tests.test_teams_event import action, dialog_card, inputs, texts

Json = dict[str, Any]
DIALOG = "event_attendance"


async def setup(teams_bot: TeamsBot, *, language: str) -> None:
    """The community of the emulator's channel, its members known by name (as the roster
    records them), the first one its leader."""
    teams = teams_bot.teams
    await teams_community(
        teams_bot.bot.sessions, teams, language=language, leaders=(teams.members[0].id,)
    )


async def started_event(teams_bot: TeamsBot, *, locale: str = "fr-FR") -> Json:
    """A meeting planned through the dialog, answered on its card (the first two members after
    the leader say they are going, the third maybe), then started — moved into the past, as
    time would — and closed by the rituals' clock: the channel's card as it then reads."""
    teams = teams_bot.teams
    deps = teams_bot.bot.deps
    async with deps.sessions.begin() as session:
        found = conversations.from_activity(teams.message("aide", conversation=CHANNEL))
        assert found is not None
        await conversations.remember(session, **found)
    day = (utcnow().astimezone(ZoneInfo("Europe/Paris")) + timedelta(days=3)).date()
    typed = {"cop": "event", "title": "Café *data*", "date": day.isoformat(), "time": "09:00"}
    typed |= {"duration": "30", "tz": "Europe/Paris", "kind": "meeting"}
    submit = teams.invoke("task/submit", {"data": typed}, conversation=CHANNEL, locale=locale)
    done = await teams_bot.ask(submit)
    assert done["task"]["type"] == "message", done
    card = (await eventually(lambda: teams.cards(CHANNEL)[1:] or teams.cards(CHANNEL)))[-1]
    posted = teams.activities[CHANNEL][-1]
    _, ana, bob, cyd = teams.members[:4]
    for member, verb in ((ana, "going"), (bob, "going"), (cyd, "maybe")):
        click = teams.execute(
            action(card, f"event_rsvp_{verb}"),
            conversation=CHANNEL,
            reply_to=posted["id"],
            member=member,
        )
        assert (await teams_bot.ask(click))["statusCode"] == 200
    async with deps.sessions.begin() as session:
        event = (await session.scalars(sa.select(Event))).one()
        event.starts_at = utcnow() - timedelta(minutes=5)
    assert await event_starts.close(deps, now=utcnow()) == 1
    return channel_card(teams_bot)


def channel_card(teams_bot: TeamsBot) -> Json:
    """The announcement as the channel reads it now (the last card the bot posted there)."""
    card: Json = teams_bot.teams.cards(CHANNEL)[-1]
    assert card_errors(card) == []
    return card


def who_came(card: Json) -> Json:
    [button] = [a for a in card.get("actions", []) if (a.get("data") or {}).get("cop") == DIALOG]
    return button


async def open_dialog(teams_bot: TeamsBot, card: Json, member: Member, locale: str) -> Json:
    fetch = teams_bot.teams.invoke(
        "task/fetch",
        {"data": who_came(card)["data"]},
        conversation=CHANNEL,
        member=member,
        locale=locale,
    )
    return await teams_bot.ask(fetch)


def ticks(form: Json, *members: Member) -> str:
    """The people input's value with these members ticked, as Teams sends it (the choices'
    values, comma-separated)."""
    people = inputs(form)["people"]
    value_of = {c["title"]: c["value"] for c in people["choices"]}
    return ",".join(value_of[m.name] for m in members)


def ticked(form: Json) -> list[str]:
    """The names of the people ticked in the dialog."""
    people = inputs(form)["people"]
    name_of = {c["value"]: c["title"] for c in people["choices"]}
    return sorted(name_of[v] for v in str(people.get("value") or "").split(",") if v)


async def submit(
    teams_bot: TeamsBot, form: Json, member: Member, locale: str, **values: str
) -> Json:
    data = {**form["actions"][0]["data"], **values}
    sent = teams_bot.teams.invoke(
        "task/submit", {"data": data}, conversation=CHANNEL, member=member, locale=locale
    )
    return await teams_bot.ask(sent)


async def recorded(teams_bot: TeamsBot) -> tuple[int | None, list[str]]:
    """The event's attendance count and the ids of the people recorded, from the database."""
    async with teams_bot.bot.sessions() as session:
        event = (await session.scalars(sa.select(Event))).one()
        rows = (await session.scalars(sa.select(EventAttendance))).all()
        ids = sorted(
            (
                await session.scalars(
                    sa.select(Person.slack_user_id).where(
                        Person.id.in_([r.person_id for r in rows])
                    )
                )
            ).all()
        )
        return event.attendance_count, ids


async def health_figures(teams_bot: TeamsBot) -> tuple[int, int]:
    """Events held and attendance, as /cop health computes them for the community (the same
    function Slack's and Teams' /cop health call)."""
    deps = teams_bot.bot.deps
    async with deps.sessions() as session:
        community = (await session.scalars(sa.select(Community))).one()
    scope = health_handlers.Scope(
        workspace_id=teams_bot.teams.tenant_id, community_id=community.id, name=community.name
    )
    overview = await health_handlers.compute(deps, scope)
    return overview.totals.events_held, overview.totals.attendance


@pytest.mark.parametrize(("locale", "t"), [("fr-FR", FR), ("en-US", EN)])
async def test_a_leader_records_who_came_and_it_counts_in_health(
    teams_bot: TeamsBot, locale: str, t: Any
) -> None:
    teams = teams_bot.teams
    await setup(teams_bot, language=locale[:2])
    leader, ana, bob, cyd = teams.members[:4]
    card = await started_event(teams_bot, locale=locale)

    # the started card: no more answers, « Qui est venu ? » in their place
    verbs = [a.get("verb") for a in card["actions"]]
    assert not any(str(v).startswith("event_rsvp_") for v in verbs if v)
    assert who_came(card)["title"] == t("teams.event.attendance_button")
    assert who_came(card)["data"]["msteams"] == {"type": "task/fetch"}
    assert t("teams.event.rsvp_closed_line") in texts(card)
    assert await health_figures(teams_bot) == (1, 0)  # held, nobody counted yet

    # the leader opens it: the members offered, those who said going already ticked
    answer = await open_dialog(teams_bot, card, leader, locale)
    assert answer["task"]["value"]["title"] == t("event.attendance_title")
    form = dialog_card(answer)
    fields = inputs(form)
    people = fields["people"]
    assert people["isMultiSelect"] is True
    assert len({c["value"] for c in people["choices"]}) == len(teams.members)
    assert {c["title"] for c in people["choices"]} == {m.name for m in teams.members}
    assert ticked(form) == sorted([ana.name, bob.name])
    assert "value" not in fields["count"]
    assert t("teams.event.attendance_intro", title="Café \\*data\\*") in texts(form)
    assert t("event.attendance_count_hint") in texts(form)

    # fewer attendees than people ticked: said under the count, what was ticked kept
    chosen = ticks(form, ana, bob, cyd)
    again = dialog_card(await submit(teams_bot, form, leader, locale, people=chosen, count="2"))
    assert t("event.attendance_count_below_names", names=3) in texts(again)
    assert ticked(again) == sorted([ana.name, bob.name, cyd.name])
    assert inputs(again)["count"]["value"] == 2
    assert await recorded(teams_bot) == (None, [])
    # a count that is not a whole number, or below zero: said, the zero typed kept
    wrong = dialog_card(await submit(teams_bot, form, leader, locale, people="", count="-1"))
    assert t("event.attendance_bad_count", max=100_000) in texts(wrong)
    nobody = dialog_card(await submit(teams_bot, form, leader, locale, people=chosen, count="0"))
    assert inputs(nobody)["count"]["value"] == 0

    # then right: three named and two guests from outside the team
    done = await submit(teams_bot, form, leader, locale, people=chosen, count="5")
    assert done == {
        "task": {
            "type": "message",
            "value": t("teams.event.attendance_saved", title="Café *data*", count=5),
        }
    }
    assert await recorded(teams_bot) == (5, sorted([ana.id, bob.id, cyd.id]))
    # the channel's card says it, in place (the same message), for everyone
    now = channel_card(teams_bot)
    assert t("teams.event.attendance_line", count=5) in texts(now)
    assert len(teams.cards(CHANNEL)) == 1
    assert who_came(now)  # to correct it later
    # under way still (30 minutes from 5 minutes ago): its « Ajouter à mon agenda » stays
    assert [b.get("id") for b in now["body"] if b.get("type") == "ActionSet"] == ["calendar"]
    # and /cop health counts it, as it counts Slack's
    assert await health_figures(teams_bot) == (1, 5)
    print(f"\n--- the {locale} card after attendance ---\n{texts(now)}\n")
    assert teams.card_problems == []


async def test_a_member_cannot_record_who_came(teams_bot: TeamsBot) -> None:
    teams = teams_bot.teams
    await setup(teams_bot, language="fr")
    leader, ana = teams.members[:2]
    card = await started_event(teams_bot)
    # the button is on the channel's card for everyone; the guard refuses a member
    refused = {"task": {"type": "message", "value": FR("permission.manage_events")}}
    assert await open_dialog(teams_bot, card, ana, "fr-FR") == refused
    # nor by a forged submit
    form = dialog_card(await open_dialog(teams_bot, card, leader, "fr-FR"))
    assert (
        await submit(teams_bot, form, ana, "fr-FR", people=ticks(form, ana), count="40") == refused
    )
    assert await recorded(teams_bot) == (None, [])
    assert FR("teams.event.attendance_line", count=40) not in texts(channel_card(teams_bot))
    # someone who is not offered (not a member, never answered) cannot be slipped in
    forged = dialog_card(
        await submit(teams_bot, form, leader, "fr-FR", people=f"{ticks(form, ana)},99999", count="")
    )
    assert FR("error.invalid") in texts(forged)
    assert await recorded(teams_bot) == (None, [])
    assert teams.card_problems == []


async def test_attendance_before_the_start_is_refused(teams_bot: TeamsBot) -> None:
    """The card offers no « Qui est venu ? » before the start; a forged click is refused by the
    domain, as Slack's button is."""
    teams = teams_bot.teams
    await setup(teams_bot, language="fr")
    day = (utcnow().astimezone(ZoneInfo("Europe/Paris")) + timedelta(days=3)).date()
    typed = {"cop": "event", "title": "Plus tard", "date": day.isoformat(), "time": "09:00"}
    typed |= {"duration": "30", "tz": "Europe/Paris", "kind": "meeting"}
    done = await teams_bot.ask(teams.invoke("task/submit", {"data": typed}, conversation=CHANNEL))
    assert done["task"]["type"] == "message", done
    card = (await eventually(lambda: teams.cards(CHANNEL)))[-1]
    assert not any((a.get("data") or {}).get("cop") == DIALOG for a in card["actions"])
    async with teams_bot.bot.sessions() as session:
        event_id = (await session.scalars(sa.select(Event.id))).one()
    data = {"msteams": {"type": "task/fetch"}, "cop": DIALOG, "event": event_id}
    fetch = teams.invoke("task/fetch", {"data": data}, conversation=CHANNEL)
    assert (await teams_bot.ask(fetch))["task"] == {
        "type": "message",
        "value": FR("event.not_started"),
    }
    assert teams.card_problems == []


async def test_a_second_recording_corrects_the_first(teams_bot: TeamsBot) -> None:
    teams = teams_bot.teams
    await setup(teams_bot, language="fr")
    leader, ana, bob, cyd = teams.members[:4]
    card = await started_event(teams_bot)
    form = dialog_card(await open_dialog(teams_bot, card, leader, "fr-FR"))
    everyone = ticks(form, ana, bob, cyd)
    done = await submit(teams_bot, form, leader, "fr-FR", people=everyone, count="")
    assert done["task"]["value"] == FR("teams.event.attendance_saved", title="Café *data*", count=3)
    assert await health_figures(teams_bot) == (1, 3)

    # reopened: what was recorded is ticked (not who said going), the count shown
    form = dialog_card(await open_dialog(teams_bot, channel_card(teams_bot), leader, "fr-FR"))
    fields = inputs(form)
    assert ticked(form) == sorted([ana.name, bob.name, cyd.name])
    assert fields["count"]["value"] == 3
    # Cyd only said maybe and did not come after all; Bob neither: Ana alone
    done = await submit(teams_bot, form, leader, "fr-FR", people=ticks(form, ana), count="")
    assert done["task"]["value"] == FR("teams.event.attendance_saved", title="Café *data*", count=1)
    assert await recorded(teams_bot) == (1, [ana.id])
    now = channel_card(teams_bot)
    assert FR("teams.event.attendance_line", count=1) in texts(now)
    assert FR("teams.event.attendance_line", count=3) not in texts(now)
    assert await health_figures(teams_bot) == (1, 1)  # replaced, not added
    async with teams_bot.bot.sessions() as session:
        audited = (
            await session.scalars(
                sa.select(AuditLog)
                .where(AuditLog.action == "event.attendance")
                .order_by(AuditLog.id)
            )
        ).all()
    assert [(a.actor, a.detail["count"]) for a in audited] == [(leader.id, 3), (leader.id, 1)]
    assert teams.card_problems == []


@pytest.mark.parametrize(("locale", "t"), [("fr-FR", FR), ("en-US", EN)])
async def test_the_recent_events_command_offers_who_came(
    teams_bot: TeamsBot, locale: str, t: Any
) -> None:
    """`@cop événement présences`: the latest held events, each with « Qui est venu ? » — for an
    announcement out of sight, as Slack's `/cop event list` shows the past ones."""
    teams = teams_bot.teams
    await setup(teams_bot, language=locale[:2])
    leader, ana = teams.members[:2]
    word = "événement présences" if locale == "fr-FR" else "event attendance"
    # none yet
    assert await teams_bot.send(teams.message(word, conversation=CHANNEL, locale=locale)) == 200
    empty = (await eventually(lambda: teams.cards(CHANNEL)))[-1]
    assert card_errors(empty) == []
    assert t("teams.event.attendance_list_none") in texts(empty)
    await started_event(teams_bot, locale=locale)
    before = len(teams.cards(CHANNEL))
    assert await teams_bot.send(teams.message(word, conversation=CHANNEL, locale=locale)) == 200
    listed = (await eventually(lambda: teams.cards(CHANNEL)[before:]))[-1]
    assert card_errors(listed) == []
    said = texts(listed)
    assert t("teams.event.attendance_list_title", name="Data Science") in said
    [container] = [b for b in listed["body"] if b["type"] == "Container"]
    line = container["items"][0]["text"]
    assert line.startswith("**Café \\*data\\*** — ") and t("event.attendance_unknown") in line
    [button] = container["items"][1]["actions"]
    assert button["title"] == t("teams.event.attendance_button")
    # the same dialog as the card's
    fetch = teams.invoke(
        "task/fetch", {"data": button["data"]}, conversation=CHANNEL, member=leader, locale=locale
    )
    form = dialog_card(await teams_bot.ask(fetch))
    assert inputs(form)["people"]["isMultiSelect"] is True
    # a member is refused the list
    sent = teams.message(word, conversation=CHANNEL, locale=locale, member=ana)
    count = len(teams.activities[CHANNEL])
    assert await teams_bot.send(sent) == 200
    refused = (await eventually(lambda: teams.activities[CHANNEL][count:]))[-1]
    assert refused["text"] == t("permission.manage_events")
    assert teams.card_problems == []
