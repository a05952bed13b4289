"""The rituals screens: `/cop rituals` (settings, next runs, last results) and `/cop mute` (the
reminders and the newcomers' digest are messages: rituals/reminders.py, rituals/digest.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    Option,
    SectionBlock,
    StaticSelectElement,
)

from bot.errors import NotFound
from bot.i18n import Translator
from bot.models import Ritual
from bot.numbers import row_id
from bot.preferences import RitualState, local_day
from bot.slack.echo import Mrkdwn, echo, mrkdwn

TOGGLE = "rituals_toggle"  # value: "<community_id>|<ritual>"
CADENCE = "rituals_cadence"  # action_id prefix: rituals_cadence:<ritual>; option value "<cid>|<ritual>|<cadence>"
MUTE = "rituals_mute"  # action_id rituals_mute:<ritual>; option value: days, "off" or "on"
SUMMARY = "rituals_summary"  # value: "<community_id>|pulse": share poll summaries in the channel


def parse_target(value: Any, *, parts: int = 2) -> tuple[int, Ritual, list[str]]:
    """(community id, ritual, the rest) from a button or option value; NotFound when it is not
    one of the values these screens put there."""
    fields = str(value or "").split("|")
    if len(fields) != parts:
        raise NotFound("error.not_found")
    return row_id(fields[0]), parse_ritual(fields[1]), fields[2:]


def parse_ritual(value: Any) -> Ritual:
    try:
        return Ritual(value)
    except ValueError:
        raise NotFound("error.not_found") from None


@dataclass(frozen=True, slots=True)
class RitualLine:
    ritual: str
    enabled: bool
    cadence: str | None
    cadences: tuple[str, ...]
    next_run_at: datetime | None
    last_result: str | None
    share_summary: bool | None = None  # pulse only


def build_rituals(
    t: Translator,
    *,
    community_id: int,
    community: str,
    tz: str,
    lines: list[RitualLine],
    may_edit: bool,
) -> tuple[Mrkdwn, list[Block]]:
    title = t("rituals.title", community=community)
    blocks: list[Block] = [HeaderBlock(text=title[:150])]
    for line in lines:
        state = t("rituals.on") if line.enabled else t("rituals.off")
        parts = [f"*{t(f'rituals.name.{line.ritual}')}* — {state}"]
        if line.cadence:
            parts.append(t("rituals.cadence_is", cadence=t(f"rituals.cadence.{line.cadence}")))
        if line.enabled and line.next_run_at is not None:
            parts.append(t("rituals.next_run", when=t.datetime(line.next_run_at, tz)))
        if line.last_result:
            parts.append(t("rituals.last_result", result=line.last_result))
        section = SectionBlock(
            block_id=f"ritual_{line.ritual}",
            text=mrkdwn("\n".join(parts)),
            accessory=(
                ButtonElement(
                    text=t("rituals.turn_off") if line.enabled else t("rituals.turn_on"),
                    action_id=f"{TOGGLE}:{line.ritual}",
                    value=f"{community_id}|{line.ritual}",
                    style="danger" if line.enabled else "primary",
                )
                if may_edit
                else None
            ),
        )
        blocks.append(section)
        if line.share_summary is not None:
            blocks.append(
                SectionBlock(
                    block_id=f"summary_{line.ritual}",
                    text=mrkdwn(
                        t("rituals.summary_on" if line.share_summary else "rituals.summary_off")
                    ),
                    accessory=(
                        ButtonElement(
                            text=t(
                                "rituals.summary_stop"
                                if line.share_summary
                                else "rituals.summary_allow"
                            ),
                            action_id=f"{SUMMARY}:{line.ritual}",
                            value=f"{community_id}|{line.ritual}",
                        )
                        if may_edit
                        else None
                    ),
                )
            )
        if may_edit and len(line.cadences) > 1:
            options = [
                Option(text=t(f"rituals.cadence.{c}"), value=f"{community_id}|{line.ritual}|{c}")
                for c in line.cadences
            ]
            initial = next((o for o in options if o.value.endswith(f"|{line.cadence}")), None)
            blocks.append(
                ActionsBlock(
                    block_id=f"cadence_{line.ritual}",
                    elements=[
                        StaticSelectElement(
                            action_id=f"{CADENCE}:{line.ritual}",
                            placeholder=t("rituals.change_cadence"),
                            options=options,
                            initial_option=initial,
                        )
                    ],
                )
            )
    blocks.append(ContextBlock(elements=[mrkdwn(t("rituals.mute_hint"))]))
    return echo(title), blocks


def preference_blocks(t: Translator, states: Sequence[RitualState], *, tz: str) -> list[Block]:
    """One line per kind of ritual DM with its state and a menu to pause, stop or restart it;
    the same blocks in `/cop mute` and in the App Home."""
    blocks: list[Block] = []
    for state in states:
        name = t(f"rituals.name.{state.ritual.value}")
        if state.state == "snoozed" and state.until is not None:
            line = t("rituals.muted_until", ritual=name, until=t.date(local_day(state.until, tz)))
        elif state.state == "off":
            line = t("rituals.muted_off", ritual=name)
        else:
            line = t("rituals.muted_not", ritual=name)
        choices = [("7", "rituals.choice_week"), ("30", "rituals.choice_month")]
        if state.state != "off":
            choices.append(("off", "rituals.choice_off"))
        if state.state != "on":
            choices.append(("on", "rituals.unmute"))
        blocks.append(
            SectionBlock(
                text=mrkdwn(line),
                accessory=StaticSelectElement(
                    action_id=f"{MUTE}:{state.ritual.value}",
                    placeholder=t("rituals.choice_placeholder"),
                    options=[Option(value=value, text=t(key)) for value, key in choices],
                ),
            )
        )
    return blocks


def build_mute_status(
    t: Translator, states: Sequence[RitualState], *, tz: str, done: str | None = None
) -> tuple[Mrkdwn, list[Block]]:
    """`/cop mute`: what the member receives, each with its menu; `done` confirms a change."""
    blocks: list[Block] = []
    if done:
        blocks.append(SectionBlock(text=mrkdwn(done)))
    blocks.append(SectionBlock(text=mrkdwn(t("rituals.mute_title"))))
    blocks += preference_blocks(t, states, tz=tz)
    blocks.append(ContextBlock(elements=[mrkdwn(t("rituals.mute_footer"))]))
    return echo(done or t("rituals.mute_title")), blocks
