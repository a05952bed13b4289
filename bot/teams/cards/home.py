"""The person's own corner in Teams, in place of Slack's App Home: one card in the 1:1 chat, sent
when they install the bot for themselves (or open the chat) and on « @cop accueil ».

What it shows is what bot.home.load gives Slack's Home (bot/slack/blocks/home.py), in the same
sentences: the programme line for its managers, their communities and role, their own engagement tier in each (theirs alone), the events ahead
with their answer, the polls waiting for them, and their ritual DMs with the buttons to pause
them (bot/teams/cards/preferences.py). What Teams does not have is left out, not imitated: the
channel links (a bot cannot link a channel without its team's group id, bot/teams/render.py),
the leaders' shortcut buttons and the Discover section (« @cop communautés » when Teams has it).
Names and titles people typed are shown as typed (`say(typed=…)`).
"""

from __future__ import annotations

from bot import figures
from bot.engagement import Mine
from bot.home import Home, HomeCommunity, HomeEvent
from bot.i18n import Translator
from bot.teams.cards.common import Json, card, heading, note, open_dialog, say, text
from bot.teams.cards.preferences import state_blocks

MAX_POLLS = 5
MAX_MINE = 20  # one line per community, as on Slack's Home
_DONE = ("messages", "replies", "reactions", "days", "events", "stories")


def home_card(t: Translator, home: Home, *, tz: str, health_dialog: str | None = None) -> Json:
    """The card; `health_dialog` is the key of the dialog that shows the programme's health
    (the managers' button, as on Slack's Home)."""
    body: list[Json] = [heading(say(t, "home.title"))]
    if home.programme is not None:
        p = home.programme
        line = say(
            t,
            "home.programme_line",
            communities=t.number(p.communities),
            unique_name=figures.name(t, "members_unique"),
            members=t.number(p.unique_members),
            events=t.number(p.events_next_30_days),
        )
        body.append(text(line))
        if health_dialog is not None:
            button = open_dialog(t("home.health_button"), health_dialog, programme=True)
            body.append({"type": "ActionSet", "spacing": "Small", "actions": [button]})
    body.append(_section(say(t, "home.communities")))
    if not home.communities:
        body.append(text(say(t, "home.no_community")))
    body += [_community(t, c) for c in home.communities]
    if home.more_communities:
        body.append(note(say(t, "home.more_communities", count=home.more_communities)))
    mine = [c.mine for c in home.communities if c.mine is not None]
    if mine:  # their own tiers: this card goes to their 1:1 chat alone
        body.append(_section(say(t, "engagement.mine_heading")))
        body += [text(_mine_line(t, m), spacing="Small") for m in mine[:MAX_MINE]]
        body.append(note(say(t, "engagement.mine_note")))
    body.append(_section(say(t, "home.events")))
    if not home.events:
        body.append(text(say(t, "home.no_event")))
    for event in home.events:
        body += _event(t, event, tz)
    if home.polls or home.polled:
        body.append(_section(say(t, "home.polls")))
        if not home.polls:
            body.append(text(say(t, "home.no_poll")))
        for poll in home.polls[:MAX_POLLS]:
            key = "home.survey_line" if poll.survey else "home.poll_line"
            closes = t.datetime(poll.closes_at, tz)
            body.append(text(say(t, key, typed={"community": poll.community_name}, closes=closes)))
    if home.rituals:
        body.append(_section(say(t, "rituals.mute_title")))
        body += state_blocks(t, home.rituals, tz=tz)
        body.append(note(say(t, "home.rituals_note")))
    body.append(note(say(t, "home.zone_note", tz=tz)))
    return card(body)


def _mine_line(t: Translator, mine: Mine) -> str:
    """« Dans « Data & IA » ce mois-ci : **membre actif** — 12 messages, 1 événement »."""
    done = [
        t(f"engagement.done.{what}", n=t.number(getattr(mine.done, what)))
        for what in _DONE
        if getattr(mine.done, what)
    ]
    return say(
        t,
        "engagement.mine_line",
        typed={"community": mine.community_name},
        period=t(f"engagement.period.{mine.window.period.value}"),
        tier=t(f"engagement.tier.{mine.tier.value}"),
        done=", ".join(done) if done else t("engagement.mine_nothing"),
    )


def _section(title: str) -> Json:
    """A part of the card, set apart by a line (titles are our sentences, bold already or not)."""
    bold = title if title.startswith("**") else f"**{title}**"
    return text(bold, separator=True, spacing="Large")


def _community(t: Translator, community: HomeCommunity) -> Json:
    role = t(f"role.{community.role.value}") if community.role else t("home.role_manager")
    line = say(t, "teams.home.community_line", typed={"name": community.name}, role=role)
    if community.may_run and community.charter_to_review:
        line += "\n\n" + say(t, "home.charter_to_review")
    return text(line)


def _event(t: Translator, event: HomeEvent, tz: str) -> list[Json]:
    answer = t(f"event.rsvp.{event.answer.value}") if event.answer else t("home.no_answer")
    line = say(
        t,
        "home.event_line",
        typed={"title": event.title, "community": event.community_name},
        when=t.datetime(event.starts_at, tz),
        answer=answer,
    )
    first, _, rest = line.partition("\n")
    return [text(first, spacing="Medium"), *([text(rest, spacing="None")] if rest else [])]
