"""Proposing a community's screens for tests/test_safe_echo.py: the community's name, its purpose
and a manager's reason or question as typed (hostile) text."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot import proposals
from bot.i18n import Translator
from bot.models import ProposalStatus
from bot.slack.blocks import proposals as screens
from bot.slack.echo import say


def _proposal(x: str, status: ProposalStatus = ProposalStatus.PENDING) -> proposals.Proposal:
    return proposals.Proposal(
        id=7,
        workspace_id="T0",
        name=x,
        purpose=x,
        interested=("U0ALICE", "U0BOB"),
        channel=x,
        existing_channel=False,
        status=status,
        proposer="U0ALICE",
        decided_by="U0BOB",
        decision_note=x,
        community_id=None,
        manager_messages=(),
    )


CASES: dict[str, Callable[[Translator, str], list[Any]]] = {
    "proposals.propose_blocks": lambda t, x: [
        screens.propose_blocks(t, searched=x, nothing_found=True)
    ],
    "proposals.build_modal": lambda t, x: [
        screens.build_modal(t, draft=proposals.Draft(name=x, purpose=x), proposal_id=3),
    ],
    "proposals.channel_text": lambda t, x: [
        screens.channel_text(t, _proposal(x)),
    ],
    "proposals.summary": lambda t, x: [screens.summary(t, _proposal(x))],
    "proposals.manager_blocks": lambda t, x: [
        screens.manager_blocks(t, _proposal(x), again=again) for again in (True, False)
    ],
    "proposals.decided_text": lambda t, x: [
        screens.decided_text(t, _proposal(x, status), who="U0BOB", community_channel=channel)
        for status in (ProposalStatus.ACCEPTED, ProposalStatus.DECLINED, ProposalStatus.MORE_INFO)
        for channel in ("C0HOME", None)
    ],
    "proposals.decided_blocks": lambda t, x: [
        screens.decided_blocks(t, _proposal(x, status), who="U0BOB")
        for status in (ProposalStatus.ACCEPTED, ProposalStatus.DECLINED, ProposalStatus.MORE_INFO)
    ],
    "proposals.already_text": lambda t, x: [
        screens.already_text(t, _proposal(x, status)) for status in ProposalStatus
    ],
    "proposals.build_note_modal": lambda t, x: [
        screens.build_note_modal(t, _proposal(x), decision=decision, where=("D0BOB", "1.0"))
        for decision in (proposals.Decision.DECLINE, proposals.Decision.MORE)
    ],
    "proposals.more_blocks": lambda t, x: [screens.more_blocks(t, _proposal(x), who="U0BOB")],
    "proposals.checklist_blocks": lambda t, x: [
        screens.checklist_blocks(
            say(t, "proposal.summary_purpose", purpose=x),
            "⬜ " + t("lifecycle.item.sponsor"),
            t=t,
        )
    ],
}
# parsers, field maps and values, not screens
NOT_BUILDERS = {
    "proposals.parse_modal",
    "proposals.parse_note_modal",
    "proposals.block_of",
    "proposals.field_errors",
    "proposals.draft_of",
}
