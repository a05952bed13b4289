"""Which workspaces one programme spans: the one place that decides.

A programme may run communities on Slack and on Microsoft Teams at once: a Slack workspace
(team id "T…") and a Teams tenant (its GUID) hold its communities side by side. app.yaml's
`workspaces` links them; the programme's views (the KPIs, `/cop health`, `cop report`, the
dashboard) then cover every linked workspace, whichever one asks. A workspace not listed is a
programme of its own and sees only its own communities — a bot installed in several unrelated
Slack workspaces (OAuth) never mixes them unless the operator says so.

A community's own view (a leader's `/cop health`, its report) stays in its own workspace: it
is asked with that workspace alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# what the domain's programme views accept: one workspace, or the linked workspaces
Workspaces = str | Sequence[str]


def linked(workspace_id: str, configured: Sequence[str]) -> tuple[str, ...]:
    """The workspaces of the programme `workspace_id` belongs to: the linked ones when it is
    among them (its own first), else itself alone."""
    if workspace_id not in configured:
        return (workspace_id,)
    return (workspace_id, *(w for w in configured if w != workspace_id))


def ids(workspaces: Workspaces) -> tuple[str, ...]:
    return (workspaces,) if isinstance(workspaces, str) else tuple(workspaces)


def first(workspaces: Workspaces) -> str:
    """The workspace that asked (what is kept per workspace — the annual survey, snapshots —
    is read there)."""
    return ids(workspaces)[0]


def where(column: Any, workspaces: Workspaces) -> Any:
    """`column` is one of the programme's workspaces (an `=` for one, an `IN` for several)."""
    found = ids(workspaces)
    return column == found[0] if len(found) == 1 else column.in_(found)
