"""Demo scene: activity is counted (never stored as text), the daily snapshot job runs, and
/cop health answers the programme manager, a leader, a refused member and an English leader."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from zoneinfo import ZoneInfo

from bot import activity, periods, report
from bot.demo import Demo
from bot.demo.cast import (
    BOT,
    CORE,
    DATA,
    GENERAL,
    GUILD,
    GUILD_LEADER,
    JIRA,
    LEADER,
    MANAGER,
    MEMBER,
    SPONSOR,
)
from bot.i18n import translate
from bot.models import Ritual, utcnow
from bot.slack.blocks import health as blocks
from rituals import cadence, scheduler, snapshots
from rituals.outbox import Drain


async def _health(demo: Demo, *, user: str, channel: str) -> dict:
    before = len(demo.emulator.uploads)
    reply = await demo.command(demo.cast.words(user)["health"], user=user, channel=channel)
    if reply.get("blocks") and len(demo.emulator.uploads) > before:
        upload = demo.emulator.uploads[before]
        demo.show(
            demo.t("demo.kpis.chart", file=upload["filename"], comment=upload["initial_comment"])
        )
    return reply


async def scene(demo: Demo) -> None:
    c = demo.content
    demo.title("demo.kpis.title")
    demo.say("demo.kpis.talk", channel=demo.where(DATA))
    await demo.slack.message(user=LEADER, channel=DATA, text=c["chat_question"])
    first = demo.slack.last_message or {}
    await demo.slack.message(user=CORE, channel=DATA, thread_ts=first.get("ts"))
    await demo.slack.message(user=SPONSOR, channel=DATA)
    await demo.slack.message(user=MEMBER, channel=DATA)
    await demo.slack.reaction(user=MEMBER, channel=DATA, ts=first.get("ts", ""))
    await demo.slack.message(user=JIRA, channel=DATA, bot_id="B0JIRA")
    await demo.slack.message(user=LEADER, channel=DATA, subtype="message_changed")
    stored = demo.emulator.add_message(DATA, user=SPONSOR, text=c["chat_thanks"])
    event = {**stored, "channel": DATA, "event_ts": stored["ts"], "channel_type": "channel"}
    await demo.slack.event(event, event_id="Ev0DEMOREDELIVERED")
    await demo.slack.event(event, event_id="Ev0DEMOREDELIVERED", retry_num=1)
    today = utcnow().date()

    async def counted() -> activity.Totals | None:
        async with demo.deps.sessions() as session:
            community = await activity.community_for_channel(
                session, workspace_id="T0COP", channel_id=DATA
            )
            if community is None:
                return None
            got = await activity.totals(
                session, community_id=community[0], start=today, end=today + timedelta(days=1)
            )
        return got if got.messages + got.replies + got.reactions >= 6 else None

    totals = None
    for _ in range(250):  # the events are counted after Bolt's ack
        totals = await counted()
        if totals:
            break
        await asyncio.sleep(0.02)
    await demo.settle()
    if totals:
        demo.show(
            demo.t(
                "demo.kpis.counted",
                channel=demo.where(DATA),
                messages=totals.messages,
                replies=totals.replies,
                reactions=totals.reactions,
                people=totals.active_people,
            )
        )

    demo.say("demo.kpis.snapshots")
    written = await snapshots.run_for(demo.deps)
    demo.show(demo.t("demo.kpis.snapshot_rows", rows=written))

    overview = await _health(demo, user=MANAGER, channel=GENERAL)
    await _health(demo, user=LEADER, channel=DATA)
    await demo.command(demo.cast.words(MEMBER)["health"], user=MEMBER, channel=DATA)
    await _health(demo, user=GUILD_LEADER, channel=GUILD)

    if overview.get("blocks"):
        demo.say("demo.kpis.export", who=demo.first_name(MANAGER))
        dm = demo.emulator.dm_channel_for(MANAGER)
        shown = demo.emulator.add_message(dm, user=BOT, blocks=overview["blocks"])
        before = len(demo.emulator.uploads)
        await demo.settle()
        await demo.slack.click(
            user=MANAGER, action_id=blocks.EXPORT_XLSX, message=(dm, shown["ts"])
        )
        await demo.settle()
        if len(demo.emulator.uploads) > before:
            demo.show(demo.t("demo.kpis.file", file=demo.emulator.uploads[before]["filename"]))

    await _report_in_slack(demo)
    found = None
    async with demo.deps.sessions() as session:
        found = await activity.community_for_channel(session, workspace_id="T0COP", channel_id=DATA)
    if found is not None:
        await _sponsor_digest(demo, found[0])

    demo.say("demo.kpis.report")
    window = periods.to_date(periods.Period.QUARTER, today, demo.deps.programme.timezone)
    async with demo.deps.sessions() as session:
        built = await report.build(
            session,
            workspace_id="T0COP",
            window=window,
            programme_name=demo.deps.programme.name,
            thresholds=demo.deps.programme.health,
            rule=demo.deps.disclosure,
        )
    language = demo.cast.narration
    path = demo.folder / f"cop-demo-value-report-{window.label}.html"
    path.write_text(report.to_html(translate(language), built), encoding="utf-8")
    demo.show(
        demo.t(
            "demo.kpis.report_file",
            file=path.name,
            communities=len(built.kpis.communities),
            stories=built.kpis.programme.stories,
        )
    )


async def _sponsor_digest(demo: Demo, community_id: int) -> None:
    """The quarter turns: the leader previews the sponsor digest, the sponsor gets it a week on
    (the demo runs no scheduler: the ritual runs at its next quarterly slot, the drain at the
    moments the messages are due)."""
    programme = demo.deps.programme
    due = cadence.next_run(
        "quarterly",
        after=utcnow(),
        zone=ZoneInfo(programme.timezone),
        hour=programme.rituals.run_hour,
    )
    assert due is not None
    demo.say("demo.kpis.sponsor_preview", who=demo.first_name(LEADER))
    await scheduler.run_now(
        demo.deps, ritual=Ritual.SPONSOR_DIGEST, community_id=community_id, now=due
    )
    drain = Drain(demo.deps, rate_per_minute=60000)
    await drain.run_once(now=due)
    demo.show_message(_last_with_blocks(demo, LEADER))
    demo.say("demo.kpis.sponsor_digest", who=demo.first_name(SPONSOR))
    await drain.run_once(now=due + timedelta(days=7, hours=1))
    demo.show_message(_last_with_blocks(demo, SPONSOR))


async def _report_in_slack(demo: Demo) -> None:
    """The programme manager asks for the value report in Slack: two files in their DM."""
    before = len(demo.emulator.uploads)
    await demo.command(demo.cast.words(MANAGER)["report"], user=MANAGER, channel=GENERAL)
    for _ in range(500):  # the report is built after the ack, then uploaded
        if len(demo.emulator.uploads) >= before + 2:
            break
        await asyncio.sleep(0.02)
    await demo.settle()
    for upload in demo.emulator.uploads[before:]:
        demo.show(demo.t("demo.kpis.file", file=upload["filename"]))


def _last_with_blocks(demo: Demo, user: str) -> dict:
    """The user's last DM that is a message (the chart that follows a digest is a file)."""
    dms = demo.emulator.messages.get(demo.emulator.dm_channel_for(user), [])
    return next(m for m in reversed(dms) if m.get("blocks"))
