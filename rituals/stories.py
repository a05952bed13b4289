"""The success-story prompt ritual: invite members to share what the community brought them."""

from __future__ import annotations

from datetime import datetime

from bot.deps import Deps
from bot.i18n import translate
from bot.models import Community, Delivery, Ritual, RitualSetting
from bot.slack.blocks.story import build_prompt
from rituals import recipients
from rituals.outbox import Owed, enqueue_many


async def run(
    deps: Deps, *, community: Community, setting: RitualSetting, period_key: str, now: datetime
) -> str:
    programme = deps.programme
    async with deps.sessions.begin() as session:
        if setting.delivery == Delivery.CHANNEL:
            text, blocks = build_prompt(
                translate(community.language or programme.language),
                community_id=community.id,
                community=community.name,
                cadence=setting.cadence or "quarterly",
            )
            owed = [
                Owed(
                    key=f"story_prompt:{community.id}:{period_key}:channel",
                    kind="story_prompt_channel",
                    text=text,
                    blocks=blocks,
                    channel_id=community.channel_id,
                )
            ]
        else:
            people, _ = await recipients.for_ritual_dm(
                session,
                community=community,
                ritual=Ritual.STORIES,
                default_language=programme.language,
                cap=programme.rituals.dm_cap_per_week,
                now=now,
            )
            rendered = {
                lang: build_prompt(
                    translate(lang),
                    community_id=community.id,
                    community=community.name,
                    cadence=setting.cadence or "quarterly",
                )
                for lang in {p.language for p in people}
            }
            owed = [
                Owed(
                    key=f"story_prompt:{community.id}:{period_key}:{p.person_id}",
                    kind="story_prompt",
                    text=rendered[p.language][0],
                    blocks=rendered[p.language][1],
                    person_id=p.person_id,
                )
                for p in people
            ]
        await enqueue_many(
            session, workspace_id=community.workspace_id, community_id=community.id, messages=owed
        )
    return f"{len(owed)} owed"
