"""A platform without message nonces (Slack) says whether a taken-over digest already went out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from bot.core.clock import ManualClock
from bot.core.models import Contact, NudgeKind, UserRef
from bot.core.nudges import NudgeEngine
from bot.core.reply import Reply
from tests.helpers import START, make_app


@dataclass
class HistoryPort:
    """Delivers into a list, and answers sent_before from it, as Slack's DM history would."""

    seen: set[str] = field(default_factory=set)
    delivered: list[str] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)

    async def deliver(self, user: UserRef, reply: Reply, nonce: str) -> None:
        self.delivered.append(nonce)
        self.seen.add(nonce)

    async def sent_before(self, user: UserRef, nonce: str) -> bool:
        self.asked.append(nonce)
        return nonce in self.seen


async def _due(tmp_path: Path, clock: ManualClock, name: str):  # type: ignore[no-untyped-def]
    app = await make_app(tmp_path / name, clock)
    now = clock.now()
    uid = await app.store.ensure_user(UserRef("slack", "T1:U1"), now)
    c = await app.store.add_contact(Contact(id=0, user_id=uid, number=0, name="Dr Maya Lee"), now)
    await app.store.put_nudge(uid, NudgeKind.FOLLOWUP, str(c.id), now, now)
    return app


async def test_a_digest_that_went_out_before_its_sender_died_is_not_sent_again(tmp_path: Path) -> None:
    clock = ManualClock(START.replace(hour=12))
    app = await _due(tmp_path, clock, "a.db")
    (claimed,) = await app.store.claim_due(
        "dead", "tok", clock.now(), clock.now() + timedelta(seconds=60), 10, ["slack"]
    )
    digest = claimed.digest
    assert digest
    port = HistoryPort(seen={digest})  # the dead instance posted it, then died before marking it sent
    clock.advance(timedelta(minutes=5))
    engine = NudgeEngine(app, {"slack": port}, instance="peer", rate=1000)
    await engine.recover()
    await engine.run_due()
    assert port.asked == [digest] and port.delivered == []
    assert await app.store.pending_count() == 0  # recorded as sent, not retried


async def test_a_digest_that_never_went_out_is_sent_once_on_takeover(tmp_path: Path) -> None:
    clock = ManualClock(START.replace(hour=12))
    app = await _due(tmp_path, clock, "b.db")
    (claimed,) = await app.store.claim_due(
        "dead", "tok", clock.now(), clock.now() + timedelta(seconds=60), 10, ["slack"]
    )
    port = HistoryPort()
    clock.advance(timedelta(minutes=5))
    engine = NudgeEngine(app, {"slack": port}, instance="peer", rate=1000)
    await engine.recover()
    await engine.run_due()
    assert port.delivered == [claimed.digest]
    # a fresh digest is never checked against history: that costs a request per nudge
    port2 = HistoryPort()
    app2 = await _due(tmp_path, clock, "c.db")
    await NudgeEngine(app2, {"slack": port2}, instance="x", rate=1000).run_due()
    assert len(port2.delivered) == 1 and port2.asked == []
