"""The leaders' weekly digest of newcomers, each with a button to greet them personally."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from bot import messages as m
from bot.deps import Deps
from bot.models import Community, Membership, Person, RitualSetting, Role
from rituals import recipients
from rituals.outbox.enqueueing import Owed, enqueue_many

GREET = "rituals_greet"  # a newcomer's button: rituals_greet:<user id>, opens a DM with them
SHOWN = 40  # newcomers listed one by one; the rest are counted


@dataclass(frozen=True, slots=True)
class Newcomer:
    slack_user_id: str
    name: str
    joined_at: datetime


def digest_message(*, community: str, newcomers: list[Newcomer]) -> m.Message:
    """The leaders' weekly digest: each newcomer with a button to greet them personally."""
    title = m.Say("rituals.digest_title", community=community, count=m.Number(len(newcomers)))
    blocks: list[m.Block] = [
        m.Heading(title),
        m.Paragraph(m.Say("rituals.digest_intro")),
        m.Divider(),
    ]
    for person in newcomers[:SHOWN]:
        greet = m.Choice(
            f"{GREET}:{person.slack_user_id}",
            m.Say("rituals.greet"),
            person.slack_user_id,
            chat_with=person.slack_user_id,
        )
        line = m.Say(
            "rituals.digest_line",
            user=m.Person(person.slack_user_id),
            when=m.Moment(person.joined_at, style="date"),
        )
        blocks.append(m.Paragraph(line, beside=greet))
    if len(newcomers) > SHOWN:
        more = m.Say("rituals.digest_more", count=m.Number(len(newcomers) - SHOWN))
        blocks.append(m.Note(more))
    return m.Message(title, blocks)


async def run(
    deps: Deps, *, community: Community, setting: RitualSetting, period_key: str, now: datetime
) -> str:
    programme = deps.programme
    async with deps.sessions.begin() as session:
        rows = await session.execute(
            sa.select(Person.slack_user_id, Person.real_name, Person.name, Membership.joined_at)
            .join(Membership, Membership.person_id == Person.id)
            .where(
                Membership.community_id == community.id,
                Membership.left_at.is_(None),
                Membership.joined_at > now - timedelta(days=7),
                Membership.source == "event",
                Person.is_bot.is_(False),
            )
            .order_by(Membership.joined_at)
        )
        newcomers = [
            Newcomer(slack_user_id=uid, name=real or name or uid, joined_at=joined)
            for uid, real, name, joined in rows
        ]
        if not newcomers:
            return "no newcomers"
        leaders = await recipients.members(
            session, community=community, default_language=programme.language, roles=(Role.LEADER,)
        )
        message = digest_message(community=community.name, newcomers=newcomers)
        owed = [
            Owed(
                key=f"digest:{community.id}:{period_key}:{leader.person_id}",
                kind="digest",
                message=message,
                reader=m.Reader(leader.language, leader.tz or community.tz or programme.timezone),
                person_id=leader.person_id,
            )
            for leader in leaders
        ]
        await enqueue_many(
            session, workspace_id=community.workspace_id, community_id=community.id, messages=owed
        )
    return f"{len(newcomers)} newcomers, {len(owed)} leaders"
