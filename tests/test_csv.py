"""CSV export and import."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import Transcript, make_app


async def test_round_trip_and_reimport_makes_no_duplicates(console: Transcript, tmp_path: Path) -> None:
    console.front.attachments_dir = tmp_path
    await console.say(
        '/contact add "Dr Maya Lee" role:attending specialty:psych institution:"Mass General" '
        "email:maya@example.org how_met:conference met_on:2026-11-20 tags:mentor,research "
        'notes:"talked about CL psychiatry, she said: email in Jan"'
    )
    await console.say('/contact add "=HYPERLINK(1)" how_met:linkedin')
    out = await console.say("/contact export")
    assert "2 contacts exported" in out
    (csv_file,) = tmp_path.glob("imgbot-contacts-*.csv")
    text = csv_file.read_text(encoding="utf-8-sig")
    header = text.splitlines()[0]
    for col in ("name", "role", "specialty", "institution", "how_met", "last_contact", "next_followup"):
        assert col in header
    assert "'=HYPERLINK(1)" in text  # a formula cannot run in a spreadsheet

    app2 = await make_app(tmp_path / "other.db")
    other = Transcript(app2, "someone-else")
    out = await other.say(f"/contact import file:{csv_file}")
    assert "Imported 2 contact(s)" in out
    shown = await other.say("/contact show #1")
    assert "Mass General" in shown and "mentor, research" in shown and "maya@example.org" in shown
    assert "=HYPERLINK(1)" in await other.say("/contact show #2")
    out = await other.say(f"/contact import file:{csv_file}")
    assert "Imported 0 contact(s)" in out and "2 row(s) were already in your tracker" in out
    assert "Contacts (all): 2" in await other.say("/contact list")
    await app2.store.close()


async def test_bad_rows_are_reported_by_row_number_and_good_ones_imported(console: Transcript, tmp_path: Path) -> None:
    f = tmp_path / "in.csv"
    f.write_text(
        "name,role,institution,email,how_met,met_on\n"
        "Dr Good,attending,UCSF,good@example.org,conference,2026-10-01\n"
        ",resident,UCSF,,email,\n"
        "Dr Bad Role,surgeon,UCSF,,email,\n"
        "Dr Bad Date,resident,UCSF,,email,last tuesday\n"
        "Dr Bad Mail,resident,UCSF,nope,email,\n"
        "Dr Fine,peer,,,,\n"
    )
    out = await console.say(f"/contact import {f}")
    assert "Imported 2 contact(s)" in out
    assert "Rejected 4 row(s)" in out
    assert "row 3: name is empty" in out
    assert "row 4: role 'surgeon' is not one of" in out
    assert "row 5: 'met_on': 'last tuesday' is not a date" in out
    assert "row 6: 'email': 'nope' is not an email address" in out


async def test_broken_files_change_nothing(console: Transcript, tmp_path: Path) -> None:
    await console.say('/contact add "Dr Keep"')
    binary = tmp_path / "x.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")  # a picture, not a spreadsheet
    assert "not UTF-8, UTF-16 or Latin-1 text" in await console.say(f"/contact import {binary}")
    noname = tmp_path / "y.csv"
    noname.write_text("who,where\nA,B\n")
    assert "has no 'name' column" in await console.say(f"/contact import {noname}")
    assert "cannot read" in await console.say(f"/contact import {tmp_path / 'missing.csv'}")
    assert "needs a file" in await console.say("/contact import")
    assert "Contacts (all): 1" in await console.say("/contact list")


async def test_an_unclosed_quote_never_merges_rows_silently(console: Transcript, tmp_path: Path) -> None:
    f = tmp_path / "open.csv"
    f.write_text('name,role\n"Dr Open,peer\nDr Z,peer\n')  # the quote runs to the end of the file
    out = await console.say(f"/contact import {f}")
    assert "Imported 0 contact(s)" in out, out
    assert "row 2: a quote is not closed: the name cell runs over rows 2-3" in out, out
    assert "Contacts (all): 0" in await console.say("/contact list")


async def test_rows_after_a_quote_closed_too_late_keep_their_numbers(console: Transcript, tmp_path: Path) -> None:
    f = tmp_path / "late.csv"
    f.write_text('name,role\nDr A,peer\n"Dr Open,peer\nDr Z,peer",fellow\nDr Y,surgeon\nDr B,peer\n')
    out = await console.say(f"/contact import {f}")
    assert "Imported 2 contact(s)" in out, out
    assert "Rejected 2 row(s)" in out
    assert "row 3: a quote is not closed: the name cell runs over rows 3-4" in out, out
    assert "row 5: role 'surgeon' is not one of" in out, out
    listed = await console.say("/contact list")
    assert "Dr A" in listed and "Dr B" in listed and "Dr Open" not in listed and "Dr Z" not in listed


async def test_an_unclosed_quote_on_the_last_row_says_it_runs_to_the_end(console: Transcript, tmp_path: Path) -> None:
    f = tmp_path / "last.csv"
    f.write_text('name,email\n"Dr A,broken\n')
    out = await console.say(f"/contact import {f}")
    assert "row 2: a quote is not closed: the name cell runs to the end of the file" in out, out
