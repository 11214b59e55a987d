"""Faults of the SQLite file itself, with real files and processes: read-only, deleted while running,
full, corrupt, locked by another process. Each is one clear line, never a traceback or an apology
with a reference, and nothing already written is lost."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import Transcript, make_app
from tests.test_cli_and_settings import imgbot

APOLOGY = "Something went wrong"


def _seed(db: Path, contacts: int = 3) -> None:
    lines = "".join(
        f'/contact add "Dr Kept {i}" how_met:conference met_on:today notes:"note {i}"\n' for i in range(contacts)
    )
    res = imgbot(["console", "--db", str(db)], lines)
    assert res.returncode == 0 and res.stdout.count("Added #") == contacts, res.stdout + res.stderr


def _names(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [r[0] for r in conn.execute("SELECT name FROM contacts ORDER BY id")]


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[None]:
    """Make ``path`` unwritable even for root: the immutable flag as root, else the mode bits."""
    if os.geteuid() == 0:
        if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(path)]).returncode != 0:
            pytest.skip("running as root without chattr +i: a read-only file cannot be made")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        return
    path.chmod(0o444)
    try:
        yield
    finally:
        path.chmod(0o644)


def test_a_read_only_database_file_is_one_line_at_start_and_loses_nothing(tmp_path: Path) -> None:
    db = tmp_path / "ro.db"
    _seed(db)
    before = db.read_bytes()
    with read_only(db):
        res = imgbot(["console", "--db", str(db)], '/contact add "Dr New"\n/contact list\n')
    assert res.returncode == 2 and res.stdout == "", res.stdout
    assert res.stderr.startswith("imgbot: ") and res.stderr.count("\n") == 1, res.stderr
    assert f"the database file {db} is read-only" in res.stderr and "make it writable" in res.stderr
    assert db.read_bytes() == before
    assert _names(db) == ["Dr Kept 0", "Dr Kept 1", "Dr Kept 2"]


def test_a_file_that_is_no_database_is_one_line_and_left_as_it_was(tmp_path: Path) -> None:
    db = tmp_path / "notes.db"
    db.write_bytes(b"my shopping list\n" * 400)
    res = imgbot(["console", "--db", str(db)], "/contact list\n")
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr == f"imgbot: IMGBOT_DATABASE_URL: cannot open the database at {db}: file is not a database\n"
    assert db.read_bytes() == b"my shopping list\n" * 400


def test_a_database_damaged_inside_gives_one_line_per_command_and_no_traceback(tmp_path: Path) -> None:
    db = tmp_path / "hurt.db"
    _seed(db, contacts=60)
    with sqlite3.connect(db) as conn:
        page = conn.execute("PRAGMA page_size").fetchone()[0]
        (root,) = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'contacts'").fetchone()
    with db.open("r+b") as f:  # scribble over the contacts table's first page
        f.seek((root - 1) * page)
        f.write(b"\xa5" * page)
    res = imgbot(["console", "--db", str(db)], "/contact list\n/contact show #1\n/profile show\n")
    out = res.stdout + res.stderr
    assert APOLOGY not in out and "Traceback" not in out, out
    damaged = [line for line in out.splitlines() if "is damaged" in line]
    assert damaged and all(f"the database file {db} is damaged" in d for d in damaged), out
    assert all("restore it from a backup" in d for d in damaged)


async def test_a_full_disk_refuses_the_change_in_one_line_and_keeps_what_was_there(
    console: Transcript, tmp_path: Path
) -> None:
    for i in range(5):
        await console.say(f'/contact add "Dr Before {i}" how_met:conference met_on:today')
    db = console.app.store.db  # type: ignore[attr-defined]
    pages = (await db.one("PRAGMA page_count"))[0]
    for conn in db._all_conns:  # SQLite's own size cap: the file cannot grow, as on a full disk
        await conn.raw.execute(f"PRAGMA max_page_count = {pages}")

    rows = "".join(f"Dr Bulk {i},peer,Institution {i},email,,{'x' * 400}\n" for i in range(300))
    big = tmp_path / "bulk.csv"
    big.write_text("name,role,institution,how_met,met_on,notes\n" + rows, encoding="utf-8")
    out = await console.say(f"/contact import {big}")
    assert out.startswith("the disk holding the database") and "is full, nothing was changed" in out, out
    assert out.count("\n") == 1 and APOLOGY not in out
    listed = await console.say("/contact list")
    assert "Contacts (all): 5" in listed and "Dr Bulk" not in listed  # all or nothing: nothing

    for conn in db._all_conns:  # room again
        await conn.raw.execute("PRAGMA max_page_count = 1073741823")
    assert "Imported 300 contact(s)" in await console.say(f"/contact import {big}")
    assert "Contacts (all): 305" in await console.say("/contact list")


LOCKER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
conn.execute("CREATE TABLE IF NOT EXISTS held_by_other_program (x)")
print("LOCKED", flush=True)
sys.stdin.read()  # hold the lock until the test closes our stdin
conn.execute("ROLLBACK")
"""


async def test_a_database_locked_by_another_process_is_one_line_and_works_once_released(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    app = await make_app(db)
    me = Transcript(app)
    await me.say('/contact add "Dr Before"')
    locker = subprocess.Popen(  # noqa: ASYNC220 (a second program, started once)
        [sys.executable, "-c", LOCKER, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert locker.stdout is not None and locker.stdout.readline() == "LOCKED\n"
        out = await me.say('/contact add "Dr During"')  # waits out the busy timeout, then says why
        assert (
            out == f"the database {db} is locked by another program, nothing was changed; try again once it lets go\n"
        )
        assert "Dr Before" in await me.say("/contact list")  # reading still works meanwhile
    finally:
        locker.communicate("", timeout=10)
    assert "Added #2 Dr During" in await me.say('/contact add "Dr During"')
    assert _names(db) == ["Dr Before", "Dr During"]


async def test_a_database_deleted_while_running_is_written_back_with_everything_in_it(tmp_path: Path) -> None:
    db = tmp_path / "gone.db"
    app = await make_app(db)
    me = Transcript(app)
    for i in range(3):
        await me.say(f'/contact add "Dr Kept {i}" how_met:conference met_on:today')
    db.unlink()  # someone cleans up the directory while the bot runs (its -wal and -shm stay)
    out = await me.say('/contact add "Dr After"')
    assert out == (
        f"the database file {db} was deleted while imgbot was running; it has been written back with "
        "everything stored until now: restart imgbot to go on\n"
    ), out
    assert "restart imgbot" in await me.say("/contact list")  # nothing more goes to the deleted file
    assert db.exists()
    assert _names(db) == ["Dr Kept 0", "Dr Kept 1", "Dr Kept 2"]
    res = imgbot(["console", "--db", str(db), "--user", "amal"], '/contact add "Dr After"\n/contact list\n')
    assert "Added #4 Dr After" in res.stdout and "Contacts (all): 4" in res.stdout, res.stdout + res.stderr


async def test_a_database_replaced_while_running_is_left_to_the_new_file(tmp_path: Path) -> None:
    db = tmp_path / "swapped.db"
    app = await make_app(db)
    me = Transcript(app)
    await me.say('/contact add "Dr Old"')
    other = tmp_path / "backup.db"
    _seed(other, contacts=1)
    restored = other.read_bytes()
    os.replace(other, db)  # an operator restores a backup over it without stopping the bot
    out = await me.say('/contact add "Dr Lost?"')
    assert out == (
        f"the database file {db} was replaced while imgbot was running; nothing more is written to the old one:"
        " restart imgbot to use the new file\n"
    ), out
    assert db.read_bytes() == restored  # the new file is untouched


def test_a_database_locked_by_another_process_at_start_is_one_line(tmp_path: Path) -> None:
    db = tmp_path / "busy.db"
    _seed(db, contacts=1)
    locker = subprocess.Popen(
        [sys.executable, "-c", LOCKER, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert locker.stdout is not None and locker.stdout.readline() == "LOCKED\n"
        res = imgbot(["console", "--db", str(db)], "/contact list\n")
    finally:
        locker.communicate("", timeout=10)
    assert res.returncode == 2 and res.stdout == "" and res.stderr.count("\n") == 1, res.stderr
    assert f"the database {db} is locked by another program, nothing was changed" in res.stderr
    assert _names(db) == ["Dr Kept 0"]
