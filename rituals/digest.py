"""The leaders' weekly digest of newcomers, each with a button to greet them personally."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from bot.deps import Deps
from bot.i18n import translate
from bot.models import Community, Membership, Person, RitualSetting, Role
from bot.slack.blocks.rituals import Newcomer, build_digest
from rituals import recipients
from rituals.outbox import Owed, enqueue_many


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
        owed = []
        for leader in leaders:
            text, blocks = build_digest(
                translate(leader.language),
                community=community.name,
                newcomers=newcomers,
                tz=leader.tz or community.tz or programme.timezone,
            )
            owed.append(
                Owed(
                    key=f"digest:{community.id}:{period_key}:{leader.person_id}",
                    kind="digest",
                    text=text,
                    blocks=blocks,
                    person_id=leader.person_id,
                )
            )
        await enqueue_many(
            session, workspace_id=community.workspace_id, community_id=community.id, messages=owed
        )
    return f"{len(newcomers)} newcomers, {len(owed)} leaders"
