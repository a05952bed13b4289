"""Communities from a CSV file (`cop import`): reading the file whatever Excel saved it as,
checking every line, then creating or updating the communities and their leaders and sponsors."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot import communities, installation, people
from bot.models import CommunityKind, Role

CSV_COLUMNS = ("name", "channel_id", "kind", "language", "leaders", "sponsor")
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
# Microsoft Teams: a team's channel as the Bot Connector names it, a person ("29:…")
_TEAMS_CHANNEL_ID = re.compile(r"^19:[A-Za-z0-9_.-]{1,200}@thread\.(?:tacv2|skype)$")
_TEAMS_USER_ID = re.compile(r"^29:[A-Za-z0-9_-]{2,200}$")


def channel_platform(channel_id: str) -> str:
    """ "teams" for a Teams channel id ("19:…@thread.tacv2"), else "slack"."""
    return "teams" if _TEAMS_CHANNEL_ID.match(channel_id) else "slack"


@dataclass(frozen=True, slots=True)
class ImportRow:
    line: int
    name: str
    channel_id: str
    kind: CommunityKind
    language: str | None
    leaders: tuple[str, ...]
    sponsor: str | None


@dataclass(frozen=True, slots=True)
class ImportReport:
    created: list[str]
    updated: list[str]
    errors: list[str]
    unchanged: list[str] = field(default_factory=list)


def decode_csv(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """The file's text and the encoding it was read with.

    Given an encoding, that one. Otherwise UTF-8 (with or without the BOM Excel writes), UTF-16
    when a BOM says so, else Windows-1252 (French Excel's "CSV (séparateur : point-virgule)")
    when every byte decodes. Raises ValueError naming the encoding to pass otherwise.
    """
    if encoding:
        try:
            return data.decode(encoding).removeprefix("\ufeff"), encoding
        except LookupError:
            raise ValueError(
                f"--encoding: unknown encoding {encoding!r} (try utf-8, cp1252 or latin-1)"
            ) from None
        except UnicodeDecodeError as exc:
            raise ValueError(
                f"not {encoding} text ({_where_bad(data, exc)}); try another --encoding"
            ) from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16").removeprefix("\ufeff"), "UTF-16"
        except UnicodeDecodeError as exc:
            raise ValueError(f"not UTF-16 text despite its BOM ({_where_bad(data, exc)})") from None
    try:
        return data.decode("utf-8-sig"), "UTF-8"
    except UnicodeDecodeError as exc:
        first = exc
    try:
        return data.decode("cp1252"), "Windows-1252"
    except UnicodeDecodeError:
        raise ValueError(
            f"neither UTF-8 nor Windows-1252 text ({_where_bad(data, first)}); save it as "
            '"CSV UTF-8" or give its encoding with --encoding (e.g. --encoding latin-1)'
        ) from None


def _where_bad(data: bytes, exc: UnicodeDecodeError) -> str:
    line = data[: exc.start].count(b"\n") + 1
    return f"byte 0x{data[exc.start]:02x} on line {line}"


def parse_csv(text: str) -> tuple[list[ImportRow], list[str]]:
    """Parse the import file; every bad line is reported with its number, good lines still load.

    Columns: name, channel_id, kind (spontaneous|piloted), language (fr|en, empty = programme
    default), leaders (Slack user ids separated by spaces or ';'), sponsor (one Slack user id).
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    sample = text[:2048]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text, newline=""), dialect=dialect)
    try:
        header = [h.strip().lower() for h in (reader.fieldnames or [])]
    except csv.Error as exc:
        return [], [f"header: not readable as CSV ({exc})"]
    missing = [c for c in ("name", "channel_id") if c not in header]
    if missing:
        return [], [
            f"header: missing column(s) {', '.join(missing)}; expected {', '.join(CSV_COLUMNS)}"
        ]
    reader.fieldnames = header
    rows: list[ImportRow] = []
    errors: list[str] = []
    seen: set[str] = set()
    for index, raw in _rows(reader, errors):
        cell = {k: (v or "").strip() if isinstance(v, str) else "" for k, v in raw.items() if k}
        problems = []
        name = " ".join(cell.get("name", "").split())
        channel = cell.get("channel_id", "")
        if not _TEAMS_CHANNEL_ID.match(channel):
            channel = channel.upper()  # Slack's ids are capitals; Teams' are case-sensitive
        if not name:
            problems.append("name is empty")
        elif len(name) > communities.NAME_MAX:
            problems.append(f"name longer than {communities.NAME_MAX} characters")
        if not (_CHANNEL_ID.match(channel) or _TEAMS_CHANNEL_ID.match(channel)):
            problems.append(
                f"channel_id {channel!r} is not a Slack channel id (C… or G…) "
                "nor a Teams channel id (19:…@thread.tacv2)"
            )
        elif channel in seen:
            problems.append(f"channel_id {channel} appears twice")
        kind_text = (cell.get("kind") or "spontaneous").lower()
        if kind_text not in {k.value for k in CommunityKind}:
            problems.append(f"kind {kind_text!r} is not spontaneous or piloted")
        language = (cell.get("language") or "").lower() or None
        if language not in (None, "fr", "en"):
            problems.append(f"language {language!r} is not fr or en")
        leaders = tuple(x for x in re.split(r"[\s;|]+", cell.get("leaders", "")) if x)
        sponsor = cell.get("sponsor") or None
        for uid in (*leaders, *([sponsor] if sponsor else [])):
            if not (_USER_ID.match(uid) or _TEAMS_USER_ID.match(uid)):
                problems.append(f"{uid!r} is not a Slack user id (U…) nor a Teams one (29:…)")
        if problems:
            errors.append(f"line {index}: " + "; ".join(problems))
            continue
        seen.add(channel)
        rows.append(
            ImportRow(
                line=index,
                name=name,
                channel_id=channel,
                kind=CommunityKind(kind_text),
                language=language,
                leaders=leaders,
                sponsor=sponsor,
            )
        )
    return rows, errors


def _rows(reader: csv.DictReader[str], errors: list[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Rows with their line numbers; a line the csv module cannot read ends the file with an error."""
    index = 1
    while True:
        index += 1
        try:
            raw = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            errors.append(
                f"line {index}: not readable as CSV ({exc}); the lines after it were not read"
            )
            return
        yield index, raw


def misplaced(rows: list[ImportRow], *, workspace_id: str) -> list[str]:
    """Lines naming a channel of the other platform: a Slack channel in a Microsoft Teams
    workspace (a tenant), or a Teams channel in a Slack one. `import_rows` skips them."""
    platform = installation.platform_of(workspace_id)
    where = "Microsoft Teams" if platform == "teams" else "Slack"
    return [
        f"line {row.line}: channel_id {row.channel_id} is not a {where} channel, and the "
        f"workspace {workspace_id} is on {where}"
        for row in rows
        if channel_platform(row.channel_id) != platform
    ]


async def import_rows(
    session: AsyncSession, *, workspace_id: str, rows: list[ImportRow]
) -> ImportReport:
    """Create or update communities from parsed rows; re-running the same file changes nothing
    (and says so: a community whose line changes nothing is `unchanged`, not `updated`)."""
    await people.ensure_workspace(session, workspace_id)
    created: list[str] = []
    updated: list[str] = []
    unchanged: list[str] = []
    platform = installation.platform_of(workspace_id)
    for row in rows:
        if channel_platform(row.channel_id) != platform:
            continue  # `misplaced` told the operator
        community = await communities.by_channel(
            session, workspace_id=workspace_id, channel_id=row.channel_id
        )
        changed = False
        if community is None:
            community = await communities.create(
                session,
                workspace_id=workspace_id,
                name=row.name,
                channel_id=row.channel_id,
                kind=row.kind,
                language=row.language,
            )
            created.append(community.slug)
        else:
            wanted = (row.name, row.kind, row.language)
            changed = (community.name, community.kind, community.language) != wanted
            community.name, community.kind, community.language = wanted
        roles = [(uid, Role.LEADER) for uid in row.leaders]
        roles += [(row.sponsor, Role.SPONSOR)] if row.sponsor else []
        for uid, role in roles:
            before = await communities.current_role(
                session,
                workspace_id=community.workspace_id,
                community_id=community.id,
                slack_user_id=uid,
            )
            if before != role:
                await communities.set_role(
                    session, community=community, slack_user_id=uid, role=role
                )
                changed = True
        if community.slug in created:
            continue
        (updated if changed else unchanged).append(community.slug)
    return ImportReport(created=created, updated=updated, errors=[], unchanged=unchanged)
