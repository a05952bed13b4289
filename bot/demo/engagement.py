"""Demo scene: engagement tiers. A member sees her own tier on her App Home and with `/cop me`;
her leader cannot read it (he gets counts and retention, on his Home and in /cop health)."""

from __future__ import annotations

from typing import Any

from bot.demo import Demo
from bot.demo.cast import DATA, LEADER, MEMBER
from bot.i18n import translate

_ME = {"fr": "moi", "en": "me"}


def _me(demo: Demo, user: str) -> str:
    return _ME[demo.cast.people[user].language]


def _lines(text: str, *needles: str) -> str:
    """The lines of a screen that hold any of these words (a Home is long; the scene shows the
    part it is about)."""
    return "\n".join(line for line in text.splitlines() if any(n in line for n in needles))


async def _home(demo: Demo, user: str) -> str:
    """The texts of the person's Home, line by line (unwrapped: the scene picks lines)."""
    await demo.settle()
    await demo.slack.open_home(user=user)
    await demo.settle()
    view: dict[str, Any] = demo.emulator.home_views[user]
    return _texts(view.get("blocks", []))


def _texts(blocks: list[dict[str, Any]]) -> str:
    out = []
    for block in blocks:
        if isinstance(block.get("text"), dict):
            out.append(str(block["text"].get("text", "")))
        out += [str(e.get("text", "")) for e in block.get("elements", []) if isinstance(e, dict)]
    return "\n".join(out)


async def scene(demo: Demo) -> None:
    demo.title("demo.engagement.title")
    member_t = translate(demo.cast.people[MEMBER].language)
    leader_t = translate(demo.cast.people[LEADER].language)

    # --- the member: her own tier, to her alone --------------------------------------------
    demo.say("demo.engagement.member_home", who=demo.first_name(MEMBER))
    home = await _home(demo, MEMBER)
    heading = member_t("engagement.mine_heading").strip("*")
    mine = member_t("engagement.mine_line", community="", period="", tier="", done="")[:4]
    demo.show(_lines(home, heading, mine, member_t("engagement.mine_note")[:30]))
    await demo.command(_me(demo, MEMBER), user=MEMBER, channel=DATA)

    # --- her leader: counts and retention, never who ---------------------------------------
    demo.say(
        "demo.engagement.leader_asks", who=demo.first_name(LEADER), member=demo.first_name(MEMBER)
    )
    await demo.command(f"{_me(demo, LEADER)} <@{MEMBER}>", user=LEADER, channel=DATA)
    demo.say("demo.engagement.leader_home", who=demo.first_name(LEADER))
    home = await _home(demo, LEADER)
    demo.show(_lines(home, leader_t("figure.engagement_tiers")))
    demo.say("demo.engagement.health", who=demo.first_name(LEADER))
    health = await demo.quietly(demo.cast.words(LEADER)["health"], user=LEADER, channel=DATA)
    demo.show(_lines(_texts(health.get("blocks", [])), leader_t("figure.engagement_tiers")))
    demo.say("demo.engagement.why")
