"""Shared plumbing for the benchmarks: processes on loopback, signed requests, percentiles."""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from slack_sdk.signature import SignatureVerifier

SECRET = "bench-signing-secret"
TOKEN = "xoxb-emulator"
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(
    cmd: Sequence[str], *, env: dict[str, str] | None = None, url: str, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start a server process and wait until `url` answers (bounded: 60 s)."""
    proc = subprocess.Popen(
        list(cmd),
        env={**os.environ, **(env or {})},
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"{cmd[0]} exited: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}"
            )
        try:
            httpx.get(url, timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{url} did not come up")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def signed_command(
    text: str,
    *,
    user: str,
    channel: str,
    response_url: str,
    secret: str = SECRET,
    team: str = "T0COP",
) -> tuple[bytes, dict[str, str]]:
    body = urlencode(
        {
            "token": "x",
            "team_id": team,
            "team_domain": "cop",
            "channel_id": channel,
            "channel_name": "general",
            "user_id": user,
            "user_name": user.lower(),
            "command": "/cop",
            "text": text,
            "api_app_id": "A0COPBOT",
            "response_url": response_url,
            "trigger_id": f"tr-{time.monotonic_ns()}",
        }
    ).encode()
    ts = str(int(time.time()))
    return body, {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": SignatureVerifier(secret).generate_signature(timestamp=ts, body=body),
    }


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def summary(values: Sequence[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "median_ms": statistics.median(values) * 1000,
        "p99_ms": percentile(values, 99) * 1000,
        "max_ms": max(values) * 1000,
    }


PYTHON = sys.executable


async def post_all(
    url: str, requests: Sequence[tuple[bytes, dict[str, str]]], concurrency: int
) -> list[int]:
    """POST each (body, headers) over `concurrency` keep-alive HTTP/1.1 connections; statuses.

    A load generator that costs a few tens of microseconds a request (httpx costs about a
    millisecond), so that on a 2-core machine the server under test, not the client, sets the
    pace. Reconnects if the server closes a connection; a request is never sent twice.
    """
    return [status for status, _, _ in await posted(url, requests, concurrency)]


async def posted(
    url: str, requests: Sequence[tuple[bytes, dict[str, str]]], concurrency: int
) -> list[tuple[int, float, float]]:
    """As `post_all`; for each request its HTTP status, when it was sent (time.monotonic) and the
    seconds to its response."""
    parts = urlsplit(url)
    host, port, path = parts.hostname or "127.0.0.1", parts.port or 80, parts.path or "/"
    wire = []
    for body, headers in requests:
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        wire.append(
            (
                f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n{head}"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            + body
        )
    answers: list[tuple[int, float, float]] = [(0, 0.0, 0.0)] * len(wire)
    cursor = iter(range(len(wire)))

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for index in cursor:
                sent = time.monotonic()
                writer.write(wire[index])
                status_line = await reader.readline()
                if not status_line:
                    raise ConnectionError(f"request {index}: server closed the connection")
                length, close = 0, False
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                    elif name.lower() == "connection" and "close" in value.lower():
                        close = True
                await reader.readexactly(length)
                answers[index] = (int(status_line.split()[1]), sent, time.monotonic() - sent)
                if close:
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return answers


async def command_answered(
    http: httpx.AsyncClient, emulator: Any, bot_url: str, text: str, *, user: str, channel: str
) -> tuple[str, float, float, float]:
    """Type `/cop text` as `user` and wait for the bot's first answer on its response_url:
    (that response_url's key, when it was sent, seconds to the ack, seconds to the answer)."""
    key = f"k{time.monotonic_ns()}"
    body, headers = signed_command(
        text, user=user, channel=channel, response_url=emulator.response_url(key)
    )
    started = time.perf_counter()
    response = await http.post(bot_url, content=body, headers=headers)
    ack = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"HTTP {response.status_code}: {response.text[:200]}")
    while not any(r["key"] == key for r in emulator.responses):  # noqa: ASYNC110
        await asyncio.sleep(0.002)
    return key, started, ack, time.perf_counter() - started
