"""Slack bot tokens sealed at rest with IMGBOT_SECRET_KEY, on SQLite and PostgreSQL (``db_url``),
and the commands that manage the key (``imgbot db new-key``, ``imgbot db seal-tokens``, ``imgbot run``)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.core.errors import ConfigError
from bot.core.models import Installation
from bot.settings import load_settings
from bot.store import open_store
from bot.store.secrets import SealedTokenError

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TOKEN = "xoxb-1111-2222-secretpart"
ROOT = Path(__file__).resolve().parents[2]
KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()


def _inst(team: str = "T1", token: str = TOKEN) -> Installation:
    return Installation(enterprise_id=None, team_id=team, bot_token=token, installed_at=NOW, bot_user_id="UBOT")


async def _raw_tokens(url: str) -> list[str]:
    store = await open_store(url)
    try:
        return [r[0] for r in await store.db.all("SELECT bot_token FROM slack_installations ORDER BY team_id")]
    finally:
        await store.close()


async def test_a_token_is_sealed_in_the_database_and_opened_when_found(db_url: str) -> None:
    store = await open_store(db_url, secret_keys=[KEY_A])
    try:
        await store.save_installation(_inst())
        found = await store.find_installation(None, "T1")
        assert found is not None and found.bot_token == TOKEN
        assert await store.sealed_token_problem() is None
    finally:
        await store.close()
    (raw,) = await _raw_tokens(db_url)
    assert raw.startswith("fernet:") and "secretpart" not in raw and "xoxb" not in raw


async def test_without_the_key_or_with_another_the_problem_is_named_and_nothing_is_sent_plain(db_url: str) -> None:
    sealing = await open_store(db_url, secret_keys=[KEY_A])
    await sealing.save_installation(_inst())
    await sealing.close()
    for keys, words in (([], "set IMGBOT_SECRET_KEY"), ([KEY_B], "another key")):
        store = await open_store(db_url, secret_keys=keys)
        try:
            problem = await store.sealed_token_problem()
            assert problem is not None and words in problem
            with pytest.raises(SealedTokenError):
                await store.find_installation(None, "T1")
        finally:
            await store.close()


async def test_plain_tokens_from_before_the_key_still_work_and_are_sealed_on_request(db_url: str) -> None:
    plain = await open_store(db_url)
    await plain.save_installation(_inst("T1", "xoxb-one"))
    await plain.save_installation(_inst("T2", "xoxb-two"))
    await plain.close()
    assert await _raw_tokens(db_url) == ["xoxb-one", "xoxb-two"]

    store = await open_store(db_url, secret_keys=[KEY_A])
    try:
        assert await store.sealed_token_problem() is None
        one = await store.find_installation(None, "T1")
        assert one is not None and one.bot_token == "xoxb-one"
        assert await store.seal_tokens() == (2, 2)
        assert await store.seal_tokens() == (0, 2)  # already sealed with the first key
        two = await store.find_installation(None, "T2")
        assert two is not None and two.bot_token == "xoxb-two"
    finally:
        await store.close()
    assert all(r.startswith("fernet:") for r in await _raw_tokens(db_url))


async def test_a_key_is_rotated_by_putting_the_new_one_first_and_resealing(db_url: str) -> None:
    old = await open_store(db_url, secret_keys=[KEY_A])
    await old.save_installation(_inst())
    await old.close()
    both = await open_store(db_url, secret_keys=[KEY_B, KEY_A])
    try:
        assert await both.sealed_token_problem() is None
        assert await both.seal_tokens() == (1, 1)
    finally:
        await both.close()
    new = await open_store(db_url, secret_keys=[KEY_B])
    try:
        found = await new.find_installation(None, "T1")
        assert found is not None and found.bot_token == TOKEN
    finally:
        await new.close()
    gone = await open_store(db_url, secret_keys=[KEY_A])
    try:
        assert await gone.sealed_token_problem() is not None  # the old key alone no longer opens it
    finally:
        await gone.close()


def test_a_bad_key_is_one_line_that_never_echoes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMGBOT_SECRET_KEY", "hunter2-not-a-key")
    with pytest.raises(ConfigError) as err:
        load_settings()
    line = str(err.value)
    assert line.startswith("invalid setting IMGBOT_SECRET_KEY:") and "Fernet" in line
    assert "hunter2" not in line and "\n" not in line
    monkeypatch.setenv("IMGBOT_SECRET_KEY", f"{KEY_A}, nope")
    with pytest.raises(ConfigError, match="key 2 is not a Fernet key"):
        load_settings()
    monkeypatch.setenv("IMGBOT_SECRET_KEY", f"{KEY_A},{KEY_B}")
    assert load_settings().secret_keys == [KEY_A, KEY_B]


def _imgbot(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("IMGBOT_", "SLACK_", "DISCORD_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_the_cli_makes_a_key_seals_the_tokens_and_run_refuses_a_sealed_db_without_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/bot.db"
    plain = await open_store(url)
    await plain.save_installation(_inst())
    await plain.close()

    made = _imgbot("db", "new-key", env={})
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    Fernet(key.encode())  # a usable key

    refused = _imgbot("db", "seal-tokens", env={"IMGBOT_DATABASE_URL": url})
    assert refused.returncode != 0 and "IMGBOT_SECRET_KEY is not set" in refused.stderr
    sealed = _imgbot("db", "seal-tokens", env={"IMGBOT_DATABASE_URL": url, "IMGBOT_SECRET_KEY": key})
    assert sealed.returncode == 0, sealed.stderr
    assert "sealed 1 of 1 Slack tokens" in sealed.stdout
    (raw,) = await _raw_tokens(url)
    assert raw.startswith("fernet:")

    # imgbot run with Slack configured but without the key stops at once, in one line
    run = _imgbot(
        "run",
        env={
            "IMGBOT_DATABASE_URL": url,
            "SLACK_BOT_TOKEN": "xoxb-static",
            "SLACK_APP_TOKEN": "xapp-1",
            "SLACK_API_BASE": "http://127.0.0.1:9/api/",
        },
    )
    assert run.returncode != 0
    assert "sealed: set IMGBOT_SECRET_KEY" in run.stderr
    assert "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) == 1
