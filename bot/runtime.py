"""Assemble the app from settings: playbooks, store, registry, clock."""

from __future__ import annotations

import logging

from bot.core.clock import Clock, SystemClock
from bot.core.commands import build_registry
from bot.core.context import App, Limits
from bot.core.playbooks.loader import load_playbooks, shipped_playbooks_dir
from bot.settings import Settings
from bot.store import open_store


async def build_app(settings: Settings, clock: Clock | None = None) -> App:
    """Raises PlaybookLoadError (a list of problems) or ConfigError (one line)."""
    library = load_playbooks(settings.playbooks_dir or shipped_playbooks_dir())
    store = await open_store(settings.database_url)
    return App(
        store=store,
        playbooks=library,
        clock=clock or SystemClock(),
        registry=build_registry(),
        limits=Limits(max_contacts=settings.max_contacts),
    )


def setup_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("discord").setLevel(max(logging.INFO, logging.getLevelName(level)))
