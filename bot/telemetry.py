"""Prometheus metrics for :class:`bot.core.telemetry.Telemetry`, served at ``/metrics``.

Every :class:`PrometheusTelemetry` has its own ``CollectorRegistry``, so several apps (or
tests) in one process never clash over metric names. Labels are the small fixed sets the
protocol allows: a command's qualified name, an outcome word, a platform name.

``imgbot_nudges_pending`` is read when scraped: the ``/metrics`` handler awaits
:meth:`PrometheusTelemetry.refresh` (which calls the caller's ``async () -> int``) and then
:meth:`PrometheusTelemetry.render`. :meth:`scrape` does both.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

log = logging.getLogger(__name__)

PendingSource = Callable[[], Awaitable[int]]

# The classic text format (0.0.4) every Prometheus version reads; our names are plain ASCII.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# A command answers in milliseconds; Discord's deadline is 3 s.
COMMAND_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
# A digest goes out seconds late when all is well, hours late after an outage.
LAG_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 21600.0, 43200.0, 86400.0)
DELIVERY_OUTCOMES = ("sent", "failed", "retry", "skipped", "deferred")


class PrometheusTelemetry:
    """Implements :class:`bot.core.telemetry.Telemetry` with prometheus_client."""

    content_type = CONTENT_TYPE

    def __init__(self, instance: str, pending: PendingSource | None = None, *, pending_timeout: float = 2.0) -> None:
        self.instance = instance
        self.pending_source = pending
        self.pending_timeout = pending_timeout
        self.registry = CollectorRegistry()
        r = self.registry
        self._commands = Counter(
            "imgbot_commands_total",
            "Commands run, by outcome (ok, user_error, error).",
            ["command", "outcome"],
            registry=r,
        )
        self._command_seconds = Histogram(
            "imgbot_command_seconds", "Time to answer a command.", ["command"], buckets=COMMAND_BUCKETS, registry=r
        )
        self._delivered = Counter(
            "imgbot_nudges_delivered_total", "Nudges whose delivery ended, by outcome.", ["outcome"], registry=r
        )
        for outcome in DELIVERY_OUTCOMES:
            self._delivered.labels(outcome)
        self._lag = Histogram(
            "imgbot_delivery_lag_seconds",
            "How late a digest went out, from the earliest deliver_at it carried.",
            buckets=LAG_BUCKETS,
            registry=r,
        )
        self._takeovers = Counter(
            "imgbot_lease_takeovers_total", "Nudges taken over from an instance whose lease expired.", registry=r
        )
        self._rate_limited = Counter(
            "imgbot_platform_rate_limited_total", "HTTP 429 answers from a platform.", ["platform"], registry=r
        )
        self._lease_guard = Counter(
            "imgbot_lease_guard_total",
            "Digests held back because their lease might run out first, and sent digests whose rows a peer"
            " had taken when they were marked (it re-sends them under the same nonce).",
            ["event"],
            registry=r,
        )
        for event in ("held_back", "mark_lost"):
            self._lease_guard.labels(event)
        self._pending = Gauge(
            "imgbot_nudges_pending", "Nudges waiting to be delivered (NaN when it could not be read).", registry=r
        )
        self._pending.set(math.nan)
        info = Gauge("imgbot_instance_info", "Always 1; the label names this process.", ["instance"], registry=r)
        info.labels(instance).set(1)

    # The Telemetry protocol -------------------------------------------------------------

    def command(self, name: str, outcome: str, seconds: float) -> None:
        self._commands.labels(name, outcome).inc()
        self._command_seconds.labels(name).observe(max(seconds, 0.0))

    def delivered(self, outcome: str, count: int) -> None:
        if count > 0:
            self._delivered.labels(outcome).inc(count)

    def delivery_lag(self, seconds: float) -> None:
        self._lag.observe(max(seconds, 0.0))

    def lease_takeover(self, count: int) -> None:
        if count > 0:
            self._takeovers.inc(count)

    def rate_limited(self, platform: str) -> None:
        self._rate_limited.labels(platform).inc()

    def lease_guard(self, event: str, count: int) -> None:
        if count > 0:
            self._lease_guard.labels(event).inc(count)

    # Exposition -------------------------------------------------------------------------

    async def refresh(self) -> None:
        """Read the pending count for this scrape; NaN when there is no source or it fails."""
        if self.pending_source is None:
            self._pending.set(math.nan)
            return
        try:
            value = await asyncio.wait_for(self.pending_source(), self.pending_timeout)
        except TimeoutError:
            log.warning("nudges pending gauge: timed out after %.1f s", self.pending_timeout)
            self._pending.set(math.nan)
        except Exception as exc:
            log.warning("nudges pending gauge: %s", type(exc).__name__)
            self._pending.set(math.nan)
        else:
            self._pending.set(value)

    def render(self) -> bytes:
        """The registry in Prometheus text format (serve it with :attr:`content_type`)."""
        return generate_latest(self.registry)

    async def scrape(self) -> bytes:
        await self.refresh()
        return self.render()
