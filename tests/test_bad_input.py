"""Malformed input gets a clear usage message naming what is wrong, never an apology with a reference."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import PSYCH_PROFILE
from tests.helpers import Transcript
from tests.test_cli_and_settings import ROOT, imgbot

APOLOGY = "Something went wrong"

SURROGATE_LINES = [
    ('/contact add "Dr \udcff Lee"', "name"),
    ('/contact add "Dr Lee" specialty:"psy\ud800ch"', "specialty"),
    ('/contact add "Dr Lee" notes:"met at \udcff APA"', "notes"),
    ('/contact add "Dr Lee" institution:"\ud800"', "institution"),
    ('/contact edit #1 name:"Dr \udcff"', "name"),
    ('/contact log #1 emailed today "sent \ud800 my CV"', "note"),
    ('/contact show "Dr \udcff"', "contact"),
    ('/profile set name:"Dr \udcff Hassan"', "name"),
    ('/profile set country:"Egy\ud800pt"', "country"),
    ('/profile set interests:"\udcff"', "interests"),
    ("/contact list tag:\udcff", "filter"),
]


@pytest.mark.parametrize(("line", "option"), SURROGATE_LINES)
async def test_lone_surrogates_are_a_usage_message_naming_the_option(
    console: Transcript, line: str, option: str
) -> None:
    await console.say(PSYCH_PROFILE)
    await console.say('/contact add "Dr Maya Lee" how_met:conference met_on:today')
    before = await console.say("/contact show #1") + await console.say("/profile show")
    out = await console.say(line)
    assert APOLOGY not in out, out
    assert f"option '{option}'" in out and "not valid text" in out, out
    assert "\udcff" not in out and "\ud800" not in out
    assert await console.say("/contact show #1") + await console.say("/profile show") == before


@pytest.mark.parametrize("line", ["/nope\udcff", "/contact add\ud800 x", '/contact add "x" na\udcffme:y'])
async def test_a_surrogate_outside_an_option_value_is_never_echoed(console: Transcript, line: str) -> None:
    out = await console.say(line)
    assert APOLOGY not in out, out
    assert "\udcff" not in out and "\ud800" not in out
    out.encode("utf-8")  # printable on a strict UTF-8 terminal


@pytest.mark.parametrize(
    "name",
    # (a NUL in any option is refused before it is read: tests/test_text_input.py)
    ["Europe", "Etc", "America/Argentina", "A" * 300, "Europe/" + "x" * 5000, "UTC/../UTC", "."],
)
async def test_a_name_that_is_no_time_zone_is_a_usage_message(console: Transcript, name: str) -> None:
    await console.say("/profile set timezone:Africa/Cairo")
    out = await console.say(f'/profile set timezone:"{name}"')
    assert APOLOGY not in out, out
    assert "is not a time zone" in out and out.count("\n") == 1, out
    assert len(out) < 400  # an over-long name is not echoed in full
    assert "Time zone: Africa/Cairo" in await console.say("/profile show")


def test_zone_refuses_directories_and_over_long_names() -> None:
    from bot.core.dates import zone
    from bot.core.errors import UsageError

    for name in ("Europe", "Etc", "x" * 256, "Europe/Paris\x00", "Europe/Paris/"):
        with pytest.raises(UsageError, match="is not a time zone"):
            zone(name)
    assert zone("Europe/Paris").key == "Europe/Paris"


# ---------------------------------------------------------------- hostile import paths (console)


def _limited_memory() -> None:  # in the child: reading /dev/zero whole must fail fast, not eat the machine
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (1_500_000_000, 1_500_000_000))


def test_import_reads_only_regular_files_and_checks_the_size_first(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)  # opening it for reading blocks until a writer comes: it must never be opened
    huge = tmp_path / "huge.csv"
    with huge.open("wb") as f:
        f.truncate(3_000_000_000)  # sparse: no disk used, but 3 GB if read
    lines = [
        "/contact import /dev/zero",
        "/contact import /dev/urandom",
        "/contact import /proc/self/fd/0",
        f"/contact import {fifo}",
        f"/contact import {huge}",
        f"/contact import {tmp_path}",
        "/contact list",
    ]
    started = time.monotonic()
    res = subprocess.run(
        [sys.executable, "-m", "bot.cli", "console", "--db", str(tmp_path / "x.db")],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if not k.startswith(("IMGBOT_", "DISCORD_", "SLACK_"))},
        preexec_fn=_limited_memory,
    )
    assert time.monotonic() - started < 30
    assert res.returncode == 0 and "Traceback" not in res.stdout + res.stderr, res.stderr
    out = res.stdout.strip().splitlines()
    assert out == [
        "cannot read /dev/zero: it is a device, not a file",
        "cannot read /dev/urandom: it is a device, not a file",
        "cannot read /proc/self/fd/0: it is a pipe, not a file",
        f"cannot read {fifo}: it is a pipe, not a file",
        "that file is 3,000,000,000 bytes; the limit is 2,000,000",
        f"cannot read {tmp_path}: it is a directory, not a file",
        "Contacts (all): 0",
        'Nothing here yet. Add someone with /contact add "Dr Maya Lee" how_met:conference',
    ], res.stdout


async def test_an_import_path_with_nul_is_one_clear_line(console: Transcript, tmp_path: Path) -> None:
    out = await console.say(f'/contact import "{tmp_path}/a\x00b.csv"')
    assert APOLOGY not in out, out
    assert out.strip() == f"cannot read {tmp_path}/a\\0b.csv: a file name cannot contain NUL", out


async def test_a_file_that_grows_past_the_limit_while_read_is_refused(console: Transcript, tmp_path: Path) -> None:
    f = tmp_path / "big.csv"
    f.write_bytes(b"name\n" + b"x" * 2_100_000)
    assert "the limit is 2,000,000" in await console.say(f"/contact import {f}")


# ---------------------------------------------------------------- --now


@pytest.mark.parametrize(
    "now",
    [
        "0001-01-01T00:00",
        "0999-06-01T12:00",
        "9999-12-31T23:59",
        "1970-01-01T00:00",
        "0001-01-01T00:00+05:00",
        "9999-12-31T23:59-05:00",
    ],
)
def test_an_extreme_now_is_refused_and_never_poisons_the_database(tmp_path: Path, now: str) -> None:
    db = tmp_path / "me.db"
    good = imgbot(["console", "--db", str(db)], '/contact add "Dr Keep" how_met:conference met_on:today\n')
    assert good.returncode == 0 and "Added #1 Dr Keep" in good.stdout, good.stderr
    lines = '/profile set timezone:Africa/Cairo\n/contact add "Dr Maya Lee" how_met:conference met_on:today\n'
    res = imgbot(["console", "--db", str(db), "--now", now], lines + "/goal set emails 4 month\n")
    assert res.returncode == 2, res.stdout
    hint = "use a date-time such as 2027-01-15T10:00"
    assert res.stderr == f"imgbot: --now: {now} is outside the years 2000-2100; {hint}\n"
    assert res.stdout == ""
    # the next normal start on that database works, and nothing of the refused run is in it
    after = imgbot(["console", "--db", str(db)], "/contact list\n/nudges list\n")
    assert after.returncode == 0 and "Traceback" not in after.stdout + after.stderr, after.stderr
    assert "Contacts (all): 1" in after.stdout and "Dr Keep" in after.stdout


def test_now_at_the_edges_of_the_range_works(tmp_path: Path) -> None:
    for now in ("2000-01-01T00:00", "2100-12-31T12:00+00:00"):
        res = imgbot(["console", "--db", str(tmp_path / "e.db"), "--now", now], '/contact add "Dr A"\n/goal progress\n')
        assert res.returncode == 0 and "Traceback" not in res.stdout + res.stderr, res.stderr
