"""The /cop stage screen and its modal: the stage and status, who set them, the suggestion,
the stage's checklist; and the pieces /cop health and the Home reuse (checklist lines)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot import lifecycle
from bot.errors import InvalidInput
from bot.health import explain
from bot.i18n import Translator
from bot.models import CommunityStatus, Stage
from bot.numbers import row_id
from bot.slack.blocks.common import header, note, section, sections_of_lines
from bot.slack.echo import Mrkdwn, echo, md, mention, say

OPEN = "lifecycle_open"  # the "change" button: opens the modal (value: community id)
APPLY = "lifecycle_apply"  # "move to <suggested stage>" (value: "<community id>:<stage>")
REDESIGN = "lifecycle_redesign"  # the reorientation checklist's talk with the sponsor
KICKOFF = "lifecycle_kickoff"  # the event modal, as a kick-off with the guides' outline
MODAL = "lifecycle_modal"
STAGE_BLOCK, STATUS_BLOCK, REASON_BLOCK = "lifecycle_stage", "lifecycle_status", "reason"
STAGE_ACTION, STATUS_ACTION, REASON_ACTION = "stage", "status", "reason_text"


def stage_name(t: Translator, stage: Stage) -> str:
    return t(f"health.stage.{stage.value}")


def status_name(t: Translator, status: CommunityStatus) -> str:
    return t(f"lifecycle.status.{status.value}")


def suggestion_line(t: Translator, suggestion: lifecycle.Suggestion) -> str:
    why = " · ".join(explain(t, r) for r in suggestion.reasons)
    return t("lifecycle.suggestion", stage=stage_name(t, suggestion.stage), why=why)


def checklist_lines(t: Translator, checklist: lifecycle.Checklist) -> list[str]:
    """Each next action with ✅ (done) or ⬜ (still to do)."""
    return [
        f"{'✅' if item.done else '⬜'} {t(item.key, **item.params)}" for item in checklist.items
    ]


def checklist_text(t: Translator, checklist: lifecycle.Checklist) -> str:
    done = sum(1 for i in checklist.items if i.done)
    title = t(
        "lifecycle.checklist_title",
        stage=stage_name(t, checklist.stage),
        done=done,
        total=len(checklist.items),
    )
    return "\n".join([title, *checklist_lines(t, checklist)])


@dataclass(frozen=True, slots=True)
class StageScreen:
    community_id: int
    community_name: str
    created: date
    facts: lifecycle.Facts
    last: lifecycle.LastChange | None
    suggestion: lifecycle.Suggestion | None
    may_set: bool


def build_stage(t: Translator, screen: StageScreen) -> tuple[Mrkdwn, list[Block]]:
    f = screen.facts
    title = t("lifecycle.title", name=screen.community_name)
    current = t("lifecycle.current", stage=stage_name(t, f.stage), status=status_name(t, f.status))
    if screen.last is not None:
        who = mention(screen.last.by_user_id) if screen.last.by_user_id else t("lifecycle.someone")
        day = t.date(screen.last.at.date(), "medium")
        since = (
            say(t, "lifecycle.since_set_reason", day=day, who=who, reason=screen.last.reason)
            if screen.last.reason
            else say(t, "lifecycle.since_set", day=day, who=who)
        )
    else:
        since = say(t, "lifecycle.since_created", day=t.date(screen.created, "medium"))
    blocks: list[Block] = [header(title), section(md("{a}\n{b}", a=current, b=since))]
    if screen.suggestion is not None:
        blocks.append(section(suggestion_line(t, screen.suggestion)))
    checklist = lifecycle.checklist(f)
    blocks.append(section(checklist_text(t, checklist)))
    kickoff_open = f.stage == Stage.LAUNCH and f.events == 0
    if kickoff_open:
        blocks.append(note(f"{t('lifecycle.kickoff_title')}\n{kickoff_outline(t)}"))
    if screen.may_set:
        buttons = [
            ButtonElement(
                action_id=OPEN, text=t("lifecycle.change_button"), value=str(screen.community_id)
            )
        ]
        if screen.suggestion is not None:
            target = screen.suggestion.stage
            buttons.insert(
                0,
                ButtonElement(
                    action_id=APPLY,
                    text=t("lifecycle.apply_button", stage=stage_name(t, target))[:75],
                    value=f"{screen.community_id}:{target.value}",
                    style="primary",
                ),
            )
        if kickoff_open:
            buttons.append(
                ButtonElement(
                    action_id=KICKOFF,
                    text=t("lifecycle.kickoff_button"),
                    value=str(screen.community_id),
                )
            )
        if f.stage == Stage.REORIENTATION and f.redesign_talk_at is None:
            buttons.append(
                ButtonElement(
                    action_id=REDESIGN,
                    text=t("lifecycle.redesign_button"),
                    value=str(screen.community_id),
                )
            )
        blocks.append(ActionsBlock(block_id="lifecycle_actions", elements=buttons))
    else:
        blocks.append(note(t("lifecycle.read_only")))
    return echo(title), blocks


def build_history(
    t: Translator, *, community_name: str, steps: list[lifecycle.Step], tz: str
) -> tuple[Mrkdwn, list[Block]]:
    """The stage changes, newest first: when, from what to what, who, why."""
    title = t("lifecycle.history_title", name=community_name)
    lines: list[str] = []
    for step in steps:
        day = t.date(step.at.astimezone(ZoneInfo(tz)).date(), "medium")
        moved = (
            f"{stage_name(t, step.from_stage)} → {stage_name(t, step.to_stage)}"
            if step.from_stage is not None and step.from_stage != step.to_stage
            else stage_name(t, step.to_stage)
        )
        status = status_name(t, step.to_status)
        who = mention(step.by_user_id) if step.by_user_id else t("lifecycle.history_operator")
        line = say(t, "lifecycle.history_line", day=day, moved=moved, status=status, who=who)
        if step.reason:
            line += say(t, "lifecycle.history_reason", reason=step.reason)
        lines.append(line)
    if not lines:
        return echo(title), [header(title), section(t("lifecycle.history_empty"))]
    return echo(title), [header(title), *sections_of_lines(lines)]


def kickoff_outline(t: Translator) -> str:
    """The guides' kick-off meeting as numbered steps (the event's description, or a note)."""
    outline = [t(key) for key in lifecycle.KICKOFF_OUTLINE]
    return "\n".join(f"{n}. {line}" for n, line in enumerate(outline, 1))


def _option(text: str, value: str) -> Option:
    return Option(text=text[:75], value=value)


def build_modal(
    t: Translator,
    *,
    community_id: int,
    community_name: str,
    stage: Stage,
    status: CommunityStatus,
    may_close: bool,
) -> View:
    """The stage, the status (closed only for programme managers), an optional reason."""
    stages = [_option(stage_name(t, s), s.value) for s in lifecycle.ORDER]
    statuses = [
        _option(status_name(t, s), s.value)
        for s in CommunityStatus
        if may_close or s != CommunityStatus.CLOSED or status == CommunityStatus.CLOSED
    ]
    return View(
        type="modal",
        callback_id=MODAL,
        title=t("lifecycle.modal_title")[:24],
        submit=t("lifecycle.modal_submit")[:24],
        close=t("lifecycle.modal_cancel")[:24],
        private_metadata=str(community_id),
        blocks=[
            section(echo(community_name)),
            InputBlock(
                block_id=STAGE_BLOCK,
                label=t("lifecycle.field.stage"),
                element=StaticSelectElement(
                    action_id=STAGE_ACTION,
                    options=stages,
                    initial_option=next(o for o in stages if o.value == stage.value),
                ),
            ),
            InputBlock(
                block_id=STATUS_BLOCK,
                label=t("lifecycle.field.status"),
                element=StaticSelectElement(
                    action_id=STATUS_ACTION,
                    options=statuses,
                    initial_option=next(o for o in statuses if o.value == status.value),
                ),
            ),
            InputBlock(
                block_id=REASON_BLOCK,
                label=t("lifecycle.field.reason"),
                optional=True,
                hint=t("lifecycle.field.reason_hint"),
                element=PlainTextInputElement(
                    action_id=REASON_ACTION, multiline=True, max_length=lifecycle.MAX_REASON
                ),
            ),
        ],
    )


@dataclass(frozen=True, slots=True)
class Submitted:
    community_id: int
    stage: Stage
    status: CommunityStatus
    reason: str


def parse_modal(view: dict[str, Any]) -> Submitted:
    """The modal's values; anything that is not ours (a forged payload) is InvalidInput."""
    values = (view.get("state") or {}).get("values") or {}
    try:
        stage_value = values[STAGE_BLOCK][STAGE_ACTION]["selected_option"]["value"]
        status_value = values[STATUS_BLOCK][STATUS_ACTION]["selected_option"]["value"]
        reason = (values.get(REASON_BLOCK, {}).get(REASON_ACTION, {}) or {}).get("value") or ""
        return Submitted(
            community_id=row_id(str(view.get("private_metadata") or "")),
            stage=Stage(stage_value),
            status=CommunityStatus(status_value),
            reason=str(reason),
        )
    except (KeyError, TypeError, ValueError):
        raise InvalidInput("lifecycle.bad_stage", value="?") from None


def parse_apply(value: str) -> tuple[int, Stage]:
    cid, _, stage = value.partition(":")
    try:
        return row_id(cid), Stage(stage)
    except ValueError:
        raise InvalidInput("lifecycle.bad_stage", value=stage[:40]) from None


def home_line(t: Translator, checklist: lifecycle.Checklist) -> str:
    """The Home's lines for those who run the community: the stage and its open next actions."""
    stage = stage_name(t, checklist.stage)
    open_items = checklist.open_items
    if not open_items:
        return t("lifecycle.home_done", stage=stage)
    title = t("lifecycle.home_line", stage=stage, left=len(open_items), total=len(checklist.items))
    return "\n".join([title, *(f"⬜ {t(i.key, **i.params)}" for i in open_items)])
