"""GET /files?t=…: the file a download link gives (bot/downloads.py), served by `cop serve` beside
the dashboard. A link refused — forged, expired, its event gone, its holder no longer allowed —
gets a page that says which, in the programme's language and the other one, never a file and
never a 500."""

from __future__ import annotations

import logging
from urllib.parse import quote

from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from bot import downloads
from bot.dashboard import web
from bot.deps import Deps
from bot.i18n import translate

logger = logging.getLogger(__name__)

# the same templates and private-page headers as the dashboard's (the token is in the address)
_TEMPLATES, _HEADERS = web.TEMPLATES, web.PRIVATE_HEADERS
_STATUS = {"unavailable": 503, "expired": 410, "gone": 410, "not_allowed": 403, "invalid": 403}


def disposition(filename: str) -> str:
    """`attachment` with the name as ASCII (for old clients) and as UTF-8 (RFC 6266)."""
    plain = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"


def refused_page(deps: Deps, reason: str) -> HTMLResponse:
    first = deps.programme.language
    languages = [first, *(lang for lang in ("fr", "en") if lang != first)]
    html = _TEMPLATES.get_template("file_refused.html").render(
        t=translate(first), ts=[translate(lang) for lang in languages], reason=reason
    )
    return HTMLResponse(html, status_code=_STATUS.get(reason, 403), headers=_HEADERS)


def routes(deps: Deps) -> list[Route]:
    async def download(request: Request) -> Response:
        try:
            file = await downloads.open_link(deps, request.query_params.get("t"))
        except downloads.Refused as refused:
            logger.info("download refused: %s", refused.reason)
            return refused_page(deps, refused.reason)
        except (SQLAlchemyError, OSError):  # the database out of reach: try again, not a 500
            logger.warning("download failed: the database could not be read", exc_info=True)
            return refused_page(deps, "unavailable")
        headers = {**_HEADERS, "Content-Disposition": disposition(file.filename)}
        return Response(file.content, media_type=file.media_type, headers=headers)

    return [Route(downloads.PATH, download, methods=["GET"])]
