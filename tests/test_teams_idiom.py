"""What a Teams member reads speaks Teams: the commands our sentences name are Teams' (« @cop
sourdine », never Slack's « /cop »), `@cop sourdine` pauses a ritual as Slack's `/cop sourdine`
does (answered in the 1:1 chat), and the 1:1 home card stands in for Slack's App Home — over
real HTTP, through the Teams emulator, which checks every card against Adaptive Card 1.5."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from bot import communities, installation, roster
from bot.config import load_settings
from bot.i18n import catalogue_keys
from bot.models import (
    Community,
    Person,
    PreferenceState,
    Ritual,
    RitualPreference,
)
from bot.slack.emulator import SlackEmulator
from bot.teams import idiom
from bot.teams.edge import TeamsEdge
from bot.teams.emulator import CHANNEL, PERSONAL, TeamsEmulator
from handlers.teams import register_all
from rituals import scheduler, welcome
from rituals.outbox import Drain
from tests.catalogue import EN, FR
from tests.conftest import TeamsBot, both_env, eventually, make_config, running_bot
from tests.teams_data import (
    ALEX,
    CAMILLE,
    LOU,
    NOA,
    SAM,
    composed_deps,
    dm_of,
    event_going,
    spoken_community,
)

# the emulator's members: Camille (fr) leads and has her 1:1 chat (PERSONAL); Alex (en); Sam
# (fr); Lou (en); Noa (fr) and Alex join later in the welcome test
LOCALES = {CAMILLE: "fr-FR", ALEX: "en-US", SAM: "fr-FR", LOU: "en-GB", NOA: "fr-FR"}
PARIS = ZoneInfo("Europe/Paris")
IN_PARIS = {member: (locale, "Europe/Paris") for member, locale in LOCALES.items()}


async def _community(tb: TeamsBot, *, members: tuple[str, ...] = (CAMILLE, ALEX, SAM, LOU)) -> int:
    """Camille's community, everyone in Paris (tests/teams_data.spoken_community)."""
    return await spoken_community(tb, members=members, spoken=IN_PARIS)


def texts(card: dict[str, Any]) -> str:
    """Every TextBlock of a card, containers and all."""
    found: list[str] = []

    def walk(items: list[dict[str, Any]]) -> None:
        for item in items:
            if item.get("type") == "TextBlock":
                found.append(str(item.get("text", "")))
            walk(item.get("items") or [])

    walk(card.get("body") or [])
    return "\n".join(found)


def buttons(card: dict[str, Any]) -> list[dict[str, Any]]:
    return [a for b in card["body"] if b.get("type") == "ActionSet" for a in b["actions"]]


def refused(teams: TeamsEmulator) -> list[Any]:
    """Cards Teams would not render: the emulator answers their POST with 400."""
    return [c for c in teams.calls if c.status == 400]


async def preference(tb: TeamsBot, user: str, ritual: Ritual) -> RitualPreference | None:
    async with tb.bot.sessions() as session:
        return await session.scalar(
            sa.select(RitualPreference)
            .join(Person, Person.id == RitualPreference.person_id)
            .where(Person.slack_user_id == user, RitualPreference.ritual == ritual)
        )


def day_in(days: int) -> Any:
    return (datetime.now(UTC) + timedelta(days=days)).astimezone(PARIS).date()


# ------------------------------------------------------------------ the commands our sentences name


async def test_the_commands_rewritten_for_teams_are_exactly_those_teams_answers(
    teams_bot: TeamsBot,
) -> None:
    edge = TeamsEdge(teams_bot.bot.deps.config.settings)
    try:
        register_all(edge, teams_bot.bot.deps)
        assert edge.words() == idiom.ANSWERED
    finally:
        await edge.aclose()
    # each Teams wording stands for a sentence that exists, and names no Slack command
    for language in ("fr", "en"):
        keys = catalogue_keys(language)
        worded = {k for k in keys if k.startswith(idiom.PREFIX)}
        assert worded and all(k.removeprefix(idiom.PREFIX) in keys for k in worded)
        t = FR if language == "fr" else EN
        assert not [k for k in worded if "/cop" in t(k)]
    # only our sentences' commands Teams answers; Slack's placeholders and others are left be
    said = "`/cop sourdine sondage 30` · `/cop rôle @x animateur` · /cop {command} · a/cop health"
    assert idiom.commands(said) == (
        "`@cop sourdine sondage 30` · `/cop rôle @x animateur` · /cop {command} · a/cop health"
    )


async def test_the_welcome_dm_names_teams_commands_in_each_language(
    teams_bot: TeamsBot,
) -> None:
    tb, teams = teams_bot, teams_bot.teams
    community_id = await _community(tb, members=(CAMILLE, SAM, LOU))
    async with composed_deps(tb) as deps:
        for newcomer in (NOA, ALEX):
            async with tb.bot.sessions.begin() as session:
                community = await session.get(Community, community_id)
                assert community is not None
                joined = await communities.member_joined(
                    session, community=community, slack_user_id=newcomer
                )
            with installation.speaking_in(teams.tenant_id):
                await roster.refresh_people(
                    deps.sessions, deps.directory, teams.tenant_id, [newcomer]
                )
            async with tb.bot.sessions.begin() as session:  # their Teams client's language
                await session.execute(
                    sa.update(Person)
                    .where(Person.slack_user_id == newcomer)
                    .values(locale=LOCALES[newcomer])
                )
            outcome = await welcome.on_join(deps, community_id=community_id, joined=joined)
            assert outcome == "welcomed"
        await Drain(deps).run_once()
    noa, alex = await dm_of(tb, NOA), await dm_of(tb, ALEX)
    assert noa and alex
    (french,) = teams.cards(noa)
    (english,) = teams.cards(alex)
    assert "@cop sourdine" in texts(french) and "@cop accueil" in texts(french)
    assert "@cop mute" in texts(english) and "@cop home" in texts(english)
    for card in (french, english):
        assert "/cop" not in str(card)
        assert "Home tab" not in str(card) and "onglet Accueil" not in str(card)
    assert not refused(teams) and teams.card_problems == []


# ------------------------------------------------------------------ @cop sourdine


async def test_mute_in_the_1to1_pauses_the_pulse_for_that_person_in_french(
    teams_bot: TeamsBot,
) -> None:
    tb, teams = teams_bot, teams_bot.teams
    community_id = await _community(tb)
    # typed as our messages say it, « @cop » in front, in the 1:1 chat (no real mention there)
    said = teams.message("@cop sourdine sondage 14", mention=False)
    assert await tb.send(said) == 200
    (card,) = await eventually(lambda: teams.cards(PERSONAL))
    pulse = FR("rituals.name.pulse")
    shown = texts(card)
    assert FR("rituals.snoozed", ritual=pulse, until=FR.date(day_in(14))) in shown
    assert FR("rituals.muted_until", ritual=pulse, until=FR.date(day_in(14))) in shown
    assert FR("rituals.muted_not", ritual=FR("rituals.name.reminders")) in shown
    assert "@cop accueil" in shown and "/cop" not in shown
    row = await preference(tb, CAMILLE, Ritual.PULSE)
    assert row is not None and row.state == PreferenceState.SNOOZED

    # the pulse goes to the others, not to her (the check Slack's test makes)
    async with composed_deps(tb) as deps:
        await scheduler.run_now(deps, ritual=Ritual.PULSE, community_id=community_id)
        await Drain(deps).run_once()
    assert teams.cards(PERSONAL) == [card]  # no poll in her chat
    for other in (ALEX, SAM, LOU):
        dm = await dm_of(tb, other)
        assert dm is not None and teams.cards(dm), other
    # the poll DM says how to pause it, Teams' way, in each one's language
    (sam,) = teams.cards(str(await dm_of(tb, SAM)))
    (alex,) = teams.cards(str(await dm_of(tb, ALEX)))
    assert "@cop sourdine sondage 30" in texts(sam) and "/cop" not in str(sam)
    assert "@cop mute pulse 30" in texts(alex) and "/cop" not in str(alex)
    assert not refused(teams) and teams.card_problems == []


async def test_mute_answers_in_english_and_its_buttons_update_the_card_in_place(
    teams_bot: TeamsBot,
) -> None:
    tb, teams = teams_bot, teams_bot.teams
    await _community(tb)
    assert await tb.send(teams.message("mute pulse off", locale="en-US")) == 200
    (card,) = await eventually(lambda: teams.cards(PERSONAL))
    pulse = EN("rituals.name.pulse")
    assert EN("rituals.muted_for_good", ritual=pulse) in texts(card)
    assert EN("rituals.muted_off", ritual=pulse) in texts(card)

    # « Turn back on » under the pulse: the card comes back updated, nothing else is posted
    (back_on,) = [
        b for b in buttons(card) if b["data"]["ritual"] == "pulse" and b["data"]["choice"] == "on"
    ]
    assert back_on["title"] == EN("rituals.unmute")
    answer = await tb.ask(teams.execute(back_on, locale="en-US"))
    assert answer["statusCode"] == 200
    assert EN("rituals.unmuted", ritual=pulse) in texts(answer["value"])
    assert EN("rituals.muted_not", ritual=pulse) in texts(answer["value"])
    assert await preference(tb, CAMILLE, Ritual.PULSE) is None
    # a forged choice changes nothing and says how to write it
    forged = {**back_on, "data": {**back_on["data"], "choice": "forever"}}
    answer = await tb.ask(teams.execute(forged, locale="en-US"))
    assert "@cop mute" in texts(answer["value"]) and "/cop" not in texts(answer["value"])
    assert await preference(tb, CAMILLE, Ritual.PULSE) is None
    assert len(teams.cards(PERSONAL)) == 1
    assert not refused(teams) and teams.card_problems == []


async def test_mute_asked_in_a_channel_is_answered_in_the_1to1_chat(teams_bot: TeamsBot) -> None:
    tb, teams = teams_bot, teams_bot.teams
    await _community(tb)
    sam = teams.members[2]
    said = teams.message("sourdine rappels 7", conversation=CHANNEL, member=sam)
    assert await tb.send(said) == 200
    in_channel = await eventually(lambda: teams.activities.get(CHANNEL))
    assert [a.get("text") for a in in_channel] == [FR("teams.private.sent")]
    dm = await eventually(lambda: dm_of_known(teams, SAM))
    (card,) = await eventually(lambda: teams.cards(dm))
    reminders = FR("rituals.name.reminders")
    assert FR("rituals.snoozed", ritual=reminders, until=FR.date(day_in(7))) in texts(card)
    row = await preference(tb, SAM, Ritual.REMINDERS)
    assert row is not None and row.state == PreferenceState.SNOOZED
    # an unknown ritual: the refusal, privately too, naming Teams' command
    assert await tb.send(teams.message("sourdine météo", conversation=CHANNEL, member=sam)) == 200
    refusal = await eventually(lambda: [a for a in teams.activities.get(dm, []) if a.get("text")])
    assert refusal[-1]["text"].startswith("Je ne connais pas le rituel « météo »")
    assert not refused(teams) and teams.card_problems == []


async def test_mute_in_a_channel_from_someone_teams_will_not_chat_with_says_so_there(
    teams_bot: TeamsBot,
) -> None:
    tb, teams = teams_bot, teams_bot.teams
    await _community(tb)
    lou = teams.members[3]
    teams.blocked.add(lou.id)  # Teams answers 403 to a 1:1 chat opened with her
    said = teams.message("mute reminders 7", conversation=CHANNEL, member=lou, locale="en-GB")
    assert await tb.send(said) == 200
    in_channel = await eventually(lambda: teams.activities.get(CHANNEL))
    assert [a.get("text") for a in in_channel] == [EN("teams.private.unreachable")]
    # her choice is made all the same (the answer is what could not reach her)
    row = await preference(tb, LOU, Ritual.REMINDERS)
    assert row is not None and row.state == PreferenceState.SNOOZED


def dm_of_known(teams: TeamsEmulator, user: str) -> str | None:
    """The 1:1 chat the bot opened with a member (the emulator's record of it)."""
    suffix = user.rsplit("-", 1)[-1]
    wanted = f"a:1emu-personal-{suffix}"
    return wanted if wanted in teams.activities else None


# ------------------------------------------------------------------ the 1:1 home card


@pytest.mark.parametrize("locale", ["fr-FR", "en-US"])
async def test_installing_the_bot_for_oneself_sends_the_home_card(
    teams_bot: TeamsBot, locale: str
) -> None:
    tb, teams = teams_bot, teams_bot.teams
    community_id = await _community(tb)
    await event_going(tb, community_id, title="Atelier *pandas* <at>Tous</at>", going=CAMILLE)
    installed = teams.conversation_update(conversation=PERSONAL)
    installed |= {"membersAdded": [installed["recipient"]], "locale": locale}
    installed["channelData"].pop("eventType", None)
    assert await tb.send(installed) == 200
    (card,) = await eventually(lambda: teams.cards(PERSONAL))
    t = FR if locale == "fr-FR" else EN
    shown = texts(card)
    assert t("home.title") in shown
    assert "**Data Science** — " + t("role.leader") in shown
    # the next event, its title as typed, and her answer
    assert r"Atelier \*pandas\* \<at\>Tous\</at\>" in shown
    assert t("event.rsvp.going") in shown
    assert t("rituals.muted_not", ritual=t("rituals.name.pulse")) in shown
    assert ("@cop sourdine" if t is FR else "@cop mute") in shown and "/cop" not in shown
    # her own engagement (the card is hers alone), nothing counted yet
    assert t("engagement.mine_heading").strip("*") in shown
    assert t("engagement.mine_nothing") in shown
    assert "msteams" not in card  # no one mentioned: a typed <at> is no mention

    # the same card on « @cop accueil » / "home", and nothing on someone else's arrival
    word = "accueil" if t is FR else "home"
    assert await tb.send(teams.message(word, locale=locale)) == 200
    cards = await eventually(lambda: teams.cards(PERSONAL)[1:])
    assert texts(cards[0]) == shown
    assert await tb.send(teams.conversation_update(conversation=CHANNEL)) == 200
    assert await tb.send(teams.message("aide", locale=locale)) == 200
    await eventually(lambda: teams.activities[PERSONAL][2:])
    assert len(teams.activities[PERSONAL]) == 3  # the help card only
    assert not refused(teams) and teams.card_problems == []


@pytest.fixture
async def teams_manager_bot(
    database_url: str, emulator: SlackEmulator, teams: TeamsEmulator
) -> AsyncIterator[TeamsBot]:
    """The Teams bot with the emulator's last member (Noa) as a programme manager."""
    config = make_config(database_url, emulator)
    settings = load_settings(both_env(database_url, emulator, teams))
    # app.yaml's managers are Slack ids for now (bot/config.py): a Teams one is set here
    settings = dataclasses.replace(settings, extra_managers=(teams.members[-1].id,))
    async with running_bot(dataclasses.replace(config, settings=settings), emulator) as bot:
        yield TeamsBot(bot, teams)


async def test_a_managers_home_card_has_the_programme_line_and_opens_its_health(
    teams_manager_bot: TeamsBot,
) -> None:
    tb, teams = teams_manager_bot, teams_manager_bot.teams
    await _community(tb, members=(CAMILLE, ALEX, SAM, LOU, NOA))
    noa = teams.members[-1]
    assert await tb.send(teams.message("home", member=noa, locale="en-US")) == 200
    (card,) = await eventually(lambda: teams.cards(PERSONAL))
    shown = texts(card)
    assert "**Programme**: 1 community · " in shown
    assert "**Data Science** — " + EN("role.member") in shown
    (health,) = [b for b in buttons(card) if b["type"] == "Action.Submit"]
    assert health["title"] == EN("home.health_button")
    # the button opens the programme's health, through the health dialog and its guard
    opened = await tb.ask(teams.invoke("task/fetch", {"data": health["data"]}, member=noa))
    assert opened["task"]["type"] == "continue"
    assert "Programme test" in opened["task"]["value"]["title"]
    # a member's card has neither
    assert await tb.send(teams.message("home", locale="en-US")) == 200
    cards = await eventually(lambda: teams.cards(PERSONAL)[1:])
    assert "**Programme**" not in texts(cards[0])
    assert not [b for b in buttons(cards[0]) if b["title"] == EN("home.health_button")]
    assert not refused(teams) and teams.card_problems == []


async def test_home_asked_in_a_channel_goes_to_the_1to1_chat(teams_bot: TeamsBot) -> None:
    tb, teams = teams_bot, teams_bot.teams
    await _community(tb)
    sam = teams.members[2]
    assert await tb.send(teams.message("accueil", conversation=CHANNEL, member=sam)) == 200
    in_channel = await eventually(lambda: teams.activities.get(CHANNEL))
    assert [a.get("text") for a in in_channel] == [FR("teams.private.sent")]
    dm = await eventually(lambda: dm_of_known(teams, SAM))
    (card,) = await eventually(lambda: teams.cards(dm))
    assert "**Data Science** — " + FR("role.member") in texts(card)
    assert not refused(teams) and teams.card_problems == []
