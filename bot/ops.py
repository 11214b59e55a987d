"""The one HTTP server a process runs: ``/healthz``, ``/readyz``, ``/metrics``, and whatever
another module mounts on it before start (Slack's ``/slack/events``).

``/healthz`` answers 200 while the process is alive. ``/readyz`` runs the caller's named
checks, each ``async () -> str | None`` (None when fine, else why not), concurrently and each
with a timeout; it answers 503 naming the first failing check. A check that raises fails with
the exception's type name only: no traceback and no message, which may carry a DSN or token.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta

from aiohttp import web

from bot.core.errors import ConfigError
from bot.telemetry import PrometheusTelemetry

log = logging.getLogger(__name__)

Check = Callable[[], Awaitable[str | None]]

DEFAULT_CHECK_TIMEOUT = 2.0


class OpsServer:
    def __init__(
        self,
        instance: str,
        *,
        telemetry: PrometheusTelemetry | None = None,
        checks: Iterable[tuple[str, Check]] = (),
        check_timeout: float = DEFAULT_CHECK_TIMEOUT,
        access_log: bool = False,
    ) -> None:
        self.instance = instance
        self.telemetry = telemetry
        self.check_timeout = check_timeout
        self._checks: dict[str, Check] = {}
        for name, check in checks:
            self.add_check(name, check)
        self._access_log = access_log
        self.app = web.Application()
        self.app.add_routes([web.get("/healthz", self._healthz), web.get("/readyz", self._readyz)])
        if telemetry is not None:
            self.app.add_routes([web.get("/metrics", self._metrics)])
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    # Set-up before start ----------------------------------------------------------------

    def add_check(self, name: str, check: Check) -> None:
        """Add a readiness check; checks are reported in the order they were added."""
        if name in self._checks:
            raise ValueError(f"duplicate readiness check: {name}")
        self._checks[name] = check

    def add_routes(self, routes: Iterable[web.AbstractRouteDef]) -> None:
        """Mount more routes, e.g. ``[web.post("/slack/events", handler)]``; only before start()."""
        if self._runner is not None:
            raise RuntimeError("add routes before OpsServer.start()")
        self.app.add_routes(routes)

    # Life cycle -------------------------------------------------------------------------

    async def start(self, host: str = "0.0.0.0", port: int = 0) -> None:
        """Listen on ``host:port`` (port 0 picks a free one; see :attr:`port`)."""
        if self._runner is not None:
            raise RuntimeError("OpsServer is already started")
        runner = web.AppRunner(self.app, access_log=log if self._access_log else None, shutdown_timeout=5.0)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise ConfigError(
                f"IMGBOT_HTTP_PORT: cannot listen on {host}:{port} ({exc.strerror or type(exc).__name__})"
            ) from None
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        log.info("ops server listening on %s:%d", host, self._port)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("OpsServer is not started")
        return self._port

    # Readiness --------------------------------------------------------------------------

    async def run_checks(self) -> dict[str, str]:
        """Every check's result, ``"ok"`` or why not, in the order the checks were added."""
        names = list(self._checks)
        results = await asyncio.gather(*(self._run_one(n, self._checks[n]) for n in names))
        return dict(zip(names, results, strict=True))

    async def _run_one(self, name: str, check: Check) -> str:
        try:
            problem = await asyncio.wait_for(check(), self.check_timeout)
        except TimeoutError:
            problem = "timed out"
        except Exception as exc:
            problem = type(exc).__name__
        if problem is None:
            return "ok"
        log.warning("readiness check %s failed: %s", name, problem)
        return problem

    # Handlers ---------------------------------------------------------------------------

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "instance": self.instance})

    async def _readyz(self, request: web.Request) -> web.Response:
        checks = await self.run_checks()
        failing = next(((n, r) for n, r in checks.items() if r != "ok"), None)
        if failing is None:
            return web.json_response({"status": "ready", "instance": self.instance, "checks": checks})
        body = {
            "status": "not ready",
            "instance": self.instance,
            "reason": f"{failing[0]}: {failing[1]}",
            "checks": checks,
        }
        return web.json_response(body, status=503)

    async def _metrics(self, request: web.Request) -> web.Response:
        assert self.telemetry is not None
        body = await self.telemetry.scrape()
        return web.Response(body=body, headers={"Content-Type": self.telemetry.content_type})


# Ready-made checks ----------------------------------------------------------------------


def database_check(ping: Callable[[], Awaitable[None]]) -> Check:
    """Ready when ``ping()`` (e.g. ``SELECT 1``) returns."""

    async def check() -> str | None:
        try:
            await ping()
        except Exception as exc:
            return f"database unreachable ({type(exc).__name__})"
        return None

    return check


def migrations_check(current: Callable[[], Awaitable[int]], expected: int) -> Check:
    """Ready when the database schema is at the version this code expects."""

    async def check() -> str | None:
        try:
            version = await current()
        except Exception as exc:
            return f"cannot read the schema version ({type(exc).__name__})"
        if version < expected:
            return f"database schema is at version {version}, this code needs {expected}; run the migrations"
        if version > expected:
            return f"database schema is at version {version}, newer than this code ({expected})"
        return None

    return check


def platform_check(name: str, is_connected: Callable[[], bool]) -> Check:
    """Ready while a platform connection (Discord gateway, Slack socket) is up."""

    async def check() -> str | None:
        return None if is_connected() else f"{name} is not connected"

    return check


def scheduler_check(last_run: Callable[[], datetime | None], now: Callable[[], datetime], max_age: timedelta) -> Check:
    """Ready while the scheduler woke up within ``max_age``."""

    async def check() -> str | None:
        last = last_run()
        if last is None:
            return "scheduler has not run yet"
        age = now() - last
        if age > max_age:
            return f"scheduler has not run for {int(age.total_seconds())} s"
        return None

    return check
