"""Issue 10's "done when", in the console: the real `imgbot console` process with --community,
restarted between days. An admin sets up a circle, ten people join, and the Monday post, the
check-ins, Friday's digest with its chart and a pairing round with "did you meet?" happen once each."""

from __future__ import annotations

from pathlib import Path

from tests.test_cli_and_settings import imgbot

NAMES = ["amal", "ben", "cara", "dev", "eli", "fay", "gus", "hana", "ivo", "jun"]


def session(db: Path, now: str, user: str, lines: str, *, admin: bool = False) -> str:
    args = ["console", "--db", str(db), "--now", now, "--user", user, "--community", "IMG EM"]
    args += ["--channel", "accountability"] + (["--admin"] if admin else [])
    res = imgbot(args, lines, cwd=db.parent)
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stdout + res.stderr and "Something went wrong" not in res.stdout
    return res.stdout


def channel_posts(out: str) -> list[str]:
    return [part.split("=== END #accountability ===")[0] for part in out.split("=== #accountability ===\n")[1:]]


def test_a_circle_week_in_the_console_through_restarts(tmp_path: Path) -> None:
    db = tmp_path / "circle.db"
    out = session(
        db,
        "2026-11-22T12:00+00:00",  # Sunday
        "root",
        "/circle setup day:monday time:18:00 timezone:UTC digest:friday pairing:every-week\n",
        admin=True,
    )
    assert "Circle started in #accountability" in out
    for name in NAMES:
        show = "wins" if name == "amal" else "none" if name == "jun" else "counts"
        out = session(
            db,
            "2026-11-22T12:05+00:00",
            name,
            f"/profile set specialty:em track:non-us-img\n/circle join show:{show}\n",
        )
        assert "Welcome to the circle in #accountability" in out, out

    # Sunday evening: the pairing reminder is a DM (to each member, in their own console session)
    out = session(db, "2026-11-22T18:30+00:00", "amal", "/help circle\n")
    assert "Skip this round" in out and "/circle skip program:1" in out

    out = session(
        db, "2026-11-23T09:00+00:00", "amal", '/contact add "Dr Maya Lee" how_met:conference\n/contact log #1 emailed\n'
    )
    assert "Logged emailed" in out
    # Monday 18:05: the check-in post appears in the channel once, its button filled in for amal
    out = session(db, "2026-11-23T18:05+00:00", "amal", "")
    posts = channel_posts(out)
    assert len(posts) == 1 and "Week 48 check-in" in posts[0]
    assert "[Log my week] /circle checkin program:1 emails:1 contacts:1 followups:1 conversations:1" in posts[0]
    assert "Your buddy" in out and "Three things to talk about" in out  # the round's intro, by DM
    out = session(db, "2026-11-23T18:10+00:00", "amal", "")
    assert channel_posts(out) == []  # a restart posts nothing again

    for name in NAMES[:7]:
        out = session(db, "2026-11-24T09:00+00:00", name, '/circle checkin win:"a good week"\n')
        assert "Week 48 logged" in out, out

    # Friday 18:00 has passed while nobody ran the bot; Friday evening the digest goes out once
    out = session(db, "2026-11-27T18:20+00:00", "ben", "")
    posts = channel_posts(out)
    assert len(posts) == 1 and "Week 48 digest: 7 of 10 checked in" in posts[0], out
    assert "amal: a good week" in posts[0] and "(attachment: circle-2026-W48.png" in posts[0]
    assert "Maya" not in posts[0] and "jun" not in posts[0]
    out = session(db, "2026-11-27T18:25+00:00", "cara", "")
    assert channel_posts(out) == []
