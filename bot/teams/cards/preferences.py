"""`@cop sourdine` in Teams: the ritual DMs a member receives, each with its state and buttons to
pause it a week or a month, turn it off or back on — what Slack's `/cop mute` screen shows with a
menu per ritual (bot/slack/blocks/rituals.py), the same sentences. A button is an
`Action.Execute` (verb `MUTE`, data {"ritual", "choice"}): the card is replaced in place by the
updated one (handlers/teams/preferences.py). The same lines go in the 1:1 home card."""

from __future__ import annotations

from collections.abc import Sequence

from bot.i18n import Translator
from bot.preferences import RitualState, local_day
from bot.teams.cards.common import Json, card, heading, note, say, text

MUTE = "mute"  # the buttons' verb
CHOICES = (("7", "rituals.choice_week"), ("30", "rituals.choice_month"))


def state_line(t: Translator, state: RitualState, tz: str) -> str:
    name = t(f"rituals.name.{state.ritual.value}")
    if state.state == "snoozed" and state.until is not None:
        return say(t, "rituals.muted_until", ritual=name, until=t.date(local_day(state.until, tz)))
    if state.state == "off":
        return say(t, "rituals.muted_off", ritual=name)
    return say(t, "rituals.muted_not", ritual=name)


def buttons(t: Translator, state: RitualState) -> Json:
    """Pause a week, a month, turn off (when not off), turn back on (when not on)."""
    choices = list(CHOICES)
    if state.state != "off":
        choices.append(("off", "rituals.choice_off"))
    if state.state != "on":
        choices.append(("on", "rituals.unmute"))
    return {
        "type": "ActionSet",
        "spacing": "Small",
        "actions": [
            {
                "type": "Action.Execute",
                "verb": MUTE,
                "title": t(key),
                "data": {"cop": MUTE, "ritual": state.ritual.value, "choice": value},
            }
            for value, key in choices
        ],
    }


def state_blocks(t: Translator, states: Sequence[RitualState], *, tz: str) -> list[Json]:
    """Each ritual DM: its line, then its buttons."""
    blocks: list[Json] = []
    for state in states:
        blocks += [text(state_line(t, state, tz), spacing="Medium"), buttons(t, state)]
    return blocks


def mute_card(
    t: Translator, states: Sequence[RitualState], *, tz: str, done: str | None = None
) -> Json:
    """The screen; `done` confirms the change just made (our sentence, already in markdown)."""
    body: list[Json] = []
    if done:
        body.append(text(done, color="Good"))
    body.append(heading(say(t, "rituals.mute_title")))
    body += state_blocks(t, states, tz=tz)
    body.append(note(say(t, "rituals.mute_footer")))
    return card(body)
