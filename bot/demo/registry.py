"""Demo scene: the programme manager sets up communities and roles; people join; /cop help."""

from __future__ import annotations

from bot.demo import Demo
from bot.demo.cast import (
    AGILE,
    AGILE_LEADER,
    CORE,
    DATA,
    GENERAL,
    GUILD,
    GUILD_LEADER,
    LEADER,
    MANAGER,
    MEMBER,
    NEWCOMER,
    PASSER_BY,
    SPONSOR,
)


async def scene(demo: Demo) -> None:
    cast = demo.cast
    w = cast.words(MANAGER)
    demo.title("demo.registry.title", manager=demo.first_name(MANAGER))
    for channel in (DATA, AGILE, GUILD):
        flags = cast.community_flags.get(channel, "").split()
        options = "".join(
            f" {w['piloted']}" if flag == "piloted" else f" --lang {flag}" for flag in flags
        )
        await demo.command(
            f"{w['community']} {cast.communities[channel]}{options}", user=MANAGER, channel=channel
        )
    await demo.command(f"{w['role']} <@{LEADER}> {w['leader']}", user=MANAGER, channel=DATA)
    lw = cast.words(LEADER)
    await demo.command(f"{lw['role']} <@{CORE}> {lw['core']}", user=LEADER, channel=DATA)
    await demo.command(f"{w['role']} <@{SPONSOR}> {w['sponsor']}", user=MANAGER, channel=DATA)
    await demo.command(f"{w['role']} <@{AGILE_LEADER}> {w['leader']}", user=MANAGER, channel=AGILE)
    guild = cast.communities[GUILD]
    demo.say(
        "demo.registry.before_joining",
        manager=demo.first_name(MANAGER),
        leader=demo.first_name(GUILD_LEADER),
        community=guild,
        channel=demo.where(GUILD),
    )
    await demo.command(f"{w['role']} <@{GUILD_LEADER}> {w['leader']}", user=MANAGER, channel=GUILD)
    demo.say("demo.registry.joins", leader=demo.first_name(GUILD_LEADER), channel=demo.where(GUILD))
    await demo.slack.join(user=GUILD_LEADER, channel=GUILD)
    await demo.command(f"{w['role']} <@{GUILD_LEADER}> {w['leader']}", user=MANAGER, channel=GUILD)
    demo.say("demo.registry.roster", who=demo.first_name(NEWCOMER), channel=demo.where(DATA))
    await demo.slack.join(user=NEWCOMER, channel=DATA)
    demo.say("demo.registry.not_allowed")
    mw = cast.words(MEMBER)
    await demo.command(f"{mw['role']} <@{NEWCOMER}> {mw['leader']}", user=MEMBER, channel=DATA)
    await demo.command(lw["help"], user=LEADER, channel=DATA)
    await demo.command(mw["help"], user=MEMBER, channel=DATA)
    await demo.command("dance", user=PASSER_BY, channel=GENERAL)
