"""The line `/cop health` adds to its answer: a signed link to the live dashboard, for the
programme (managers) or for the community the answer is about (its leaders and sponsor). The
caller already passed `/cop health`'s permission check for that scope."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import ContextBlock

from bot.dashboard import links
from bot.deps import Deps
from bot.i18n import Translator
from bot.models import utcnow
from bot.slack.echo import link, mrkdwn, say


def link_block(
    t: Translator, deps: Deps, *, workspace_id: str, community_id: int | None, user_id: str
) -> list[dict[str, Any]]:
    """The dashboard line as Block Kit, or nothing when the process cannot sign links."""
    url = links.link_for(
        links.Scope(workspace_id, community_id),
        user_id,
        utcnow(),
        settings=deps.config.settings,
        language=t.language,
    )
    if url is None:
        return []
    line = say(t, "dashboard.link", link=link(url, t("dashboard.link_label")))
    return [ContextBlock(elements=[mrkdwn(line)]).to_dict()]
