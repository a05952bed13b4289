"""The leaders' community, as the clock serves it: invitations to the leaders' channel, and the
monthly leaders' digest posted there (bot/leaders_digest.py says what and why).

Both are programme-wide, like the annual survey: the tick calls `maintain` once per round.

- Invitations: every leader and core-team member of a live community not invited yet is
  invited, one person at a time (Slack refuses a whole batch for one person already there);
  each answer is remembered, so nobody is invited twice and leaving is respected. The handlers
  call `invite_missing` at once when someone becomes leader or core team, or a community is
  registered; the tick catches up with the rest.
- The digest: the month just closed, posted once, from the first Tuesday of the month at the
  programme's run hour (as the monthly rituals), for a week at most (a bot down longer waits for
  the next month rather than posting news a month old). The outbox key names the workspace and
  the month, so two ticks or two replicas write it once.
- The channel: an id, or a name looked up when there is something to do there. A channel Slack refuses (archived,
  the bot not in it, gone) is logged as a warning naming app.yaml's field, recorded, and not
  tried again for six hours: no crash, no retry storm.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from bot import disclosure, installation
from bot import leaders_digest as domain
from bot import messages as m
from bot.config import is_channel_id
from bot.deps import Deps
from bot.models import Outbox, Workspace, utcnow
from bot.ports import DeliveryError
from rituals.cadence import LeadershipLost, defaults, next_run
from rituals.outbox import enqueue

logger = logging.getLogger(__name__)

POST_WITHIN = timedelta(days=7)  # a digest this late is still news; later, next month's comes
# what Slack says of the channel itself: nobody can be invited, the digest cannot be posted
CHANNEL_REFUSED = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "method_not_supported_for_channel_type",
        "missing_scope",
        "not_allowed_token_type",
        "restricted_action",
    }
)
# what Slack says of one person: remembered, never asked again
PERSON_REFUSED = frozenset(
    {
        "already_in_channel",
        "cant_invite",
        "cant_invite_self",
        "user_is_deactivated",
        "user_not_found",
        "user_disabled",
        "user_is_restricted",
        "user_is_ultra_restricted",
        "ura_max_channels",
        "no_user",
    }
)


async def channel_id(deps: Deps, *, workspace_id: str, now: datetime) -> str | None:
    """The leaders' channel's id, or None when none is named, it cannot be found, or it was
    refused lately (logged once, when recorded)."""
    ref = deps.programme.leaders_channel
    if not ref:
        return None
    async with deps.sessions() as session:
        if await domain.unusable_since(session, workspace_id=workspace_id, channel=ref, now=now):
            return None
    if is_channel_id(ref):
        return str(ref)
    try:
        found = await deps.directory.channel_named(ref)
    except Exception as exc:  # Slack unreachable: ask again at the next tick
        logger.warning("leaders_channel: could not look up #%s (%s)", ref, type(exc).__name__)
        return None
    if found is None or found.is_archived:
        reason = "channel_not_found" if found is None else "is_archived"
        await _unusable(deps, workspace_id=workspace_id, reason=reason)
        return None
    return found.channel_id


async def _unusable(deps: Deps, *, workspace_id: str, reason: str) -> None:
    ref = deps.programme.leaders_channel or ""
    logger.warning(
        "app.yaml leaders_channel %r cannot be used (%s): invite the bot to it, or name another "
        "channel; trying again in %d hours",
        ref,
        reason,
        domain.RETRY_UNUSABLE.total_seconds() // 3600,
    )
    deps.metrics.errors.labels(where="leaders_channel").inc()
    async with deps.sessions.begin() as session:
        await domain.record_unusable(session, workspace_id=workspace_id, channel=ref, reason=reason)


async def invite_missing(deps: Deps, *, workspace_id: str, now: datetime | None = None) -> int:
    """Invite every leader and core-team member not invited yet; returns how many Slack added."""
    now = now or utcnow()
    ref = deps.programme.leaders_channel
    if not ref:
        return 0
    async with deps.sessions() as session:
        wanted = await domain.to_invite(session, workspace_id=workspace_id, channel=ref)
    if not wanted:
        return 0
    target = await channel_id(deps, workspace_id=workspace_id, now=now)
    if target is None:
        return 0
    added = 0
    for person in wanted:
        try:
            await deps.directory.invite(target, person.slack_user_id)
            outcome = "invited"
            added += 1
        except DeliveryError as exc:
            if exc.reason in CHANNEL_REFUSED:
                await _unusable(deps, workspace_id=workspace_id, reason=exc.reason)
                return added
            if exc.reason not in PERSON_REFUSED:  # rate limit, Slack down: the next tick resumes
                logger.warning("leaders_channel: invitations paused (%s)", exc.reason)
                return added
            outcome = exc.reason
        async with deps.sessions.begin() as session:
            await domain.record_invited(
                session,
                workspace_id=workspace_id,
                channel=ref,
                person_id=person.person_id,
                outcome=outcome,
            )
    return added


async def invite_soon(deps: Deps, *, workspace_id: str) -> None:
    """For the handlers, right after someone became leader or core team or a community was
    registered: the invitation now rather than at the next tick; a failure waits for the tick."""
    if not deps.programme.leaders_channel:
        return
    try:
        await invite_missing(deps, workspace_id=workspace_id)
    except Exception:
        logger.warning("leaders_channel: invitation deferred to the next tick", exc_info=True)


def due_at(now: datetime, *, tz: str, hour: int) -> datetime:
    """This month's run: its first Tuesday at the run hour, in the programme's zone."""
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    first = datetime(local.year, local.month, 1, tzinfo=zone) - timedelta(seconds=1)
    found = next_run("monthly", after=first.astimezone(now.tzinfo), zone=zone, hour=hour)
    assert found is not None
    return found


async def post_digest(deps: Deps, *, workspace_id: str, now: datetime) -> str:
    """The month just closed, posted once in the leaders' channel when it is due."""
    programme = deps.programme
    if not programme.leaders_channel:
        return "no leaders' channel"
    due = due_at(now, tz=programme.timezone, hour=programme.rituals.run_hour)
    if not (due <= now < due + POST_WITHIN):
        return "not due"
    window = domain.closed_month(now, programme.timezone)
    key = domain.digest_key(workspace_id, window)
    async with deps.sessions() as session:
        if await session.scalar(sa.select(Outbox.id).where(Outbox.idempotency_key == key)):
            return f"{window.label}: already written"
    target = await channel_id(deps, workspace_id=workspace_id, now=now)
    if target is None:
        return "leaders' channel unusable"
    async with deps.sessions.begin() as session:
        digest = await domain.gather(
            session,
            workspace_id=workspace_id,
            window=window,
            now=now,
            rule=disclosure.Rule.of(programme),
            question_kinds={q.key: q.kind for q in programme.rituals.pulse.questions},
            charter_stale_days=programme.health.charter_stale_days,
            ritual_defaults={r: defaults(r, programme).enabled for r in domain.PRACTICE_RITUALS},
        )
        added = await enqueue(
            session,
            workspace_id=workspace_id,
            key=key,
            kind=domain.KIND,
            message=domain.message(digest, programme=programme.name),
            reader=m.Reader(programme.language, programme.timezone),
            channel_id=target,
        )
    return f"{window.label}: {'posted' if added else 'already written'}"


async def maintain(deps: Deps, *, now: datetime | None = None) -> None:
    """The tick's round: invitations caught up, then the month's digest when due, per workspace."""
    if not deps.programme.leaders_channel:
        return
    now = now or utcnow()
    async with deps.sessions() as session:
        workspaces = list(
            await session.scalars(
                sa.select(Workspace.id)
                .where(Workspace.id.not_in(installation.revoked_ids()))
                .order_by(Workspace.id)
            )
        )
    for workspace_id in workspaces:
        try:
            with installation.speaking_in(workspace_id):  # many workspaces: its token
                await invite_missing(deps, workspace_id=workspace_id, now=now)
                await post_digest(deps, workspace_id=workspace_id, now=now)
        except LeadershipLost:
            raise
        except Exception:
            logger.exception("leaders' community: round failed for %s", workspace_id)
            deps.metrics.errors.labels(where="rituals.leaders").inc()
