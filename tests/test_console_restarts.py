"""Issue 4's end-to-end check, through the real `imgbot console` process and its restarts."""

from __future__ import annotations

from pathlib import Path

from tests.test_cli_and_settings import imgbot


def session(db: Path, now: str, lines: str) -> str:
    res = imgbot(["console", "--db", str(db), "--now", now], lines)
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stdout + res.stderr
    return res.stdout


def test_follow_up_nudge_survives_restarts_and_arrives_once(tmp_path: Path) -> None:
    db = tmp_path / "me.db"
    out = session(
        db,
        "2026-11-23T10:00+00:00",
        "/profile set specialty:psych track:non-us-img country:Egypt timezone:Africa/Cairo\n"
        '/contact add "Dr Maya Lee" role:attending how_met:conference met_on:today\n',
    )
    assert "Next follow-up: Thu 26 Nov 2026" in out  # psychiatry: within 3-7 days
    assert "=== NUDGE ===" not in out

    # the process is started again a week later, past the window
    out = session(db, "2026-11-30T10:00+00:00", "/followups\n")
    assert out.count("=== NUDGE ===") == 1
    nudge = out.split("=== NUDGE ===")[1].split("=== END NUDGE ===")[0]
    assert "Late nudges: these fell due while the bot was offline" in nudge
    assert "#1 Dr Maya Lee: follow-up due Thu 26 Nov 2026 (after meeting them)" in nudge
    assert "Subject:" in nudge and "Egypt" in nudge  # the script comes with it
    assert "/nudges done" in nudge and "/nudges snooze" in nudge

    out = session(db, "2026-11-30T10:05+00:00", "/contact log #1 emailed\n")
    assert "=== NUDGE ===" not in out  # delivered once, not again after another restart
    assert "Next follow-up Thu 10 Dec 2026 (if still no reply)" in out  # once after 10-14 days

    out = session(db, "2026-12-11T10:00+00:00", "/contact log #1 no-reply\n")
    assert out.count("=== NUDGE ===") == 1  # the no-reply reminder fell due while down
    assert "no reply" in out
    assert "Next follow-up Fri 11 Dec 2026 (if still no reply)" in out
    assert "/script no-reply-followup contact:#1" in out
