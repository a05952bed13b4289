"""Hostile payloads: whatever a modal, a button or a forged private_metadata carries, a clear
answer, HTTP 200, no traceback and no change the sender may not make.

Every modal the bot opens (event, attendance, charter, story, poll comment) gets empty, huge,
unicode, mention and injection text in its fields; every button gets ids of rows that do not
exist, of another workspace (T0OTHER, written through the domain) and of another community;
every modal gets forged metadata. Runs on SQLite and PostgreSQL (the `bot` fixture).
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import sqlalchemy as sa

from bot import charters, communities, events, people, polls, stories
from bot.models import (
    AuditLog,
    CharterVersion,
    Community,
    CommunityKind,
    Delivery,
    Event,
    EventAttendance,
    EventKind,
    EventRsvp,
    Membership,
    Outbox,
    Person,
    Poll,
    PollResponse,
    RitualSetting,
    Role,
    StoryStatus,
    SuccessStory,
)
from bot.numbers import row_id
from bot.ports import UserInfo
from bot.slack.blocks.home import CHARTER_EDIT, EVENT_NEW
from bot.slack.echo import echo
from bot.slack.text import typed
from rituals.outbox import Drain
from tests import factories
from tests.conftest import MANAGER, Bot, eventually

LEADER = "U0LUCAS"  # leader of Data Science (C0DATA) only; French
EMILY = "U0EMILY"  # member of Data Science; English
OTHER = "T0OTHER"
BROADCASTS = ("<!channel>", "<!here>", "<!everyone>")

HOSTILE = [
    "",
    "x" * 10_000,
    "\u202eRTL\u200f مرحبا بالعالم",
    "🎉👩‍👩‍👧‍👦 emoji",
    "nul\x00byte",
    "e\u0301\u0327\u0308 combining",
    "<@U0LUCAS> <!channel> <!here> <!everyone> <!subteam^S0ALL>",
    "{name} {0} {title!r} %s %(x)s ${x}",
    "'; DROP TABLE person; -- \" OR 1=1",
    "<script>alert(1)</script> *bold* _it_ ~s~ `c` &amp; &lt; > <https://evil.example|ok>",
]


# --- plumbing ------------------------------------------------------------------------------------


def said(bot: Bot, since: int) -> list[str]:
    """Every text the bot sent to people after call number `since`."""
    return [
        str(call.params.get("text") or "")
        for call in bot.emulator.calls[since:]
        if call.method in ("response_url", "chat.postEphemeral", "chat.postMessage")
    ]


def mrkdwn_of(blocks: Any) -> list[str]:
    """The texts Slack parses for mentions (mrkdwn objects; plain_text shows as typed)."""
    if isinstance(blocks, str) and blocks.startswith("["):  # form-encoded Web API calls
        blocks = json.loads(blocks)
    found: list[str] = []
    if isinstance(blocks, dict):
        if blocks.get("type") == "mrkdwn":
            found.append(str(blocks.get("text") or ""))
        for value in blocks.values():
            found += mrkdwn_of(value)
    elif isinstance(blocks, list):
        for item in blocks:
            found += mrkdwn_of(item)
    return found


def assert_clean(bot: Bot, since: int = 0) -> None:
    """No rejected blocks, no traceback in chat, no channel-wide ping in what the bot posted."""
    for call in bot.emulator.calls[since:]:
        assert call.response.get("error") != "invalid_blocks", call.response
        if call.method in ("chat.postMessage", "chat.update", "chat.postEphemeral", "response_url"):
            texts = [str(call.params.get("text") or ""), *mrkdwn_of(call.params.get("blocks"))]
            for text in texts:
                assert "Traceback" not in text
                for ping in BROADCASTS:
                    assert ping not in text, (call.method, text[:300])


async def forge(
    bot: Bot,
    *,
    user: str,
    action_id: str,
    value: Any = None,
    selected: Any = None,
    team: str = "T0COP",
    channel: str = "C0DATA",
) -> httpx.Response:
    """A signed block_actions payload naming whatever we like (as a forger would send it)."""
    action: dict[str, Any] = {
        "type": "static_select" if selected is not None else "button",
        "action_id": action_id,
        "block_id": "forged",
        "action_ts": f"{time.time():.6f}",
    }
    if selected is not None:
        action["selected_option"] = {"text": {"type": "plain_text", "text": "x"}, "value": selected}
    else:
        action["value"] = value
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": user, "name": user, "team_id": team},
        "api_app_id": bot.slack.api_app_id,
        "token": bot.slack.verification_token,
        "container": {
            "type": "message",
            "message_ts": "1700000000.000100",
            "channel_id": channel,
            "is_ephemeral": True,
        },
        "trigger_id": f"tr-{uuid.uuid4().hex[:16]}",
        "team": {"id": team, "domain": team.lower()},
        "channel": {"id": channel, "name": "forged"},
        "response_url": bot.emulator.response_url(),
        "state": {"values": {}},
        "actions": [action],
    }
    body = urlencode({"payload": json.dumps(payload)}).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded", **bot.slack.sign(body)}
    async with httpx.AsyncClient(timeout=10) as http:
        return await http.post(bot.slack.bot_url, content=body, headers=headers)


async def submit(bot: Bot, view_id: str, *, user: str, values: dict[str, Any]) -> httpx.Response:
    """Submit a stored modal as a new submission (a fresh hash, so it is not a double send)."""
    bot.emulator.views[view_id]["hash"] = uuid.uuid4().hex
    response = await bot.slack.submit_view(view_id, user=user, values=values)
    assert response.status_code == 200
    return response


def field_errors(response: httpx.Response) -> dict[str, str]:
    if not response.content:
        return {}
    body = response.json()
    assert body["response_action"] == "errors", body
    assert all(isinstance(v, str) and v.strip() for v in body["errors"].values())
    return dict(body["errors"])


async def opened(bot: Bot, action: Any) -> dict[str, Any]:
    """The modal `action` (a command or a click) opens."""
    before = set(bot.emulator.views)
    response = await action
    assert response.status_code == 200
    new = await eventually(lambda: sorted(set(bot.emulator.views) - before))
    return bot.emulator.views[new[-1]]


async def snapshot(bot: Bot) -> dict[str, Any]:
    """Row counts and the states a forged click could change."""
    async with bot.sessions() as session:
        counts = {
            model.__name__: await session.scalar(sa.select(sa.func.count()).select_from(model))
            for model in (
                Community,
                Membership,
                Person,
                CharterVersion,
                Event,
                EventRsvp,
                EventAttendance,
                Poll,
                PollResponse,
                SuccessStory,
                RitualSetting,
                Outbox,
                AuditLog,
            )
        }
        counts["events"] = sorted(
            (e.id, e.status.value, e.sequence, e.attendance_count, e.title)
            for e in await session.scalars(sa.select(Event))
        )
        counts["stories"] = sorted(
            (s.id, s.status.value, s.posted_ts)
            for s in await session.scalars(sa.select(SuccessStory))
        )
        counts["rituals"] = sorted(
            (r.community_id, r.ritual.value, r.enabled, r.cadence, json.dumps(r.options or {}))
            for r in await session.scalars(sa.select(RitualSetting))
        )
    return counts


# --- the world: two communities here, one in another workspace ------------------------------------


async def world(bot: Bot) -> dict[str, int]:
    data = await factories.community(bot.sessions, emulator=bot.emulator, leaders=(LEADER,))
    agile = await factories.community(
        bot.sessions, emulator=bot.emulator, channel="C0AGILE", name="Agilité"
    )
    now = datetime.now(UTC)
    schedule = events.Schedule(
        title="Atelier",
        kind=EventKind.WORKSHOP,
        starts_at=now + timedelta(days=7),
        duration_minutes=60,
        tz="Europe/Paris",
        link=None,
        description="",
    )
    questions = [
        {"key": "mood", "kind": "scale", "min": 1, "max": 5, "text": {"fr": "Humeur ?"}},
        {"key": "free", "kind": "text", "text": {"fr": "Un mot ?"}},
    ]
    ids: dict[str, int] = {"data": data.id, "agile": agile.id}
    async with bot.sessions.begin() as session:
        await people.ensure_workspace(session, OTHER)
        other = await communities.create(
            session,
            workspace_id=OTHER,
            name="Elsewhere",
            channel_id="C0ELSE",
            kind=CommunityKind.SPONTANEOUS,
        )
        stranger = await people.upsert(
            session,
            workspace_id=OTHER,
            info=UserInfo(
                user_id="U0STRANGER",
                name="stranger",
                real_name="Stranger",
                tz=None,
                locale=None,
                is_bot=False,
                deleted=False,
            ),
        )
        await communities.sync_members(session, community=other, member_ids=["U0STRANGER"])
        await communities.set_role(
            session, community=other, slack_user_id="U0STRANGER", role=Role.LEADER
        )
        lucas = await people.find(session, workspace_id="T0COP", slack_user_id=LEADER)
        assert lucas is not None
        for key, community, workspace, author in (
            ("data", data.id, "T0COP", lucas.id),
            ("agile", agile.id, "T0COP", lucas.id),
            ("other", other.id, OTHER, stranger.id),
        ):
            created = await events.create(
                session,
                workspace_id=workspace,
                community_id=community,
                schedule=schedule,
                author_slack_user_id=LEADER if workspace == "T0COP" else "U0STRANGER",
            )
            ids[f"event_{key}"] = created.event.id
            poll, _ = await polls.open_poll(
                session,
                workspace_id=workspace,
                community_id=community,
                period_key="2099-01",
                questions=questions,
                delivery=Delivery.CHANNEL,
                open_days=7,
                share_summary=False,
                now=now,
            )
            ids[f"poll_{key}"] = poll.id
            story = await stories.submit(
                session,
                workspace_id=workspace,
                community_id=community,
                author_person_id=author,
                data=stories.StoryInput(
                    title="Histoire",
                    context="c",
                    contribution="c",
                    benefit="b",
                    value_amount=None,
                    value_unit=None,
                    people_involved="",
                    shareable=True,
                    value_kind=None,
                ),
            )
            ids[f"story_{key}"] = story.id
        ids["other"] = other.id
    return ids


# --- 1. modal fields -------------------------------------------------------------------------------


async def test_event_modal_fields_take_anything_and_answer_clearly(bot: Bot) -> None:
    ids = await world(bot)
    view = await opened(bot, bot.slack.command("event", user=LEADER, channel="C0DATA"))
    day = (datetime.now(UTC) + timedelta(days=10)).date()
    base = {
        "event_title": "Titre",
        "event_date": day,
        "event_time": "14:00",
        "event_duration": "60",
        "event_tz": "Europe/Paris",
    }
    saved = 0
    for field in ("event_title", "event_description", "event_tz", "event_link", "event_duration"):
        for text in HOSTILE:
            before = await snapshot(bot)
            since = len(bot.emulator.calls)
            response = await submit(bot, view["id"], user=LEADER, values={**base, field: text})
            errors = field_errors(response)
            if errors:
                assert set(errors) <= {
                    "event_title",
                    "event_date",
                    "event_time",
                    "event_duration",
                    "event_tz",
                    "event_link",
                    "event_description",
                }
                assert await snapshot(bot) == before
                continue
            saved += 1
            # saved: stored as typed (a title's whitespace folded), announced cleanly
            await eventually(
                lambda since=since: any(
                    c.method == "chat.postEphemeral" for c in bot.emulator.calls[since:]
                )
            )
            async with bot.sessions() as session:
                event = await session.scalar(sa.select(Event).order_by(Event.id.desc()).limit(1))
            assert event is not None and event.community_id == ids["data"]
            if field == "event_title":
                assert event.title == " ".join(typed(text).split())
                assert len(text) <= events.TITLE_MAX
            if field == "event_description":
                assert event.description == typed(text).strip()
                assert len(text) <= events.DESCRIPTION_MAX
            assert_clean(bot, since)
    assert saved >= 8  # the description takes every reasonable text
    assert_clean(bot)


async def test_charter_modal_fields_take_anything_and_the_public_charter_pings_nobody(
    bot: Bot,
) -> None:
    await world(bot)
    view = await opened(bot, bot.slack.command("charter", user=LEADER, channel="C0DATA"))
    base = {"charter_mission": "Partager"}
    for field in ("charter_mission", "charter_values", "charter_objectives"):
        for text in HOSTILE:
            before = await snapshot(bot)
            since = len(bot.emulator.calls)
            response = await submit(bot, view["id"], user=LEADER, values={**base, field: text})
            errors = field_errors(response)
            if errors:
                assert set(errors) <= {"charter_mission", "charter_values", "charter_objectives"}
                assert await snapshot(bot) == before
                continue
            await eventually(
                lambda since=since: any(
                    c.method == "chat.postEphemeral" for c in bot.emulator.calls[since:]
                )
            )
            async with bot.sessions() as session:
                data = await session.scalar(
                    sa.select(Community).where(Community.channel_id == "C0DATA")
                )
                assert data is not None
                current = await charters.current(session, community_id=data.id)
            assert current is not None
            if field == "charter_mission":
                assert current.draft.mission == typed(text).strip()
            if field == "charter_values":
                assert current.draft.values == typed(text).strip()
            if field == "charter_objectives":
                assert current.draft.objectives == charters.lines(typed(text))
    # the most hostile mission, posted in the channel: shown as typed, notifying nobody
    mention = HOSTILE[6]
    saved = len(bot.emulator.calls_to("chat.postEphemeral"))
    await submit(bot, view["id"], user=LEADER, values={"charter_mission": mention})
    # the charter is saved after the ack: wait for the leader's confirmation before showing it
    await bot.emulator.wait_for("chat.postEphemeral", count=saved + 1)
    since = len(bot.emulator.calls)
    await bot.slack.command("charter show --public", user=LEADER, channel="C0DATA")
    posted = await bot.emulator.wait_for(
        "chat.postMessage", lambda c: c.params.get("channel") == "C0DATA", since=since
    )
    text = json.dumps(posted[-1].params.get("blocks"), ensure_ascii=False)
    assert echo(mention) in text
    assert_clean(bot, since)
    assert_clean(bot)


async def test_story_modal_fields_take_anything_and_the_posted_story_pings_nobody(
    bot: Bot,
) -> None:
    ids = await world(bot)
    view = await opened(
        bot, forge(bot, user=EMILY, action_id="story_share", value=str(ids["data"]))
    )
    base = {"title": "T", "context": "C", "contribution": "K", "benefit": "B"}
    limits = stories.TEXT_LIMITS
    for field in ("title", "context", "benefit", "people_involved", "value_amount"):
        for text in HOSTILE:
            before = await snapshot(bot)
            previous = await _latest_story(bot)
            response = await submit(bot, view["id"], user=EMILY, values={**base, field: text})
            errors = field_errors(response)
            if errors:
                assert set(errors) <= {*base, "people_involved", "value_amount", "value_unit"}
                assert await snapshot(bot) == before
                if field in limits and text.strip():
                    assert len(text) > limits[field], (field, text[:40])
                continue
            story = await eventually(lambda previous=previous: _latest_story(bot, after=previous))
            if field in limits:
                assert getattr(story, field) == typed(text).strip()
    # the leaders' review and the post in the channel show mentions as typed
    async with bot.sessions.begin() as session:
        emily = await people.find(session, workspace_id="T0COP", slack_user_id=EMILY)
        assert emily is not None
        story = await stories.submit(
            session,
            workspace_id="T0COP",
            community_id=ids["data"],
            author_person_id=emily.id,
            data=stories.StoryInput(
                title=HOSTILE[6][:150],
                context=HOSTILE[6],
                contribution=HOSTILE[9],
                benefit=HOSTILE[7],
                value_amount=None,
                value_unit=None,
                people_involved="",
                shareable=True,
                value_kind=None,
            ),
        )
    since = len(bot.emulator.calls)
    await forge(bot, user=LEADER, action_id=f"story_validate:{story.id}", value=str(story.id))
    # both clicks are handled after their ack: posting before the validation is saved is refused
    await eventually(lambda: _story_status(bot, story.id, StoryStatus.VALIDATED))
    await forge(bot, user=LEADER, action_id=f"story_post:{story.id}", value=str(story.id))
    await eventually(lambda: _outbox(bot, f"story_post:{story.id}"))
    await Drain(bot.deps, rate_per_minute=60000).run_once()  # the post as the channel reads it
    sent = bot.emulator.messages["C0DATA"][-1]
    posted = [str(sent.get("text")), *mrkdwn_of(sent.get("blocks"))]
    assert any("&lt;!channel&gt;" in text for text in posted)
    assert not any(ping in text for text in posted for ping in BROADCASTS)
    assert_clean(bot, since)
    assert_clean(bot)


async def _latest_story(bot: Bot, *, after: SuccessStory | None = None) -> SuccessStory | None:
    """The newest story with an author; with `after`, only one saved since that one (the modal
    is saved after the ack, so the previous story must not pass for the one just submitted)."""
    async with bot.sessions() as session:
        story = await session.scalar(
            sa.select(SuccessStory).order_by(SuccessStory.id.desc()).limit(1)
        )
    if story is None or story.author_person_id is None:
        return None
    if after is not None and story.id <= after.id:
        return None
    return story


async def _story_status(bot: Bot, story_id: int, status: StoryStatus) -> bool:
    async with bot.sessions() as session:
        story = await session.get(SuccessStory, story_id)
        return story is not None and story.status == status


async def _outbox(bot: Bot, key: str) -> Outbox | None:
    async with bot.sessions() as session:
        return await session.scalar(sa.select(Outbox).where(Outbox.idempotency_key == key))


async def test_poll_comment_modal_takes_anything_and_refuses_what_is_too_long(bot: Bot) -> None:
    ids = await world(bot)
    view = await opened(
        bot, forge(bot, user=EMILY, action_id="pulse_comment", value=f"{ids['poll_data']}|free")
    )
    for text in HOSTILE:
        before = await snapshot(bot)
        response = await submit(bot, view["id"], user=EMILY, values={"comment": text})
        errors = field_errors(response)
        if errors:
            assert set(errors) == {"comment"}
            assert not typed(text).strip() or len(text) > polls.COMMENT_MAX
            assert await snapshot(bot) == before
            continue

        async def stored(text: str = text) -> bool:  # recorded after the ack
            async with bot.sessions() as session:
                comment = await session.scalar(
                    sa.select(PollResponse.comment).where(
                        PollResponse.poll_id == ids["poll_data"],
                        PollResponse.question_key == "free",
                    )
                )
            return comment == typed(text).strip()

        await eventually(stored)
    assert_clean(bot)


async def test_attendance_modal_takes_no_nonsense(bot: Bot) -> None:
    ids = await world(bot)
    async with bot.sessions.begin() as session:  # the event has taken place
        event = await session.get(Event, ids["event_data"])
        assert event is not None
        event.starts_at = datetime.now(UTC) - timedelta(days=1)
    view = await opened(
        bot, forge(bot, user=LEADER, action_id=_attendance_open(), value=str(ids["event_data"]))
    )
    for text in [*HOSTILE, "-3", "1e9", "12.5", "999999999999999999999"]:
        before = await snapshot(bot)
        response = await submit(bot, view["id"], user=LEADER, values={"event_att_count": text})
        errors = field_errors(response)
        if errors:
            assert set(errors) <= {"event_att_count", "event_att_people"}
            assert await snapshot(bot) == before
    # forged people: not user ids
    before = await snapshot(bot)
    response = await submit(
        bot,
        view["id"],
        user=LEADER,
        values={
            "event_att_people": ["<script>", "'; DROP TABLE person; --"],
            "event_att_count": "3",
        },
    )
    assert set(field_errors(response)) == {"event_att_people"}
    assert await snapshot(bot) == before
    assert_clean(bot)


def _attendance_open() -> str:
    from bot.slack.blocks import event as screens

    return screens.ATTENDANCE_OPEN


# --- 2. buttons naming rows that are not theirs -----------------------------------------------------


def _clicks(ids: dict[str, int]) -> list[tuple[str, dict[str, Any]]]:
    from bot.slack.blocks import event as ev
    from bot.slack.blocks import rituals as ri

    targets: list[tuple[str, dict[str, Any]]] = []
    for where in ("missing", "other", "garbage", "huge"):
        event = {
            "missing": "987654",
            "other": str(ids["event_other"]),
            "garbage": "1; DROP TABLE event",
            "huge": "99999999999999999999",
        }[where]
        story = {
            "missing": "987654",
            "other": str(ids["story_other"]),
            "garbage": "{name}",
            "huge": str(2**40),
        }[where]
        poll = {
            "missing": "987654",
            "other": str(ids["poll_other"]),
            "garbage": "x",
            "huge": str(2**40),
        }[where]
        community = {
            "missing": "987654",
            "other": str(ids["other"]),
            "garbage": "<!channel>",
            "huge": str(2**40),
        }[where]
        targets += [
            (where, {"action_id": ev.RSVP[next(iter(ev.RSVP))], "value": event}),
            (where, {"action_id": ev.ATTENDANCE_OPEN, "value": event}),
            (where, {"action_id": ev.EDIT, "value": event}),
            (where, {"action_id": ev.CANCEL, "value": event}),
            (where, {"action_id": f"story_validate:{story}", "value": story}),
            (where, {"action_id": f"story_reject:{story}", "value": story}),
            (where, {"action_id": f"story_post:{story}", "value": story}),
            (where, {"action_id": "story_share", "value": community}),
            (where, {"action_id": "pulse_answer:mood:3", "value": f"{poll}|mood|3"}),
            (where, {"action_id": "pulse_comment", "value": f"{poll}|free"}),
            (where, {"action_id": f"{ri.TOGGLE}:pulse", "value": f"{community}|pulse"}),
            (where, {"action_id": f"{ri.SUMMARY}:pulse", "value": f"{community}|pulse"}),
            (
                where,
                {"action_id": f"{ri.CADENCE}:pulse", "selected": f"{community}|pulse|monthly"},
            ),
            (where, {"action_id": CHARTER_EDIT, "value": community}),
            (where, {"action_id": EVENT_NEW, "value": community}),
        ]
    targets.append(("garbage", {"action_id": f"{ri.MUTE}:x", "selected": "off"}))
    targets.append(("garbage", {"action_id": f"{ri.MUTE}:pulse", "selected": "9999"}))
    targets.append(("garbage", {"action_id": f"{ri.MUTE}:digest", "selected": "off"}))
    targets.append(("garbage", {"action_id": f"{ri.TOGGLE}:x", "value": "1|nonsense"}))
    return targets


@pytest.mark.slow
@pytest.mark.parametrize("user", [MANAGER, EMILY])
async def test_buttons_naming_rows_of_nobody_or_another_workspace_change_nothing(
    bot: Bot, user: str
) -> None:
    """The manager (allowed everything here) and an English member: refused, in their language."""
    ids = await world(bot)
    before = await snapshot(bot)
    for where, click in _clicks(ids):
        since = len(bot.emulator.calls)
        response = await forge(bot, user=user, **click)
        assert response.status_code == 200, click
        try:
            answers = await eventually(lambda since=since: said(bot, since))
        except AssertionError:
            raise AssertionError(f"no answer to {where} {click}") from None
        answer = answers[-1]
        assert answer.strip() and "Traceback" not in answer, click
        if user == EMILY:
            assert "Je " not in answer and "Désolé" not in answer, (click, answer)
        assert await snapshot(bot) == before, (where, click)
        assert not bot.emulator.calls_to("views.open"), click
    assert_clean(bot)


async def test_a_leader_cannot_touch_another_community_of_the_workspace(bot: Bot) -> None:
    from bot.slack.blocks import event as ev
    from bot.slack.blocks import rituals as ri

    ids = await world(bot)
    before = await snapshot(bot)
    agile = ids["agile"]
    for click in (
        {"action_id": ev.CANCEL, "value": str(ids["event_agile"])},
        {"action_id": ev.EDIT, "value": str(ids["event_agile"])},
        {"action_id": ev.ATTENDANCE_OPEN, "value": str(ids["event_agile"])},
        {"action_id": f"story_validate:{ids['story_agile']}", "value": str(ids["story_agile"])},
        {"action_id": f"story_post:{ids['story_agile']}", "value": str(ids["story_agile"])},
        {"action_id": f"{ri.TOGGLE}:pulse", "value": f"{agile}|pulse"},
        {"action_id": f"{ri.CADENCE}:pulse", "selected": f"{agile}|pulse|monthly"},
        {"action_id": CHARTER_EDIT, "value": str(agile)},
        {"action_id": EVENT_NEW, "value": str(agile)},
    ):
        since = len(bot.emulator.calls)
        response = await forge(bot, user=LEADER, **click)
        assert response.status_code == 200
        answer = (await eventually(lambda since=since: said(bot, since)))[-1]
        assert "droit" in answer or "Seuls" in answer or "seul" in answer.lower(), (click, answer)
    assert await snapshot(bot) == before
    assert not bot.emulator.calls_to("views.open")


# --- 3. forged private_metadata --------------------------------------------------------------------


FORGED_METADATA = [
    "",
    "not json",
    "[1, 2]",
    '{"c": "abc", "e": null}',
    '{"c": [1], "e": {"x": 1}}',
    '{"c": true}',
    '{"c": 1.5}',
    '{"c": -4}',
    '{"c": 99999999999999999999}',
    "x" * 3000,
    "1|free|extra",
    "987654",
    "987654|free",
]


async def _forged_submissions(
    bot: Bot, view: dict[str, Any], *, user: str, values: dict[str, Any], metadata: list[str]
) -> None:
    original = view["private_metadata"]
    for forged in metadata:
        bot.emulator.views[view["id"]]["private_metadata"] = forged
        before = await snapshot(bot)
        since = len(bot.emulator.calls)
        response = await submit(bot, view["id"], user=user, values=values)
        if not field_errors(response):  # closed: the refusal comes by message
            answer = (await eventually(lambda since=since: said(bot, since)))[-1]
            assert answer.strip() and "Traceback" not in answer, forged
        assert await snapshot(bot) == before, forged
    bot.emulator.views[view["id"]]["private_metadata"] = original


async def test_forged_metadata_on_every_modal_changes_nothing(bot: Bot) -> None:
    ids = await world(bot)
    other_community = json.dumps({"c": ids["other"]})
    agile = json.dumps({"c": ids["agile"]})
    other_event = json.dumps({"c": ids["data"], "e": ids["event_other"]})
    agile_event = json.dumps({"c": ids["data"], "e": ids["event_agile"]})
    day = (datetime.now(UTC) + timedelta(days=10)).date()

    charter = await opened(bot, bot.slack.command("charter", user=LEADER, channel="C0DATA"))
    await _forged_submissions(
        bot,
        charter,
        user=LEADER,
        values={"charter_mission": "Partager"},
        metadata=[*FORGED_METADATA, other_community, agile],
    )
    event = await opened(bot, bot.slack.command("event", user=LEADER, channel="C0DATA"))
    event_values = {
        "event_title": "Titre",
        "event_date": day,
        "event_time": "14:00",
        "event_duration": "60",
        "event_tz": "Europe/Paris",
    }
    await _forged_submissions(
        bot,
        event,
        user=LEADER,
        values=event_values,
        metadata=[*FORGED_METADATA, other_community, agile, other_event, agile_event],
    )
    # the manager may do anything here, but nothing in another workspace
    await _forged_submissions(
        bot,
        event,
        user=MANAGER,
        values=event_values,
        metadata=[other_community, other_event],
    )
    story = await opened(
        bot, forge(bot, user=EMILY, action_id="story_share", value=str(ids["data"]))
    )
    await _forged_submissions(
        bot,
        story,
        user=EMILY,
        values={"title": "T", "context": "C", "contribution": "K", "benefit": "B"},
        metadata=[*FORGED_METADATA, str(ids["other"])],
    )
    comment = await opened(
        bot, forge(bot, user=EMILY, action_id="pulse_comment", value=f"{ids['poll_data']}|free")
    )
    await _forged_submissions(
        bot,
        comment,
        user=EMILY,
        values={"comment": "Très bien"},
        metadata=[*FORGED_METADATA, f"{ids['poll_other']}|free", f"{ids['poll_data']}|nope"],
    )
    async with bot.sessions.begin() as session:
        for key in ("event_data", "event_agile", "event_other"):
            row = await session.get(Event, ids[key])
            assert row is not None
            row.starts_at = datetime.now(UTC) - timedelta(days=1)
    attendance = await opened(
        bot, forge(bot, user=LEADER, action_id=_attendance_open(), value=str(ids["event_data"]))
    )
    await _forged_submissions(
        bot,
        attendance,
        user=LEADER,
        values={"event_att_count": "12"},
        metadata=[
            *FORGED_METADATA,
            json.dumps({"e": ids["event_other"]}),
            json.dumps({"e": ids["event_agile"]}),
        ],
    )
    assert_clean(bot)


# --- the small readers behind all this ---------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [None, "", "0", "-1", "abc", "1.5", True, 1.5, [1], {"a": 1}, "99999999999", 2**31, " 12x"],
)
def test_row_ids_that_are_not_ours_are_not_found(raw: Any) -> None:
    from bot.errors import NotFound

    with pytest.raises(NotFound):
        row_id(raw)


def test_row_ids_read_back_what_we_put_there() -> None:
    assert row_id("42") == 42 and row_id(42) == 42 and row_id(" 7 ") == 7


def test_typed_text_loses_only_nul_characters() -> None:
    assert typed("a\x00b") == "ab" and typed(None) == ""
