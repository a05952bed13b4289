"""A bare Bolt AsyncApp that only acks /cop and events: the baseline for our latency figures."""

from __future__ import annotations

import os

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

bolt = AsyncApp(
    signing_secret=os.environ["SLACK_SIGNING_SECRET"],
    client=AsyncWebClient(
        token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"]
    ),
)


@bolt.command("/cop")
async def cop(ack):  # type: ignore[no-untyped-def]
    await ack()


@bolt.event("message")
async def message(body):  # type: ignore[no-untyped-def]
    return None


@bolt.event("reaction_added")
async def reaction(body):  # type: ignore[no-untyped-def]
    return None


handler = AsyncSlackRequestHandler(bolt)


async def events(request: Request) -> Response:
    return await handler.handle(request)


async def healthz(_: Request) -> Response:
    return PlainTextResponse("ok")


app = Starlette(
    routes=[Route("/slack/events", events, methods=["POST"]), Route("/healthz", healthz)]
)
