"""Assemble the app from settings: playbooks, store, registry, clock, telemetry, engine and ops."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.core.clock import Clock, SystemClock
from bot.core.commands import build_registry
from bot.core.context import App, Limits
from bot.core.nudges import NudgeEngine
from bot.core.playbooks.loader import load_playbooks, shipped_playbooks_dir
from bot.core.ports import DeliveryPort
from bot.core.telemetry import Telemetry
from bot.logs import setup_logging as _setup_logging
from bot.settings import Settings
from bot.store import open_store

if TYPE_CHECKING:
    from bot.ops import OpsServer
    from bot.telemetry import PrometheusTelemetry


def instance_id(settings: Settings) -> str:
    """IMGBOT_INSTANCE_ID, else the host name. It names this instance's delivery leases, so it
    should survive a restart (an instance takes its own unfinished claims back at once) and
    differ between instances that share a database."""
    if settings.instance_id:
        return settings.instance_id
    host = re.sub(r"[^A-Za-z0-9.-]", "-", socket.gethostname())[:64].strip("-")
    return host or "imgbot"


async def build_app(settings: Settings, clock: Clock | None = None, telemetry: Telemetry | None = None) -> App:
    """Raises PlaybookLoadError (a list of problems) or ConfigError (one line)."""
    library = load_playbooks(settings.playbooks_dir or shipped_playbooks_dir(), settings.playbook_cache_dir)
    store = await open_store(settings.database_url, pool_size=settings.db_pool_size, secret_keys=settings.secret_keys)
    app = App(
        store=store,
        playbooks=library,
        clock=clock or SystemClock(),
        registry=build_registry(),
        limits=Limits(max_contacts=settings.max_contacts),
    )
    if telemetry is not None:
        app.telemetry = telemetry
    return app


def build_engine(app: App, settings: Settings, ports: dict[str, DeliveryPort], **tuning: float) -> NudgeEngine:
    return NudgeEngine(
        app,
        ports,
        instance=instance_id(settings),
        lease=timedelta(seconds=settings.lease_seconds),
        **tuning,  # type: ignore[arg-type]
    )


def build_ops(
    settings: Settings,
    app: App,
    engine: NudgeEngine,
    telemetry: PrometheusTelemetry,
    platforms: dict[str, Callable[[], bool]],
) -> OpsServer:
    """The one HTTP server: /healthz, /readyz (database, schema, platforms, scheduler), /metrics."""
    from bot.ops import OpsServer, database_check, migrations_check, platform_check, scheduler_check

    telemetry.pending_source = app.store.pending_count
    ops = OpsServer(instance_id(settings), telemetry=telemetry)
    ops.add_check("database", database_check(app.store.ping))
    ops.add_check("migrations", migrations_check(app.store.schema_version, app.store.schema_expected()))
    for name, connected in platforms.items():
        ops.add_check(name, platform_check(name, connected))
    ops.add_check(
        "scheduler",
        scheduler_check(lambda: engine.last_run, app.clock.now, timedelta(seconds=3 * settings.heartbeat_seconds)),
    )
    return ops


def setup_logging(settings: Settings, *, quiet: bool = False) -> None:
    """``quiet`` (the console): warnings and worse unless a lower level was asked for."""
    level = "WARNING" if quiet and settings.log_level == "INFO" else settings.log_level
    _setup_logging(level, settings.log_format, instance_id(settings))
