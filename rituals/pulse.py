"""The pulse poll ritual: open the period's poll, owe it to every member, remind once, close and report."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot import polls
from bot.config import as_plain
from bot.deps import Deps
from bot.i18n import translate
from bot.models import Community, Delivery, Poll, PollDelivery, Ritual, RitualSetting, Role
from bot.slack.blocks import poll as poll_blocks
from rituals import recipients
from rituals.outbox import Owed, enqueue_many

logger = logging.getLogger(__name__)
PERIOD = "{period}"


def for_cadence(question: dict[str, Any], cadence: str) -> dict[str, Any]:
    """A question's `{period}` as the cadence says it, in each language (« ce trimestre » only
    when the poll comes each quarter); the poll keeps the words it was asked with."""
    texts = {
        lang: text.replace(PERIOD, translate(lang)(f"rituals.period.{cadence}"))
        for lang, text in question["text"].items()
    }
    return {**question, "text": texts}


async def run(
    deps: Deps, *, community: Community, setting: RitualSetting, period_key: str, now: datetime
) -> str:
    """Open this period's poll and owe it to the community (a rerun adds nothing)."""
    programme = deps.programme
    pulse = programme.rituals.pulse
    questions = [
        for_cadence(as_plain(q), setting.cadence or pulse.cadence) for q in pulse.questions
    ]
    async with deps.sessions.begin() as session:
        poll, created = await polls.open_poll(
            session,
            workspace_id=community.workspace_id,
            community_id=community.id,
            period_key=period_key,
            questions=questions,
            delivery=setting.delivery,
            open_days=pulse.open_days,
            share_summary=bool(setting.options.get("share_summary")),
            now=now,
        )
        if setting.delivery == Delivery.CHANNEL:
            language = community.language or programme.language
            text, blocks = poll_blocks.build_poll(
                translate(language),
                poll_id=poll.id,
                community=community.name,
                questions=poll.questions,
                closes_at=poll.closes_at,
                tz=community.tz or programme.timezone,
                language=language,
            )
            owed = [
                Owed(
                    key=f"pulse:{community.id}:{period_key}:channel",
                    kind="pulse_channel",
                    text=text,
                    blocks=blocks,
                    channel_id=community.channel_id,
                )
            ]
            people: list[recipients.Recipient] = []
            left_out = 0
        else:
            people, left_out = await recipients.for_ritual_dm(
                session,
                community=community,
                ritual=Ritual.PULSE,
                default_language=programme.language,
                cap=programme.rituals.dm_cap_per_week,
                now=now,
                # "active": only members who took part lately (app.yaml or the community's setting)
                active_days=programme.health.active_window_days
                if setting.options.get("audience", programme.rituals.pulse.audience) == "active"
                else None,
            )
            if not created:
                # a rerun (after a crash): only people already asked, never a second audience
                asked = set(await _asked(session, poll))
                people = [p for p in people if p.person_id in asked] if asked else people
            await polls.add_deliveries(
                session, poll=poll, person_ids=[p.person_id for p in people], now=now
            )
            cache: dict[Any, Any] = {}
            owed = [_dm(poll, community, p, reminder=False, rendered=cache) for p in people]
        added = await enqueue_many(
            session, workspace_id=community.workspace_id, community_id=community.id, messages=owed
        )
    logger.info(
        "pulse %s for %s: %s owed, %s left out", period_key, community.slug, added, left_out
    )
    return f"{len(owed)} owed ({added} new), {left_out} left out"


async def _asked(session: AsyncSession, poll: Poll) -> list[int]:
    return list(
        await session.scalars(
            sa.select(PollDelivery.person_id).where(PollDelivery.poll_id == poll.id)
        )
    )


def _dm(
    poll: Poll,
    community: Community,
    person: recipients.Recipient,
    *,
    reminder: bool,
    rendered: dict[tuple[str, str | None], tuple[str, list[dict[str, Any]]]] | None = None,
) -> Owed:
    """The poll DM for one member (rendered once per language and zone: a fan-out has few)."""
    rendered = {} if rendered is None else rendered
    if (person.language, person.tz) not in rendered:
        rendered[person.language, person.tz] = poll_blocks.build_poll(
            translate(person.language),
            poll_id=poll.id,
            community=community.name,
            questions=poll.questions,
            closes_at=poll.closes_at,
            tz=person.tz,
            language=person.language,
            reminder=reminder,
        )
    text, blocks = rendered[person.language, person.tz]
    kind = "pulse_reminder" if reminder else "pulse"
    return Owed(
        key=f"{kind}:{community.id}:{poll.period_key}:{person.person_id}",
        kind=kind,
        text=text,
        blocks=blocks,
        person_id=person.person_id,
    )


async def maintain(deps: Deps, *, now: datetime) -> None:
    """Every tick: one reminder to those who have not answered, then close what is due."""
    programme = deps.programme
    pulse = programme.rituals.pulse
    async with deps.sessions.begin() as session:
        for poll in await polls.due_for_reminder(
            session, now=now, after_days=pulse.reminder_after_days
        ):
            community = await session.get(Community, poll.community_id)
            poll.reminder_sent_at = now
            if community is None or poll.delivery != Delivery.DM:
                continue
            cache: dict[Any, Any] = {}
            pending = set(await polls.not_answered(session, key=deps.ballot_key, poll=poll))
            reachable, _ = await recipients.for_ritual_dm(
                session,
                community=community,
                ritual=Ritual.PULSE,
                default_language=programme.language,
                cap=programme.rituals.dm_cap_per_week,
                now=now,
            )
            people = [p for p in reachable if p.person_id in pending]
            await enqueue_many(
                session,
                workspace_id=poll.workspace_id,
                community_id=community.id,
                messages=[_dm(poll, community, p, reminder=True, rendered=cache) for p in people],
            )
    async with deps.sessions.begin() as session:
        for poll in await polls.due_to_close(session, now=now):
            await close_and_report(deps, session=session, poll=poll, now=now)


async def close_and_report(
    deps: Deps, *, session: AsyncSession, poll: Poll, now: datetime
) -> polls.Results:
    """Close (wiping the salt, shuffling the answers), then owe the leaders the results and the
    channel a summary if allowed: both through the disclosure rule, question by question."""
    programme = deps.programme
    rule = deps.disclosure
    community = await session.get(Community, poll.community_id)
    await polls.close(session, poll=poll, now=now)
    result = await polls.results(session, poll=poll, rule=rule)
    if community is None:
        return result
    leaders = await recipients.members(
        session,
        community=community,
        default_language=programme.language,
        roles=(Role.LEADER, Role.CORE_TEAM),
    )
    owed = []
    for leader in leaders:
        text, blocks = poll_blocks.build_results(
            translate(leader.language),
            community=community.name,
            results=result,
            language=leader.language,
            min_answers=rule.min_answers,
        )
        owed.append(
            Owed(
                key=f"pulse_results:{poll.id}:{leader.person_id}",
                kind="pulse_results",
                text=text,
                blocks=blocks,
                person_id=leader.person_id,
            )
        )
    setting = await session.scalar(
        sa.select(RitualSetting).where(
            RitualSetting.community_id == community.id, RitualSetting.ritual == Ritual.PULSE
        )
    )
    allowed = setting.options.get("share_summary") if setting is not None else None
    if (poll.share_summary if allowed is None else bool(allowed)) and result.shown:
        language = community.language or programme.language
        text, blocks = poll_blocks.build_summary(
            translate(language), community=community.name, results=result
        )
        owed.append(
            Owed(
                key=f"pulse_summary:{poll.id}",
                kind="pulse_summary",
                text=text,
                blocks=blocks,
                channel_id=community.channel_id,
            )
        )
    await enqueue_many(
        session, workspace_id=poll.workspace_id, community_id=community.id, messages=owed
    )
    return result
