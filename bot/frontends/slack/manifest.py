"""``imgbot slack manifest``: the Slack app manifest, generated from the registry and settings.

Paste it at api.slack.com/apps > Create New App > From an app manifest. Socket Mode by
default (no public URL); with ``--url https://bot.example.org`` the manifest points Slack's
requests at ``/slack/events`` on that host instead (HTTP mode), with the OAuth redirect for
installs into several workspaces.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from bot.core.registry import Registry
from bot.frontends.slack.app import COMMAND, EVENTS, SCOPES
from bot.frontends.slack.runner import EVENTS_PATH

NAME = "IMG Peer Bot"
DESCRIPTION = "Networking playbooks, scripts, a contact tracker and follow-up nudges for IMGs applying to residency."
USAGE_HINT = 1000  # Slack's limit for a command's usage hint


def usage_hint(registry: Registry) -> str:
    names = " | ".join(registry.top_level_names())
    return f'[{names}] e.g. contact add "Dr Maya Lee" role:attending'[:USAGE_HINT]


def manifest(registry: Registry, *, url: str | None = None) -> dict[str, Any]:
    base = url.rstrip("/") if url else None
    command: dict[str, Any] = {
        "command": COMMAND,
        "description": "Playbooks, scripts, contacts and nudges (try /imgbot help)",
        "usage_hint": usage_hint(registry),
        "should_escape": True,
    }
    settings: dict[str, Any] = {
        "event_subscriptions": {"bot_events": list(EVENTS)},
        "interactivity": {"is_enabled": True},
        "org_deploy_enabled": True,
        "socket_mode_enabled": base is None,
        "token_rotation_enabled": False,
    }
    oauth: dict[str, Any] = {"scopes": {"bot": list(SCOPES)}}
    if base is not None:
        events = base + EVENTS_PATH
        command["url"] = events
        settings["event_subscriptions"]["request_url"] = events
        settings["interactivity"]["request_url"] = events
        settings["interactivity"]["message_menu_options_url"] = events
        oauth["redirect_urls"] = [base + "/slack/oauth_redirect"]
    return {
        "display_information": {"name": NAME, "description": DESCRIPTION, "background_color": "#2c2d30"},
        "features": {
            "app_home": {
                "home_tab_enabled": True,
                "messages_tab_enabled": True,
                "messages_tab_read_only_enabled": False,
            },
            "bot_user": {"display_name": "imgbot", "always_online": True},
            "slash_commands": [command],
        },
        "oauth_config": oauth,
        "settings": settings,
    }


def dump(data: dict[str, Any], fmt: str = "yaml") -> str:
    if fmt == "json":
        return json.dumps(data, indent=2) + "\n"
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
