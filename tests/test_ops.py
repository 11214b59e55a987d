"""The ops HTTP server, run for real on 127.0.0.1 and asked over HTTP."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.core.errors import ConfigError
from bot.ops import (
    Check,
    OpsServer,
    database_check,
    migrations_check,
    platform_check,
    scheduler_check,
)
from bot.telemetry import PrometheusTelemetry

Serve = Callable[..., Awaitable[OpsServer]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    started: list[OpsServer] = []

    async def _serve(*checks: tuple[str, Check], **kwargs: Any) -> OpsServer:
        server = OpsServer("web-1", checks=checks, **kwargs)
        await server.start("127.0.0.1", 0)
        started.append(server)
        return server

    yield _serve
    for server in started:
        await server.stop()


async def get(server: OpsServer, path: str) -> tuple[int, dict[str, str], Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{server.port}{path}") as resp,
    ):
        body: Any = await resp.json() if resp.content_type == "application/json" else await resp.read()
        return resp.status, dict(resp.headers), body


async def ok() -> str | None:
    return None


async def test_healthz_answers_while_alive_even_when_not_ready(serve: Serve) -> None:
    async def down() -> str | None:
        return "nope"

    server = await serve(("db", down))
    assert server.port > 0
    status, _, body = await get(server, "/healthz")
    assert (status, body) == (200, {"status": "ok", "instance": "web-1"})


async def test_readyz_is_200_when_every_check_passes(serve: Serve) -> None:
    server = await serve(("database", ok), ("discord", platform_check("discord", lambda: True)))
    status, _, body = await get(server, "/readyz")
    assert status == 200
    assert body == {"status": "ready", "instance": "web-1", "checks": {"database": "ok", "discord": "ok"}}


async def test_readyz_is_503_with_the_first_failing_check(serve: Serve) -> None:
    server = await serve(
        ("database", ok),
        ("discord", platform_check("discord", lambda: False)),
        ("slack", platform_check("slack", lambda: False)),
    )
    status, _, body = await get(server, "/readyz")
    assert status == 503
    assert body["status"] == "not ready"
    assert body["reason"] == "discord: discord is not connected"
    assert body["checks"] == {
        "database": "ok",
        "discord": "discord is not connected",
        "slack": "slack is not connected",
    }


async def test_a_check_that_raises_fails_with_its_type_name_only(serve: Serve) -> None:
    async def boom() -> str | None:
        raise ConnectionRefusedError("postgresql://u:hunter2@db/x refused")

    server = await serve(("database", boom))
    status, _, body = await get(server, "/readyz")
    assert status == 503
    assert body["reason"] == "database: ConnectionRefusedError"
    assert "hunter2" not in str(body) and "Traceback" not in str(body)


async def test_a_check_that_hangs_times_out_and_others_still_report(serve: Serve) -> None:
    async def hang() -> str | None:
        await asyncio.sleep(30)
        return None

    server = await serve(("database", ok), ("migrations", hang), check_timeout=0.1)
    loop = asyncio.get_running_loop()
    started = loop.time()
    status, _, body = await get(server, "/readyz")
    assert loop.time() - started < 5
    assert status == 503
    assert body["reason"] == "migrations: timed out"
    assert body["checks"] == {"database": "ok", "migrations": "timed out"}


async def test_readiness_changes_between_requests(serve: Serve) -> None:
    connected = [False]
    server = await serve(("discord", platform_check("discord", lambda: connected[0])))
    assert (await get(server, "/readyz"))[0] == 503
    connected[0] = True
    assert (await get(server, "/readyz"))[0] == 200


async def test_metrics_serve_every_metric_with_the_live_pending_count(serve: Serve) -> None:
    backlog = [3]

    async def pending() -> int:
        return backlog[0]

    telemetry = PrometheusTelemetry("web-1", pending)
    telemetry.command("help", "ok", 0.01)
    telemetry.delivered("sent", 2)
    telemetry.delivery_lag(5.0)
    telemetry.lease_takeover(1)
    telemetry.rate_limited("slack")
    server = await serve(telemetry=telemetry)
    status, headers, body = await get(server, "/metrics")
    assert status == 200
    assert headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    text = body.decode()
    for name in (
        "imgbot_commands_total",
        "imgbot_command_seconds_bucket",
        "imgbot_nudges_delivered_total",
        "imgbot_delivery_lag_seconds_bucket",
        "imgbot_lease_takeovers_total",
        "imgbot_platform_rate_limited_total",
        "imgbot_nudges_pending",
        "imgbot_instance_info",
    ):
        assert f"\n{name}" in text, name
    assert "\nimgbot_nudges_pending 3.0\n" in text
    assert 'imgbot_instance_info{instance="web-1"} 1.0' in text
    backlog[0] = 9
    assert "\nimgbot_nudges_pending 9.0\n" in (await get(server, "/metrics"))[2].decode()


async def test_no_metrics_route_without_telemetry(serve: Serve) -> None:
    server = await serve()
    assert (await get(server, "/metrics"))[0] == 404


async def test_extra_routes_share_the_server_but_only_before_start() -> None:
    async def events(request: web.Request) -> web.Response:
        return web.json_response({"got": await request.json()})

    server = OpsServer("web-1")
    server.add_routes([web.post("/slack/events", events)])
    await server.start("127.0.0.1", 0)
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"http://127.0.0.1:{server.port}/slack/events", json={"type": "url_verification"}) as resp,
        ):
            assert resp.status == 200 and await resp.json() == {"got": {"type": "url_verification"}}
        assert (await get(server, "/healthz"))[0] == 200
        with pytest.raises(RuntimeError, match=r"before OpsServer\.start"):
            server.add_routes([web.get("/late", events)])
    finally:
        await server.stop()
    await server.stop()  # a second stop is harmless


async def test_a_port_in_use_is_one_clear_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = OpsServer("web-1")
        with pytest.raises(ConfigError, match=rf"^IMGBOT_HTTP_PORT: cannot listen on 127\.0\.0\.1:{port} \("):
            await server.start("127.0.0.1", port)
        with pytest.raises(RuntimeError, match="not started"):
            _ = server.port


async def test_stopped_server_no_longer_answers() -> None:
    server = OpsServer("web-1")
    await server.start("127.0.0.1", 0)
    port = server.port
    await server.stop()
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectionError):
            await session.get(f"http://127.0.0.1:{port}/healthz")


def test_duplicate_check_names_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicate readiness check: db"):
        OpsServer("x", checks=[("db", ok), ("db", ok)])


# The ready-made checks ------------------------------------------------------------------


async def test_database_check() -> None:
    async def fine() -> None:
        return None

    async def refused() -> None:
        raise OSError("could not connect to postgresql://u:hunter2@db")

    assert await database_check(fine)() is None
    assert await database_check(refused)() == "database unreachable (OSError)"


async def test_migrations_check() -> None:
    def at(version: int) -> Callable[[], Awaitable[int]]:
        async def current() -> int:
            return version

        return current

    async def broken() -> int:
        raise LookupError("no table")

    assert await migrations_check(at(4), 4)() is None
    assert (
        await migrations_check(at(3), 4)() == "database schema is at version 3, this code needs 4; run the migrations"
    )
    assert await migrations_check(at(5), 4)() == "database schema is at version 5, newer than this code (4)"
    assert await migrations_check(broken, 4)() == "cannot read the schema version (LookupError)"


async def test_platform_check() -> None:
    assert await platform_check("discord", lambda: True)() is None
    assert await platform_check("slack", lambda: False)() == "slack is not connected"


async def test_scheduler_check() -> None:
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    last: list[datetime | None] = [None]
    check = scheduler_check(lambda: last[0], lambda: now, timedelta(minutes=10))
    assert await check() == "scheduler has not run yet"
    last[0] = now - timedelta(minutes=10)
    assert await check() is None  # exactly max_age is still fine
    last[0] = now - timedelta(minutes=10, seconds=1)
    assert await check() == "scheduler has not run for 601 s"
    last[0] = now - timedelta(seconds=3)
    assert await check() is None


async def test_ready_made_checks_behind_the_server(serve: Serve) -> None:
    async def ping() -> None:
        return None

    async def version() -> int:
        return 2

    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    server = await serve(
        ("database", database_check(ping)),
        ("migrations", migrations_check(version, 3)),
        ("scheduler", scheduler_check(lambda: now, lambda: now, timedelta(seconds=60))),
    )
    status, _, body = await get(server, "/readyz")
    assert status == 503
    assert body["reason"] == "migrations: database schema is at version 2, this code needs 3; run the migrations"
    assert body["checks"]["database"] == "ok" and body["checks"]["scheduler"] == "ok"
