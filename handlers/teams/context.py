"""Who is asking in Teams, from where, in which language: what every Teams handler needs first.

The Teams twin of handlers/context.py, without its Slack look-up: the person and the community
are read from the database by (tenant, user id) and (tenant, conversation id), which the
`before` listener keeps up to date from the activities. The actor is the one bot.permissions
asks about, so a Teams surface goes through the same guard as a Slack one.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot import communities, people, stories
from bot.communities import CommunityView
from bot.deps import Deps
from bot.i18n import Translator, reader_language, translate
from bot.permissions import Actor
from bot.teams.edge import Turn
from bot.teams.render import escape


@dataclass(frozen=True)
class Caller:
    """The person behind a Teams activity and the community of its channel (if any)."""

    workspace_id: str  # the tenant
    user_id: str  # "29:…", Person.slack_user_id for Teams people
    conversation_id: str  # the channel's, without a thread's ";messageid=…"
    personal: bool  # the 1:1 chat with the bot
    actor: Actor
    community: CommunityView | None
    language: str

    @property
    def t(self) -> Translator:
        return translate(self.language)


def channel_of(conversation_id: str) -> str:
    """A channel thread's conversation id is "<channel>;messageid=<root>": the channel's."""
    return conversation_id.split(";", 1)[0]


async def caller_of(deps: Deps, turn: Turn) -> Caller:
    """The caller of this turn: their rights (as bot.permissions knows them), the community
    whose channel this is, and their language (their Teams client's, else the community's)."""
    conversation = channel_of(turn.conversation_id)
    async with deps.sessions() as session:
        person = await people.find(session, workspace_id=turn.tenant_id, slack_user_id=turn.user_id)
        community = (
            None
            if turn.personal or not conversation
            else await communities.by_channel(
                session, workspace_id=turn.tenant_id, channel_id=conversation
            )
        )
        view = CommunityView.of(community) if community is not None else None
    locale = turn.activity.get("locale") or (person.locale if person else None)
    language = reader_language(
        person_locale=str(locale) if locale else None,
        community_language=view.language if view else None,
        default=deps.programme.language,
    )
    # Teams' "29:…" id changes with each bot registration: a manager is named in app.yaml by
    # their Entra object id (in every activity, signed with it) or their e-mail (the roster's)
    sender = turn.activity.get("from")
    aad = sender.get("aadObjectId") if isinstance(sender, dict) else None
    aad_object_id = str(aad) if aad else None
    email = person.email if person else None
    return Caller(
        workspace_id=turn.tenant_id,
        user_id=turn.user_id,
        conversation_id=conversation,
        personal=turn.personal,
        actor=Actor(
            workspace_id=turn.tenant_id,
            slack_user_id=turn.user_id,
            is_manager=deps.is_manager(turn.user_id, aad_object_id=aad_object_id, email=email),
            aad_object_id=aad_object_id,
            email=email,
        ),
        community=view,
        language=language,
    )


async def tell(turn: Turn, text: str) -> None:
    """A one-line answer in the conversation the person wrote in."""
    await turn.reply({"text": text, "textFormat": "markdown"})


async def where_to(deps: Deps, caller: Caller, command: str) -> str:
    """For a community command asked in the 1:1 chat or an unknown channel: where to ask it."""
    t = caller.t
    mine = await stories.communities_of(deps.sessions, actor=caller.actor)
    if not mine:
        return t("teams.where.none", command=command)
    names = t.listing([f"**{escape(name)}**" for _, name in mine[:10]])
    return t("teams.where.channels", command=command, names=names)
