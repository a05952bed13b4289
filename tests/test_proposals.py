"""Proposing a community, end to end against the emulator (issue 15, point 2): a member proposes
one with `/cop proposer` (`/cop propose`) or from Discover; every programme manager gets it by DM
with Accept / Decline / Ask for more; accepting creates the channel and registers the community
at the préparation stage with the proposer as leader, the launch checklist started; the first
decision is the only one, and only programme managers decide."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa

from bot.models import (
    AuditLog,
    Community,
    CommunityProposal,
    Membership,
    Person,
    ProposalStatus,
    Role,
    Stage,
)
from bot.slack.blocks import discover as discover_screens
from bot.slack.blocks import proposals as screens
from bot.slack.emulator import Channel, SlackEmulator
from bot.slack.render import render_message
from tests import factories
from tests.catalogue import EN, FR
from tests.conftest import MANAGER, Bot, eventually, make_config, running_bot

JAMES = "U0JAMES"  # a second programme manager, who reads English
LUCAS = "U0LUCAS"  # proposes, in French
EMILY = "U0EMILY"  # proposes, in English
GENERAL = "C0GEN"
GOOD = {
    "name": "Cuisine durable",
    "purpose": "Partager recettes et fournisseurs locaux pour des cantines plus sobres.",
    "interested": ["U0LEA", "U0NATHAN"],
}


@pytest.fixture
async def bot(database_url: str, emulator: SlackEmulator) -> AsyncIterator[Bot]:
    config = make_config(database_url, emulator, managers=[MANAGER, JAMES])
    async with running_bot(config, emulator) as running:
        yield running


async def _new_view(bot: Bot, before: set[str]) -> dict[str, Any]:
    new = await eventually(lambda: sorted(set(bot.emulator.views) - before))
    return bot.emulator.views[new[-1]]


async def open_form(bot: Bot, text: str, *, user: str) -> dict[str, Any]:
    before = set(bot.emulator.views)
    response = await bot.slack.command(text, user=user, channel=GENERAL)
    assert response.status_code == 200
    return await _new_view(bot, before)


async def submit(bot: Bot, view: dict[str, Any], *, user: str, **values: Any) -> dict[str, Any]:
    """The form sent; Slack's answer to it ({} when accepted, field errors otherwise)."""
    response = await bot.slack.submit_view(view["id"], user=user, values=values)
    assert response.status_code == 200
    return response.json() if response.content else {}


async def rows(bot: Bot) -> list[CommunityProposal]:
    async with bot.sessions() as session:
        return list(
            await session.scalars(sa.select(CommunityProposal).order_by(CommunityProposal.id))
        )


def dm(bot: Bot, user: str) -> list[dict[str, Any]]:
    return bot.emulator.messages.get(bot.emulator.dm_channel_for(user), [])


def dm_texts(bot: Bot, user: str) -> list[str]:
    """Each DM's text as sent (mentions as Slack's `<@U…>`)."""
    return [str(m.get("text") or "") for m in dm(bot, user)]


def blocks_of(message: dict[str, Any]) -> str:
    return json.dumps(message.get("blocks") or [], ensure_ascii=False)


def with_buttons(bot: Bot, user: str) -> dict[str, Any]:
    """The manager's DM that still carries the decision buttons."""
    return next(m for m in reversed(dm(bot, user)) if screens.ACCEPT in str(m.get("blocks") or ""))


async def propose(bot: Bot, *, user: str = LUCAS, **values: Any) -> CommunityProposal:
    view = await open_form(bot, "proposer", user=user)
    answer = await submit(bot, view, user=user, **{**GOOD, **values})
    assert not answer.get("errors"), answer
    await eventually(lambda: len(dm(bot, MANAGER)) > 0 and len(dm(bot, JAMES)) > 0)
    await eventually(lambda: dm(bot, user))  # thanked
    found = await rows(bot)
    return found[-1]


async def click(
    bot: Bot, user: str, action_id: str, message: dict[str, Any], *, owner: str | None = None
) -> dict[str, Any]:
    """`user` clicks a button of `message`, found in `owner`'s DM; the answer under it."""
    where = (bot.emulator.dm_channel_for(owner or user), message["ts"])
    before = len(bot.emulator.responses)
    response = await bot.slack.click(user=user, action_id=action_id, message=where)
    assert response.status_code == 200
    replies = await eventually(lambda: bot.emulator.responses[before:])
    return dict(replies[-1])


async def community_of(bot: Bot, name: str) -> Community | None:
    async with bot.sessions() as session:
        return await session.scalar(sa.select(Community).where(Community.name == name))


async def audit(bot: Bot, action: str) -> list[AuditLog]:
    async with bot.sessions() as session:
        return list(await session.scalars(sa.select(AuditLog).where(AuditLog.action == action)))


# --- proposing -----------------------------------------------------------------------------------


async def test_a_member_proposes_in_french_and_every_manager_is_told_in_their_language(
    bot: Bot,
) -> None:
    view = await open_form(bot, "proposer Cuisine durable", user=LUCAS)
    assert view["title"]["text"] == FR("proposal.modal_title")
    name = next(b for b in view["blocks"] if b.get("block_id") == screens.NAME)
    assert name["element"]["initial_value"] == "Cuisine durable"  # what was typed after the word
    assert await submit(bot, view, user=LUCAS, **GOOD) == {}
    proposal = (await eventually(lambda: rows(bot)))[0]
    assert proposal.status == ProposalStatus.PENDING
    assert proposal.interested == ["U0LEA", "U0NATHAN"]
    assert proposal.channel_name == "cuisine-durable"  # none typed: from the community's name
    # Camille reads French, James English; each copy has the three buttons
    camille = await eventually(lambda: dm(bot, MANAGER))
    assert camille[-1]["text"] == FR(
        "proposal.to_managers", who="<@U0LUCAS>", name="Cuisine durable"
    )
    assert FR("proposal.channel_new", name="cuisine-durable") in blocks_of(camille[-1])
    james = await eventually(lambda: dm(bot, JAMES))
    assert james[-1]["text"] == EN("proposal.to_managers", who="<@U0LUCAS>", name="Cuisine durable")
    assert EN("proposal.summary_interested", people="<@U0LEA>, <@U0NATHAN>") in blocks_of(james[-1])
    for manager in (MANAGER, JAMES):
        actions = str(with_buttons(bot, manager)["blocks"])
        assert all(a in actions for a in screens.DECIDE_ACTIONS)
    thanks = await eventually(lambda: dm_texts(bot, LUCAS))
    assert thanks[-1] == FR("proposal.thanks", name="Cuisine durable")
    refreshed = (await rows(bot))[0]
    assert len(refreshed.manager_messages) == 2
    assert len(await audit(bot, "proposal.submitted")) == 1
    # the same form sent twice (Slack retries): one proposal, managers told once
    await submit(bot, view, user=LUCAS, **GOOD)
    await asyncio.sleep(0.2)
    assert len(await rows(bot)) == 1
    assert len(dm(bot, MANAGER)) == 1


async def test_an_english_member_proposes_from_discover_and_mistakes_show_under_the_fields(
    bot: Bot,
) -> None:
    await factories.community(bot.sessions, emulator=bot.emulator, leaders=(LUCAS,))
    # `/cop communities` found nothing: the button offers to propose what was searched
    before = len(bot.emulator.responses)
    await bot.slack.command("communities gardening", user=EMILY, channel=GENERAL)
    reply = (await eventually(lambda: bot.emulator.responses[before:]))[-1]
    assert EN("proposal.propose_nothing_found", query="gardening") in blocks_of(reply)
    shown = bot.emulator.add_message(
        bot.emulator.dm_channel_for(EMILY), user="UBOT", blocks=reply["blocks"]
    )
    views = set(bot.emulator.views)
    await bot.slack.click(
        user=EMILY,
        action_id=screens.PROPOSE,
        message=(bot.emulator.dm_channel_for(EMILY), shown["ts"]),
    )
    view = await _new_view(bot, views)
    assert view["title"]["text"] == EN("proposal.modal_title")
    name = next(b for b in view["blocks"] if b.get("block_id") == screens.NAME)
    assert name["element"]["initial_value"] == "gardening"

    async def errors(**values: Any) -> dict[str, str]:
        answer = await submit(bot, view, user=EMILY, **{**GOOD, **values})
        return dict(answer.get("errors") or {})

    assert await errors(name="   ") == {screens.NAME: EN("proposal.name_missing")}
    assert await errors(name="x" * 81) == {screens.NAME: EN("proposal.name_too_long", max=80)}
    assert await errors(purpose="") == {screens.PURPOSE: EN("proposal.purpose_missing")}
    assert await errors(name="DATA science") == {
        screens.NAME: EN("proposal.name_exists", name="Data Science")
    }
    assert await errors(channel_new="Cuisine Durable") == {
        screens.CHANNEL_NEW: EN(
            "proposal.channel_invalid", value="Cuisine Durable", hint="cuisine-durable"
        )
    }
    assert await errors(channel_new="a" * 81) == {
        screens.CHANNEL_NEW: EN("proposal.channel_too_long", max=80)
    }
    assert await errors(channel_new="---") == {
        screens.CHANNEL_NEW: EN("proposal.channel_invalid", value="---", hint="cuisine-durable")
    }
    assert await errors(channel_new="cuisine", channel_existing="C0SEC") == {
        screens.CHANNEL_NEW: EN("proposal.channel_both")
    }
    assert await errors(channel_existing="C0DATA") == {
        screens.CHANNEL_EXISTING: EN("proposal.channel_registered", name="Data Science")
    }
    assert await rows(bot) == []
    # right at last: a proposal, and a second one of the same name is refused while it waits
    assert await errors(name="Gardening at work") == {}
    await eventually(lambda: rows(bot))
    again = await open_form(bot, "propose", user="U0LEA")
    answer = await submit(bot, again, user="U0LEA", **{**GOOD, "name": "gardening AT work"})
    assert answer["errors"] == {screens.NAME: FR("proposal.name_pending", name="Gardening at work")}


async def test_the_home_discover_section_offers_to_propose(bot: Bot) -> None:
    await factories.community(bot.sessions, emulator=bot.emulator, leaders=(LUCAS,))
    await bot.slack.open_home(user="U0LEA")
    home = await eventually(lambda: bot.emulator.home_views.get("U0LEA"))
    assert FR("proposal.propose_button") in str(home["blocks"])
    views = set(bot.emulator.views)
    await bot.slack.click(user="U0LEA", action_id=screens.PROPOSE)
    view = await _new_view(bot, views)
    assert view["callback_id"] == screens.MODAL
    # and `/cop communautés` lists it under the communities found too
    before = len(bot.emulator.responses)
    await bot.slack.command("communautés", user="U0LEA", channel=GENERAL)
    reply = (await eventually(lambda: bot.emulator.responses[before:]))[-1]
    assert FR("proposal.propose_hint") in render_message(reply)
    assert any(
        (b.get("accessory") or {}).get("action_id") == discover_screens.JOIN
        for b in reply["blocks"]
    )


# --- deciding ------------------------------------------------------------------------------------


async def test_accepting_creates_the_channel_and_the_community_and_starts_the_checklist(
    bot: Bot,
) -> None:
    await propose(bot)
    since = len(bot.emulator.calls)
    answer = await click(bot, MANAGER, screens.ACCEPT, with_buttons(bot, MANAGER))
    community = await eventually(lambda: community_of(bot, "Cuisine durable"))
    assert community.stage == Stage.PREPARATION
    created = bot.emulator.calls_to("conversations.create")
    assert [c.params["name"] for c in created] == ["cuisine-durable"]
    channel_id = community.channel_id
    assert bot.emulator.workspace.channels[channel_id].name == "cuisine-durable"
    assert answer["text"] == FR(
        "proposal.accepted_done",
        name="Cuisine durable",
        channel=f"<#{channel_id}>",
        who="<@U0LUCAS>",
    )
    # the proposer leads it; those interested are invited to the channel and counted as members
    members = set(bot.emulator.workspace.channels[channel_id].members)
    assert {LUCAS, "U0LEA", "U0NATHAN"} <= members
    async with bot.sessions() as session:
        found = await session.execute(
            sa.select(Person.slack_user_id, Membership.role)
            .join(Person, Person.id == Membership.person_id)
            .where(Membership.community_id == community.id, Membership.left_at.is_(None))
        )
        roles = {row[0]: row[1] for row in found}
        proposal = await session.scalar(sa.select(CommunityProposal))
    assert roles == {LUCAS: Role.LEADER, "U0LEA": Role.MEMBER, "U0NATHAN": Role.MEMBER}
    assert proposal is not None
    assert (proposal.status, proposal.community_id) == (ProposalStatus.ACCEPTED, community.id)
    # the launch checklist: in the channel, and to the proposer
    posted = await eventually(lambda: bot.emulator.messages.get(channel_id))
    text = blocks_of(posted[0])
    assert "Bienvenue dans « Cuisine durable »" in text
    stage = FR("health.stage.preparation")
    assert FR("lifecycle.checklist_title", stage=stage, done=1, total=3) in text
    assert "✅ " + FR("lifecycle.item.leader") in text  # the proposer leads it: ticked
    assert "⬜ " + FR("lifecycle.item.charter_draft") in text
    mine = dm(bot, LUCAS)[-1]
    assert mine["text"] == FR(
        "proposal.you_accepted",
        who="<@U0CAMILLE>",
        name="Cuisine durable",
        channel=f"<#{channel_id}>",
    )
    assert FR("lifecycle.item.sponsor") in blocks_of(mine)
    # every manager's copy says who accepted, without its buttons (James's in English)
    james = dm(bot, JAMES)[-1]
    assert screens.ACCEPT not in str(james["blocks"])
    assert james["text"] == EN(
        "proposal.accepted_by_in",
        who="<@U0CAMILLE>",
        name="Cuisine durable",
        channel=f"<#{channel_id}>",
    )
    assert screens.ACCEPT not in str(dm(bot, MANAGER)[-1]["blocks"])
    assert len(await audit(bot, "proposal.accepted")) == 1
    assert bot.emulator.calls[since:]  # (what follows only reads)
    # `/cop étape` in the new channel: the préparation stage, Lucas may move it
    before = len(bot.emulator.responses)
    await bot.slack.command("étape", user=LUCAS, channel=channel_id)
    stage = (await eventually(lambda: bot.emulator.responses[before:]))[-1]
    shown = render_message(stage)
    assert FR("health.stage.preparation") in shown
    assert FR("lifecycle.change_button") in shown  # the leader may move it along


async def test_a_second_click_or_two_managers_at_once_decide_once(bot: Bot) -> None:
    await propose(bot)
    # copies as they were before anyone clicked (chat.update redraws the stored ones)
    camille, james = copy.deepcopy(with_buttons(bot, MANAGER)), with_buttons(bot, JAMES)
    before = len(bot.emulator.responses)
    await asyncio.gather(
        bot.slack.click(
            user=MANAGER,
            action_id=screens.ACCEPT,
            message=(bot.emulator.dm_channel_for(MANAGER), camille["ts"]),
        ),
        bot.slack.click(
            user=JAMES,
            action_id=screens.ACCEPT,
            message=(bot.emulator.dm_channel_for(JAMES), james["ts"]),
        ),
    )
    answers = await eventually(
        lambda: len(bot.emulator.responses[before:]) >= 2 and bot.emulator.responses[before:]
    )
    await eventually(lambda: community_of(bot, "Cuisine durable"))
    await asyncio.sleep(0.2)
    assert len(bot.emulator.calls_to("conversations.create")) == 1
    async with bot.sessions() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(Community)) == 1
        proposal = await session.scalar(sa.select(CommunityProposal))
        decider = await session.scalar(
            sa.select(Person.slack_user_id).where(Person.id == proposal.decided_by_person_id)
        )
    texts = [a["text"] for a in answers]
    late = [t for t in texts if "Already decided" in t or "Déjà tranché" in t]
    assert len(late) == 1, texts
    if decider == MANAGER:
        assert late[0] == EN(
            "proposal.already_accepted", who="<@U0CAMILLE>", name="Cuisine durable"
        )
    else:
        assert late[0] == FR("proposal.already_accepted", who="<@U0JAMES>", name="Cuisine durable")
    # a click on an old copy afterwards: the same answer, nothing redone
    bot.emulator.add_message(
        bot.emulator.dm_channel_for(MANAGER), user="UBOT", blocks=camille["blocks"]
    )
    again = await click(bot, MANAGER, screens.DECLINE, dm(bot, MANAGER)[-1])
    assert again["text"].startswith("Déjà tranché")
    assert len(await audit(bot, "proposal.accepted")) == 1


async def test_declining_tells_the_proposer_why(bot: Bot) -> None:
    await propose(bot, user=EMILY, name="Knitting club")
    views = set(bot.emulator.views)
    await bot.slack.click(
        user=MANAGER,
        action_id=screens.DECLINE,
        message=(bot.emulator.dm_channel_for(MANAGER), with_buttons(bot, MANAGER)["ts"]),
    )
    view = await _new_view(bot, views)
    assert view["title"]["text"] == FR("proposal.note_title.decline")
    answer = await submit(bot, view, user=MANAGER, note="  ")
    assert answer["errors"] == {screens.NOTE: FR("proposal.note_missing")}
    await submit(bot, view, user=MANAGER, note="Le club tricot existe déjà hors Slack.")
    proposal = await eventually(lambda: _status(bot, ProposalStatus.DECLINED))
    assert proposal.decision_note == "Le club tricot existe déjà hors Slack."
    told = await eventually(lambda: [t for t in dm_texts(bot, EMILY) if "Reason" in t])
    assert told[-1] == EN(
        "proposal.you_declined",
        who="<@U0CAMILLE>",
        name="Knitting club",
        note="Le club tricot existe déjà hors Slack.",
    )
    james = await eventually(lambda: [m for m in dm(bot, JAMES) if "declined" in render_message(m)])
    assert screens.ACCEPT not in str(james[-1]["blocks"])
    assert await community_of(bot, "Knitting club") is None
    assert len(await audit(bot, "proposal.declined")) == 1


async def _status(bot: Bot, status: ProposalStatus) -> CommunityProposal | None:
    found = await rows(bot)
    return found[-1] if found and found[-1].status == status else None


async def test_asking_for_more_then_completing_puts_it_back_to_pending(bot: Bot) -> None:
    await propose(bot)
    old_copy = copy.deepcopy(with_buttons(bot, MANAGER))
    views = set(bot.emulator.views)
    await bot.slack.click(
        user=JAMES,
        action_id=screens.MORE,
        message=(bot.emulator.dm_channel_for(JAMES), with_buttons(bot, JAMES)["ts"]),
    )
    view = await _new_view(bot, views)
    assert view["title"]["text"] == EN("proposal.note_title.more")
    await submit(bot, view, user=JAMES, note="Which sites would take part?")
    await eventually(lambda: _status(bot, ProposalStatus.MORE_INFO))
    question = await eventually(
        lambda: [m for m in dm(bot, LUCAS) if screens.COMPLETE in str(m.get("blocks"))]
    )
    assert question[-1]["text"] == FR(
        "proposal.you_more",
        who="<@U0JAMES>",
        name="Cuisine durable",
        note="Which sites would take part?",
    )
    # a manager clicking Accept meanwhile is told it waits for the proposer
    old = bot.emulator.add_message(
        bot.emulator.dm_channel_for(MANAGER), user="UBOT", blocks=old_copy["blocks"]
    )
    late = await click(bot, MANAGER, screens.ACCEPT, old)
    assert late["text"] == FR("proposal.already_more", who="<@U0JAMES>", name="Cuisine durable")
    # Lucas completes it: the form prefilled, sent again, pending again, managers told again
    views = set(bot.emulator.views)
    await bot.slack.click(
        user=LUCAS,
        action_id=screens.COMPLETE,
        message=(bot.emulator.dm_channel_for(LUCAS), question[-1]["ts"]),
    )
    form = await _new_view(bot, views)
    purpose = next(b for b in form["blocks"] if b.get("block_id") == screens.PURPOSE)
    assert purpose["element"]["initial_value"] == GOOD["purpose"]
    interested = next(b for b in form["blocks"] if b.get("block_id") == screens.INTERESTED)
    assert interested["element"]["initial_users"] == ["U0LEA", "U0NATHAN"]
    told_before = len(dm(bot, MANAGER))
    answer = await submit(
        bot,
        form,
        user=LUCAS,
        purpose=GOOD["purpose"] + " Sites de Lyon et de Lille.",
    )
    assert answer == {}
    proposal = await eventually(lambda: _status(bot, ProposalStatus.PENDING))
    assert proposal.purpose.endswith("Sites de Lyon et de Lille.")
    await eventually(lambda: len(dm(bot, MANAGER)) > told_before)
    assert (
        FR("proposal.to_managers_again", who="<@U0LUCAS>", name="Cuisine durable")
        in (dm_texts(bot, MANAGER)[-1])
    )
    assert len(await audit(bot, "proposal.completed")) == 1
    # and it can be accepted now
    await click(bot, MANAGER, screens.ACCEPT, with_buttons(bot, MANAGER))
    assert await eventually(lambda: community_of(bot, "Cuisine durable"))


async def test_someone_who_is_not_a_manager_replaying_the_buttons_is_refused(bot: Bot) -> None:
    await propose(bot)
    message = with_buttons(bot, MANAGER)
    for action_id in screens.DECIDE_ACTIONS:
        answer = await click(bot, "U0LEA", action_id, message, owner=MANAGER)
        assert answer["text"] == FR("permission.decide_proposal")
    assert bot.emulator.calls_to("conversations.create") == []
    assert (await rows(bot))[0].status == ProposalStatus.PENDING
    assert await community_of(bot, "Cuisine durable") is None
    # nor may Léa complete Lucas's proposal
    async with bot.sessions.begin() as session:
        row = await session.scalar(sa.select(CommunityProposal))
        assert row is not None
        row.status = ProposalStatus.MORE_INFO
        proposal_id = row.id
    bot.emulator.add_message(
        bot.emulator.dm_channel_for("U0LEA"),
        user="UBOT",
        blocks=[
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": screens.COMPLETE,
                        "text": {"type": "plain_text", "text": "x"},
                        "value": str(proposal_id),
                    }
                ],
            }
        ],
    )
    answer = await click(bot, "U0LEA", screens.COMPLETE, dm(bot, "U0LEA")[-1])
    assert answer["text"] == FR("proposal.not_found")


async def test_a_deactivated_account_proposes_nothing(bot: Bot) -> None:
    view = await open_form(bot, "proposer", user="U0PIERRE")  # deactivated in Slack
    assert await submit(bot, view, user="U0PIERRE", **GOOD) == {}
    await eventually(lambda: bot.emulator.calls_to("chat.postMessage"))  # the refusal, attempted
    await asyncio.sleep(0.2)
    assert await rows(bot) == []
    assert dm(bot, MANAGER) == []


async def test_a_channel_name_taken_meanwhile_leaves_the_proposal_pending(bot: Bot) -> None:
    await propose(bot)
    bot.emulator.workspace.channels["C0TAKEN"] = Channel("C0TAKEN", "cuisine-durable", ["U0HUGO"])
    answer = await click(bot, MANAGER, screens.ACCEPT, with_buttons(bot, MANAGER))
    assert answer["text"] == (
        FR("proposal.accept_failed", name="Cuisine durable")
        + " "
        + FR("proposal.channel_taken", name="cuisine-durable", reason="name_taken")
    )
    assert (await rows(bot))[0].status == ProposalStatus.PENDING
    assert await community_of(bot, "Cuisine durable") is None
    assert screens.ACCEPT in str(dm(bot, JAMES)[-1]["blocks"])  # nothing redrawn
    # James asks for another name instead: that works
    views = set(bot.emulator.views)
    await bot.slack.click(
        user=JAMES,
        action_id=screens.MORE,
        message=(bot.emulator.dm_channel_for(JAMES), with_buttons(bot, JAMES)["ts"]),
    )
    await _new_view(bot, views)


async def test_an_existing_channel_becomes_the_community(bot: Bot) -> None:
    view = await open_form(bot, "propose", user=EMILY)
    await submit(
        bot, view, user=EMILY, **{**GOOD, "name": "Security champions"}, channel_existing="C0SEC"
    )
    await eventually(lambda: len(dm(bot, MANAGER)) > 0)
    assert "<#C0SEC>" in blocks_of(dm(bot, MANAGER)[-1])
    await click(bot, MANAGER, screens.ACCEPT, with_buttons(bot, MANAGER))
    community = await eventually(lambda: community_of(bot, "Security champions"))
    assert community.channel_id == "C0SEC"
    assert community.stage == Stage.PREPARATION
    assert bot.emulator.calls_to("conversations.create") == []
    assert EMILY in bot.emulator.workspace.channels["C0SEC"].members
    posted = await eventually(
        lambda: [m for m in bot.emulator.messages.get("C0SEC", []) if "Cuisine" not in str(m)]
    )
    # the community's channel speaks the programme's language (French here)
    assert "Bienvenue dans « Security champions »" in render_message(posted[-1])


async def test_what_people_typed_pings_nobody(bot: Bot) -> None:
    since = len(bot.emulator.calls)
    hostile_name = "<!channel> Cuisine *gras*"
    hostile_purpose = "Demandez à <@U0HUGO> et lisez <https://evil.example|la charte> <!here>"
    await propose(bot, name=hostile_name, purpose=hostile_purpose, channel_new="cuisine")
    await click(bot, MANAGER, screens.ACCEPT, with_buttons(bot, MANAGER))
    community = await eventually(lambda: community_of(bot, hostile_name))
    await eventually(lambda: bot.emulator.messages.get(community.channel_id))
    sequences = {s for _, s in bot.emulator.parsed_markup(since)}
    # only our own mentions of people and channels: nothing typed pings or links
    assert all(s.startswith(("<@U0", "<#C")) for s in sequences), sequences
    assert "<@U0HUGO>" not in sequences
    shown = render_message(bot.emulator.messages[community.channel_id][0])
    assert "<!channel> Cuisine *gras*" in shown
    assert "<https://evil.example|la charte>" in shown


async def test_the_emulator_creates_channels_as_slack_does(emulator: SlackEmulator) -> None:
    from slack_sdk.errors import SlackApiError
    from slack_sdk.web.async_client import AsyncWebClient

    client = AsyncWebClient(token=emulator.workspace.bot_token, base_url=emulator.api_url)
    made = await client.conversations_create(name="cuisine-durable")
    assert made["channel"]["name"] == "cuisine-durable"
    assert made["channel"]["is_member"] is True
    for name, error in (
        ("cuisine-durable", "name_taken"),
        ("general", "name_taken"),
        ("Cuisine", "invalid_name_specials"),
        ("deux mots", "invalid_name_specials"),
        ("x" * 81, "invalid_name_maxlength"),
        ("--", "invalid_name_punctuation"),
        ("", "invalid_name_required"),
    ):
        with pytest.raises(SlackApiError) as caught:
            await client.conversations_create(name=name)
        assert caught.value.response["error"] == error
