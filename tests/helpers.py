"""Test helpers: a real app on a temporary SQLite file, driven like a console user."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bot.core.clock import ManualClock
from bot.core.context import App
from bot.core.models import UserRef
from bot.core.nudges import DeliveryError, NudgeEngine
from bot.core.origin import Origin
from bot.core.reply import Reply
from bot.frontends.console import ConsoleFrontend
from bot.runtime import build_app
from bot.settings import Settings

START = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday


OPEN_APPS: list[App] = []  # closed after each test by conftest, even when the test fails


async def make_app(
    db: Path, clock: ManualClock | None = None, playbooks: Path | None = None, **settings: object
) -> App:
    s = Settings(database_url=f"sqlite:///{db}", playbooks_dir=playbooks, **settings)  # type: ignore[arg-type]
    app = await build_app(s, clock or ManualClock(START))
    OPEN_APPS.append(app)
    return app


@dataclass
class RecordingPort:
    """A delivery port double: records what would be sent, dedupes on nonce like Discord."""

    sent: list[tuple[UserRef, Reply, str]] = field(default_factory=list)
    fail_with: DeliveryError | None = None
    crash_after_send: bool = False

    async def deliver(self, user: UserRef, reply: Reply, nonce: str) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        if any(n == nonce for _, _, n in self.sent):
            return
        self.sent.append((user, reply, nonce))
        if self.crash_after_send:
            raise SystemExit("simulated crash after send")


class Transcript:
    """Type lines as a console user and read the plain-text replies."""

    def __init__(self, app: App, user: str = "amal", origin: Origin | None = None) -> None:
        self.app = app
        self.out = io.StringIO()
        self.front = ConsoleFrontend(app, user, out=self.out, rich=False, origin=origin)

    async def say(self, line: str) -> str:
        start = self.out.tell()
        await self.front.handle(line)
        self.out.seek(start)
        text = self.out.read()
        return text

    def engine(self, **kw: object) -> NudgeEngine:
        return NudgeEngine(self.app, {"console": self.front.port}, rate=1000, **kw)  # type: ignore[arg-type]
