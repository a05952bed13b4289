"""The pulse poll ritual: open the period's poll, owe it to every member, remind once, close and report."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot import messages as m
from bot import polls
from bot.config import as_plain
from bot.deps import Deps
from bot.errors import NotFound
from bot.i18n import translate
from bot.models import Community, Delivery, Poll, PollDelivery, Ritual, RitualSetting, Role
from bot.numbers import row_id, whole
from rituals import recipients
from rituals.outbox.enqueueing import Owed, enqueue_many

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


ANSWER = "pulse_answer"  # a score button: pulse_answer:<question>:<score>
COMMENT = "pulse_comment"  # opens the comment form


# --- what the members and the leaders receive ------------------------------------------------


def answer_value(poll_id: int, key: str, score: int) -> str:
    return f"{poll_id}|{key}|{score}"


def parse_answer(value: str) -> tuple[int, str, int]:
    """(poll id, question, score); NotFound when the value is not one the poll's buttons carry."""
    parts = str(value).split("|")
    score = whole(parts[2], max_digits=3, signed=True) if len(parts) == 3 else None
    if score is None:
        raise NotFound("polls.not_found")
    return row_id(parts[0]), parts[1], score


def parse_question(value: str) -> tuple[int, str]:
    """(poll id, question) from the comment button's value or the comment form's metadata."""
    parts = str(value).split("|")
    if len(parts) != 2:
        raise NotFound("polls.not_found")
    return row_id(parts[0]), parts[1]


def poll_message(
    *,
    poll_id: int,
    community: str,
    questions: list[dict[str, Any]],
    closes_at: datetime,
    reminder: bool = False,
    mute_hint: bool = False,
) -> m.Message:
    """The poll as a member receives it (DM or channel): a row of score buttons per question, a
    comment button for free text, and the note that answers are anonymous; in a DM
    (`mute_hint`), how to pause the polls for oneself."""
    title = m.Say("polls.reminder_title" if reminder else "polls.title", community=community)
    blocks: list[m.Block] = [
        m.Heading(title),
        m.Paragraph(
            m.Say("polls.intro", community=community, closes=m.Moment(closes_at, with_zone=True))
        ),
    ]
    for q in questions:
        question = m.Strong(m.Pick(q["text"]))
        if q["kind"] == "text":
            comment = m.Choice(COMMENT, m.Say("polls.comment_button"), f"{poll_id}|{q['key']}")
            blocks.append(m.Paragraph(question, beside=comment))
            continue
        blocks.append(m.Paragraph(question))
        blocks.append(
            m.Choices(
                [
                    m.Choice(
                        f"{ANSWER}:{q['key']}:{score}",
                        str(score),
                        answer_value(poll_id, q["key"], score),
                    )
                    for score in range(q["min"], q["max"] + 1)
                ],
                group=f"q_{q['key']}",
            )
        )
    blocks.append(m.Note(m.Say("polls.anonymous_note")))
    if mute_hint:
        blocks.append(m.Note(m.Say("polls.mute_hint")))
    return m.Message(title, blocks)


def _bar(count: int, total: int, width: int = 10) -> str:
    filled = round(width * count / total) if total else 0
    return "█" * filled + "░" * (width - filled)


def results_message(*, community: str, results: polls.Results, min_answers: int) -> m.Message:
    """What the leaders receive at close: the response rate, then each question's results only
    where the disclosure rule shows them (bot/disclosure.py), else why not."""
    title = m.Say("polls.results_title", community=community, period=results.period_key)
    blocks: list[m.Block] = [
        m.Heading(title),
        m.Paragraph(
            m.Say(
                "polls.results_rate",
                respondents=m.Number(results.respondents),
                asked=m.Number(results.asked),
                rate=m.Percent(results.response_rate),
            )
        ),
    ]
    for q in results.questions:
        question = m.Strong(m.Pick(q.text))
        figure = q.figure
        lines: list[m.Text] = [question]
        if not figure.shown:
            lines.append(
                m.Say(
                    "polls.question_too_few",
                    answers=m.Number(figure.answers),
                    min=m.Number(min_answers),
                )
                if figure.answers
                else m.Say("polls.no_answer")
            )
        elif q.kind == "text":
            comments = [m.Quote(c[:300]) for c in q.comments[:10]]
            lines.append(m.Lines(comments) if comments else m.Say("polls.no_comment"))
        else:
            if figure.mean is not None:
                lines.append(
                    m.Say(
                        "polls.results_mean",
                        mean=m.Number(figure.mean, 2),
                        answers=m.Number(figure.answers),
                    )
                )
            if figure.enps is not None:
                lines.append(
                    m.Say(
                        "polls.results_enps",
                        enps=m.Number(round(figure.enps)),
                        answers=m.Number(figure.answers),
                    )
                )
            total = sum(figure.distribution.values())
            for score, count in figure.distribution.items():
                bar = f"{_bar(count, total)} "
                lines.append(m.Join([m.Code(f"{score:>2}"), " ", bar, m.Number(count)]))
        blocks.append(m.Paragraph(m.Lines(lines)))
    return m.Message(title, blocks)


def summary_message(*, community: str, results: polls.Results) -> m.Message:
    """The short summary for the channel (only when the leaders allow it), with only the
    questions the disclosure rule shows."""
    parts: list[m.Text] = [
        m.Say("polls.summary", community=community, respondents=m.Number(results.respondents))
    ]
    for q in results.questions:
        figure = q.figure
        if not figure.shown:
            continue
        if q.kind == "scale" and figure.mean is not None:
            parts.append(
                m.Say("polls.summary_mean", mean=m.Number(figure.mean, 1), max=m.Number(5))
            )
        if figure.enps is not None:
            parts.append(
                m.Say(
                    "polls.summary_enps",
                    enps=m.Number(round(figure.enps)),
                    answers=m.Number(figure.answers),
                )
            )
    text = m.Join(parts, " ")
    return m.Message(text, [m.Paragraph(text)])


# --- the ritual -------------------------------------------------------------------------------


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
            owed = [
                Owed(
                    key=f"pulse:{community.id}:{period_key}:channel",
                    kind="pulse_channel",
                    message=_poll(poll, community, reminder=False),
                    reader=m.Reader(
                        community.language or programme.language,
                        community.tz or programme.timezone,
                    ),
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
            message = _poll(poll, community, reminder=False, dm=True)
            owed = [_dm(poll, community, p, message, reminder=False) for p in people]
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


def _poll(poll: Poll, community: Community, *, reminder: bool, dm: bool = False) -> m.Message:
    return poll_message(
        poll_id=poll.id,
        community=community.name,
        questions=poll.questions,
        closes_at=poll.closes_at,
        reminder=reminder,
        mute_hint=dm,
    )


def _dm(
    poll: Poll,
    community: Community,
    person: recipients.Recipient,
    message: m.Message,
    *,
    reminder: bool,
) -> Owed:
    """The poll DM for one member, shown in their language and zone when it goes out."""
    kind = "pulse_reminder" if reminder else "pulse"
    return Owed(
        key=f"{kind}:{community.id}:{poll.period_key}:{person.person_id}",
        kind=kind,
        message=message,
        reader=m.Reader(person.language, person.tz),
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
            reminder_of = _poll(poll, community, reminder=True, dm=True)
            await enqueue_many(
                session,
                workspace_id=poll.workspace_id,
                community_id=community.id,
                messages=[_dm(poll, community, p, reminder_of, reminder=True) for p in people],
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
    report = results_message(community=community.name, results=result, min_answers=rule.min_answers)
    owed = []
    for leader in leaders:
        owed.append(
            Owed(
                key=f"pulse_results:{poll.id}:{leader.person_id}",
                kind="pulse_results",
                message=report,
                reader=m.Reader(leader.language, leader.tz),
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
        owed.append(
            Owed(
                key=f"pulse_summary:{poll.id}",
                kind="pulse_summary",
                message=summary_message(community=community.name, results=result),
                reader=m.Reader(
                    community.language or programme.language, community.tz or programme.timezone
                ),
                channel_id=community.channel_id,
            )
        )
    await enqueue_many(
        session, workspace_id=poll.workspace_id, community_id=community.id, messages=owed
    )
    return result
