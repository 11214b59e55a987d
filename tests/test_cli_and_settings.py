"""The command line: settings fail fast in one line, the console works piped, no tracebacks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.core.errors import ConfigError
from bot.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]


def imgbot(
    args: list[str], stdin: str = "", env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("IMGBOT_", "DISCORD_", "SLACK_"))}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env=full_env,
        cwd=cwd or ROOT,
    )


def test_bad_setting_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMGBOT_LOG_LEVEL", "LOUD")
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert str(err.value) == "invalid setting IMGBOT_LOG_LEVEL: Input should be 'DEBUG', 'INFO', 'WARNING' or 'ERROR'"
    assert "LOUD" not in str(err.value)


def test_cli_reports_bad_settings_without_traceback(tmp_path: Path) -> None:
    res = imgbot(["console", "--db", str(tmp_path / "x.db")], "/help\n", env={"IMGBOT_DATABASE_URL": "mysql://nope"})
    # --db overrides the URL, so this still works
    assert res.returncode == 0 and "IMG Peer Bot commands" in res.stdout
    res = imgbot(["console"], "/help\n", env={"IMGBOT_HEARTBEAT_SECONDS": "0"})
    assert res.returncode == 2
    assert res.stderr.strip() == (
        "imgbot: invalid setting IMGBOT_HEARTBEAT_SECONDS: Input should be greater than or equal to 5"
    )
    assert "Traceback" not in res.stderr and res.stderr.count("\n") == 1


def test_run_without_tokens_says_how_to_run_locally() -> None:
    res = imgbot(["run"])
    assert res.returncode == 2
    assert "no DISCORD_TOKEN or SLACK_BOT_TOKEN is set" in res.stderr and "imgbot console" in res.stderr
    assert res.stderr.count("\n") == 1


def test_issue_example_prints_a_psychiatry_cold_email_for_egypt(tmp_path: Path) -> None:
    script = "/profile set specialty:psych track:non-us-img country:Egypt eras:2027-09\n/script cold-email\n"
    res = imgbot(["console", "--db", str(tmp_path / "a.db")], script)
    assert res.returncode == 0, res.stderr
    assert "Psychiatry (non-US-citizen IMG)" in res.stdout
    assert "Egypt" in res.stdout.split("Subject:", 1)[1]
    assert "Traceback" not in res.stdout + res.stderr


def test_bad_input_exits_zero_with_one_line_each(tmp_path: Path) -> None:
    res = imgbot(["console", "--db", str(tmp_path / "b.db")], "/nope\n/profile set eras:soon\n")
    assert res.returncode == 0
    lines = res.stdout.strip().splitlines()
    assert lines == [
        "unknown command /nope; try /help",
        "option 'eras': 'soon' is not a month; use YYYY-MM, e.g. 2027-09",
    ]


def test_bad_playbook_dir_stops_start_with_the_list(tmp_path: Path) -> None:
    bad = tmp_path / "pb"
    bad.mkdir()
    (bad / "x.yaml").write_text("id: x\nname: X\nextends: nowhere\n")
    res = imgbot(["console", "--db", str(tmp_path / "c.db")], "/help\n", env={"IMGBOT_PLAYBOOKS_DIR": str(bad)})
    assert res.returncode == 2
    assert "x.yaml: extends (line 3): no base playbook with id 'nowhere'" in res.stderr
    assert "Traceback" not in res.stderr


def test_readme_reference_matches_the_registry() -> None:
    readme = (ROOT / "README.md").read_text()
    res = imgbot(["commands", "--markdown"])
    start, end = "<!-- commands:start -->\n", "<!-- commands:end -->"
    assert start in readme and end in readme
    embedded = readme.split(start, 1)[1].split(end, 1)[0]
    assert embedded == res.stdout


def test_output_closed_early_is_not_a_traceback(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "console", "--db", str(tmp_path / "p.db")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdin and proc.stdout and proc.stderr
    proc.stdout.close()  # like `| head` exiting
    proc.stdin.write("/help\n" * 50)
    proc.stdin.close()
    assert proc.wait(timeout=60) == 0
    assert "Traceback" not in proc.stderr.read()


def test_unusable_database_path_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    res = imgbot(["console", "--db", str(blocker / "x.db")], "/help\n")
    assert res.returncode == 2
    assert res.stderr.startswith("imgbot: IMGBOT_DATABASE_URL: cannot open the database at ")
    assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not sqlite" * 100)
    res = imgbot(["console", "--db", str(garbage)], "/help\n")
    assert res.returncode == 2 and "file is not a database" in res.stderr and "Traceback" not in res.stderr


def test_bad_setting_never_echoes_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMGBOT_DATABASE_URL", "mysql://user:hunter2@host/db")
    with pytest.raises(ConfigError) as err:
        load_settings()
    line = str(err.value)
    assert "hunter2" not in line and "mysql" not in line
    assert line.startswith("invalid setting IMGBOT_DATABASE_URL:")
    assert "use sqlite:///path/to/imgbot.db or postgresql://user:pass@host/db" in line
    assert "\n" not in line
    monkeypatch.delenv("IMGBOT_DATABASE_URL")
    monkeypatch.setenv("IMGBOT_HEARTBEAT_SECONDS", "hunter2")
    with pytest.raises(ConfigError) as err:
        load_settings()
    line = str(err.value)
    assert "hunter2" not in line
    assert line.startswith("invalid setting IMGBOT_HEARTBEAT_SECONDS:")


@pytest.mark.parametrize("url", ["sqlite:///tmp/x.db", "postgresql://u:p@h/db", "postgres://u:p@h:5432/db"])
def test_database_url_accepts_sqlite_and_postgres(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("IMGBOT_DATABASE_URL", url)
    assert load_settings().database_url == url


def test_bad_aliased_setting_names_the_documented_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_SHARD_COUNT", "0")
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert str(err.value) == "invalid setting DISCORD_SHARD_COUNT: Input should be greater than or equal to 1"


def _settings_error(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> str:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as err:
        load_settings()
    line = str(err.value)
    assert "\n" not in line
    return line


def test_ops_settings_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("IMGBOT_", "DISCORD_", "SLACK_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(ROOT / "tests")  # no .env here
    s = load_settings()
    assert s.http_port is None and s.http_host == "0.0.0.0" and s.log_format == "text"
    assert s.instance_id is None and s.lease_seconds == 60 and s.db_pool_size == 10
    assert s.discord_shard_ids is None and s.slack_api_base is None
    assert s.slack_signing_secret is None and s.slack_client_id is None and s.slack_client_secret is None


def test_ops_settings_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {
        "IMGBOT_HTTP_PORT": "8080",
        "IMGBOT_HTTP_HOST": "127.0.0.1",
        "IMGBOT_LOG_FORMAT": "JSON",
        "IMGBOT_INSTANCE_ID": "web-1.a_b",
        "IMGBOT_LEASE_SECONDS": "120",
        "IMGBOT_DB_POOL_SIZE": "20",
        "DISCORD_SHARD_COUNT": "4",
        "DISCORD_SHARD_IDS": " 3, 1 ",
        "SLACK_SIGNING_SECRET": "sign-me",
        "SLACK_CLIENT_ID": "123.456",
        "SLACK_CLIENT_SECRET": "cs",
        "SLACK_API_BASE": "http://127.0.0.1:9999/api/",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    s = load_settings()
    assert (s.http_port, s.http_host, s.log_format, s.instance_id) == (8080, "127.0.0.1", "json", "web-1.a_b")
    assert (s.lease_seconds, s.db_pool_size, s.discord_shard_ids) == (120, 20, [1, 3])
    assert s.slack_signing_secret is not None and s.slack_signing_secret.get_secret_value() == "sign-me"
    assert s.slack_client_id is not None and s.slack_client_id.get_secret_value() == "123.456"
    assert s.slack_client_secret is not None and s.slack_client_secret.get_secret_value() == "cs"
    assert "sign-me" not in repr(s) and s.slack_api_base == "http://127.0.0.1:9999/api/"
    monkeypatch.setenv("IMGBOT_HTTP_PORT", "0")  # 0 = any free port
    assert load_settings().http_port == 0


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"IMGBOT_HTTP_PORT": "65536"},
            "invalid setting IMGBOT_HTTP_PORT: Input should be less than or equal to 65535",
        ),
        ({"IMGBOT_HTTP_PORT": "-1"}, "invalid setting IMGBOT_HTTP_PORT: Input should be greater than or equal to 0"),
        ({"IMGBOT_HTTP_PORT": "web"}, "invalid setting IMGBOT_HTTP_PORT: Input should be a valid integer"),
        ({"IMGBOT_LOG_FORMAT": "xml"}, "invalid setting IMGBOT_LOG_FORMAT: Input should be 'text' or 'json'"),
        ({"IMGBOT_INSTANCE_ID": "a b"}, "invalid setting IMGBOT_INSTANCE_ID: use 1 to 64 letters, digits"),
        ({"IMGBOT_INSTANCE_ID": "x" * 65}, "invalid setting IMGBOT_INSTANCE_ID: use 1 to 64"),
        (
            {"IMGBOT_LEASE_SECONDS": "9"},
            "invalid setting IMGBOT_LEASE_SECONDS: Input should be greater than or equal to 10",
        ),
        ({"IMGBOT_LEASE_SECONDS": "3601"}, "invalid setting IMGBOT_LEASE_SECONDS: Input should be less than or equal"),
        (
            {"IMGBOT_DB_POOL_SIZE": "0"},
            "invalid setting IMGBOT_DB_POOL_SIZE: Input should be greater than or equal to 1",
        ),
        (
            {"IMGBOT_DB_POOL_SIZE": "101"},
            "invalid setting IMGBOT_DB_POOL_SIZE: Input should be less than or equal to 100",
        ),
        ({"SLACK_API_BASE": "slack.com/api"}, "invalid setting SLACK_API_BASE: use an http:// or https:// URL"),
        (
            {"DISCORD_SHARD_COUNT": "2", "DISCORD_SHARD_IDS": "0,x"},
            "invalid setting DISCORD_SHARD_IDS: use comma-separated shard numbers (0 or more), e.g. 0,1",
        ),
        (
            {"DISCORD_SHARD_COUNT": "2", "DISCORD_SHARD_IDS": "0,-1"},
            "invalid setting DISCORD_SHARD_IDS: use comma-separated shard numbers (0 or more), e.g. 0,1",
        ),
        (
            {"DISCORD_SHARD_COUNT": "2", "DISCORD_SHARD_IDS": "0,,1"},
            "invalid setting DISCORD_SHARD_IDS: use comma-separated shard numbers (0 or more), e.g. 0,1",
        ),
        (
            {"DISCORD_SHARD_COUNT": "2", "DISCORD_SHARD_IDS": "1,1"},
            "invalid setting DISCORD_SHARD_IDS: a shard number is listed twice",
        ),
        (
            {"DISCORD_SHARD_COUNT": "2", "DISCORD_SHARD_IDS": "0,2"},
            "invalid setting DISCORD_SHARD_IDS: each shard number must be below DISCORD_SHARD_COUNT (2), from 0 to 1",
        ),
        (
            {"DISCORD_SHARD_IDS": "0"},
            "invalid setting DISCORD_SHARD_IDS: set DISCORD_SHARD_COUNT too",
        ),
    ],
)
def test_ops_settings_refuse_bad_values_in_one_line(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    for name in list(os.environ):
        if name.startswith(("DISCORD_SHARD", "IMGBOT_DISCORD_SHARD")):
            monkeypatch.delenv(name)
    assert _settings_error(monkeypatch, env).startswith(expected)


def test_empty_shard_ids_mean_all_shards(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_SHARD_IDS", "")
    assert load_settings().discord_shard_ids is None


def test_shard_ids_given_directly_are_checked_too() -> None:
    with pytest.raises(ConfigError, match=r"^invalid setting DISCORD_SHARD_IDS: shard numbers cannot be negative$"):
        load_settings(DISCORD_SHARD_COUNT=2, DISCORD_SHARD_IDS=[-1])
    assert load_settings(DISCORD_SHARD_COUNT=3, DISCORD_SHARD_IDS=[2, 0]).discord_shard_ids == [0, 2]
