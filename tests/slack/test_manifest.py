"""``imgbot slack manifest``: generated from the registry and settings, Socket Mode by default."""

from __future__ import annotations

import json
import subprocess
import sys

import yaml

from bot.core.commands import build_registry
from bot.frontends.slack.app import EVENTS, SCOPES
from bot.frontends.slack.manifest import manifest


def _imgbot(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, timeout=60)


def test_the_socket_mode_manifest_has_the_command_scopes_events_and_interactivity() -> None:
    res = _imgbot("slack", "manifest")
    assert res.returncode == 0, res.stderr
    data = yaml.safe_load(res.stdout)
    (command,) = data["features"]["slash_commands"]
    assert command["command"] == "/imgbot" and "url" not in command
    for name in build_registry().top_level_names():  # from the registry: a new command shows up
        assert name in command["usage_hint"]
    assert data["oauth_config"]["scopes"]["bot"] == list(SCOPES)
    assert {"mpim:write", "mpim:history"} <= set(SCOPES)  # buddy intros are group DMs
    assert data["settings"]["event_subscriptions"]["bot_events"] == list(EVENTS)
    assert data["settings"]["interactivity"]["is_enabled"] is True
    assert data["settings"]["socket_mode_enabled"] is True
    assert data["features"]["app_home"]["home_tab_enabled"] is True


def test_the_http_mode_manifest_points_every_request_at_slack_events() -> None:
    res = _imgbot("slack", "manifest", "--format", "json", "--url", "https://bot.example.org/")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data == manifest(build_registry(), url="https://bot.example.org")
    events = "https://bot.example.org/slack/events"
    assert data["features"]["slash_commands"][0]["url"] == events
    assert data["settings"]["event_subscriptions"]["request_url"] == events
    assert data["settings"]["interactivity"]["request_url"] == events
    assert data["settings"]["socket_mode_enabled"] is False
    assert data["oauth_config"]["redirect_urls"] == ["https://bot.example.org/slack/oauth_redirect"]


def test_a_bad_url_is_one_line() -> None:
    res = _imgbot("slack", "manifest", "--url", "bot.example.org")
    assert res.returncode == 2
    assert res.stderr.strip().count("\n") == 0 and "--url" in res.stderr
