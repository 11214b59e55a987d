"""Each session sees only its own user: two console sessions on one database."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

from bot.core.clock import ManualClock
from bot.core.nudges import NudgeEngine
from bot.frontends.console import run_console
from bot.scheduler import NudgeScheduler
from tests.conftest import PSYCH_PROFILE
from tests.helpers import START, Transcript, make_app


async def session(db: Path, clock: ManualClock, user: str, lines: list[str]) -> str:
    """One ``imgbot console --user USER`` run, piped, on the shared database."""
    app = await make_app(db, clock)
    out = io.StringIO()
    rc = await run_console(
        app, user, 300, 50.0, stream=io.StringIO("\n".join(lines) + "\n"), out=out, instance=f"console-{user}@test"
    )
    assert rc == 0
    return out.getvalue()


async def test_a_console_never_prints_or_consumes_another_users_nudges(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    clock = ManualClock(START)
    out = await session(
        db,
        clock,
        "amal",
        [
            PSYCH_PROFILE,
            '/contact add "Dr Rania Saleh" role:attending institution:"Mass General" how_met:conference met_on:today',
        ],
    )
    assert "Added #1 Dr Rania Saleh" in out
    clock.set(START + timedelta(days=7))  # A's follow-up is now due

    out = await session(db, clock, "ben", ["/followups", "/contact list"])
    assert "=== NUDGE ===" not in out, out
    assert "Dr Rania Saleh" not in out and "Mass General" not in out
    assert "Follow-ups due: 0" in out

    out = await session(db, clock, "amal", ["/followups"])
    assert out.count("=== NUDGE ===") == 1, out  # A still gets it: B did not mark it sent
    assert "#1 Dr Rania Saleh" in out.split("=== NUDGE ===")[1]

    out = await session(db, clock, "amal", ["/followups"])
    assert "=== NUDGE ===" not in out  # and only once


async def test_a_console_scheduler_wakes_only_for_its_own_users_nudges(tmp_path: Path) -> None:
    clock = ManualClock(START)
    app = await make_app(tmp_path / "shared.db", clock)
    amal = Transcript(app, "amal")
    await amal.say(PSYCH_PROFILE)
    await amal.say('/contact add "Dr Rania Saleh" how_met:conference met_on:today')
    assert await app.store.next_delivery(["console"], "amal") is not None
    ben = Transcript(app, "ben")
    await ben.say("/profile set specialty:psych track:non-us-img timezone:UTC")
    engine = NudgeEngine(app, {"console": ben.front.port}, rate=1000, instance="console-ben", account="ben")
    sched = NudgeScheduler(engine, heartbeat_seconds=300)
    await sched.refresh()
    assert sched.next_wake is None  # A's follow-up is not B's to wake for
    await ben.say('/contact add "Dr Own" how_met:conference met_on:today')
    await sched.refresh()
    own = await app.store.next_delivery(["console"], "ben")
    assert own is not None and sched.next_wake == own
