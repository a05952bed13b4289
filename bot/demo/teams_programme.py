"""The programme as it is lived in Teams, for `cop demo --platform teams` (bot/demo/teams.py).

Who plays (the emulator's people: Camille leads Data Science, Alex, Sam, Lou and Noa are its
members, Inès is the programme's community manager, in no team), what the demo seeds before
the first step (as Teams and the roster would have told the bot), and one step per feature:
the charter, an event and its answers, the pulse poll, a success story, the programme's health.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot import communities, people
from bot.demo.cast import ENGLISH, FRENCH
from bot.demo.teams import TeamsDemo
from bot.models import CommunityKind, Poll, Ritual, Role, utcnow
from bot.ports import UserInfo
from bot.teams import conversations
from bot.teams.emulator import CHANNEL, Member
from rituals import pulse, scheduler

Json = dict[str, Any]
COMMUNITY = "Data Science"
TZ = "Europe/Paris"
MANAGER_NAME = "Inès Moreau"
MANAGER_NUMBER = 6  # the emulator's sixth person: ids …-6, Entra object id …0006
WORDS = {
    "fr": {"charter": "charte", "event": "événement", "story": "histoire", "health": "santé"},
    "en": {"charter": "charter", "event": "event", "story": "story", "health": "health"},
}
SAVED = tuple(f"teams.event.rsvp_saved.{a}" for a in ("going", "maybe", "declined"))
CONTENT = {"fr": FRENCH.content, "en": ENGLISH.content}


def _leader(demo: TeamsDemo) -> Member:
    return demo.members[0]


def _community_members(demo: TeamsDemo) -> list[Member]:
    """The team's members (the channel's): the emulator's five, not the manager."""
    return list(demo.teams.conversations[CHANNEL]["members"])


def _manager(demo: TeamsDemo) -> Member:
    return next(m for m in demo.members if m.name == MANAGER_NAME)


def _words(demo: TeamsDemo, member: Member) -> dict[str, str]:
    return WORDS[demo.locale_of(member)[:2]]


async def seed(demo: TeamsDemo) -> None:
    """What the bot knows before the first step, written through the domain: the tenant's
    workspace, the channel's reference (as Teams gives it with the bot's installation in the
    team), each person with their e-mail, language and zone (as the roster and their own
    activities tell it), and Data Science on the emulator's channel, Camille its leader."""
    teams = demo.teams
    channel = conversations.from_activity(teams.message("aide", conversation=CHANNEL))
    assert channel is not None
    async with demo.deps.sessions.begin() as session:
        await people.ensure_workspace(session, teams.tenant_id, "Contoso")
        await conversations.remember(session, **channel)
        for member in demo.members:
            await people.upsert(
                session,
                workspace_id=teams.tenant_id,
                info=UserInfo(
                    user_id=member.id,
                    name=member.email,
                    real_name=member.name,
                    tz=TZ,
                    locale=demo.locale_of(member),
                    is_bot=False,
                    deleted=False,
                    email=member.email,
                ),
            )
        community = await communities.create(
            session,
            workspace_id=teams.tenant_id,
            name=COMMUNITY,
            channel_id=CHANNEL,
            kind=CommunityKind.SPONTANEOUS,
            tz=TZ,
        )
        await communities.sync_members(
            session, community=community, member_ids=[m.id for m in _community_members(demo)]
        )
        await communities.set_role(
            session, community=community, slack_user_id=_leader(demo).id, role=Role.LEADER
        )
        demo.community_id = community.id
    members = _community_members(demo)
    english = [m.name.split()[0] for m in members if demo.locale_of(m) != demo.locales[0]]
    demo.say(
        "demo.teams.cast",
        leader=_leader(demo).name,
        members=demo.t.listing([m.name.split()[0] for m in members[1:]]),
        manager=_manager(demo).name,
    )
    if english:
        demo.say("demo.teams.cast_english", who=demo.t.listing(english))


def _task_fetch(card: Json) -> Json:
    """The card's button that opens a dialog."""
    return next(
        a
        for a in card.get("actions") or []
        if (a.get("data") or {}).get("msteams", {}).get("type") == "task/fetch"
    )


def _execute(card: Json, verb: str) -> Json:
    """The card's Action.Execute with this verb, in its actions or in an ActionSet."""
    found = [*(card.get("actions") or [])]
    for block in card.get("body") or []:
        if block.get("type") == "ActionSet":
            found += block.get("actions") or []
    return next(a for a in found if a.get("verb") == verb)


def _inputs(card: Json) -> set[str]:
    return {
        str(b["id"]) for b in card.get("body") or [] if str(b.get("type", "")).startswith("Input.")
    }


def _dialog(answer: Json) -> Json:
    content: Json = answer["task"]["value"]["card"]["content"]
    return content


async def charter_step(demo: TeamsDemo) -> None:
    """Camille shows the charter in the channel and writes it through its dialog."""
    leader = _leader(demo)
    locale = demo.locale_of(leader)
    c = CONTENT[locale[:2]]
    demo.title("demo.teams.charter.title")
    [shown] = await demo.says(
        _words(demo, leader)["charter"], member=leader, locale=locale, conversation=CHANNEL
    )
    card = shown["attachments"][0]["content"]
    demo.say("demo.teams.clicks", who=leader.name, button=_task_fetch(card)["title"])
    answer = await demo.invokes(
        demo.teams.invoke(
            "task/fetch", {"data": _task_fetch(card)["data"]}, conversation=CHANNEL, locale=locale
        )
    )
    form = _dialog(answer)
    typed = {
        "mission": c["mission"],
        "ambition": c["ambition"],
        "objectives": c["objectives"],
        "values": c["values"],
        "member_benefits": c["member_benefits"],
        "organisation_benefits": c["org_benefits"],
        "indicators": c["indicators"],
    }
    kept = {
        b["id"]: b.get("value")
        for b in form["body"]
        if str(b.get("type", "")).startswith("Input.") and b.get("value")
    }
    values = {**kept, **{k: v for k, v in typed.items() if k in _inputs(form)}}
    [submit] = form["actions"]
    demo.say("demo.teams.charter.fills", who=leader.name, button=submit["title"])
    await demo.invokes(
        demo.teams.invoke(
            "task/submit",
            {"data": {**submit["data"], **values}},
            conversation=CHANNEL,
            locale=locale,
        ),
        watch=CHANNEL,
    )


async def event_step(demo: TeamsDemo) -> None:
    """Camille plans a webinar through the dialog (a date in the past first), the announcement
    goes to the channel, three members answer on it and its counts change in place."""
    teams = demo.teams
    leader = _leader(demo)
    locale = demo.locale_of(leader)
    c = CONTENT[locale[:2]]
    demo.title("demo.teams.event.title")
    [shown] = await demo.says(
        _words(demo, leader)["event"], member=leader, locale=locale, conversation=CHANNEL
    )
    button = _task_fetch(shown["attachments"][0]["content"])
    demo.say("demo.teams.clicks", who=leader.name, button=button["title"])
    answer = await demo.invokes(
        teams.invoke("task/fetch", {"data": button["data"]}, conversation=CHANNEL, locale=locale)
    )
    [submit] = _dialog(answer)["actions"]
    today = utcnow().astimezone(ZoneInfo(TZ)).date()
    typed = {
        **submit["data"],
        "title": c["webinar"],
        "kind": "webinar",
        "date": (today - timedelta(days=1)).isoformat(),
        "time": "12:30",
        "duration": "60",
        "tz": TZ,
        "link": "https://teams.microsoft.com/l/meetup-join/mlops",
        "description": c["webinar_description"],
    }
    demo.say("demo.teams.event.past", who=leader.name, date=today - timedelta(days=1))
    await demo.invokes(
        teams.invoke("task/submit", {"data": typed}, conversation=CHANNEL, locale=locale)
    )
    typed["date"] = (today + timedelta(days=10)).isoformat()
    demo.say("demo.teams.event.fixed", who=leader.name, date=today + timedelta(days=10))
    before = len(teams.activities.get(CHANNEL, []))
    await demo.invokes(
        teams.invoke("task/submit", {"data": typed}, conversation=CHANNEL, locale=locale),
        watch=CHANNEL,
    )
    posted = teams.activities[CHANNEL][before]
    card = posted["attachments"][0]["content"]

    members = _community_members(demo)
    alex, sam, lou = members[1], members[2], members[3]
    clicks = [(alex, "going"), (sam, "maybe"), (lou, "declined"), (lou, "going")]
    for number, (member, answer_key) in enumerate(clicks):
        verb = f"event_rsvp_{answer_key}"
        changes = number == len(clicks) - 1
        key = "demo.teams.event.changes" if changes else "demo.teams.clicks"
        demo.say(
            "demo.teams.event.own_copy" if number == 0 else key,
            who=member.name,
            button=_execute(card, verb)["title"],
        )
        # the clicker's own copy of the card: the first one whole, then the line that changed
        await demo.invokes(
            teams.execute(
                _execute(card, verb),
                conversation=CHANNEL,
                reply_to=posted["id"],
                member=member,
                locale=demo.locale_of(member),
            ),
            only=() if number == 0 else SAVED,
        )
    demo.say("demo.teams.event.updated", channel=demo.channel_name)
    now = next(a for a in teams.activities[CHANNEL] if a["id"] == posted["id"])
    demo.show_activity(now)


async def pulse_step(demo: TeamsDemo) -> None:
    """The pulse ritual: the outbox brings each member the poll in their 1:1 chat, they answer
    by its buttons, and at close the leader gets the results through the disclosure rule."""
    teams, deps = demo.teams, demo.deps
    demo.title("demo.teams.pulse.title")
    demo.say("demo.teams.pulse.runs", community=COMMUNITY)
    await scheduler.run_now(deps, ritual=Ritual.PULSE, community_id=demo.community_id)
    await demo.drain()
    members = _community_members(demo)
    members = [*members[1:], members[0]]  # the members first, Camille (the leader) last
    chats: dict[str, str] = {}
    for member in members:
        chat = await demo.chat_with(member)
        if chat is not None and teams.cards(chat):
            chats[member.id] = chat
    delivered = [m for m in members if m.id in chats]
    demo.say("demo.teams.pulse.delivered", count=len(delivered), total=len(members))
    # one card read, per language of the readers
    shown: set[str] = set()
    for member in delivered:
        language = demo.locale_of(member)[:2]
        if language in shown:
            continue
        shown.add(language)
        demo.say("demo.teams.pulse.card", who=member.name)
        demo.show_activity(teams.activities[chats[member.id]][-1])

    # everyone gives the first question a score; only three answer the second
    scores = {0: (4, 9), 1: (5, 10), 2: (4, None), 3: (3, 7), 4: (5, None)}
    for index, member in enumerate(delivered):
        value, recommend = scores[index % len(scores)]
        chat = chats[member.id]
        card = teams.cards(chat)[-1]
        for question, score in (("value", value), ("recommend", recommend)):
            if score is None:
                continue
            verb = f"pulse_answer:{question}:{score}"
            demo.say(
                "demo.teams.pulse.own_copy"
                if index == 0 and question == "value"
                else "demo.teams.clicks",
                who=member.name,
                button=_execute(card, verb)["title"],
            )
            await demo.invokes(
                teams.execute(
                    _execute(card, verb),
                    conversation=chat,
                    member=member,
                    locale=demo.locale_of(member),
                ),
                only=() if index == 0 and question == "value" else ("teams.pulse.your_answer",),
            )

    async with deps.sessions() as session:
        poll = await session.get(Poll, await _last_poll(demo))
    assert poll is not None
    leader = _leader(demo)
    chat = chats[leader.id]
    before = len(teams.activities.get(chat, []))
    demo.say("demo.teams.pulse.closes")
    await pulse.maintain(deps, now=poll.closes_at + timedelta(minutes=1))
    await demo.drain()
    demo.say(
        "demo.teams.pulse.results",
        who=leader.name,
        answers=sum(1 for v, r in scores.values() if r is not None),
        min=deps.programme.privacy.min_answers,
    )
    for activity in teams.activities.get(chat, [])[before:]:
        demo.show_activity(activity)


async def _last_poll(demo: TeamsDemo) -> int:
    import sqlalchemy as sa

    async with demo.deps.sessions() as session:
        found = await session.scalar(
            sa.select(sa.func.max(Poll.id)).where(Poll.community_id == demo.community_id)
        )
    assert found is not None
    return int(found)


async def story_step(demo: TeamsDemo) -> None:
    """Sam tells a success story through the dialog."""
    teams = demo.teams
    sam = _community_members(demo)[2]
    locale = demo.locale_of(sam)
    c = CONTENT[locale[:2]]
    demo.title("demo.teams.story.title")
    [shown] = await demo.says(
        _words(demo, sam)["story"], member=sam, locale=locale, conversation=CHANNEL
    )
    button = _task_fetch(shown["attachments"][0]["content"])
    demo.say("demo.teams.clicks", who=sam.name, button=button["title"])
    answer = await demo.invokes(
        teams.invoke(
            "task/fetch", {"data": button["data"]}, conversation=CHANNEL, member=sam, locale=locale
        )
    )
    [submit] = _dialog(answer)["actions"]
    typed = {
        "title": c["story_title"],
        "context": c["story_context"],
        "contribution": c["story_contribution"],
        "benefit": c["story_benefit"],
        "value_amount": "90",
        "value_unit": "hours",
        "value_kind": "applied",
        "people_involved": "4",
        "shareable": "yes",
    }
    demo.say("demo.teams.story.fills", who=sam.name, button=submit["title"])
    await demo.invokes(
        teams.invoke(
            "task/submit",
            {"data": {**submit["data"], **typed}},
            conversation=CHANNEL,
            member=sam,
            locale=locale,
        )
    )


TALK = (
    "Quelqu'un a déjà mis un modèle en production sur Kubernetes ?",
    "Je partage nos notes du dernier atelier MLOps.",
    "Retour d'expérience sur la détection de dérive : ça marche.",
    "Qui vient au webinaire du 11 ?",
)
REPLIES = ("Oui, chez Pricing.", "On a un guide, je le poste.", "Merci, très utile !")


async def talk_step(demo: TeamsDemo) -> None:
    """The channel lives: posts, replies in a thread and reactions to the bot's announcement,
    counted into the community's figures (Teams sends reactions only on the bot's messages);
    one post delivered twice, as Teams may, counts once."""
    teams = demo.teams
    members = _community_members(demo)
    demo.title("demo.teams.talk.title")
    announcement = [a for a in teams.activities.get(CHANNEL, []) if a.get("attachments")][-1]
    posts = [
        teams.channel_post(text, member=member, locale=demo.locale_of(member))
        for text, member in zip(TALK, members, strict=False)
    ]
    replies = [
        teams.thread_reply(text, posts[0]["id"], member=member, locale=demo.locale_of(member))
        for text, member in zip(REPLIES, members[1:], strict=False)
    ]
    reactions = [teams.reaction(announcement["id"], member=member) for member in members[:2]]
    for activity in [*posts, posts[0], *replies, *reactions]:  # the first post comes twice
        await teams.deliver(demo.bot_url, activity)
    demo.say(
        "demo.teams.talk.happens",
        posts=len(posts),
        replies=len(replies),
        reactions=len(reactions),
    )
    await demo.settle()
    await demo.deps.activity_batcher.flush()
    demo.say("demo.teams.talk.counted")


async def health_step(demo: TeamsDemo) -> None:
    """Inès, the programme's community manager, asks for its health in her 1:1 chat."""
    manager = _manager(demo)
    demo.title("demo.teams.health.title")
    demo.say("demo.teams.health.who", who=manager.name)
    await demo.says(
        _words(demo, manager)["health"],
        member=manager,
        locale=demo.locale_of(manager),
        conversation=demo.teams.personal_chat(manager),
    )
