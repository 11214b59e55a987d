"""Slack front-end pieces that need no Slack: ids, origins, settings checks, error mapping."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.core.models import UserRef
from bot.core.nudges import DeliveryError
from bot.frontends.slack.app import Who, is_dm_channel, missing_required, origin_of, who_of
from bot.frontends.slack.clients import api_base
from bot.frontends.slack.port import delivery_error, split_account


def test_accounts_are_keyed_by_workspace_or_enterprise() -> None:
    assert who_of({"user_id": "U1", "team_id": "T1"}).account == "T1:U1"
    assert who_of({"user_id": "W1", "team_id": "T1", "enterprise_id": "E1"}).account == "E1:W1"
    click = {"user": {"id": "U2", "team_id": "T1"}, "team": {"id": "T1"}, "enterprise": None}
    assert who_of(click).account == "T1:U2"
    event = {"team_id": "T3", "event": {"user": "U3"}}
    assert who_of(event).ref() == UserRef("slack", "T3:U3")
    assert split_account("T1:U2") == ("T1", "U2")
    with pytest.raises(DeliveryError):
        split_account("U2")


def test_origin_in_a_dm_and_in_a_channel() -> None:
    who = Who("U1", "T1", None)
    assert is_dm_channel("D123") and is_dm_channel(None) and not is_dm_channel("C123")
    assert origin_of(who, "D1", "directmessage", admin=True).is_dm
    channel = origin_of(who, "C1", "general", admin=True)
    assert channel.in_community and channel.is_admin and channel.community == "T1"


def test_a_missing_required_option_is_noticed(app) -> None:  # type: ignore[no-untyped-def]
    add = app.registry.get("contact add")
    assert missing_required(add, {}) and not missing_required(add, {"name": "Dr Lee"})
    imp = app.registry.get("contact import")
    assert missing_required(imp, {}) and not missing_required(imp, {}, has_files=True)


def _error(code: str, status: int = 200) -> SlackApiError:
    response = AsyncSlackResponse(
        client=None,  # type: ignore[arg-type]
        http_verb="POST",
        api_url="http://127.0.0.1/api/chat.postMessage",
        req_args={},
        data={"ok": False, "error": code},
        headers={},
        status_code=status,
    )
    return SlackApiError(code, response)


def test_refusals_map_to_retry_or_give_up() -> None:
    assert delivery_error(_error("user_not_found")).permanent
    assert delivery_error(_error("token_revoked")).permanent
    assert not delivery_error(_error("ratelimited", 429)).permanent
    assert not delivery_error(_error("internal_error", 503)).permanent
    assert delivery_error(_error("invalid_blocks")).permanent


def test_api_base_gets_its_trailing_slash() -> None:
    assert api_base(None) == "https://slack.com/api/"
    assert api_base("http://127.0.0.1:9/api") == "http://127.0.0.1:9/api/"


@pytest.mark.parametrize(
    ("env", "wanted"),
    [
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_APP_TOKEN (Socket Mode"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xoxb-wrong"}, "starts with xapp-"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}, "IMGBOT_HTTP_PORT"),
    ],
)
def test_run_refuses_incomplete_slack_settings_in_one_line(tmp_path: Path, env: dict[str, str], wanted: str) -> None:
    clean = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "IMGBOT_DATABASE_URL": f"sqlite:///{tmp_path}/b.db"}
    res = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**clean, **env},
        cwd=tmp_path,
    )
    assert res.returncode == 2, res.stderr
    assert wanted in res.stderr and res.stderr.count("\n") == 1


async def test_a_held_pacer_starts_nothing_until_retry_after_has_passed() -> None:
    import time

    from bot.core.nudges import Pacer

    pacer = Pacer(1000.0)
    await pacer.wait()
    pacer.hold(0.3)
    started = time.monotonic()
    await pacer.wait()
    assert time.monotonic() - started >= 0.29


async def test_installation_store_gives_slack_sdk_the_row_it_saved(app, clock) -> None:  # type: ignore[no-untyped-def]
    from slack_sdk.oauth.installation_store.models.installation import Installation

    from bot.frontends.slack.installations import StoreInstallations

    store = StoreInstallations(app.store, clock)
    saved = Installation(
        app_id="A1", enterprise_id=None, team_id="T9", user_id="U4", bot_token="xoxb-T9", bot_id="B9",
        bot_user_id="UB9", bot_scopes=["commands", "chat:write"], installed_at=clock.now().timestamp(),
    )  # fmt: skip
    await store.async_save(saved)
    bot = await store.async_find_bot(enterprise_id=None, team_id="T9")
    inst = await store.async_find_installation(enterprise_id=None, team_id="T9")
    assert bot is not None and inst is not None
    for found in (bot, inst):
        assert (found.app_id, found.team_id, found.bot_token, found.bot_id, found.bot_user_id) == (
            "A1", "T9", "xoxb-T9", "B9", "UB9",
        )  # fmt: skip
        assert list(found.bot_scopes) == ["commands", "chat:write"] and found.installed_at == saved.installed_at
    assert inst.user_id == "U4" and not inst.is_enterprise_install
    assert await store.async_find_bot(enterprise_id=None, team_id="T8") is None
