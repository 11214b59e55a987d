"""``imgbot run`` as an operator runs it: Slack alone, Slack and Discord in one event loop, a bad token."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from tests.discord.conftest import AMAL
from tests.discord.double import GUILD_ID, DiscordDouble
from tests.slack.double import APP_TOKEN, SlackDouble

ROOT = Path(__file__).resolve().parents[2]


async def _imgbot(tmp_path: Path, *args: str, **env: str) -> asyncio.subprocess.Process:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("IMGBOT_", "DISCORD_", "SLACK_"))}
    full.update({"PYTHONPATH": str(ROOT), "IMGBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}", **env})
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", *args, env=full, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


def _slack_env(double: SlackDouble, token: str | None = None) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": token or double.bot_token("T1"),
        "SLACK_APP_TOKEN": APP_TOKEN,
        "SLACK_API_BASE": double.api_base,
    }


async def test_imgbot_run_serves_slack_and_discord_in_one_loop(slack_double: SlackDouble, tmp_path: Path) -> None:
    discord_double = DiscordDouble()
    await discord_double.start()
    proc = await _imgbot(
        tmp_path,
        "run",
        **_slack_env(slack_double),
        DISCORD_TOKEN="test-token",
        DISCORD_API_BASE=discord_double.base,
        DISCORD_GATEWAY_URL=discord_double.gateway_url,
        DISCORD_DEV_GUILD_ID=str(GUILD_ID),
    )
    try:
        await slack_double.wait_connected(timeout=30)
        await discord_double.wait_ready()
        on_slack = await slack_double.slash("/imgbot", 'contact add "Dr Maya Lee"', user="U1", channel="dm")
        await slack_double.wait_for(lambda: "Added #1 Dr Maya Lee" in on_slack.text, 10, "the Slack answer")
        on_discord = await discord_double.interact(discord_double.slash(AMAL, "contact add", name="Dr Ben Ode"))
        assert "Added #1 Dr Ben Ode" in on_discord.text  # its own user: numbering starts at 1 again
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = await asyncio.wait_for(proc.communicate(), 30)
        await discord_double.close()
    assert proc.returncode == 0, err.decode()
    assert "Traceback" not in err.decode()


async def test_a_rejected_slack_token_is_one_line(slack_double: SlackDouble, tmp_path: Path) -> None:
    proc = await _imgbot(tmp_path, "run", **_slack_env(slack_double, token="xoxb-not-a-token"))
    _out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    text = err.decode()
    assert text.count("\n") == 1 and "Slack rejected SLACK_BOT_TOKEN (invalid_auth)" in text, text
