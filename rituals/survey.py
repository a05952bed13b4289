"""The annual member survey ritual: open the year's campaign, owe each member one DM, remind once,
close, and post each community's results to its channel unless a leader holds them back.

A member of several communities gets ONE invitation for the campaign (one ritual DM against the
weekly cap, not one per community) with a button per community: their answers stay per
community, each under its own ballot, and the reminder lists only the communities they have not
answered yet.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot import communities, compass, installation, people, polls
from bot import messages as m
from bot import survey as domain
from bot.deps import Deps
from bot.errors import Conflict, NotFound
from bot.models import (
    Community,
    Outbox,
    OutboxStatus,
    Poll,
    PollStatus,
    Ritual,
    Role,
    SurveyCampaign,
    utcnow,
)
from bot.permissions import Action, Actor, require
from bot.preferences import muted_people
from rituals import recipients
from rituals.outbox.enqueueing import Owed, cancel, enqueue_many

logger = logging.getLogger(__name__)

ANSWER = "survey_answer"  # survey_answer:<poll id>: opens the questionnaire for one community
HOLD = "survey_hold"  # a leader holds the results back (opens the reason modal)
CAP_DEFERRAL = timedelta(days=7)  # a member over the weekly DM cap gets the invitation later
STATUS_LINES = 25  # communities listed in the manager's view (lowest response rate first)
MAX_BUTTONS = 20  # communities listed in one invitation (a message holds 50 blocks)


# --- what people receive ----------------------------------------------------------------------


def invitation_message(
    *,
    row: SurveyCampaign,
    shares: list[tuple[int, str]],
    min_answers: int,
    reminder: bool = False,
) -> m.Message:
    """The cover message (the manager's « mail type ») and one button per community."""
    names = m.Listing([name for _, name in shares])
    closes = m.Moment(row.closes_at)  # the day and the hour: it closes at 09:00, not at night
    title = m.Say("survey.reminder_title" if reminder else "survey.title", year=row.year)
    otherwise = m.Say("survey.cover_default", community=names, closes=closes)
    cover = _usable(row.cover)
    blocks: list[m.Block] = [
        m.Heading(title),
        m.Paragraph(
            m.Fill(
                cover,
                {"community": names, "closes": closes, "year": str(row.year)},
                otherwise=otherwise,
            )
        ),
    ]
    for poll_id, name in shares[:MAX_BUTTONS]:
        blocks.append(
            m.Paragraph(
                m.Strong(name),
                beside=m.Choice(
                    f"{ANSWER}:{poll_id}", m.Say("survey.answer_button"), str(poll_id), "primary"
                ),
            )
        )
    blocks.append(m.Note(m.Say("survey.anonymous_note", min=min_answers)))
    return m.Message(title, blocks)


def _usable(cover: dict[str, str]) -> dict[str, str]:
    """The languages of a cover whose placeholders are ours (checked when saved; a row edited
    by hand must not break the invitation: those languages get our own words)."""
    from bot.config import check_survey_cover

    kept = {}
    for language, text in (cover or {}).items():
        try:
            check_survey_cover({language: text})
        except ValueError:
            continue
        kept[language] = text
    return kept


def _bar(count: int, total: int, width: int = 10) -> str:
    filled = round(width * count / total) if total else 0
    return "█" * filled + "░" * (width - filled)


def _figure_lines(q: domain.QuestionResult, *, min_answers: int) -> list[m.Text]:
    figure = q.figure
    lines: list[m.Text] = []
    if not figure.shown:
        lines.append(
            m.Say("survey.too_few", answers=m.Number(figure.answers), min=m.Number(min_answers))
            if figure.answers
            else m.Say("survey.no_answer")
        )
        return lines
    if q.kind == "text":
        comments = [m.Quote(c[:300]) for c in q.comments[:10]]
        return [m.Lines(comments) if comments else m.Say("survey.no_comment")]
    if q.kind in ("single", "multiple"):
        total = figure.answers
        lines.append(m.Say("survey.answers", answers=m.Number(total)))
        for option, count in zip(q.options, q.choices, strict=False):
            lines.append(
                m.Join([m.Code(_bar(count, total)), " ", m.Pick(option), " — ", m.Number(count)])
            )
        return lines
    if q.kind == "nps" and figure.enps is not None:
        lines.append(
            m.Say(
                "survey.enps", enps=m.Number(round(figure.enps)), answers=m.Number(figure.answers)
            )
        )
    elif figure.mean is not None:
        lines.append(
            m.Say(
                "survey.mean",
                mean=m.Number(figure.mean, 1),
                max=m.Number(q.high),
                answers=m.Number(figure.answers),
            )
        )
    total = sum(figure.distribution.values())
    lines.append(
        m.Join(
            [
                m.Join([m.Code(f"{s:>2}"), " ", _bar(c, total), " ", m.Number(c)])
                for s, c in figure.distribution.items()
            ],
            "\n",
        )
    )
    return lines


def _previous_line(q: domain.QuestionResult) -> m.Text | None:
    last = q.previous
    if last is None:
        return None
    if not last.shown:
        return m.Say("survey.last_year_none")
    if q.kind == "nps" and last.enps is not None:
        return m.Say(
            "survey.last_year_enps", enps=m.Number(round(last.enps)), answers=m.Number(last.answers)
        )
    if q.kind in ("scale",) and last.mean is not None:
        return m.Say(
            "survey.last_year_mean", mean=m.Number(last.mean, 1), answers=m.Number(last.answers)
        )
    if q.previous_choices:
        parts = [
            m.Join([m.Pick(o), " ", m.Number(c)])
            for o, c in zip(q.options, q.previous_choices, strict=False)
        ]
        return m.Join([m.Say("survey.last_year_choices"), " ", m.Join(parts, " · ")])
    return None


def results_message(
    *, community: str | None, results: domain.Results, min_answers: int
) -> m.Message:
    """A community's results (its channel, its leaders) or, with `community` None, the
    programme's with last year beside each question; every figure as the disclosure rule left it."""
    title = (
        m.Say("survey.results_title", community=community, year=results.year)
        if community is not None
        else m.Say("survey.programme_title", year=results.year)
    )
    blocks: list[m.Block] = [
        m.Heading(title),
        m.Paragraph(
            m.Say(
                "survey.rate",
                respondents=m.Number(results.respondents),
                asked=m.Number(results.asked),
                rate=m.Percent(results.response_rate),
            )
        ),
    ]
    for q in results.questions:
        lines: list[m.Text] = [m.Strong(m.Pick(q.text)), *_figure_lines(q, min_answers=min_answers)]
        previous = _previous_line(q)
        if previous is not None:
            lines.append(previous)
        blocks.append(m.Paragraph(m.Lines(lines)))
    blocks.append(m.Note(m.Say("survey.results_note", min=m.Number(min_answers))))
    return m.Message(title, blocks[:50])


def leaders_message(
    *, poll_id: int, community: str, channel_id: str, posts_at: datetime, results: m.Message
) -> m.Message:
    """What the leaders get at close: the results, when they will be posted, and a way to hold
    them back."""
    notice = m.Say(
        "survey.leaders_notice",
        community=community,
        channel=m.Place(channel_id),
        when=m.Moment(posts_at, with_zone=True),
    )
    return m.Message(
        notice,
        [
            m.Paragraph(notice),
            m.Choices(
                [m.Choice(HOLD, m.Say("survey.hold_button"), str(poll_id), "danger")],
                group="survey_hold",
            ),
            *results.blocks,
        ][:50],
    )


# --- the ritual -------------------------------------------------------------------------------


async def _workspaces(deps: Deps) -> list[str]:
    async with deps.sessions() as session:
        return list(
            await session.scalars(
                sa.select(Community.workspace_id)
                .where(
                    Community.archived_at.is_(None),
                    Community.workspace_id.not_in(installation.revoked_ids()),
                )
                .distinct()
            )
        )


async def maintain(deps: Deps, *, now: datetime | None = None) -> list[str]:
    """Every tick: open this year's campaign when its day comes, remind once, close when due and
    post the results whose hold-back delay has passed (the outbox does, at `not_before`)."""
    now = now or utcnow()
    config = deps.programme.survey
    done: list[str] = []
    for workspace_id in await _workspaces(deps):
        async with deps.sessions() as session:
            year = domain.year_of(now, deps.programme.timezone)
            row = await domain.campaign(session, workspace_id=workspace_id, year=year)
        opens = domain.opening(config, year=year, tz=deps.programme.timezone)
        if (
            row is None
            and config.enabled
            and opens <= now < opens + timedelta(days=config.open_days)
        ):
            done.append(
                await open_campaign(deps, workspace_id=workspace_id, now=now, opens_at=opens)
            )
        elif (
            row is not None
            and config.enabled
            and row.status == PollStatus.OPEN
            and row.opens_at <= now < row.closes_at
            and await _missing_polls(deps, row=row)
        ):
            done.append(await start(deps, workspace_id=workspace_id, year=row.year, now=now))
        async with deps.sessions() as session:
            open_rows = list(
                await session.scalars(
                    sa.select(SurveyCampaign).where(
                        SurveyCampaign.workspace_id == workspace_id,
                        SurveyCampaign.status == PollStatus.OPEN,
                        SurveyCampaign.opens_at <= now,
                    )
                )
            )
        for open_row in open_rows:
            if open_row.closes_at <= now:
                done.append(await close_campaign(deps, campaign_id=open_row.id, now=now))
            elif (
                open_row.reminder_sent_at is None
                and open_row.opens_at + timedelta(days=config.reminder_after_days) <= now
            ):
                done.append(await remind(deps, campaign_id=open_row.id, now=now))
    return done


async def _missing_polls(deps: Deps, *, row: SurveyCampaign) -> bool:
    """Whether a live community has no poll in this open campaign yet (scheduled campaigns
    opening, communities created since)."""
    async with deps.sessions() as session:
        live = {c.id for c in await domain.live_communities(session, workspace_id=row.workspace_id)}
        have = {p.community_id for p in await domain.campaign_polls(session, campaign_id=row.id)}
    return bool(live - have)


async def open_campaign(
    deps: Deps, *, workspace_id: str, now: datetime, opens_at: datetime | None = None
) -> str:
    """Open this year's campaign now (the scheduler on its day, or a manager early); a campaign
    scheduled later is brought forward. Refused when this year's is already closed."""
    async with deps.sessions.begin() as session:
        row = await domain.ensure_campaign(
            session,
            workspace_id=workspace_id,
            programme=deps.programme,
            year=domain.year_of(now, deps.programme.timezone),
            opens_at=opens_at or now,
        )
        if row.status == PollStatus.CLOSED:
            raise Conflict("survey.already_closed", year=row.year)
        if row.opens_at > now:
            row.opens_at = now
            row.closes_at = now + timedelta(days=deps.programme.survey.open_days)
    return await start(
        deps, workspace_id=workspace_id, year=domain.year_of(now, deps.programme.timezone), now=now
    )


async def start(deps: Deps, *, workspace_id: str, year: int, now: datetime) -> str:
    """The polls and the invitations of an open campaign: a rerun adds only what is missing
    (a community created since gets its poll; nobody gets a second invitation)."""
    programme = deps.programme
    async with deps.sessions.begin() as session:
        row = await domain.campaign(session, workspace_id=workspace_id, year=year)
        assert row is not None
        communities = await domain.live_communities(session, workspace_id=workspace_id)
        opened = await domain.open_polls(session, row=row, communities=communities)
        by_id = {c.id: c for c in communities}
        muted = await muted_people(session, ritual=Ritual.SURVEY, now=now)
        capped = await recipients.over_cap(session, cap=programme.rituals.dm_cap_per_week, now=now)
        shares: dict[int, list[tuple[int, str]]] = defaultdict(list)
        readers: dict[int, recipients.Recipient] = {}
        for poll, created in opened:
            if not created:
                continue
            community = by_id[poll.community_id]
            people = await recipients.members(
                session, community=community, default_language=programme.language
            )
            people = [p for p in people if p.person_id not in muted]
            await polls.add_deliveries(
                session, poll=poll, person_ids=[p.person_id for p in people], now=now
            )
            for p in people:
                shares[p.person_id].append((poll.id, community.name))
                readers.setdefault(p.person_id, p)
        owed = [
            Owed(
                # keyed by the first poll it carries: a rerun owes nothing twice, and a community
                # created mid-campaign still reaches members invited before it existed
                key=f"survey:{row.id}:{pid}:{share[0][0]}",
                kind="survey",
                message=invitation_message(
                    row=row, shares=share, min_answers=deps.disclosure.min_answers
                ),
                reader=m.Reader(readers[pid].language, readers[pid].tz),
                person_id=pid,
                # over the weekly cap: a little later, but never after the survey has closed
                not_before=min(now + CAP_DEFERRAL, row.closes_at - timedelta(days=1))
                if pid in capped
                else None,
                expires_at=row.closes_at,
            )
            for pid, share in shares.items()
        ]
        added = await enqueue_many(
            session, workspace_id=workspace_id, community_id=None, messages=owed
        )
    fresh = sum(1 for _, c in opened if c)
    logger.info("survey %s for %s: %s polls, %s invitations", year, workspace_id, fresh, added)
    return f"survey {year}: {fresh} communities opened, {added} invitations owed"


async def remind(deps: Deps, *, campaign_id: int, now: datetime) -> str:
    """One reminder, only to those who have not answered (each ballot recomputed with the key)."""
    async with deps.sessions.begin() as session:
        row = await session.get(SurveyCampaign, campaign_id)
        assert row is not None
        row.reminder_sent_at = now
        muted = await muted_people(session, ritual=Ritual.SURVEY, now=now)
        shares: dict[int, list[tuple[int, str]]] = defaultdict(list)
        names = dict(
            (
                await session.execute(
                    sa.select(Community.id, Community.name).where(
                        Community.workspace_id == row.workspace_id
                    )
                )
            ).all()
        )
        for poll in await domain.campaign_polls(session, campaign_id=row.id):
            for pid in await polls.not_answered(session, key=deps.ballot_key, poll=poll):
                if pid not in muted:
                    shares[pid].append((poll.id, names.get(poll.community_id, "")))
        readers = await _readers(session, deps=deps, person_ids=list(shares))
        owed = [
            Owed(
                key=f"survey_reminder:{row.id}:{pid}",
                kind="survey_reminder",
                message=invitation_message(
                    row=row, shares=share, min_answers=deps.disclosure.min_answers, reminder=True
                ),
                reader=readers[pid],
                person_id=pid,
                expires_at=row.closes_at,
            )
            for pid, share in shares.items()
            if pid in readers
        ]
        added = await enqueue_many(
            session, workspace_id=row.workspace_id, community_id=None, messages=owed
        )
    return f"survey {row.year}: {added} reminders owed"


async def _readers(
    session: AsyncSession, *, deps: Deps, person_ids: list[int]
) -> dict[int, m.Reader]:
    from bot.i18n import language_of
    from bot.models import Person

    if not person_ids:
        return {}
    rows = await session.execute(
        sa.select(Person.id, Person.locale, Person.tz).where(
            Person.id.in_(person_ids),
            Person.deleted.is_(False),
            Person.erased_at.is_(None),
            Person.unreachable_reason.is_(None),
        )
    )
    default = deps.programme.language
    return {
        pid: m.Reader(language_of(locale, default) if locale else default, tz)
        for pid, locale, tz in rows
    }


def results_key(poll_id: int) -> str:
    """The channel post's outbox key; the closing colon keeps poll 1's from prefixing 12's."""
    return f"survey_results:{poll_id}:"


async def close_campaign(deps: Deps, *, campaign_id: int, now: datetime) -> str:
    """Close every community's poll (salt wiped, answers shuffled under fresh ballots), owe each
    community's leaders their results with the posting date and a "Hold back" button, and owe the
    channel its results after `results_delay_hours` (cancelled if a leader holds them back)."""
    programme = deps.programme
    rule = deps.disclosure
    delay = timedelta(hours=programme.survey.results_delay_hours)
    async with deps.sessions.begin() as session:
        row = await session.get(SurveyCampaign, campaign_id)
        assert row is not None
        if row.status == PollStatus.CLOSED:
            return f"survey {row.year}: already closed"
        row.status = PollStatus.CLOSED
        row.closed_at = now
        row.closes_at = min(row.closes_at, now)
        posted = 0
        for poll in await domain.campaign_polls(session, campaign_id=row.id):
            if poll.status == PollStatus.OPEN:
                await polls.close(session, poll=poll, now=now)
            community = await session.get(Community, poll.community_id)
            if community is None:
                continue
            results = await domain.for_community(session, poll=poll, rule=rule)
            # one more voice in the community's compass round, if one is open (else the next
            # round starts with it)
            if voice := domain.compass_scores(results, poll.questions):
                await compass.record_survey_input(
                    session,
                    workspace_id=row.workspace_id,
                    community_id=poll.community_id,
                    dimension_scores=voice,
                    now=now,
                )
            report = results_message(
                community=community.name, results=results, min_answers=rule.min_answers
            )
            leaders = await recipients.members(
                session,
                community=community,
                default_language=programme.language,
                roles=(Role.LEADER, Role.CORE_TEAM),
            )
            posts_at = now + delay
            notice = leaders_message(
                poll_id=poll.id,
                community=community.name,
                channel_id=community.channel_id,
                posts_at=posts_at,
                results=report,
            )
            owed = [
                Owed(
                    key=f"survey_leaders:{poll.id}:{leader.person_id}",
                    kind="survey_leaders",
                    # nobody answered: nothing will be posted, nothing to hold back
                    message=notice if results.respondents else report,
                    reader=m.Reader(leader.language, leader.tz),
                    person_id=leader.person_id,
                )
                for leader in leaders
            ]
            if results.respondents:
                owed.append(
                    Owed(
                        key=results_key(poll.id),
                        kind="survey_results",
                        message=report,
                        reader=m.Reader(
                            community.language or programme.language,
                            community.tz or programme.timezone,
                        ),
                        channel_id=community.channel_id,
                        not_before=posts_at,
                    )
                )
                posted += 1
            await enqueue_many(
                session, workspace_id=row.workspace_id, community_id=community.id, messages=owed
            )
    return f"survey {row.year}: closed, {posted} channels to get their results"


async def hold(deps: Deps, *, poll_id: int, workspace_id: str, person_id: int, reason: str) -> Poll:
    """A leader holds their community's results back: the channel post is cancelled and the
    reason kept for the manager. Refused once the results are out."""
    async with deps.sessions.begin() as session:
        poll = await polls.get(session, workspace_id=workspace_id, poll_id=poll_id)
        sent = await session.scalar(
            sa.select(Outbox.status).where(Outbox.idempotency_key == results_key(poll.id))
        )
        if sent in (OutboxStatus.SENT, OutboxStatus.SENDING):
            raise Conflict("survey.already_posted")
        await domain.hold(session, poll=poll, person_id=person_id, reason=reason)
        await cancel(session, keys_like=results_key(poll.id))
    return poll


async def hold_as(deps: Deps, *, actor: Actor, poll_id: int, reason: str) -> str:
    """The results held back by the person asking, on any platform: the guard (a leader of the
    poll's community: NotAllowed otherwise), then `hold`. The community's name, for the answer."""
    async with deps.sessions() as session:
        poll = await polls.get(session, workspace_id=actor.workspace_id, poll_id=poll_id)
        await require(
            session,
            actor=actor,
            action=Action.HOLD_SURVEY_RESULTS,
            community_id=poll.community_id,
        )
        person = await people.find(
            session, workspace_id=actor.workspace_id, slack_user_id=actor.slack_user_id
        )
        community = await communities.get(
            session, workspace_id=actor.workspace_id, community_id=poll.community_id
        )
        name = community.name
    if person is None:
        raise NotFound("polls.not_found")
    await hold(
        deps, poll_id=poll_id, workspace_id=actor.workspace_id, person_id=person.id, reason=reason
    )
    return name


async def programme_results(
    deps: Deps, *, workspace_id: str, year: int | None = None
) -> tuple[domain.Status, domain.Results | None] | None:
    """The campaign's status and, once closed, the programme's results (for the manager)."""
    async with deps.sessions() as session:
        row = (
            await domain.campaign(session, workspace_id=workspace_id, year=year)
            if year
            else await domain.latest(session, workspace_id=workspace_id)
        )
        if row is None:
            return None
        status = await domain.status(session, row=row)
        results = (
            await domain.for_programme(session, row=row, rule=deps.disclosure)
            if row.status == PollStatus.CLOSED
            else None
        )
    return status, results


def status_message(
    status: domain.Status, results: domain.Results | None, *, now: datetime, min_answers: int
) -> m.Message:
    """The manager's view: window, response rate per community, held results and why."""
    row = status.campaign
    scheduled = row.status == PollStatus.OPEN and row.opens_at > now
    state = "scheduled" if scheduled else row.status.value
    title = m.Say("survey.status_title", year=row.year)
    blocks: list[m.Block] = [
        m.Heading(title),
        m.Paragraph(
            m.Say(
                f"survey.status_{state}",
                opens=m.Moment(row.opens_at, style="date"),
                closes=m.Moment(row.closes_at, style="date"),
            )
        ),
        m.Paragraph(
            m.Say(
                "survey.rate",
                respondents=m.Number(status.respondents),
                asked=m.Number(status.asked),
                rate=m.Percent(status.rate),
            )
        ),
    ]
    lines: list[m.Text] = [
        m.Say(
            "survey.status_line",
            community=c.name,
            respondents=m.Number(c.respondents),
            asked=m.Number(c.asked),
            rate=m.Percent(c.rate),
        )
        for c in sorted(status.communities, key=lambda c: (c.rate, c.name))[:STATUS_LINES]
    ]
    if len(status.communities) > STATUS_LINES:  # lowest response rates first: the rest in the CLI
        lines.append(
            m.Say("survey.status_more", count=m.Number(len(status.communities) - STATUS_LINES))
        )
    if lines:
        blocks.append(m.Paragraph(m.Lines(lines)))
    if status.held:
        held: list[m.Text] = [m.Strong(m.Say("survey.held_title"))]
        held += [
            m.Say("survey.held_line", community=c.name, reason=c.held_reason or "")
            for c in status.held
        ]
        blocks.append(m.Paragraph(m.Lines(held)))
    if results is not None:
        blocks.extend(
            results_message(community=None, results=results, min_answers=min_answers).blocks[1:]
        )
    return m.Message(title, blocks[:50])


def figures_of(results: domain.Results) -> dict[str, Any]:
    """A campaign's figures as plain data (exports): per question, value with its n, or why not."""
    out: dict[str, Any] = {}
    for q in results.questions:
        f = q.figure
        value: Any
        if not f.shown:
            value = None
        elif q.kind == "nps":
            value = f.enps
        elif q.kind == "scale":
            value = f.mean
        else:
            value = dict(zip([o.get("en", "") for o in q.options], q.choices, strict=False))
        out[q.key] = {
            "value": value,
            "answers": f.answers,
            "withheld": f.withheld.value if f.withheld else None,
        }
    return out
