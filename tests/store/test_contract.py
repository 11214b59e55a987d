"""One contract for the store, run against SQLite and PostgreSQL alike (the ``db_url`` fixture).

Several ``open_store`` calls on one database stand for several bot instances: each has its
own connections, so the race-free primitives are tested the way instances would race.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from bot.core.errors import ConfigError
from bot.core.models import Contact, GoalTarget, NudgeKind, Profile, UserRef
from bot.store import SQLStore, open_store
from bot.store.driver import as_dt
from bot.store.migrate import latest, migrate, migrations

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)


@pytest.fixture
async def stores(db_url: str) -> AsyncIterator[list[SQLStore]]:
    """Three instances on one database."""
    opened = [await open_store(db_url)]
    opened += await asyncio.gather(open_store(db_url), open_store(db_url))
    yield opened
    for s in opened:
        await s.close()


async def _user(store: SQLStore, name: str = "amal") -> int:
    return await store.ensure_user(UserRef("console", name, name), NOW)


def _contact(uid: int, name: str = "Dr Maya Lee") -> Contact:
    return Contact(id=0, user_id=uid, number=0, name=name, met_on=date(2026, 11, 22))


# ------------------------------------------------------------------ migrations


async def test_migrations_apply_once_and_record_the_latest_version(db_url: str) -> None:
    store = await open_store(db_url)
    try:
        assert await store.schema_version() == latest(store.db.dialect) == store.schema_expected()
        assert await store.migrate() == []  # a second run finds nothing to do
    finally:
        await store.close()


async def test_a_lower_numbered_migration_merged_later_still_runs(db_url: str) -> None:
    """Migration numbers are handed out per feature, so a database can have 0009 applied before
    0008 exists in the code: the migrator runs every migration it has not recorded, in order."""
    store = await open_store(db_url)
    try:
        (status,) = [m for m in migrations(store.db.dialect) if m.name == "profile_status"]
        assert status.number < latest(store.db.dialect)
        # as if this migration had not been written yet when the later ones ran
        await store.db.execute("ALTER TABLE profiles DROP COLUMN status")
        await store.db.execute("DELETE FROM schema_version WHERE version = ?", (status.number,))
        assert await store.migrate() == [status.number]
        await store.db.execute("UPDATE profiles SET status = NULL")  # the column is back
        assert await store.migrate() == []
    finally:
        await store.close()


async def test_instances_migrating_at_once_apply_each_migration_once(db_url: str) -> None:
    first, second, third = await asyncio.gather(*(open_store(db_url, migrate=False) for _ in range(3)))
    try:
        results = await asyncio.gather(first.migrate(), second.migrate(), third.migrate())
        applied = sorted(n for r in results for n in r)
        # every known migration once, in order; numbers may have gaps (each feature has its own)
        assert applied == [m.number for m in migrations(first.db.dialect)]
        assert applied[-1] == latest(first.db.dialect)
        rows = await first.db.all("SELECT version FROM schema_version ORDER BY version")
        assert [r[0] for r in rows] == applied
    finally:
        for s in (first, second, third):
            await s.close()


async def test_a_migration_numbered_below_the_newest_applied_still_runs(db_url: str) -> None:
    """Numbers are assigned per feature and land in any order: a database that already has the
    newest migration still gets an older-numbered one that arrived later (a gap filled)."""
    store = await open_store(db_url, migrate=False)
    try:
        every = migrations(store.db.dialect)
        late = every[-2]  # independent of the newest one, in both dialects
        first = await migrate(store.db, [m for m in every if m is not late])
        assert late.number not in first and every[-1].number in first
        assert await migrate(store.db) == [late.number]
        assert await migrate(store.db) == []
        rows = await store.db.all("SELECT version FROM schema_version ORDER BY version")
        assert [r[0] for r in rows] == [m.number for m in every]
    finally:
        await store.close()


async def test_many_instances_opening_a_new_sqlite_file_at_once_all_start(tmp_path: Path) -> None:
    """Switching a new file to WAL while peers open it can be refused at once with SQLITE_BUSY;
    every instance must still start (this failed in CI as 'database is locked')."""
    for attempt in range(5):
        url = f"sqlite:///{tmp_path / f'race{attempt}.db'}"
        stores = await asyncio.gather(*(open_store(url) for _ in range(8)))
        try:
            row = await stores[-1].db.one("PRAGMA journal_mode")
            assert row is not None and row[0] == "wal"
        finally:
            for s in stores:
                await s.close()


async def test_a_schema_newer_than_this_release_is_refused_in_one_line(db_url: str) -> None:
    store = await open_store(db_url)
    await store.db.execute("INSERT INTO schema_version (version) VALUES (?)", (999,))
    await store.close()
    with pytest.raises(ConfigError) as err:
        await open_store(db_url)
    assert "schema is version 999, newer than this release knows" in str(err.value)
    assert "\n" not in str(err.value)


# ------------------------------------------------------------------ values round-trip


async def test_profiles_contacts_and_times_come_back_as_stored(stores: list[SQLStore]) -> None:
    store = stores[0]
    uid = await _user(store)
    paused = datetime(2026, 12, 1, 6, 30, tzinfo=UTC)
    p = Profile(uid, name="Dr Amal Hassan", specialty="psych", timezone="Africa/Cairo", quiet_start=time(22, 0))
    await store.save_profile(p.with_(nudges_paused_until=paused), NOW)
    got = await store.get_profile(uid)
    assert got == p.with_(nudges_paused_until=paused)
    assert got.nudges_paused_until is not None and got.nudges_paused_until.tzinfo is not None

    c = await store.add_contact(_contact(uid), NOW)
    assert (c.number, c.name, c.met_on, c.created_at) == (1, "Dr Maya Lee", date(2026, 11, 22), NOW)
    await store.update_contact(c.__class__(**{**c.__dict__, "tags": ("mentor", "im"), "next_followup_on": NOW.date()}))
    again = await stores[1].get_contact(uid, c.id)  # another instance reads the same row
    assert again is not None and again.tags == ("mentor", "im") and again.next_followup_on == NOW.date()
    await store.add_interaction(uid, c.id, "emailed", date(2026, 11, 23), "sent CV", NOW)
    assert await store.interactions(c.id) == [("emailed", date(2026, 11, 23), "sent CV")]
    assert await store.count_interactions(uid, ("emailed", "met"), date(2026, 11, 1), date(2026, 12, 1)) == 1
    assert await store.count_new_contacts(uid, NOW - timedelta(hours=1), NOW + timedelta(hours=1)) == 1
    await store.set_goal(uid, GoalTarget("emails", "month", 8))
    await store.set_goal(uid, GoalTarget("emails", "month", 10))
    assert await store.goals(uid) == [GoalTarget("emails", "month", 10)]
    assert [x.name for x in await store.find_contacts(uid, "maya")] == ["Dr Maya Lee"]
    assert [x.name for x in await store.find_contacts(uid, "50%_off")] == []  # LIKE wildcards are escaped
    assert await store.find_contacts(uid, "maya", exact=True) == []  # a word of the name is not the name
    assert [x.name for x in await store.find_contacts(uid, "dr  MAYA lee", exact=True)] == ["Dr Maya Lee"]


async def test_the_same_account_name_on_two_platforms_or_workspaces_is_two_people(stores: list[SQLStore]) -> None:
    store = stores[0]
    refs = [UserRef("console", "u1"), UserRef("discord", "u1"), UserRef("slack", "T1:u1"), UserRef("slack", "T2:u1")]
    ids = [await store.ensure_user(r, NOW) for r in refs]
    assert len(set(ids)) == 4
    await store.add_contact(_contact(ids[0], "Dr Private Person"), NOW)
    assert await store.all_contacts(ids[1]) == []
    assert await store.contact_by_number(ids[2], 1) is None


async def test_deleting_a_user_removes_everything_they_stored(stores: list[SQLStore]) -> None:
    store = stores[0]
    uid = await _user(store, "leaving")
    keep = await _user(store, "staying")
    c = await store.add_contact(_contact(uid), NOW)
    await store.add_interaction(uid, c.id, "met", date(2026, 11, 22), None, NOW)
    await store.set_goal(uid, GoalTarget("emails", "month", 3))
    await store.put_nudge(uid, NudgeKind.FOLLOWUP, str(c.id), NOW, NOW)
    await store.add_notice(uid, "hello", NOW)
    await store.set_dm_channel(UserRef("console", "leaving"), "D1", NOW)
    await store.add_contact(_contact(keep), NOW)
    await store.delete_user_data(uid)
    for table in ("profiles", "contacts", "interactions", "goals", "nudges", "notices", "dm_channels"):
        row = await store.db.one(f"SELECT COUNT(*) FROM {table} WHERE user_id = ?", (uid,))
        assert row is not None and row[0] == 0, table
    assert len(await store.all_contacts(keep)) == 1


# ------------------------------------------------------------------ race-free primitives


async def test_ensure_user_from_many_instances_at_once_makes_one_user(stores: list[SQLStore]) -> None:
    ref = UserRef("discord", "4242", "amal")
    ids = await asyncio.gather(*(s.ensure_user(ref, NOW) for s in stores * 5))
    assert len(set(ids)) == 1
    row = await stores[0].db.one("SELECT COUNT(*) FROM users WHERE account = ?", ("4242",))
    assert row is not None and row[0] == 1


async def test_contact_numbers_are_unique_when_instances_add_at_once(stores: list[SQLStore]) -> None:
    uid = await _user(stores[0])
    added = await asyncio.gather(*(s.add_contact(_contact(uid, f"Dr {i}"), NOW) for i, s in enumerate(stores * 6)))
    assert sorted(c.number for c in added) == list(range(1, 19))
    # a deleted number is never handed out again (old buttons and links cannot hit a new contact)
    top = max(added, key=lambda c: c.number)
    await stores[0].delete_contact(uid, top.id)
    assert (await stores[1].add_contact(_contact(uid, "Dr New"), NOW)).number == 19


async def test_each_notice_is_taken_by_exactly_one_caller(stores: list[SQLStore]) -> None:
    uid = await _user(stores[0])
    for i in range(5):
        await stores[0].add_notice(uid, f"notice {i}", NOW)
    taken = await asyncio.gather(*(s.take_notices(uid) for s in stores * 3))
    flat = [m for batch in taken for m in batch]
    assert sorted(flat) == [f"notice {i}" for i in range(5)]
    assert [b for b in taken if b] == [[f"notice {i}" for i in range(5)]]  # in order, all in one batch


async def test_a_nudge_is_acted_on_once_even_when_pressed_on_every_instance(stores: list[SQLStore]) -> None:
    uid = await _user(stores[0])
    await stores[0].put_nudge(uid, NudgeKind.FOLLOWUP, "7", NOW, NOW)
    (n,) = await stores[0].open_nudges(uid)
    other = await _user(stores[0], "stranger")
    assert not await stores[0].act_once(other, n.id)  # not theirs
    results = await asyncio.gather(*(s.act_once(uid, n.id) for s in stores * 3))
    assert results.count(True) == 1


# ------------------------------------------------------------------ leased delivery


async def _due_rows(store: SQLStore, users: int, per_user: int) -> list[int]:
    uids = []
    for u in range(users):
        uid = await store.ensure_user(UserRef("test", f"u{u}"), NOW)
        uids.append(uid)
        for k in range(per_user):
            await store.put_nudge(uid, NudgeKind.FOLLOWUP, str(k), NOW - timedelta(minutes=k), NOW)
    return uids


async def test_instances_claiming_at_once_take_disjoint_work_and_whole_users(stores: list[SQLStore]) -> None:
    await _due_rows(stores[0], users=30, per_user=3)
    claims = await asyncio.gather(
        *(s.claim_due(f"i{i}", f"tok{i}", NOW, NOW + LEASE, 50, ["test"]) for i, s in enumerate(stores))
    )
    ids = [n.id for c in claims for n in c]
    assert len(ids) == len(set(ids)) == 90  # everything claimed once
    owner_of_user: dict[int, int] = {}
    for i, c in enumerate(claims):
        for n in c:
            assert owner_of_user.setdefault(n.user_id, i) == i  # one user's rows go to one instance
            assert n.status == "sending" and n.digest == f"tok{i}-{n.user_id}"
    assert await stores[0].claim_due("late", "tok9", NOW, NOW + LEASE, 50, ["test"]) == []


async def test_claims_skip_work_that_is_not_due_or_on_a_platform_this_instance_lacks(stores: list[SQLStore]) -> None:
    store = stores[0]
    uid = await _user(store)
    await store.put_nudge(uid, NudgeKind.FOLLOWUP, "1", NOW, NOW + timedelta(minutes=5))
    await store.put_nudge(uid, NudgeKind.FOLLOWUP, "2", NOW, NOW)
    assert await store.claim_due("a", "t", NOW, NOW + LEASE, 10, ["discord"]) == []
    assert await store.next_delivery(["discord"]) is None
    assert await store.next_delivery(["console"]) == NOW
    (claimed,) = await store.claim_due("a", "t", NOW, NOW + LEASE, 10, ["console"])
    assert claimed.ref == "2"
    assert await store.next_delivery() == NOW + timedelta(minutes=5)
    assert await store.next_lease_expiry(["console"]) == NOW + LEASE


async def test_a_live_lease_is_never_taken_over_and_an_expired_one_keeps_its_digest(stores: list[SQLStore]) -> None:
    a, b, _ = stores
    await _due_rows(a, users=2, per_user=2)
    claimed = await a.claim_due("a", "tokA", NOW, NOW + LEASE, 10, ["test"])
    assert len(claimed) == 4
    assert await b.take_over("b", NOW + LEASE - timedelta(seconds=1), NOW + 2 * LEASE, 10, ["test"]) == []
    await a.renew_leases("a", NOW + 2 * LEASE)  # a is alive: its lease moves on
    assert await b.take_over("b", NOW + LEASE + timedelta(seconds=1), NOW + 3 * LEASE, 10, ["test"]) == []
    later = NOW + 2 * LEASE + timedelta(seconds=1)  # a stopped renewing: now it is b's
    taken = await b.take_over("b", later, later + LEASE, 10, ["test"])
    assert sorted(n.id for n in taken) == sorted(n.id for n in claimed)
    assert {n.digest for n in taken} == {n.digest for n in claimed}  # same nonce when sent again
    # an instance restarting under its own name takes its own claims back at once
    assert await a.take_over("b", later, later + LEASE, 10, ["test"], own=True) != []


async def test_steps_guarded_by_the_owner_leave_a_peers_taken_over_rows_alone(stores: list[SQLStore]) -> None:
    """a's lease ran out and b took its two digests over: a's owner-guarded mark, release, skip
    and retry change none of b's rows, and a's batched mark says which digests it found gone."""
    a, b, _ = stores
    await _due_rows(a, users=3, per_user=2)
    claimed = await a.claim_due("a", "tokA", NOW, NOW + LEASE, 10, ["test"])
    d1, d2, d3 = sorted({n.digest or "" for n in claimed})
    later = NOW + LEASE + timedelta(seconds=1)
    await a.mark_sent_many([(d3, NOW)], owner="a")  # d3 was marked in time
    taken = await b.take_over("b", later, later + LEASE, 10, ["test"])
    assert {n.digest for n in taken} == {d1, d2}

    assert await a.mark_sent_many([(d1, later), (d3, later)], owner="a") == set()
    await a.mark_sent(d1, later, owner="a")
    await a.release(d2, later, owner="a")
    await a.release(d2, later, [n.id for n in claimed if n.digest == d2], owner="a")
    await a.mark_skipped(d2, [n.id for n in claimed if n.digest == d2], later, owner="a")
    await a.mark_retry(d2, "HTTP 503", later, owner="a")
    await a.mark_retry(d1, "HTTP 403", None, owner="a")
    rows = await a.db.all("SELECT digest, status, lease_owner FROM nudges ORDER BY id")
    assert sorted(set(rows)) == [(d1, "sending", "b"), (d2, "sending", "b"), (d3, "sent", None)]

    assert await b.mark_sent_many([(d1, later), (d2, later)], owner="b") == {d1, d2}
    assert await a.nudge_counts() == {"sent": 6}


async def test_each_step_after_a_claim_is_guarded_by_its_digest(stores: list[SQLStore]) -> None:
    store = stores[0]
    uid = await _user(store)
    await store.put_nudge(uid, NudgeKind.FOLLOWUP, "1", NOW, NOW)
    await store.put_nudge(uid, NudgeKind.FOLLOWUP, "2", NOW, NOW)
    claimed = await store.claim_due("a", "tok", NOW, NOW + LEASE, 10, ["console"])
    digest = claimed[0].digest
    assert digest is not None
    # follow-up 2 is re-planned while the digest is in flight: it is a new nudge, still owed
    await store.put_nudge(uid, NudgeKind.FOLLOWUP, "2", NOW + timedelta(days=1), NOW + timedelta(days=1))
    await store.mark_sent("some-other-digest", NOW)
    await store.mark_sent(digest, NOW)
    statuses = {n.ref: n.status for n in await store.open_nudges(uid)}
    assert statuses == {"2": "pending"}
    counts = await store.nudge_counts()
    assert counts == {"sent": 1, "pending": 1}

    await store.put_nudge(uid, NudgeKind.FOLLOWUP, "3", NOW, NOW)
    (c3,) = await store.claim_due("a", "tok2", NOW, NOW + LEASE, 10, ["console"])
    await store.mark_retry(c3.digest or "", "HTTP 503", NOW + timedelta(minutes=2))
    (retried,) = [n for n in await store.open_nudges(uid) if n.ref == "3"]
    assert (retried.status, retried.attempts, retried.last_error) == ("pending", 1, "HTTP 503")
    assert retried.deliver_at == NOW + timedelta(minutes=2) and retried.digest is None

    (c3b,) = await store.claim_due("a", "tok3", NOW + timedelta(minutes=2), NOW + LEASE, 10, ["console"])
    await store.release(c3b.digest or "", NOW + timedelta(hours=8))  # quiet hours: hand it back
    (released,) = [n for n in await store.open_nudges(uid) if n.ref == "3"]
    assert (released.status, released.deliver_at) == ("pending", NOW + timedelta(hours=8))


async def test_sent_marks_for_a_whole_claim_are_one_call_and_each_row_stays_guarded(stores: list[SQLStore]) -> None:
    a, b, _ = stores
    uids = await _due_rows(a, users=3, per_user=2)
    claimed = await a.claim_due("a", "tok", NOW, NOW + LEASE, 10, ["test"])
    digests = sorted({n.digest or "" for n in claimed})
    assert len(digests) == 3
    # one row of the first user is re-planned in flight; the second user's digest was taken over
    await a.put_nudge(uids[0], NudgeKind.FOLLOWUP, "1", NOW + timedelta(days=1), NOW + timedelta(days=1))
    await a.db.execute("UPDATE nudges SET lease_until = ? WHERE user_id = ?", (NOW - LEASE, uids[1]))
    taken = await b.take_over("b", NOW, NOW + LEASE, 10, ["test"])
    assert {n.user_id for n in taken} == {uids[1]}
    sent_at = [NOW + timedelta(seconds=k) for k in range(3)]
    await a.mark_sent_many([*zip(digests, sent_at, strict=True), ("no-such-digest", NOW)])
    by_user = {uid: sorted((n.ref, n.status) for n in await a.user_nudges(uid)) for uid in uids}
    # the mark is guarded by digest and status only: a taken-over digest keeps its id, so the
    # first sender that finishes records it (the peer's re-send carries the same nonce)
    assert by_user[uids[0]] == [("0", "sent"), ("1", "pending")]
    assert by_user[uids[1]] == [("0", "sent"), ("1", "sent")]
    assert by_user[uids[2]] == [("0", "sent"), ("1", "sent")]
    rows = await a.db.all("SELECT digest, sent_at FROM nudges WHERE status = 'sent' ORDER BY digest")
    assert {(r[0], as_dt(r[1])) for r in rows} == {(d, t) for d, t in zip(digests, sent_at, strict=True)}
    await a.mark_sent_many([])


async def test_delivery_reads_several_users_profiles_and_contacts_in_one_call(stores: list[SQLStore]) -> None:
    store = stores[0]
    amal, ben = await _user(store, "amal"), await _user(store, "ben")
    await store.save_profile(Profile(user_id=amal, name="Dr Amal Hassan", timezone="Africa/Cairo"), NOW)
    maya = await store.add_contact(_contact(amal), NOW)
    omar = await store.add_contact(_contact(ben, "Dr Omar Said"), NOW)
    refs = await store.user_refs([amal, ben, 999_999])
    assert refs == {amal: UserRef("console", "amal", "amal"), ben: UserRef("console", "ben", "ben")}
    profiles = await store.get_profiles([amal, ben])
    assert profiles[amal] == await store.get_profile(amal)
    assert profiles[amal].timezone == "Africa/Cairo"
    assert profiles[ben] == Profile(user_id=ben)  # no profile row yet: the default, as get_profile gives
    contacts = await store.contacts_by_ids([maya.id, omar.id, 999_999])
    assert contacts == {maya.id: await store.get_contact(amal, maya.id), omar.id: await store.get_contact(ben, omar.id)}
    assert await store.user_refs([]) == {} and await store.get_profiles([]) == {}
    assert await store.contacts_by_ids([]) == {}


async def test_a_dead_instances_large_claim_is_taken_over_in_bounded_batches_of_whole_digests(
    stores: list[SQLStore],
) -> None:
    """10,000 rows held by a dead instance: each take_over takes at most ``digests`` whole digests,
    peers taking over at once never share a row, and rounds of them take everything exactly once."""
    a, b, c = stores
    users, per_user, batch = 2000, 5, 300
    await a.db.many(
        "INSERT INTO users (platform, account, display_name, created_at) VALUES (?, ?, ?, ?)",
        [("test", f"u{k}", f"u{k}", NOW) for k in range(users)],
    )
    await a.db.execute(
        "INSERT INTO nudges (user_id, kind, ref, due_at, deliver_at, status, digest, lease_owner, lease_until)"
        " SELECT u.id, 'followup', CAST(k.n AS TEXT), ?, ?, 'sending', 'dead-' || CAST(u.id AS TEXT), 'dead', ?"
        " FROM users u CROSS JOIN (SELECT 1 AS n UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4"
        " UNION ALL SELECT 5) k",
        (NOW, NOW, NOW - timedelta(seconds=1)),
    )
    assert (await a.nudge_counts()) == {"sending": users * per_user}
    seen: dict[int, str] = {}
    rounds = 0
    while True:
        rounds += 1
        assert rounds <= 20
        got = await asyncio.gather(
            b.take_over("b", NOW, NOW + LEASE, batch, ["test"]), c.take_over("c", NOW, NOW + LEASE, batch, ["test"])
        )
        if not any(got):
            break
        for owner, rows in zip(("b", "c"), got, strict=True):
            digests = {n.digest for n in rows}
            assert len(digests) <= batch  # bounded: at most one batch of digests per call
            assert len(rows) == per_user * len(digests)  # and every digest whole
            for n in rows:
                assert n.id not in seen  # never taken twice, even by peers at the same moment
                seen[n.id] = owner
        # what b and c took now has a live lease of theirs: the next round leaves it alone
    assert len(seen) == users * per_user
    assert rounds - 1 >= users // (2 * batch)  # it took several bounded rounds, not one huge statement
    owners = await a.db.all("SELECT lease_owner, COUNT(*) FROM nudges GROUP BY lease_owner")
    assert {r[0] for r in owners} <= {"b", "c"}


async def test_shutting_down_hands_back_only_this_instances_claims(stores: list[SQLStore]) -> None:
    a, b, _ = stores
    await _due_rows(a, users=4, per_user=1)
    ca = await a.claim_due("a", "ta", NOW, NOW + LEASE, 2, ["test"])
    cb = await b.claim_due("b", "tb", NOW, NOW + LEASE, 2, ["test"])
    assert len(ca) == len(cb) == 2
    assert await a.release_owner("a") == 2
    counts = await a.nudge_counts()
    assert counts == {"pending": 2, "sending": 2}


async def test_an_account_filter_claims_takes_over_and_times_only_that_users_work(stores: list[SQLStore]) -> None:
    """A console session serves one user: it must neither see nor take another user's nudges."""
    a, b, _ = stores
    amal = await _user(a, "amal")
    ben = await _user(a, "ben")
    await a.put_nudge(amal, NudgeKind.FOLLOWUP, "1", NOW, NOW - timedelta(minutes=1))
    await a.put_nudge(ben, NudgeKind.FOLLOWUP, "2", NOW, NOW)
    assert await a.next_delivery(["console"], account="ben") == NOW
    assert await a.next_delivery(["console"], account="nobody") is None
    assert await a.claim_due("b", "tb", NOW, NOW + LEASE, 10, ["console"], account="nobody") == []
    (mine,) = await b.claim_due("b", "tb", NOW, NOW + LEASE, 10, ["console"], account="ben")
    assert mine.user_id == ben
    assert await a.next_delivery(["console"], account="ben") is None
    assert await a.next_delivery(["console"], account="amal") == NOW - timedelta(minutes=1)
    (theirs,) = await a.claim_due("a", "ta", NOW, NOW + 2 * LEASE, 10, ["console"], account="amal")
    assert theirs.user_id == amal
    assert await a.next_lease_expiry(["console"], account="ben") == NOW + LEASE
    assert await a.next_lease_expiry(["console"], account="amal") == NOW + 2 * LEASE
    later = NOW + 3 * LEASE  # both leases ran out: each session takes back only its own user's digest
    (taken,) = await b.take_over("b", later, later + LEASE, 10, ["console"], account="ben")
    assert taken.id == mine.id and taken.digest == mine.digest
    assert await b.take_over("b", later, later + LEASE, 10, ["console"], account="ben") == []
    (back,) = await a.take_over("a", later, later + LEASE, 10, ["console"], account="amal")
    assert back.id == theirs.id
