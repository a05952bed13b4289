"""Proposing a community: the "Propose a community" button (Discover, `/cop communities`), the
proposal form, the programme managers' message with Accept / Decline / Ask for more and its
small reason (question) form, and what each person reads once it is decided."""

from __future__ import annotations

import json
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConversationFilter,
    ConversationSelectElement,
    InputBlock,
    PlainTextInputElement,
    UserMultiSelectElement,
)
from slack_sdk.models.views import View

from bot import proposals
from bot.errors import CopError, InvalidFields, InvalidInput, NotFound
from bot.i18n import Translator
from bot.numbers import row_id
from bot.slack.blocks.common import header, input_values, note, section
from bot.slack.echo import Mrkdwn, channel, cut, echo, md, mention, say

PROPOSE = "proposal_open"  # value: a name to start the form with (what was searched), or ""
ACCEPT = "proposal_accept"
DECLINE = "proposal_decline"
MORE = "proposal_more"
COMPLETE = "proposal_complete"  # the proposer's "Complete my proposal" (value: its id)
DECIDE_ACTIONS = (ACCEPT, DECLINE, MORE)
MODAL = "proposal_modal"
NOTE_MODAL = "proposal_note_modal"
NAME, PURPOSE, INTERESTED = "name", "purpose", "interested"
CHANNEL_NEW, CHANNEL_EXISTING, NOTE = "channel_new", "channel_existing", "note"
PURPOSE_SHOWN = 1500  # the managers' message shows the purpose whole (it is at most 1,000)


def _propose_button(t: Translator, *, name: str = "") -> ButtonElement:
    return ButtonElement(
        text=t("proposal.propose_button"), action_id=PROPOSE, value=name[: proposals.NAME_MAX]
    )


def propose_blocks(t: Translator, *, searched: str, nothing_found: bool) -> list[Block]:
    """Under a list of communities: the way to propose one (the words searched become the
    name to start with when nothing matched them)."""
    if nothing_found and searched:
        return [
            section(
                say(t, "proposal.propose_nothing_found", query=searched),
                accessory=_propose_button(t, name=searched),
                block_id="proposal_propose",
            )
        ]
    return [
        section(
            say(t, "proposal.propose_hint"),
            accessory=_propose_button(t),
            block_id="proposal_propose",
        )
    ]


# --- the form ---------------------------------------------------------------------------------


def build_modal(
    t: Translator, *, draft: proposals.Draft | None = None, proposal_id: int | None = None
) -> View:
    """Name, purpose, who else is interested, and the channel: a new one's name (empty: made
    from the community's name) or an existing channel. Completing a proposal: prefilled."""
    draft = draft or proposals.Draft(name="", purpose="")
    existing = draft.channel if draft.existing else None
    typed_channel = draft.channel if not draft.existing else ""
    intro = (
        say(t, "proposal.modal_intro_complete") if proposal_id else say(t, "proposal.modal_intro")
    )
    return View(
        type="modal",
        callback_id=MODAL,
        private_metadata=json.dumps({"p": proposal_id}),
        title=t("proposal.modal_title")[:24],
        submit=t("proposal.modal_submit")[:24],
        close=t("proposal.modal_cancel")[:24],
        blocks=[
            section(intro),
            InputBlock(
                block_id=NAME,
                label=t("proposal.field.name"),
                hint=t("proposal.field.name_hint"),
                element=PlainTextInputElement(
                    action_id=NAME,
                    max_length=proposals.NAME_MAX,
                    initial_value=draft.name or None,
                ),
            ),
            InputBlock(
                block_id=PURPOSE,
                label=t("proposal.field.purpose"),
                hint=t("proposal.field.purpose_hint"),
                element=PlainTextInputElement(
                    action_id=PURPOSE,
                    multiline=True,
                    max_length=proposals.PURPOSE_MAX,
                    initial_value=draft.purpose or None,
                ),
            ),
            InputBlock(
                block_id=INTERESTED,
                label=t("proposal.field.interested"),
                hint=t("proposal.field.interested_hint"),
                optional=True,
                element=UserMultiSelectElement(
                    action_id=INTERESTED,
                    placeholder=t("proposal.field.interested_placeholder"),
                    initial_users=list(draft.interested) or None,
                    max_selected_items=proposals.INTERESTED_MAX,
                ),
            ),
            InputBlock(
                block_id=CHANNEL_NEW,
                label=t("proposal.field.channel_new"),
                hint=t("proposal.field.channel_new_hint"),
                optional=True,
                element=PlainTextInputElement(
                    action_id=CHANNEL_NEW,
                    max_length=proposals.CHANNEL_MAX,
                    placeholder=t("proposal.field.channel_new_placeholder"),
                    initial_value=typed_channel or None,
                ),
            ),
            InputBlock(
                block_id=CHANNEL_EXISTING,
                label=t("proposal.field.channel_existing"),
                hint=t("proposal.field.channel_existing_hint"),
                optional=True,
                element=ConversationSelectElement(
                    action_id=CHANNEL_EXISTING,
                    placeholder=t("proposal.field.channel_existing_placeholder"),
                    initial_conversation=existing,
                    filter=ConversationFilter(
                        include=["public", "private"],
                        exclude_bot_users=True,
                        exclude_external_shared_channels=True,
                    ),
                ),
            ),
        ],
    )


def parse_modal(view: dict[str, Any]) -> tuple[int | None, proposals.Draft]:
    """(the proposal being completed or None, the form's values as typed). Both a new name
    and an existing channel: refused, one or the other."""
    meta = _meta(view)
    proposal_id = row_id(meta["p"]) if meta.get("p") is not None else None
    name = input_values(view, NAME, NAME).get("value") or ""
    purpose = input_values(view, PURPOSE, PURPOSE).get("value") or ""
    users = input_values(view, INTERESTED, INTERESTED).get("selected_users") or []
    typed_channel = (input_values(view, CHANNEL_NEW, CHANNEL_NEW).get("value") or "").strip()
    picked = input_values(view, CHANNEL_EXISTING, CHANNEL_EXISTING).get("selected_conversation")
    if typed_channel and picked:
        raise InvalidFields([InvalidInput("proposal.channel_both", field="channel_both")])
    draft = proposals.Draft(
        name=str(name),
        purpose=str(purpose),
        interested=tuple(str(u) for u in users if isinstance(u, str)),
        channel=str(picked) if picked else typed_channel,
        existing=bool(picked),
    )
    return proposal_id, draft


def block_of(field: str | None, *, existing: bool) -> str:
    """The form's block a field's error shows under."""
    if field == "channel":
        return CHANNEL_EXISTING if existing else CHANNEL_NEW
    if field == "channel_both":
        return CHANNEL_NEW
    return {"purpose": PURPOSE, "interested": INTERESTED}.get(field or "", NAME)


def field_errors(t: Translator, exc: CopError, *, existing: bool) -> dict[str, str]:
    """Every field's mistake under its field (the first per field)."""
    errors: list[InvalidInput] = (
        exc.errors if isinstance(exc, InvalidFields) else [InvalidInput(exc.key, **exc.params)]
    )
    shown: dict[str, str] = {}
    for error in errors:
        shown.setdefault(block_of(error.field, existing=existing), t(error.key, **error.params))
    return shown


def _meta(view: dict[str, Any]) -> dict[str, Any]:
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except (TypeError, ValueError):
        raise NotFound("proposal.not_found") from None
    if not isinstance(meta, dict):
        raise NotFound("proposal.not_found")
    return meta


# --- what the programme managers get --------------------------------------------------------


def channel_text(t: Translator, proposal: proposals.Proposal) -> Mrkdwn:
    if proposal.community_id is not None:  # accepted: the community's channel, made or not
        return say(t, "proposal.channel_community", channel=channel(proposal.channel))
    if proposal.existing_channel:
        return say(t, "proposal.channel_existing", channel=channel(proposal.channel))
    return say(t, "proposal.channel_new", name=proposal.channel)


def summary(t: Translator, proposal: proposals.Proposal) -> Mrkdwn:
    """The proposal as the managers read it, under the sentence that names it."""
    lines = [say(t, "proposal.summary_purpose", purpose=cut(proposal.purpose, PURPOSE_SHOWN))]
    if proposal.interested:
        lines.append(
            say(
                t,
                "proposal.summary_interested",
                people=Mrkdwn(", ").join(mention(u) for u in proposal.interested),
            )
        )
    else:
        lines.append(say(t, "proposal.summary_nobody_else"))
    lines.append(channel_text(t, proposal))
    return Mrkdwn("\n").join(lines)


def manager_blocks(
    t: Translator, proposal: proposals.Proposal, *, again: bool = False
) -> tuple[Mrkdwn, list[Block]]:
    """A manager's DM: who proposes what, and the three buttons (value: the proposal's id)."""
    text = say(
        t,
        "proposal.to_managers_again" if again else "proposal.to_managers",
        who=mention(proposal.proposer),
        name=proposal.name,
    )
    value = str(proposal.id)
    return text, [
        header(t("proposal.managers_title")),
        section(text),
        section(summary(t, proposal)),
        ActionsBlock(
            block_id=f"proposal_decide_{proposal.id}",
            elements=[
                ButtonElement(
                    text=t("proposal.accept"), action_id=ACCEPT, value=value, style="primary"
                ),
                ButtonElement(text=t("proposal.ask_more"), action_id=MORE, value=value),
                ButtonElement(
                    text=t("proposal.decline"), action_id=DECLINE, value=value, style="danger"
                ),
            ],
        ),
    ]


def decided_text(
    t: Translator, proposal: proposals.Proposal, *, who: str, community_channel: str | None = None
) -> Mrkdwn:
    """What every manager's copy says once someone decided (no buttons left)."""
    if proposal.status == proposals.ProposalStatus.ACCEPTED:
        if community_channel:
            return say(
                t,
                "proposal.accepted_by_in",
                who=mention(who),
                name=proposal.name,
                channel=channel(community_channel),
            )
        return say(t, "proposal.accepted_by", who=mention(who), name=proposal.name)
    key = (
        "proposal.declined_by"
        if proposal.status == proposals.ProposalStatus.DECLINED
        else "proposal.more_asked_by"
    )
    return say(t, key, who=mention(who), name=proposal.name, note=proposal.decision_note)


def decided_blocks(
    t: Translator, proposal: proposals.Proposal, *, who: str, community_channel: str | None = None
) -> tuple[Mrkdwn, list[Block]]:
    text = decided_text(t, proposal, who=who, community_channel=community_channel)
    return text, [
        header(t("proposal.managers_title")),
        section(text),
        section(summary(t, proposal)),
    ]


def already_text(t: Translator, proposal: proposals.Proposal) -> Mrkdwn:
    """A second click (or a second manager): who decided what first; nothing changes."""
    who = mention(proposal.decided_by) if proposal.decided_by else echo(t("proposal.someone"))
    key = {
        proposals.ProposalStatus.ACCEPTED: "proposal.already_accepted",
        proposals.ProposalStatus.DECLINED: "proposal.already_declined",
        proposals.ProposalStatus.MORE_INFO: "proposal.already_more",
    }.get(proposal.status, "proposal.already_pending")
    return say(t, key, who=who, name=proposal.name)


def build_note_modal(
    t: Translator,
    proposal: proposals.Proposal,
    *,
    decision: proposals.Decision,
    where: tuple[str, str] | None,
) -> View:
    """Declining asks for the reason, asking for more for the question: the proposer reads it."""
    kind = "decline" if decision == proposals.Decision.DECLINE else "more"
    return View(
        type="modal",
        callback_id=NOTE_MODAL,
        private_metadata=json.dumps(
            {"p": proposal.id, "d": decision.value, "w": list(where) if where else None}
        ),
        title=t(f"proposal.note_title.{kind}")[:24],
        submit=t(f"proposal.note_submit.{kind}")[:24],
        close=t("proposal.modal_cancel")[:24],
        blocks=[
            section(md("*{name}*", name=proposal.name)),
            section(say(t, f"proposal.note_intro.{kind}")),
            InputBlock(
                block_id=NOTE,
                label=t(f"proposal.note_label.{kind}"),
                element=PlainTextInputElement(
                    action_id=NOTE, multiline=True, max_length=proposals.NOTE_MAX
                ),
            ),
        ],
    )


def parse_note_modal(
    view: dict[str, Any],
) -> tuple[int, proposals.Decision, str, tuple[str, str] | None]:
    meta = _meta(view)
    try:
        decision = proposals.Decision(str(meta.get("d")))
    except ValueError:
        raise NotFound("proposal.not_found") from None
    if decision == proposals.Decision.ACCEPT:
        raise NotFound("proposal.not_found")
    where = meta.get("w")
    place = (
        (str(where[0]), str(where[1]))
        if isinstance(where, list) and len(where) == 2 and all(isinstance(w, str) for w in where)
        else None
    )
    note_text = input_values(view, NOTE, NOTE).get("value") or ""
    return row_id(meta.get("p")), decision, str(note_text), place


# --- what the proposer reads ------------------------------------------------------------------


def more_blocks(
    t: Translator, proposal: proposals.Proposal, *, who: str
) -> tuple[Mrkdwn, list[Block]]:
    """A manager's question, with the button that reopens the form prefilled."""
    text = say(
        t, "proposal.you_more", who=mention(who), name=proposal.name, note=proposal.decision_note
    )
    return text, [
        section(text),
        ActionsBlock(
            block_id=f"proposal_complete_{proposal.id}",
            elements=[
                ButtonElement(
                    text=t("proposal.complete_button"),
                    action_id=COMPLETE,
                    value=str(proposal.id),
                    style="primary",
                )
            ],
        ),
    ]


def draft_of(proposal: proposals.Proposal) -> proposals.Draft:
    return proposals.Draft(
        name=proposal.name,
        purpose=proposal.purpose,
        interested=proposal.interested,
        channel=proposal.channel,
        existing=proposal.existing_channel,
    )


def checklist_blocks(intro: Mrkdwn, checklist_text: str, *, t: Translator) -> list[Block]:
    """The launch checklist as the new channel and the proposer read it."""
    return [section(intro), section(checklist_text), note(t("proposal.checklist_hint"))]
