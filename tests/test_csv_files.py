"""CSV files: encodings detected from the bytes, formula cells neutralised yet round-tripped,
one clear line for each limit, and an import that is all or nothing even under SIGKILL."""

from __future__ import annotations

import csv
import io
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.csvio import FORMULA_STARTS, MAX_ROWS, export_csv, parse_csv
from bot.core.errors import UsageError
from bot.core.models import Contact
from tests.helpers import Transcript, make_app
from tests.test_cli_and_settings import ROOT, imgbot

_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")
NAMES = "name,role,institution,notes\n"
ROW = "José Müller,attending,São Paulo – Hospital das Clínicas,café “chat” at the booth\n"


@pytest.mark.parametrize(
    "encoding",
    ["utf-8", "utf-8-sig", "utf-16", "utf-16-le-bom", "utf-16-be-bom", "cp1252", "latin-1"],
)
async def test_each_accepted_encoding_is_read_from_the_bytes(
    console: Transcript, tmp_path: Path, encoding: str
) -> None:
    text = NAMES + (ROW if encoding != "latin-1" else ROW.replace("–", "-").replace("“", '"').replace("”", '"'))
    if encoding.endswith("-bom"):
        data = "\ufeff".encode(encoding[:9]) + text.encode(encoding[:9])
    else:
        data = text.encode(encoding)
    f = tmp_path / "in.csv"
    f.write_bytes(data)
    out = await console.say(f"/contact import {f}")
    assert "Imported 1 contact(s)" in out, out
    shown = await console.say("/contact show #1")
    assert "José Müller" in shown and "São Paulo" in shown and "café" in shown, shown
    if encoding not in ("latin-1",):
        assert "“chat”" in shown and "São Paulo – Hospital" in shown


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ((NAMES + "Dr A,peer,,\n").encode("utf-16-le"), "not UTF-8, UTF-16 or Latin-1 text"),  # no BOM
        ((NAMES + "Dr A,peer,,\n").encode("utf-32"), "that file is UTF-32 text"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "not UTF-8, UTF-16 or Latin-1 text"),
        (b"PK\x03\x04\x14\x00\x06\x00\x08\x00", "not UTF-8, UTF-16 or Latin-1 text"),  # an .xlsx
        (NAMES.encode() + b"Dr \x81\x8d,peer,,\n", "not UTF-8, UTF-16 or Latin-1 text"),  # no character in cp1252
        (NAMES.encode() + b"Dr \x00\xff,peer,,\n", "not UTF-8, UTF-16 or Latin-1 text"),  # NUL: binary
        (b"\r\x01", "could not read that CSV's header row"),  # found by the fuzz test below: was an apology
    ],
)
async def test_other_bytes_get_one_clear_refusal_and_change_nothing(
    console: Transcript, tmp_path: Path, data: bytes, message: str
) -> None:
    await console.say('/contact add "Dr Keep"')
    f = tmp_path / "in.csv"
    f.write_bytes(data)
    out = await console.say(f"/contact import {f}")
    assert message in out and out.count("\n") == 1, out
    assert "Contacts (all): 1" in await console.say("/contact list")


async def test_a_control_character_in_a_utf8_cell_rejects_that_row_only(console: Transcript, tmp_path: Path) -> None:
    f = tmp_path / "in.csv"
    f.write_text(NAMES + "Dr \x1b[31mRed,peer,,\nDr Fine,peer,,\n", encoding="utf-8")
    out = await console.say(f"/contact import {f}")
    assert "Imported 1 contact(s)" in out and "row 2: 'name' contains a control character (U+001B)" in out, out


async def test_too_many_rows_is_one_line_and_nothing_is_imported(console: Transcript, tmp_path: Path) -> None:
    f = tmp_path / "rows.csv"
    f.write_text("name\n" + "".join(f"Dr {i}\n" for i in range(MAX_ROWS + 1)), encoding="utf-8")
    out = await console.say(f"/contact import {f}")
    assert out == f"that file has more than {MAX_ROWS:,} rows, the limit; split it and import each part\n", out
    assert "Contacts (all): 0" in await console.say("/contact list")


async def test_the_size_limit_is_one_line(console: Transcript, tmp_path: Path) -> None:
    f = tmp_path / "big.csv"
    f.write_bytes(b"name\n" + b"Dr A\n" * 500_000)
    out = await console.say(f"/contact import {f}")
    assert out == "that file is 2,500,005 bytes; the limit is 2,000,000\n", out


TRICKY = [
    '=HYPERLINK("http://x")',
    "+1 555 0100",
    "-2+3",
    "@SUM(A1:A2)",
    "'=already quoted",
    "'90s alumni",
    "''",
    "plain",
]


async def test_formula_cells_are_neutralised_and_come_back_unchanged(console: Transcript, tmp_path: Path) -> None:
    console.front.attachments_dir = tmp_path
    for i, value in enumerate(TRICKY):
        out = await console.say(f'/contact add "{value} {i}" institution:"{value}" how_met:email tags:t{i}')
        assert "Added" in out, out
    assert "Added" in await console.say('/contact add "Dr Notes" notes:"=1+1, first line\nsecond line, a comma"')
    assert "Added" in await console.say('/contact add "Dr Tab"')
    app = console.app
    uid = await app.store.ensure_user(console.front.user, app.clock.now())
    (tab,) = [c for c in await app.store.all_contacts(uid) if c.name == "Dr Tab"]
    await app.store.update_contact(replace(tab, notes="\tstarts with a tab"))
    await console.say("/contact export")
    (first,) = tmp_path.glob("imgbot-contacts-*.csv")
    exported = first.read_bytes()
    assert b'"\'=1+1, first line\nsecond line, a comma"' in exported and b"'\tstarts with a tab" in exported
    for row in csv.reader(io.StringIO(exported.decode("utf-8-sig"))):
        for cell in row:
            assert cell[:1] not in FORMULA_STARTS, cell  # no spreadsheet runs any of them

    other = Transcript(await make_app(tmp_path / "other.db"), "someone-else")
    other.front.attachments_dir = tmp_path / "again"
    other.front.attachments_dir.mkdir()
    out = await other.say(f"/contact import {first}")
    assert f"Imported {len(TRICKY) + 2} contact(s)" in out and "Rejected" not in out, out
    await other.say("/contact export")
    (second,) = other.front.attachments_dir.glob("imgbot-contacts-*.csv")
    assert second.read_bytes() == exported  # every name, institution, tag and note came back as it was


# ---------------------------------------------------------------- SIGKILL mid-import

ROWS = 1500


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMGBOT_", "DISCORD_", "SLACK_"))}
    env["IMGBOT_MAX_CONTACTS"] = "10000"
    return env


def _contacts(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return int(conn.execute("SELECT COUNT(*) FROM contacts").fetchone()[0])


def _writing(db: Path) -> bool:
    """Whether another connection holds the write lock (the import's transaction is open)."""
    conn = sqlite3.connect(db, timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc) or "busy" in str(exc), exc
        return True
    finally:
        conn.close()


def test_sigkill_in_the_middle_of_an_import_leaves_nothing_of_it(tmp_path: Path) -> None:
    db = tmp_path / "me.db"
    big = tmp_path / "big.csv"
    rows = [f"Dr Row {i},peer,Inst {i},conference,2026-10-01,2026-10-05\n" for i in range(ROWS)]
    big.write_text("name,role,institution,how_met,met_on,last_contact\n" + "".join(rows), encoding="utf-8")
    seeded = imgbot(["console", "--db", str(db)], '/contact add "Dr Keep" how_met:conference met_on:today\n')
    assert "Added #1 Dr Keep" in seeded.stdout, seeded.stderr

    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "console", "--db", str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=_env(),
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("/contact list\n")
    proc.stdin.flush()
    assert proc.stdout.readline().startswith("Contacts (all): 1")  # started, and idle
    proc.stdin.write(f"/contact import {big}\n")
    proc.stdin.flush()
    deadline = time.monotonic() + 30
    held_since = None
    while time.monotonic() < deadline:
        if _writing(db):
            held_since = held_since or time.monotonic()
            if time.monotonic() - held_since > 0.5:  # well into the import's one transaction
                break
        time.sleep(0.02)
    assert held_since is not None, "the import never started writing"
    proc.send_signal(signal.SIGKILL)
    out, _ = proc.communicate(timeout=10)
    assert "Imported" not in out, "the import finished before the kill: make ROWS larger"
    assert proc.returncode == -signal.SIGKILL

    assert _contacts(db) == 1  # nothing of the killed import, everything from before it
    again = imgbot(["console", "--db", str(db)], f"/contact import {big}\n/contact list\n", env=_env())
    assert f"Imported {ROWS} contact(s)" in again.stdout, again.stdout + again.stderr
    assert _contacts(db) == ROWS + 1


# ---------------------------------------------------------------- hostile bytes and round trips, fuzzed

CSV_PIECES = [
    "name",
    "role",
    "notes",
    "met_on",
    "last_contact",
    "email",
    "tags",
    "state",
    ",",
    '"',
    "'",
    "\n",
    "\r\n",
    "\r",
    "=",
    "@",
    "\t",
    "Dr A",
    "peer",
    "2026-13-40",
    "yesterday",
    "a@b",
    "\ufeff",
    "\x00",
    "é",
    "\udcff",
]


@settings(max_examples=400, deadline=None, derandomize=True, database=None)
@given(
    data=st.one_of(
        st.binary(max_size=300),
        st.lists(st.sampled_from(CSV_PIECES), max_size=40).map(
            lambda parts: "".join(parts).encode("utf-8", "surrogatepass")
        ),
        st.lists(st.sampled_from(CSV_PIECES[:-2]), max_size=40).map(lambda p: "".join(p).encode("utf-16")),
    )
)
def test_any_bytes_parse_to_rows_and_rejections_or_one_usage_message(data: bytes) -> None:
    try:
        parsed = parse_csv(data, date(2026, 11, 23))
    except UsageError as exc:
        assert exc.message and "\n" not in exc.message
        return
    for _row_no, contact in parsed.rows:  # what would be stored is storable text
        for value in (contact.name, contact.notes or "", contact.institution or "", contact.specialty or ""):
            value.encode("utf-8")
            assert "\x00" not in value
    for _row_no, why in parsed.rejected:
        assert why and "\n" not in why


cell_text = (
    st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=30)
    .map(str.strip)
    .filter(bool)
)


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(names=st.lists(cell_text, min_size=1, max_size=5), notes=st.lists(st.text(max_size=40), max_size=5))
def test_export_then_import_gives_back_every_name_and_note(names: list[str], notes: list[str]) -> None:
    today = date(2026, 11, 23)
    contacts = []
    for i, name in enumerate(names):
        note = notes[i] if i < len(notes) else None
        note = (
            note.strip()
            if note is not None and not _CONTROLS.search(note.replace("\t", "").replace("\n", ""))
            else None
        )
        contacts.append(
            Contact(id=i + 1, user_id=1, number=i + 1, name=name, role="peer", how_met="email", notes=note or None)
        )
    parsed = parse_csv(export_csv(contacts), today)
    got = [(c.name, c.notes) for _n, c in parsed.rows]
    want = [(c.name, c.notes) for c in contacts]
    assert (got, parsed.rejected) == (want, []) or any(",".join(["x"] * 13) in (c.notes or "") for c in contacts)
