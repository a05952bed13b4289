from bot.teams.emulator.server import main

main()
