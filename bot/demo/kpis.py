"""Demo scene: activity is counted (never stored as text), the daily snapshot job runs, and
/cop health answers the programme manager, a leader, a refused member and an English leader."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import timedelta
from pathlib import Path

from bot import activity, kpis, report
from bot.demo import MANAGER, Demo, wait_until
from bot.i18n import translate
from bot.models import utcnow
from bot.slack.blocks import health as blocks
from rituals import snapshots


async def _uploads(demo: Demo, count: int) -> None:
    await wait_until(lambda: len(demo.emulator.uploads) >= count)


async def _health(demo: Demo, text: str, *, user: str, channel: str) -> dict:
    before = len(demo.emulator.uploads)
    reply = await demo.command(text, user=user, channel=channel)
    if reply.get("blocks"):
        await _uploads(demo, before + 1)
        upload = demo.emulator.uploads[-1]
        demo.show(
            f"(in the DM: chart « {upload['filename']} », {upload['length']:,} bytes PNG"
            f" — {upload['initial_comment']})"
        )
    return reply


async def scene(demo: Demo) -> None:
    demo.title("4. Activity, KPIs and health — what the programme manager shows top management")
    demo.step(
        "People talk in #data-science: 4 messages (Slack delivers one of them twice, same "
        "event_id: counted once), a thread reply, a reaction; a bot's message and an edit are "
        "not counted"
    )
    await demo.slack.message(user="U0LUCAS", channel="C0DATA", text="Qui vient au webinaire ?")
    first = demo.slack.last_message or {}
    await demo.slack.message(user="U0CHLOE", channel="C0DATA", thread_ts=first.get("ts"))
    await demo.slack.message(user="U0HUGO", channel="C0DATA")
    await demo.slack.message(user="U0EMILY", channel="C0DATA")
    await demo.slack.reaction(user="U0EMILY", channel="C0DATA", ts=first.get("ts", ""))
    await demo.slack.message(user="U0JIRA", channel="C0DATA", bot_id="B0JIRA")
    await demo.slack.message(user="U0LUCAS", channel="C0DATA", subtype="message_changed")
    stored = demo.emulator.add_message("C0DATA", user="U0HUGO", text="Merci !")
    event = {**stored, "channel": "C0DATA", "event_ts": stored["ts"], "channel_type": "channel"}
    await demo.slack.event(event, event_id="Ev0DEMOREDELIVERED")
    await demo.slack.event(event, event_id="Ev0DEMOREDELIVERED", retry_num=1)
    today = utcnow().date()

    async def counted() -> activity.Totals | None:
        async with demo.deps.sessions() as session:
            community = await activity.community_for_channel(
                session, workspace_id="T0COP", channel_id="C0DATA"
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
    if totals:
        demo.show(
            f"activity_daily for #data-science today: {totals.messages} messages, "
            f"{totals.replies} replies, {totals.reactions} reactions, "
            f"{totals.active_people} active people — no message text anywhere"
        )

    demo.step("The daily snapshot job runs (the scheduler calls rituals/snapshots.run)")
    written = await snapshots.run_for(demo.deps)
    demo.show(f"{written} KPI snapshot rows (day, week, month, year × programme and communities)")

    await _health(demo, "santé", user=MANAGER, channel="C0GEN")
    await _health(demo, "santé", user="U0LUCAS", channel="C0DATA")
    await demo.command("health", user="U0EMILY", channel="C0DATA")
    if "en" in demo.languages:
        await _health(demo, "health", user="U0JAMES", channel="C0SEC")

    demo.step("Camille clicks « Exporter en Excel » under the overview")
    overview = next(
        (r for r in reversed(demo.emulator.responses) if "Santé du programme" in str(r)), None
    )
    if overview is not None:
        shown = demo.emulator.add_message("D0CAMILLE", user="UBOT", blocks=overview["blocks"])
        before = len(demo.emulator.uploads)
        await demo.slack.click(
            user=MANAGER, action_id=blocks.EXPORT_XLSX, message=("D0CAMILLE", shown["ts"])
        )
        await _uploads(demo, before + 1)
        upload = demo.emulator.uploads[-1]
        demo.show(f"(file in the DM: {upload['filename']}, {upload['length']:,} bytes)")

    demo.step("`cop report --period <this quarter> --format html` for the sponsors")
    window = kpis.to_date(kpis.Period.QUARTER, today, demo.deps.programme.timezone)
    async with demo.deps.sessions() as session:
        built = await report.build(
            session,
            workspace_id="T0COP",
            window=window,
            programme_name=demo.deps.programme.name,
            thresholds=demo.deps.programme.health,
            rule=demo.deps.disclosure,
        )
    for language in demo.languages:
        path = Path(tempfile.gettempdir()) / f"cop-demo-value-report-{language}.html"
        path.write_text(report.to_html(translate(language), built), encoding="utf-8")
        demo.show(
            f"{path} — {path.stat().st_size:,} bytes, {len(built.kpis.communities)} communities, "
            f"{_count(built.kpis.programme.stories, 'success story', 'success stories')}, "
            "charts embedded"
        )


def _count(n: int, one: str, other: str) -> str:
    return f"{n:,} {one if n == 1 else other}"
