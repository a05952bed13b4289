"""The authorisation matrix: each role × each action × own/other community.

As a table through `bot.permissions.allowed`, and through the real handlers for the leaders'
tools (/cop charter and /cop event in the person's own community and in another one).
"""

from __future__ import annotations

import pytest

from bot.models import Role
from bot.permissions import Action, allowed
from tests import factories
from tests.conftest import MANAGER, Bot, eventually

RUNNER_ACTIONS = {
    Action.EDIT_CHARTER,
    Action.MANAGE_EVENTS,
    Action.MANAGE_RITUALS,
    Action.VALIDATE_STORY,
    Action.TRACK_OBJECTIVES,
    Action.TAKE_COMPASS,
    Action.HOLD_SURVEY_RESULTS,
    Action.GIVE_EVENT_FEEDBACK,  # and the event's organiser, whatever their role (test_leaders)
}
MANAGER_ONLY = {
    Action.CREATE_COMMUNITY,
    Action.IMPORT_COMMUNITIES,
    Action.VIEW_PROGRAMME,
    Action.PROGRAMME_REPORT,
    Action.CLOSE_COMMUNITY,
    Action.MANAGE_SURVEY,
    Action.DECIDE_PROPOSAL,
}


def expected(action: Action, role: Role | None) -> bool:
    if action in MANAGER_ONLY:
        return False
    if action in (Action.SET_ROLE, Action.SET_STAGE, Action.DECIDE_JOIN):
        return role == Role.LEADER
    if action in (Action.VIEW_COMMUNITY_HEALTH, Action.COMMUNITY_REPORT):
        return role in (Role.LEADER, Role.CORE_TEAM, Role.SPONSOR)
    assert action in RUNNER_ACTIONS
    return role in (Role.LEADER, Role.CORE_TEAM)


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("role", [*Role, None])
def test_matrix(action: Action, role: Role | None) -> None:
    # `role` is the person's role in the community concerned: None also stands for "their role is
    # in another community", since require() looks the role up in the target community only.
    assert allowed(action, is_manager=False, role=role) is expected(action, role)
    assert allowed(action, is_manager=True, role=role) is True


# Data Science (C0DATA): Lucas leads, Chloé core team, Hugo sponsor, Emily member.
# Agilité (C0AGILE): Léa leads; nobody above holds a role there, Camille is a programme manager.
PEOPLE = {
    "U0LUCAS": Role.LEADER,
    "U0CHLOE": Role.CORE_TEAM,
    "U0HUGO": Role.SPONSOR,
    "U0EMILY": Role.MEMBER,
}


async def test_leaders_tools_through_the_real_handlers(bot: Bot) -> None:
    await factories.community(
        bot.sessions,
        emulator=bot.emulator,
        leaders=("U0LUCAS",),
        core=("U0CHLOE",),
        sponsor="U0HUGO",
    )
    await factories.community(
        bot.sessions,
        emulator=bot.emulator,
        channel="C0AGILE",
        name="Agilité",
        leaders=("U0LEA",),
        members=("U0LEA", "U0NATHAN", "U0MANON", "U0JAMES", "U0CAMILLE"),
    )
    outcomes: dict[tuple[str, str, str], bool] = {}
    for command in ("charte", "événement"):
        for user in [*PEOPLE, MANAGER]:
            for channel in ("C0DATA", "C0AGILE"):
                opened = len(bot.emulator.calls_to("views.open"))
                answered = len(bot.emulator.responses)
                await bot.slack.command(command, user=user, channel=channel)
                await eventually(
                    lambda o=opened, a=answered: (
                        len(bot.emulator.calls_to("views.open")) > o
                        or len(bot.emulator.responses) > a
                    )
                )
                outcomes[(command, user, channel)] = (
                    len(bot.emulator.calls_to("views.open")) > opened
                )
    for (command, user, channel), opened in outcomes.items():
        runs_it = user == MANAGER or (
            channel == "C0DATA" and PEOPLE.get(user) in (Role.LEADER, Role.CORE_TEAM)
        )
        assert opened is runs_it, (command, user, channel)
    # refusals are in the person's language
    refusals = [r["text"] for r in bot.emulator.responses]
    assert any("Only this community's leaders" in t for t in refusals)  # Emily, English
    assert any("Seuls les animateurs" in t for t in refusals)


async def test_attendance_button_refuses_non_runners(bot: Bot) -> None:
    """Checked in test_events through the button; here the sponsor is refused too."""
    await factories.community(
        bot.sessions, emulator=bot.emulator, leaders=("U0LUCAS",), sponsor="U0HUGO"
    )
    from tests.test_events import past_event

    await past_event(bot)
    message = bot.emulator.messages["C0DATA"][-1]
    await bot.slack.click(
        user="U0HUGO", action_id="event_attendance_open", message=("C0DATA", message["ts"])
    )
    replies = await eventually(lambda: bot.emulator.responses)
    assert "Seuls les animateurs" in replies[-1]["text"]
    assert bot.emulator.calls_to("views.open") == []
