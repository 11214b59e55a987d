"""Crash safety with real processes and SIGKILL: kill the delivering instance again and again while it
dispatches 1,000 nudges for 50 users, restart it each time, and nothing is lost or sent twice under a
new nonce. (A re-send with the same nonce, of a digest handed to the platform but not yet recorded as
sent, is what a platform deduplicates; it is counted, and the restart takes its own claims back at
once, so it follows within seconds.)"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

from bot.core.models import Contact, Profile, UserRef
from bot.store import open_store
from tests.delivery_child import PLATFORM
from tests.test_cli_and_settings import ROOT

USERS = 50
PER_USER = 20  # 1,000 nudges
KILLS = int(os.environ.get("IMGBOT_CRASH_KILLS", "20"))


async def seed(
    url: str, users: int, per_user: int, platform: str = PLATFORM, first_account: int = 0, spread: float = 0
) -> None:
    """Users with quiet hours off and follow-ups due an hour ago (or, with ``spread``, falling due one
    user after another over the ``spread`` seconds starting 5 s from now), through the real store."""
    store = await open_store(url)
    now = datetime.now(UTC).replace(microsecond=0)
    today = now.date()
    try:
        async with store.transaction():
            for u in range(users):
                uid = await store.ensure_user(
                    UserRef(platform, f"u{u}" if platform == PLATFORM else str(first_account + u), f"User {u}"), now
                )
                await store.save_profile(
                    Profile(uid, name=f"Dr U{u}", specialty="psych", quiet_start=dtime(0), quiet_end=dtime(0)), now
                )
                # one due time per user: a user's follow-ups fall due together, as the planner dates them
                due = now - timedelta(hours=1)
                if spread:
                    due = datetime.now(UTC) + timedelta(seconds=5 + spread * u / users)
                for k in range(per_user):
                    met = today - timedelta(days=5)
                    c = await store.add_contact(
                        Contact(
                            id=0,
                            user_id=uid,
                            number=0,
                            name=f"Dr Contact {u}-{k}",
                            role="attending",
                            specialty="psych",
                            how_met="conference",
                            met_on=met,
                            last_contact_on=met,
                            next_followup_on=today,
                            followup_situation="after-meeting",
                            followup_script="conference-followup",
                        ),
                        now,
                    )
                    await store.put_nudge(uid, "followup", str(c.id), due, due)
    finally:
        await store.close()


class Zygote:
    """``tests.delivery_child --zygote``: forks a fresh delivering process per life, each a real
    process that SIGKILL ends, without paying Python's start-up each time."""

    def __init__(self, url: str, out: Path, send: float = 0.1) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("IMGBOT_", "DISCORD_", "SLACK_"))}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.delivery_child", "--zygote", url, str(out), str(send)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=env,
        )
        assert self._line() == "ZYGOTE"

    def _line(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line, "the zygote died: " + self.proc.communicate(timeout=10)[1]
        return line.strip()

    def fork(self, instance: str = "crash") -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"FORK {instance}\n")
        self.proc.stdin.flush()
        forked = self._line()
        assert forked.startswith("FORKED "), forked
        pid = int(forked.split()[1])
        assert self._line() == f"READY {pid}"
        return pid

    def exit_status(self, pid: int) -> int:
        while (line := self._line()) != "" and not line.startswith(f"EXIT {pid} "):
            pass
        return int(line.split()[2])

    def close(self) -> str:
        _out, err = self.proc.communicate("", timeout=30)
        return err


def gone(pid: int, within: float = 10) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.01)
    raise AssertionError(f"process {pid} did not end")


def lines(out: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []


def rows(db: Path) -> list[tuple[int, str, str | None]]:
    with sqlite3.connect(db) as conn:
        return [(int(r[0]), str(r[1]), r[2]) for r in conn.execute("SELECT id, status, digest FROM nudges")]


def test_sigkill_again_and_again_during_dispatch_loses_nothing_and_never_resends_under_a_new_nonce(
    tmp_path: Path,
) -> None:
    db = tmp_path / "crash.db"
    url = f"sqlite:///{db}"
    out = tmp_path / "delivered.jsonl"
    asyncio.run(seed(url, USERS, PER_USER))
    assert len(rows(db)) == USERS * PER_USER
    rng = random.Random(12)

    zygote = Zygote(url, out)
    try:
        kills = 0
        while kills < KILLS:
            before = len(lines(out))
            pid = zygote.fork()
            deadline = time.monotonic() + 20
            while len(lines(out)) == before and time.monotonic() < deadline:  # sending is under way
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 0.15))  # then anywhere: mid-send, between send and record, mid-claim
            os.kill(pid, signal.SIGKILL)
            gone(pid)
            kills += 1
            if all(status == "sent" for _, status, _ in rows(db)):
                break
        assert kills == KILLS, f"everything was delivered after {kills} kills: slow the sends down"
        pending_after_kills = sum(status != "sent" for _, status, _ in rows(db))
        assert pending_after_kills > 0

        final = zygote.fork()  # one last life, left to finish
        deadline = time.monotonic() + 60
        while any(status != "sent" for _, status, _ in rows(db)) and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(final, signal.SIGTERM)
        assert zygote.exit_status(final) == 0
    finally:
        err = zygote.close()
    assert "Traceback" not in err, err

    stored = rows(db)
    delivered = lines(out)
    nonces = Counter(str(d["nonce"]) for d in delivered)
    digests = {digest for _, _, digest in stored}
    # 0 lost: every nudge is sent, under a digest that really reached the platform
    assert [n for n, status, _ in stored if status != "sent"] == []
    assert digests <= set(nonces), "a row marked sent under a digest that was never delivered"
    # 0 duplicates with a new nonce: every delivered nonce is the digest its rows were finally sent under
    assert set(nonces) <= digests, "a digest delivered, then its rows claimed and sent again under another"
    assert len({d["account"] for d in delivered}) == USERS
    nonces_of: dict[int, set[str]] = {}  # each nudge id a message names, under the nonces that named it
    for d in delivered:
        for i in d["ids"]:  # type: ignore[attr-defined]
            nonces_of.setdefault(int(i), set()).add(str(d["nonce"]))
    assert nonces_of and all(len(n) == 1 for n in nonces_of.values())
    resent_same_nonce = sum(n - 1 for n in nonces.values())
    print(f"{kills} kills, {len(nonces)} digests, {resent_same_nonce} re-sent with the same nonce")
