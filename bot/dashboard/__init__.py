"""The live dashboard `cop serve` shows at /dashboard: the programme's communities in one table,
a page per community and the trend charts, reached only through a signed link (links.py) that
`/cop health` hands out. An edge like bot/slack/: it reads figures through bot.health and
bot.kpis and renders HTML; it computes none itself."""
