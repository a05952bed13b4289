"""The lifecycle end to end: /cop stage (/cop étape) shows the stage people set, who set it, the
checklist ticked from real data and the suggestion; leaders move it, members may not, only
programme managers close; health, the Home and the exports show the stored stage; a closed
community gets no ritual run; the CLI sets a stage with one-line errors."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import charters, events, health, lifecycle
from bot.config import HealthThresholds
from bot.demo import large
from bot.health import Signals
from bot.models import (
    AuditLog,
    Community,
    CommunityStatus,
    CompassAssessment,
    EventKind,
    Outbox,
    Ritual,
    RitualRun,
    RitualSetting,
    Stage,
    StageChange,
    utcnow,
)
from bot.permissions import Actor
from bot.slack.blocks import event as event_screens
from bot.slack.blocks import health as blocks
from bot.slack.blocks import lifecycle as screens
from bot.slack.render import render_message
from rituals import scheduler
from tests import factories
from tests.catalogue import ANY, EN, FR, shows
from tests.conftest import MANAGER, Bot, command_answer, eventually, settle
from tests.factories import WORKSPACE
from tests.test_cli import run_cop
from tests.test_handlers_health import click, option, rows, shown

LEADER, CORE, SPONSOR, MEMBER = "U0LUCAS", "U0CHLOE", "U0HUGO", "U0EMILY"


async def data_science(bot: Bot, *, age_days: int = 45, core: bool = False) -> Community:
    return await factories.community(
        bot.sessions,
        emulator=bot.emulator,
        channel="C0DATA",
        leaders=(LEADER,),
        core=(CORE,) if core else (),
        sponsor=SPONSOR,
        age_days=age_days,
    )


async def ask(bot: Bot, text: str, *, user: str, channel: str = "C0DATA") -> dict[str, Any]:
    return await command_answer(bot, text, user=user, channel=channel)


async def save_charter(bot: Bot, community_id: int) -> None:
    await charters.submit(
        bot.sessions,
        actor=Actor(WORKSPACE, LEADER, False),
        community_id=community_id,
        draft=charters.CharterDraft(
            mission="Partager nos pratiques",
            objectives=("Un webinaire par mois",),
            objectives_year=utcnow().year,
        ),
    )


async def schedule_kickoff(bot: Bot, community_id: int, *, days: int) -> None:
    async with bot.sessions.begin() as session:
        await events.create(
            session,
            workspace_id=WORKSPACE,
            community_id=community_id,
            schedule=events.Schedule(
                title="Réunion de lancement",
                kind=EventKind.KICK_OFF,
                starts_at=utcnow() + timedelta(days=days),
                duration_minutes=60,
                tz="Europe/Paris",
                link=None,
                description="",
            ),
            author_slack_user_id=LEADER,
        )


def flat(text: str) -> str:
    """The rendering wraps long lines: compare the words."""
    return " ".join(text.split())


def ticked(text: str, t: Any, key: str, **params: Any) -> bool:
    return f"✅ {t(key, **params)}" in text


def open_item(text: str, t: Any, key: str, **params: Any) -> bool:
    return f"⬜ {t(key, **params)}" in text


async def test_the_checklist_ticks_from_real_data_and_the_leader_moves_the_stage(
    bot: Bot,
) -> None:
    community = await data_science(bot)
    first = await ask(bot, "étape", user=LEADER)
    reply = render_message(first)
    assert FR("lifecycle.title", name="Data Science") in reply
    assert FR("lifecycle.current", stage="démarrage", status="active") in reply
    assert shows(reply, FR, "lifecycle.since_created", day=ANY)
    assert open_item(reply, FR, "lifecycle.item.charter_objectives")
    assert open_item(reply, FR, "lifecycle.item.kickoff")
    assert FR("lifecycle.kickoff.sponsor") in reply  # the guides' kick-off outline, offered
    assert f"[ {FR('lifecycle.change_button')} ]" in reply

    # the leader does the work: a charter with its objectives, a core team, a kick-off
    await save_charter(bot, community.id)
    await ask(bot, f"rôle <@{CORE}> noyau", user=LEADER)
    # the kick-off, from the button: the event modal, with the guides' outline as description
    shown = bot.emulator.add_message("D0LUCAS", user="UBOT", blocks=first["blocks"])
    await bot.slack.click(user=LEADER, action_id=screens.KICKOFF, message=("D0LUCAS", shown["ts"]))
    modal = await eventually(
        lambda: next(
            (v for v in bot.emulator.views.values() if v.get("callback_id") == event_screens.MODAL),
            None,
        )
    )
    described = json.dumps(modal, ensure_ascii=False)
    assert FR("lifecycle.kickoff.sponsor") in described and "kick_off" in described
    day = (utcnow() + timedelta(days=7)).date()
    response = await bot.slack.submit_view(
        modal["id"], user=LEADER, values={"event_date": day, "event_time": "18:00"}
    )
    assert response.status_code == 200 and not response.content
    await bot.emulator.wait_for("chat.postMessage")  # the kick-off's announcement
    reply = render_message(await ask(bot, "étape", user=LEADER))
    assert ticked(reply, FR, "lifecycle.item.charter_objectives")
    assert ticked(reply, FR, "lifecycle.item.core_team")
    assert ticked(reply, FR, "lifecycle.item.kickoff")
    assert FR("lifecycle.kickoff.sponsor") not in reply  # scheduled: no outline any more
    # not held yet: no suggestion to move on
    assert "💡" not in reply and ":bulb:" not in reply

    before = len(bot.emulator.messages.get("C0DATA", []))
    done = await ask(bot, "étape croissance le lancement a eu lieu", user=LEADER)
    assert (
        FR("lifecycle.changed", name="Data Science", stage="croissance", status="active")
        in (done["text"])
    )
    posted = await eventually(lambda: bot.emulator.messages["C0DATA"][before:])
    assert FR(
        "lifecycle.announce_reason",
        stage="croissance",
        who=f"<@{LEADER}>",
        reason="le lancement a eu lieu",
    ) in [m["text"] for m in posted]
    async with bot.sessions() as session:
        row = await session.get(Community, community.id)
        changes = list(await session.scalars(sa.select(StageChange)))
        audits = list(
            await session.scalars(
                sa.select(AuditLog).where(AuditLog.action == "lifecycle.stage_set")
            )
        )
    assert row is not None and row.stage == Stage.GROWTH and row.stage_changed_at is not None
    assert [(c.from_stage, c.to_stage, c.reason) for c in changes] == [
        (Stage.LAUNCH, Stage.GROWTH, "le lancement a eu lieu")
    ]
    assert len(audits) == 1 and audits[0].actor == LEADER
    reply = render_message(await ask(bot, "stage", user=LEADER))
    assert shows(reply, FR, "lifecycle.since_set_reason", day=ANY, who=ANY, reason=ANY)
    assert open_item(reply, FR, "lifecycle.item.first_story")
    history = render_message(await ask(bot, "étape historique", user=MEMBER))
    assert EN("lifecycle.history_title", name="Data Science") in history  # Emily reads English
    assert shows(
        history,
        EN,
        "lifecycle.history_line",
        day=ANY,
        moved="launch → growth",
        status="active",
        who=ANY,
    )
    assert EN("lifecycle.history_reason", reason="le lancement a eu lieu") in history
    # the same again is refused clearly, and nothing is written
    again = await ask(bot, "étape croissance", user=LEADER)
    assert again["text"] == FR("lifecycle.unchanged")
    bad = await ask(bot, "étape adolescence", user=LEADER)
    assert bad["text"] == FR("lifecycle.bad_stage", value="adolescence")


async def test_members_read_only_and_only_managers_close(bot: Bot) -> None:
    community = await data_science(bot)
    # Emily reads English: she sees the stage, with no buttons, and may not change it
    shown = render_message(await ask(bot, "stage", user=MEMBER))
    assert EN("lifecycle.current", stage="launch", status="active") in shown
    assert EN("lifecycle.read_only") in shown and EN("lifecycle.change_button") not in shown
    refused = await ask(bot, "stage growth", user=MEMBER)
    assert refused["text"] == EN("permission.set_stage")
    # the leader may put it to sleep, not close it
    slept = await ask(bot, "étape en sommeil depuis l'été", user=LEADER)  # as people type it
    assert (
        FR("lifecycle.changed", name="Data Science", stage="démarrage", status="en sommeil")
        in (slept["text"])
    )
    refused = await ask(bot, "étape fermée", user=LEADER)
    assert refused["text"] == FR("permission.close_community")
    closed = await ask(bot, "étape fermée plus de membres actifs", user=MANAGER)
    assert (
        FR("lifecycle.changed", name="Data Science", stage="démarrage", status="fermée")
        in (closed["text"])
    )
    async with bot.sessions() as session:
        row = await session.get(Community, community.id)
    assert row is not None and row.status == CommunityStatus.CLOSED
    closing = FR("lifecycle.announce_closed", who=f"<@{MANAGER}>")
    await eventually(lambda: closing in [m["text"] for m in bot.emulator.messages["C0DATA"]])
    # closed: no longer live in the programme's health; its own view still says it is closed
    programme = render_message(await ask(bot, "santé", user=MANAGER, channel="C0GEN"))
    assert "Data Science" not in programme
    own = render_message(await ask(bot, "santé data-science", user=MANAGER, channel="C0GEN"))
    assert FR("lifecycle.current", stage="démarrage", status="fermée") in own
    assert "5 membres" in own  # its own figures still read
    # and the leader cannot reopen it
    refused = await ask(bot, "étape active", user=LEADER)
    assert refused["text"] == FR("permission.close_community")


async def test_the_modal_changes_stage_and_status_with_a_reason(bot: Bot) -> None:
    community = await data_science(bot)
    reply = await ask(bot, "étape", user=LEADER)
    shown = bot.emulator.add_message("D0LUCAS", user="UBOT", blocks=reply["blocks"])
    await bot.slack.click(user=LEADER, action_id=screens.OPEN, message=("D0LUCAS", shown["ts"]))
    view = await eventually(
        lambda: next(
            (v for v in bot.emulator.views.values() if v.get("callback_id") == screens.MODAL), None
        )
    )
    statuses = [
        o["value"]
        for b in view["blocks"]
        if b.get("block_id") == screens.STATUS_BLOCK
        for o in b["element"]["options"]
    ]
    assert statuses == ["active", "dormant"]  # closing is for programme managers
    response = await bot.slack.submit_view(
        view["id"],
        user=LEADER,
        values={
            screens.STAGE_BLOCK: "reorientation",
            screens.STATUS_BLOCK: "dormant",
            screens.REASON_BLOCK: "Plus d'activité depuis l'été",
        },
    )
    assert response.status_code == 200

    async def moved() -> bool:
        async with bot.sessions() as session:
            row = await session.get(Community, community.id)
        return row is not None and row.stage == Stage.REORIENTATION

    await eventually(moved)
    async with bot.sessions() as session:
        row = await session.get(Community, community.id)
    assert row is not None and row.status == CommunityStatus.DORMANT
    # the reorientation checklist: the redesign talk is recorded by a button
    reply = await ask(bot, "étape", user=LEADER)
    text = render_message(reply)
    assert open_item(text, FR, "lifecycle.item.redesign_talk")
    assert open_item(text, FR, "lifecycle.item.compass")
    shown = bot.emulator.add_message("D0LUCAS", user="UBOT", blocks=reply["blocks"])
    await bot.slack.click(user=LEADER, action_id=screens.REDESIGN, message=("D0LUCAS", shown["ts"]))

    async def talked() -> bool:
        async with bot.sessions() as session:
            found = await lifecycle.facts(
                session, workspace_id=WORKSPACE, community_ids=[community.id], defaults={}
            )
        return found[community.id].redesign_talk_at is not None

    await eventually(talked)
    text = render_message(await ask(bot, "étape", user=LEADER))
    assert ticked(text, FR, "lifecycle.item.redesign_talk")
    assert f"[ {FR('lifecycle.redesign_button')} ]" not in text  # done: the button is gone
    # the compass taken again since the stage changed (a round from before does not count)
    async with bot.sessions.begin() as session:
        session.add_all(
            [
                CompassAssessment(
                    workspace_id=WORKSPACE,
                    community_id=community.id,
                    opened_at=utcnow() - timedelta(days=30),
                ),
            ]
        )
    text = render_message(await ask(bot, "étape", user=LEADER))
    assert open_item(text, FR, "lifecycle.item.compass")
    async with bot.sessions.begin() as session:
        session.add(CompassAssessment(workspace_id=WORKSPACE, community_id=community.id))
    text = render_message(await ask(bot, "étape", user=LEADER))
    assert ticked(text, FR, "lifecycle.item.compass")


async def test_the_suggestion_says_why_and_one_click_applies_it(bot: Bot) -> None:
    community = await data_science(bot, core=True)
    await save_charter(bot, community.id)
    await schedule_kickoff(bot, community.id, days=-3)  # held three days ago
    reply = await ask(bot, "stage", user=LEADER)
    text = render_message(reply)
    suggestion = FR("lifecycle.suggestion", stage="croissance", why=FR("lifecycle.why.launched"))
    assert flat(suggestion.replace(":bulb:", "💡")) in flat(text)
    shown = bot.emulator.add_message("D0LUCAS", user="UBOT", blocks=reply["blocks"])
    clicked = len(bot.emulator.responses)
    await bot.slack.click(user=LEADER, action_id=screens.APPLY, message=("D0LUCAS", shown["ts"]))
    # the confirmation, then the screen drawn again in place, now at croissance
    answers = await eventually(lambda: bot.emulator.responses[clicked:][1:])
    assert answers[0]["replace_original"] is True
    assert FR("lifecycle.current", stage="croissance", status="active") in render_message(
        answers[0]
    )

    async def moved() -> bool:
        async with bot.sessions() as session:
            row = await session.get(Community, community.id)
        return row is not None and row.stage == Stage.GROWTH

    await eventually(moved)

    # a quiet community for months: health points to reorientation, and says why
    agile = await factories.community(
        bot.sessions,
        emulator=bot.emulator,
        channel="C0AGILE",
        name="Agilité",
        leaders=("U0LEA",),
        age_days=200,
    )
    assert agile.stage == Stage.LAUNCH
    health_view = render_message(await ask(bot, "santé", user="U0LEA", channel="C0AGILE"))
    assert FR("lifecycle.current", stage="démarrage", status="active") in health_view
    inactive = FR("health.reason.inactive", active=0, members=5, weeks=8)
    suggestion = FR(
        "lifecycle.suggestion",
        stage="réorientation",
        why=f"{inactive} · {FR('health.reason.no_event_ever')}",
    )
    assert flat(suggestion.replace(":bulb:", "💡")) in flat(health_view)


async def test_health_home_and_exports_show_the_stored_stage(bot: Bot) -> None:
    community = await data_science(bot)
    await factories.community(
        bot.sessions, emulator=bot.emulator, channel="C0AGILE", name="Agilité", leaders=(MEMBER,)
    )
    async with bot.sessions.begin() as session:
        row = await session.get(Community, community.id)
        assert row is not None
        await lifecycle.set_stage(
            session,
            community=row,
            actor="test",
            by_person_id=None,
            stage=Stage.REORIENTATION,
            status=CommunityStatus.DORMANT,
        )
    first = await ask(bot, "santé", user=MANAGER, channel="C0GEN")
    programme = render_message(first)
    data_row = flat(programme.split("*Data Science*")[1].split("*Agilité*")[0])
    assert "(étape : réorientation)" in data_row and "_en sommeil_" in data_row
    # the stage filter is on the stored stage; the lifecycle status has its own
    staged = await click(
        bot,
        shown(bot, first),
        blocks.FILTER_STAGE,
        selected=option(first, blocks.FILTER_STAGE, "réorientation"),
    )
    assert set(rows(staged)) == {"Data Science"}
    asleep = await click(
        bot,
        shown(bot, first),
        blocks.FILTER_LIFECYCLE,
        selected=option(first, blocks.FILTER_LIFECYCLE, "en sommeil"),
    )
    assert set(rows(asleep)) == {"Data Science"}
    assert "Filtres : en sommeil" in render_message(asleep)
    # the export prints the stored stage, and its lifecycle status
    await bot.emulator.wait_for("files.completeUploadExternal")
    await bot.slack.click(user=MANAGER, action_id=blocks.EXPORT_CSV, message=shown(bot, first))
    await bot.emulator.wait_for("files.completeUploadExternal", count=2)
    table = list(
        csv.reader(
            io.StringIO(bot.emulator.uploads[-1]["content"].decode("utf-8-sig")), delimiter=";"
        )
    )
    header = table[0]
    assert FR("health.col.stage") == "Étape" and FR("health.col.stage") in header
    assert FR("lifecycle.col.suggested") in header
    data = next(r for r in table if r[0] == "Data Science")
    assert data[header.index("Étape")] == "réorientation"
    assert data[header.index(FR("lifecycle.col.status"))] == "en sommeil"
    # the Home of the leader: the stage and what is still to do
    await bot.slack.open_home(user=LEADER)
    await bot.emulator.wait_for("views.publish", lambda c: c.params.get("user_id") == LEADER)
    home = json.dumps(bot.emulator.home_views[LEADER]["blocks"], ensure_ascii=False)
    assert FR("lifecycle.home_line", stage="réorientation", left=2, total=2) in home
    assert f"⬜ {FR('lifecycle.item.redesign_talk')}" in home
    assert f"⬜ {FR('lifecycle.item.compass')}" in home
    # an English leader's Home reads English
    await bot.slack.open_home(user=MEMBER)
    await bot.emulator.wait_for("views.publish", lambda c: c.params.get("user_id") == MEMBER)
    home = json.dumps(bot.emulator.home_views[MEMBER]["blocks"], ensure_ascii=False)
    assert EN("lifecycle.home_line", stage="launch", left=3, total=3) in home
    assert f"⬜ {EN('lifecycle.item.charter_objectives')}" in home


async def test_a_closed_community_gets_no_ritual_run(bot: Bot) -> None:
    community = await data_science(bot)
    due = datetime(2026, 3, 24, 9, 0, tzinfo=UTC)
    await scheduler.tick(bot.deps, now=due - timedelta(hours=1))  # the settings rows appear
    async with bot.sessions.begin() as session:
        await session.execute(
            sa.update(RitualSetting)
            .where(RitualSetting.ritual == Ritual.PULSE)
            .values(cadence="weekly", next_run_at=due, enabled=True)
        )
        row = await session.get(Community, community.id)
        assert row is not None
        await lifecycle.set_stage(
            session, community=row, actor=MANAGER, by_person_id=None, status=CommunityStatus.CLOSED
        )
    assert await scheduler.tick(bot.deps, now=due + timedelta(minutes=1)) == 0
    async with bot.sessions() as session:
        runs = await session.scalar(sa.select(sa.func.count()).select_from(RitualRun))
    assert runs == 0
    # nor a welcome: Nathan joins the closed community, then Emily an open one (the marker)
    await factories.community(bot.sessions, emulator=bot.emulator, channel="C0SEC", name="Sécu")
    await bot.slack.join(user="U0NATHAN", channel="C0DATA")
    await bot.slack.join(user=MEMBER, channel="C0SEC")

    async def welcomes() -> list[Any]:
        async with bot.sessions() as session:
            return list(
                await session.scalars(sa.select(Outbox).where(Outbox.kind.startswith("welcome")))
            )

    found = await eventually(welcomes)
    await settle()  # the closed community's join too, handled before the marker's
    found = await welcomes()
    assert len(found) == 1 and "Sécu" in json.dumps(found[0].payload, ensure_ascii=False)


async def test_the_cli_sets_a_stage_with_one_line_errors(
    tmp_path: Path, bot: Bot, database_url: str
) -> None:
    await data_science(bot)
    env = {"COP_DATABASE_URL": database_url, "COP_WORKSPACE": WORKSPACE}
    done = await asyncio.to_thread(
        run_cop,
        "communities",
        "stage",
        "data-science",
        "croissance",
        "--reason",
        "lancement tenu",
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "data-science: launch (active) -> growth (active)"
    async with bot.sessions() as session:
        change = await session.scalar(sa.select(StageChange))
    assert change is not None and change.reason == "lancement tenu" and change.by_person_id is None
    listed = await asyncio.to_thread(run_cop, "communities", "list", env=env, cwd=tmp_path)
    assert listed.stdout.splitlines()[1].split()[-3:] == ["growth", "active", "5"]
    for args, message in (
        (("nope", "growth"), "communities stage: no community 'nope'"),
        (("data-science", "teenage"), "communities stage: no stage 'teenage'"),
        (("data-science", "growth"), "communities stage: data-science is already at growth"),
    ):
        failed = await asyncio.to_thread(
            run_cop, "communities", "stage", *args, env=env, cwd=tmp_path
        )
        assert failed.returncode != 0
        lines = failed.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], failed.stderr


async def test_the_large_demo_gives_each_community_a_stage_history(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await large.generate(
        sessions, workspace_id=WORKSPACE, communities=30, people_count=300, months=2
    )
    async with sessions() as session:
        communities = list(await session.scalars(sa.select(Community)))
        changes = list(
            await session.scalars(sa.select(StageChange).order_by(StageChange.at, StageChange.id))
        )
    last: dict[int, StageChange] = {}
    for change in changes:
        last[change.community_id] = change
    assert {c.id for c in communities} == set(last)  # every community has a past
    for community in communities:
        assert last[community.id].to_stage == community.stage
        assert last[community.id].to_status == community.status
        assert community.stage_changed_at is not None
    assert {c.stage for c in communities} >= {Stage.LAUNCH, Stage.GROWTH}


# --- the rules alone: each stage's checklist, and when a move is suggested ----------------------

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
SIGNALS = Signals(
    community_id=1,
    name="Data",
    slug="data",
    today=NOW.date(),
    created=NOW.date() - timedelta(days=400),
    members=100,
    active_recent=30,
    active_previous=30,
    last_event=NOW.date() - timedelta(days=30),
    pulse_score=4.1,
    charter_date=NOW.date() - timedelta(days=60),
    charter_objectives_year=2026,
)


def facts(stage: Stage, **fields: Any) -> lifecycle.Facts:
    return lifecycle.Facts(
        1, stage, CommunityStatus.ACTIVE, NOW - timedelta(days=100), NOW, **fields
    )


def test_each_stage_has_its_checklist_ticked_from_the_facts() -> None:
    prep = lifecycle.checklist(facts(Stage.PREPARATION, leaders=1, sponsors=0))
    assert [(i.key.rsplit(".", 1)[1], i.done) for i in prep.items] == [
        ("leader", True),
        ("charter_draft", False),
        ("sponsor", False),
    ]
    launch = lifecycle.checklist(facts(Stage.LAUNCH, charter_saved=True, charter_objectives=False))
    assert [i.done for i in launch.items] == [False, False, False]  # no objectives: not yet
    growth = lifecycle.checklist(
        facts(
            Stage.GROWTH,
            pulse_on=True,
            stories_on=False,
            stories_validated=1,
            last_event_at=NOW - timedelta(days=91),
        )
    )
    assert [i.done for i in growth.items] == [False, True, False]  # stories off; event too old
    redesign = lifecycle.checklist(
        facts(Stage.REORIENTATION, redesign_talk_at=NOW, compass_since_change=True)
    )
    assert redesign.complete


def test_a_move_is_suggested_only_when_the_signals_or_the_checklist_say_so() -> None:
    th = HealthThresholds()
    steady = health.assess(replace(SIGNALS, stage=Stage.GROWTH), th)
    assert lifecycle.suggest(steady, facts(Stage.GROWTH)) is None
    prepared = facts(Stage.PREPARATION, leaders=1, sponsors=1, charter_saved=True)
    found = lifecycle.suggest(
        health.assess(replace(SIGNALS, stage=Stage.PREPARATION), th), prepared
    )
    assert found is not None and found.stage == Stage.LAUNCH
    assert FR("lifecycle.why.prepared") == health.explain(FR, found.reasons[0])
    # launched: the checklist alone is not enough, the kick-off must have been held
    ready: dict[str, Any] = {
        "charter_saved": True,
        "charter_objectives": True,
        "core_team": 2,
        "events": 1,
    }
    launch = health.assess(replace(SIGNALS, stage=Stage.LAUNCH), th)
    assert lifecycle.suggest(launch, facts(Stage.LAUNCH, **ready)) is None
    held = lifecycle.suggest(launch, facts(Stage.LAUNCH, last_event_at=NOW, **ready))
    assert held is not None and held.stage == Stage.GROWTH
    assert EN("lifecycle.why.launched") == (
        "charter saved, core team named, kick-off held: ready for growth"
    )
    # redesigned and alive again: back to growth
    back = facts(Stage.REORIENTATION, redesign_talk_at=NOW, compass_since_change=True)
    again = lifecycle.suggest(health.assess(replace(SIGNALS, stage=Stage.REORIENTATION), th), back)
    assert again is not None and again.stage == Stage.GROWTH
    # already in reorientation and still dormant: nothing more to suggest
    quiet = replace(
        SIGNALS, stage=Stage.REORIENTATION, active_recent=1, last_event=None, pulse_score=None
    )
    assert lifecycle.suggest(health.assess(quiet, th), facts(Stage.REORIENTATION)) is None
