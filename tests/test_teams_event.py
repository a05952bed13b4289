"""Microsoft Teams, `@cop événement` (issue 17): a leader plans an event through a dialog, the
announcement goes to the channel, members answer by its buttons and the card is updated in
place — the real bot over HTTP, the Teams emulator checking every card against schema 1.5, the
same domain and permission guard as Slack's /cop event."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from bot import event_changes
from bot.events import TITLE_MAX
from bot.models import Event, EventRsvp, RsvpAnswer, utcnow
from bot.permissions import Actor
from bot.teams import conversations
from bot.teams.emulator import CHANNEL, TeamsEmulator, card_errors
from rituals import event_starts, outbox
from tests import factories
from tests.catalogue import ANY, EN, FR, shows
from tests.conftest import TeamsBot, eventually

Json = dict[str, Any]


def texts(card: Json) -> str:
    """What a card says: its text blocks, facts and button titles, one per line."""
    parts: list[str] = []

    def walk(items: list[Json]) -> None:
        for item in items:
            if item.get("text"):
                parts.append(str(item["text"]))
            if item.get("label"):
                parts.append(str(item["label"]))
            for fact in item.get("facts", []):
                parts.append(f"{fact['title']} : {fact['value']}")
            walk(item.get("actions", []))
            if item.get("title") and item.get("type", "").startswith("Action."):
                parts.append(str(item["title"]))

    walk(card.get("body", []))
    walk(card.get("actions", []))
    return "\n".join(parts)


def action(card: Json, verb: str) -> Json:
    return next(a for a in card.get("actions", []) if a.get("verb") == verb)


def only_who_came(card: Json) -> bool:
    """A started event's card: its answers' buttons gone, « Qui est venu ? » alone in their
    place (tests/test_teams_attendance.py)."""
    titles = [a.get("title") for a in card.get("actions", [])]
    return titles == [FR("teams.event.attendance_button")]


def dialog_card(answer: Json) -> Json:
    assert answer["task"]["type"] == "continue", answer
    content: Json = answer["task"]["value"]["card"]["content"]
    assert card_errors(content) == []
    return content


def inputs(card: Json) -> dict[str, Json]:
    return {b["id"]: b for b in card["body"] if str(b.get("type", "")).startswith("Input.")}


async def setup(teams_bot: TeamsBot, *, language: str) -> None:
    teams = teams_bot.teams
    await factories.community(
        teams_bot.bot.sessions,
        workspace_id=teams.tenant_id,
        channel=CHANNEL,
        name="Data Science",
        language=language,
        tz="Europe/Paris",
        members=tuple(m.id for m in teams.members),
        leaders=(teams.members[0].id,),
    )


@pytest.mark.parametrize(("locale", "t"), [("fr-FR", FR), ("en-US", EN)])
async def test_a_leader_plans_an_event_and_members_answer_on_the_card(
    teams_bot: TeamsBot, locale: str, t: Any
) -> None:
    teams = teams_bot.teams
    language = locale[:2]
    await setup(teams_bot, language=language)
    leader, ana, bob, cyd = teams.members[:4]

    # `@cop événement` in the channel: a card whose button opens the dialog
    word = "événement" if language == "fr" else "event"
    assert await teams_bot.send(teams.message(word, conversation=CHANNEL, locale=locale)) == 200
    start = (await eventually(lambda: teams.cards(CHANNEL)))[0]
    assert card_errors(start) == []
    button = start["actions"][0]
    assert button["title"] == t("teams.event.create_button")
    assert button["data"] == {"msteams": {"type": "task/fetch"}, "cop": "event"}

    fetch = teams.invoke(
        "task/fetch", {"data": button["data"]}, conversation=CHANNEL, locale=locale
    )
    form = dialog_card(await teams_bot.ask(fetch))
    fields = inputs(form)
    assert set(fields) == {"title", "kind", "date", "time", "duration", "tz", "link", "description"}
    assert fields["date"]["type"] == "Input.Date" and fields["time"]["type"] == "Input.Time"
    assert fields["title"]["label"] == t("event.field.title")
    assert fields["title"]["maxLength"] == TITLE_MAX

    # a date in the past and a title too long: both said in the dialog, what was typed kept
    paris = ZoneInfo("Europe/Paris")
    yesterday = (utcnow().astimezone(paris) - timedelta(days=1)).date()
    typed = {
        "cop": "event",
        "title": "x" * (TITLE_MAX + 1),
        "kind": "workshop",
        "date": yesterday.isoformat(),
        "time": "18:00",
        "duration": "90",
        "tz": "Europe/Paris",
        "link": "https://meet.example/mlops",
        "description": "On parle *déploiement* et [liens]",
    }
    submit = teams.invoke("task/submit", {"data": typed}, conversation=CHANNEL, locale=locale)
    again = dialog_card(await teams_bot.ask(submit))
    said = texts(again)
    assert t("event.in_the_past") in said
    assert t("event.too_long", max=TITLE_MAX) in said
    kept = inputs(again)
    assert kept["title"]["value"] == typed["title"]
    assert kept["date"]["value"] == typed["date"]
    assert kept["description"]["value"] == typed["description"]
    assert kept["kind"]["value"] == "workshop"
    async with teams_bot.bot.sessions() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(Event)) == 0

    # then right: the dialog closes saying so, the announcement is in the channel
    day = (utcnow().astimezone(paris) + timedelta(days=10)).date()
    typed |= {"title": "Atelier *MLOps* en production", "date": day.isoformat()}
    submit = teams.invoke("task/submit", {"data": typed}, conversation=CHANNEL, locale=locale)
    done = await teams_bot.ask(submit)
    assert done["task"]["type"] == "message"
    assert shows(done["task"]["value"], t, "teams.event.created", title=typed["title"], when=ANY)

    cards = await eventually(lambda: teams.cards(CHANNEL)[1:])
    card = cards[0]
    assert card_errors(card) == []
    posted = teams.activities[CHANNEL][-1]
    assert "text" not in posted  # the card alone, so it keeps an id to update
    said = texts(card)
    assert "📅 Atelier \\*MLOps\\* en production" in said  # typed text shown as typed
    assert t("event.kind.workshop") in said
    assert "18:00" in said and "(Europe/Paris)" in said
    # the link by its host (a Teams meeting's address runs to some 250 characters), and the
    # three answers as the only buttons: a fourth cuts their titles in a 500-pixel card
    assert t("teams.event.link_line", link="[meet.example](https://meet.example/mlops)") in said
    verbs = [a.get("verb") for a in card["actions"]]
    assert verbs == [f"event_rsvp_{a}" for a in ("going", "maybe", "declined")]
    assert t("event.rsvp.going") in said and t("event.rsvp.declined") in said
    assert t("event.count_item", emoji="✅", label=t("event.rsvp.going"), count=0) in said
    async with teams_bot.bot.sessions() as session:
        event = (await session.scalars(sa.select(Event))).one()
    assert (event.channel_id, event.message_ts) == (CHANNEL, posted["id"])
    print(f"\n--- the {language} announcement as it reads ---\n{said}\n")

    # three members answer: Ana twice the same, Bob maybe, Cyd declines then changes her mind
    clicks = [
        (ana, RsvpAnswer.GOING),
        (ana, RsvpAnswer.GOING),
        (bob, RsvpAnswer.MAYBE),
        (cyd, RsvpAnswer.DECLINED),
        (cyd, RsvpAnswer.GOING),
    ]
    mine: Json = {}
    for member, answer in clicks:
        verb = f"event_rsvp_{answer.value}"
        click = teams.execute(
            action(card, verb),
            conversation=CHANNEL,
            reply_to=posted["id"],
            member=member,
            locale=locale,
        )
        got = await teams_bot.ask(click)
        assert got["statusCode"] == 200 and got["type"] == "application/vnd.microsoft.card.adaptive"
        mine = got["value"]
        assert card_errors(mine) == []
        # the clicker's copy says their answer and marks its button
        assert shows(texts(mine), t, f"teams.event.rsvp_saved.{answer.value}", title=ANY, when=ANY)
        assert action(mine, verb)["title"].startswith("✔ ")
    async with teams_bot.bot.sessions() as session:
        rows = (await session.scalars(sa.select(EventRsvp))).all()
    assert sorted(r.answer for r in rows) == [RsvpAnswer.GOING, RsvpAnswer.GOING, RsvpAnswer.MAYBE]
    assert t("event.count_item", emoji="✅", label=t("event.rsvp.going"), count=2) in texts(mine)

    # the channel's card was updated in place: the same message, the new counts
    assert [a["id"] for a in teams.activities[CHANNEL]] == [
        teams.activities[CHANNEL][0]["id"],
        posted["id"],
    ]
    now = teams.cards(CHANNEL)[1]
    assert card_errors(now) == []
    assert t("event.count_item", emoji="✅", label=t("event.rsvp.going"), count=2) in texts(now)
    assert t("event.count_item", emoji="🤔", label=t("event.rsvp.maybe"), count=1) in texts(now)
    assert t("event.count_item", emoji="❌", label=t("event.rsvp.declined"), count=0) in texts(now)
    assert not any(a["title"].startswith("✔") for a in now["actions"])  # nobody's answer there
    puts = [c for c in teams.calls if c.method == "PUT"]
    assert puts and all(c.status == 200 and c.path.endswith(posted["id"]) for c in puts)
    assert len(puts) == 4  # a click that changes nothing updates nothing
    assert teams.card_problems == []
    del leader


async def test_a_member_cannot_plan_an_event(teams_bot: TeamsBot) -> None:
    teams = teams_bot.teams
    await setup(teams_bot, language="fr")
    member = teams.members[1]
    assert (
        await teams_bot.send(teams.message("evenement", conversation=CHANNEL, member=member)) == 200
    )
    replies = await eventually(lambda: teams.activities.get(CHANNEL))
    assert replies[0]["text"] == FR("permission.manage_events")
    assert teams.cards(CHANNEL) == []
    # nor through the dialog (a button forwarded to them, a forged invoke)
    data = {"msteams": {"type": "task/fetch"}, "cop": "event"}
    fetch = teams.invoke("task/fetch", {"data": data}, conversation=CHANNEL, member=member)
    assert (await teams_bot.ask(fetch)) == {
        "task": {"type": "message", "value": FR("permission.manage_events")}
    }
    day = (utcnow() + timedelta(days=5)).date().isoformat()
    typed = {"cop": "event", "title": "Pirate", "date": day, "time": "10:00", "duration": "60"}
    typed["tz"] = "Europe/Paris"
    submit = teams.invoke("task/submit", {"data": typed}, conversation=CHANNEL, member=member)
    assert (await teams_bot.ask(submit))["task"]["value"] == FR("permission.manage_events")
    async with teams_bot.bot.sessions() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(Event)) == 0
    assert len(teams.activities[CHANNEL]) == 1
    # outside a community's channel, the command says where it works
    assert await teams_bot.send(teams.message("événement")) == 200
    personal = await eventually(lambda: next(iter(_personal(teams)), None))
    assert personal["text"] == FR("teams.event.not_a_community")
    assert teams.card_problems == []


def _personal(teams: TeamsEmulator) -> list[Json]:
    return [a for cid, acts in teams.activities.items() if cid.startswith("a:") for a in acts]


async def test_an_answer_to_a_past_or_cancelled_event_is_refused(teams_bot: TeamsBot) -> None:
    """The rules of bot.events.rsvp, said on the clicker's card: a started event's answers are
    closed (and its channel card loses its buttons)."""
    teams = teams_bot.teams
    await setup(teams_bot, language="fr")
    paris = ZoneInfo("Europe/Paris")
    day = (utcnow().astimezone(paris) + timedelta(days=3)).date()
    typed = {"cop": "event", "title": "Café data", "date": day.isoformat(), "time": "09:00"}
    typed |= {"duration": "30", "tz": "Europe/Paris", "kind": "meeting"}
    done = await teams_bot.ask(teams.invoke("task/submit", {"data": typed}, conversation=CHANNEL))
    assert done["task"]["type"] == "message", done
    card = (await eventually(lambda: teams.cards(CHANNEL)))[0]
    posted = teams.activities[CHANNEL][-1]
    # it starts (moved into the past, as time would)
    async with teams_bot.bot.sessions.begin() as session:
        event = (await session.scalars(sa.select(Event))).one()
        event.starts_at = utcnow() - timedelta(minutes=5)
    click = teams.execute(
        action(card, "event_rsvp_going"),
        conversation=CHANNEL,
        reply_to=posted["id"],
        member=teams.members[2],
    )
    got = (await teams_bot.ask(click))["value"]
    assert FR("event.rsvp_started", title="Café data") in texts(got)
    assert only_who_came(got)  # no answers; the leaders' « Qui est venu ? » (attendance)
    assert FR("teams.event.rsvp_closed_line") in texts(teams.cards(CHANNEL)[0])
    assert only_who_came(teams.cards(CHANNEL)[0])

    # another event, cancelled by its leader (the domain's cancel, as Slack's list button does)
    typed |= {"title": "Atelier annulé", "time": "14:00"}
    done = await teams_bot.ask(teams.invoke("task/submit", {"data": typed}, conversation=CHANNEL))
    assert done["task"]["type"] == "message", done
    second = (await eventually(lambda: teams.cards(CHANNEL)[1:]))[0]
    posted = teams.activities[CHANNEL][-1]
    async with teams_bot.bot.sessions() as session:
        event = (
            await session.scalars(sa.select(Event).where(Event.title == "Atelier annulé"))
        ).one()
    leader = Actor(
        workspace_id=teams.tenant_id, slack_user_id=teams.members[0].id, is_manager=False
    )
    deps = teams_bot.bot.deps
    await event_changes.cancel(
        deps.sessions,
        outbox.enqueue,
        actor=leader,
        event_id=event.id,
        default_tz="Europe/Paris",
        default_language="fr",
    )
    click = teams.execute(
        action(second, "event_rsvp_maybe"),
        conversation=CHANNEL,
        reply_to=posted["id"],
        member=teams.members[3],
    )
    got = (await teams_bot.ask(click))["value"]
    assert FR("event.rsvp_cancelled", title="Atelier annulé") in texts(got)
    assert FR("event.cancelled_header", title="Atelier annulé") in texts(got)
    assert "actions" not in got
    async with teams_bot.bot.sessions() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(EventRsvp)) == 0
    assert teams.card_problems == []


async def test_the_channel_card_loses_its_buttons_when_the_event_starts(
    teams_bot: TeamsBot,
) -> None:
    """Nobody clicks: the rituals' clock re-renders the card once the event has started (as
    Slack's announcement is), and leaves it alone at the next tick."""
    teams = teams_bot.teams
    deps = teams_bot.bot.deps
    await setup(teams_bot, language="fr")
    async with deps.sessions.begin() as session:
        # the channel's reference, as the `before` listener keeps it from Teams' activities
        found = conversations.from_activity(teams.message("aide", conversation=CHANNEL))
        assert found is not None
        await conversations.remember(session, **found)
    day = (utcnow().astimezone(ZoneInfo("Europe/Paris")) + timedelta(days=3)).date()
    typed = {"cop": "event", "title": "Café data", "date": day.isoformat(), "time": "09:00"}
    typed |= {"duration": "30", "tz": "Europe/Paris", "kind": "meeting"}
    done = await teams_bot.ask(teams.invoke("task/submit", {"data": typed}, conversation=CHANNEL))
    assert done["task"]["type"] == "message", done
    card = (await eventually(lambda: teams.cards(CHANNEL)))[0]
    assert action(card, "event_rsvp_going")
    # a tick before it starts closes nothing
    assert await event_starts.close(deps, now=utcnow()) == 0
    assert "actions" in teams.cards(CHANNEL)[0]

    # it starts (moved into the past, as time would)
    async with deps.sessions.begin() as session:
        event = (await session.scalars(sa.select(Event))).one()
        event.starts_at = utcnow() - timedelta(minutes=5)
    assert await event_starts.close(deps, now=utcnow()) == 1
    [closed] = teams.cards(CHANNEL)  # the same message, updated in place
    assert only_who_came(closed)
    assert FR("teams.event.rsvp_closed_line") in texts(closed)
    assert "Café data" in texts(closed)
    puts = [c for c in teams.calls if c.method == "PUT"]
    assert len(puts) == 1
    assert await event_starts.close(deps, now=utcnow()) == 0  # done once
    assert len([c for c in teams.calls if c.method == "PUT"]) == 1
    assert teams.card_problems == []
