"""Two ``imgbot run`` processes on one SQLite file, against the local Discord double: they share the
owed nudges through the leases, and no DM is sent twice."""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import sqlite3
import time
from collections import Counter
from pathlib import Path

import aiohttp

from tests.discord.double import DiscordDouble
from tests.discord.test_runner import _free_port, _imgbot
from tests.test_crash_loop import seed

USERS = 60
PER_USER = 3
SENT = re.compile(r'^imgbot_nudges_delivered_total\{outcome="sent"\} ([0-9.e+]+)$', re.M)
FIRST = 1_200_000_000_000_000_000  # Discord user ids of the seeded users


def _statuses(db: Path) -> Counter[str]:
    with sqlite3.connect(db) as conn:
        return Counter(str(r[0]) for r in conn.execute("SELECT status FROM nudges"))


async def test_two_run_processes_on_one_sqlite_file_send_each_digest_once(
    double: DiscordDouble, tmp_path: Path
) -> None:
    db = tmp_path / "run.db"  # the file _imgbot points IMGBOT_DATABASE_URL at
    # Each post takes longer than the gap between two users' due times, so an instance still sending
    # one digest cannot be first to the next: the other one, idle, claims it. Without that, which
    # instance wins each race is down to timing, and on a loaded machine one can win every race.
    double.message_latency = 0.3
    await seed(f"sqlite:///{db}", 1, 1, platform="discord", first_account=FIRST - 1)  # the schema, one early user
    ports = [_free_port(), _free_port()]
    procs = [
        await _imgbot(
            double,
            tmp_path,
            "run",
            IMGBOT_INSTANCE_ID=name,
            IMGBOT_LEASE_SECONDS="10",
            IMGBOT_HTTP_PORT=str(port),
            IMGBOT_HTTP_HOST="127.0.0.1",
            IMGBOT_HEARTBEAT_SECONDS="5",
        )
        for name, port in zip(("run-a", "run-b"), ports, strict=True)
    ]
    sent_by: list[float] = []
    async with aiohttp.ClientSession() as http:  # both up and running before the work comes in
        for port in ports:
            for _ in range(300):
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"http://127.0.0.1:{port}/readyz") as r:
                        if r.status == 200:
                            break
                await asyncio.sleep(0.1)
    # due one user after another over 8 s: both wake at each due time, and the claims decide
    await seed(f"sqlite:///{db}", USERS, PER_USER, platform="discord", first_account=FIRST, spread=8)
    total = USERS * PER_USER + 1
    started = time.monotonic()
    try:
        for _ in range(600):
            if _statuses(db) == Counter(sent=total):
                break
            await asyncio.sleep(0.1)
        print(f"all sent after {time.monotonic() - started:.1f} s")
        async with aiohttp.ClientSession() as http:  # what each process says it delivered
            for port in ports:
                async with http.get(f"http://127.0.0.1:{port}/metrics") as r:
                    metrics = await r.text()
                sent_by.append(sum(float(m) for m in SENT.findall(metrics)))
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        results = [await asyncio.wait_for(p.communicate(), 30) for p in procs]
    for p, (_out, err) in zip(procs, results, strict=True):
        assert p.returncode == 0 and "Traceback" not in err.decode(), err.decode()
    assert _statuses(db) == Counter(sent=total)

    posts = double.calls_to("POST", r"/channels/\d+/messages")
    users = {FIRST + u for u in range(-1, USERS)}
    nonces: dict[int, set[str]] = {u: set() for u in users}
    for c in posts:
        nonces[double.dm_users[int(c.path.split("/")[-2])]].add(c.json["nonce"])
    # every digest went out under one nonce only: never a second digest id for the same nudges
    split = {u: n for u, n in nonces.items() if len(n) != 1}
    assert not split, split
    # and each user got exactly one message: a re-send after a lapsed lease (the claim's sent mark not
    # yet written) carries the same nonce, which Discord drops with enforce_nonce, as the double does
    assert {u: len(double.dms(u)) for u in users} == dict.fromkeys(users, 1)
    resent = len(posts) - len(users)
    print(f"nudges sent by run-a and run-b: {sent_by}; same-nonce re-sends: {resent}")
    assert resent <= 2  # rare: a lease lapsing on a loaded machine, not the rule
    assert sum(sent_by) >= total  # every nudge counted by whoever sent it (a re-send counts twice)
    assert all(n > 0 for n in sent_by)  # both took part
