"""Demo scene: the programme manager sets up communities and roles; people join; /cop help."""

from __future__ import annotations

from bot.demo import MANAGER, Demo


async def scene(demo: Demo) -> None:
    demo.title(
        "1. The programme registry — Camille, the programme's community manager, sets things up"
    )
    await demo.command("communauté créer Data Science", user=MANAGER, channel="C0DATA")
    await demo.command("community create Agilité & Lean --lang fr", user=MANAGER, channel="C0AGILE")
    await demo.command(
        "community create Security Guild --lang en --kind piloted", user=MANAGER, channel="C0SEC"
    )
    await demo.command("rôle <@U0LUCAS> animateur", user=MANAGER, channel="C0DATA")
    await demo.command("role <@U0CHLOE> core", user="U0LUCAS", channel="C0DATA")
    await demo.command("role <@U0HUGO> sponsor", user=MANAGER, channel="C0DATA")
    await demo.command("role <@U0LEA> leader", user=MANAGER, channel="C0AGILE")
    demo.step("Camille names James leader of Security Guild before he is in #securite")
    await demo.command("role <@U0JAMES> leader", user=MANAGER, channel="C0SEC")
    demo.step("James joins #securite; now he can lead it")
    await demo.slack.join(user="U0JAMES", channel="C0SEC")
    await demo.command("role <@U0JAMES> leader", user=MANAGER, channel="C0SEC")
    demo.step("Manon joins #data-science (the bot keeps the member list in step)")
    await demo.slack.join(user="U0MANON", channel="C0DATA")
    demo.step("A member who is not a leader tries to give a role")
    await demo.command("role <@U0MANON> leader", user="U0EMILY", channel="C0DATA")
    await demo.command("aide", user="U0LUCAS", channel="C0DATA")
    await demo.command("help", user="U0EMILY", channel="C0DATA")
    await demo.command("dance", user="U0NATHAN", channel="C0GEN")
