"""``imgbot run`` and ``imgbot discord sync`` as an operator runs them, plus sharding and proxy settings."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from bot.core.clock import ManualClock
from bot.frontends.discord.client import ShardedImgBotClient
from bot.frontends.discord.runner import api_base
from tests.discord.conftest import AMAL, LiveBot
from tests.discord.double import GUILD_ID, DiscordDouble

ROOT = Path(__file__).resolve().parents[2]


async def _imgbot(
    double: DiscordDouble, tmp_path: Path, *args: str, token: str = "test-token", **env: str
) -> asyncio.subprocess.Process:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("IMGBOT_", "DISCORD_", "SLACK_"))}
    full.update(
        {
            "PYTHONPATH": str(ROOT),
            "DISCORD_TOKEN": token,
            "DISCORD_API_BASE": double.base,
            "DISCORD_GATEWAY_URL": double.gateway_url,
            "IMGBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}",
            **env,
        }
    )
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        *args,
        env=full,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_imgbot_run_answers_slash_commands_and_stops_cleanly(double: DiscordDouble, tmp_path: Path) -> None:
    proc = await _imgbot(double, tmp_path, "run", DISCORD_DEV_GUILD_ID=str(GUILD_ID))
    try:
        await double.wait_ready()
        answer = await double.interact(double.slash(AMAL, "contact add", name="Dr Maya Lee"))
        assert "Added #1 Dr Maya Lee" in answer.text
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    assert "Traceback" not in err.decode()
    assert double.commands[GUILD_ID]  # the dev guild got the commands at startup...
    assert None not in double.commands  # ...and nothing was published globally


async def test_a_rejected_token_is_one_clear_line(double: DiscordDouble, tmp_path: Path) -> None:
    proc = await _imgbot(double, tmp_path, "run", token="not-the-token")
    _out, err = await asyncio.wait_for(proc.communicate(), 60)
    lines = [line for line in err.decode().splitlines() if line.startswith("imgbot:")]
    assert proc.returncode == 2
    assert lines == [
        "imgbot: Discord rejected DISCORD_TOKEN (401 Unauthorized); copy the bot token again "
        "from the Developer Portal (Bot > Reset Token)"
    ]
    assert "Traceback" not in err.decode()


async def test_discord_sync_publishes_to_a_guild_only_when_asked(double: DiscordDouble, tmp_path: Path) -> None:
    proc = await _imgbot(double, tmp_path, "discord", "sync", "--guild", "42")
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    assert out.decode().strip() == f"synced {len(double.commands[42])} commands to guild 42 (available now)"
    assert None not in double.commands
    assert double.count("PUT", r"/applications/\d+/guilds/42/commands") == 1


async def test_shard_count_turns_on_sharding(double: DiscordDouble, tmp_path: Path, clock: ManualClock) -> None:
    live = await LiveBot(double, tmp_path / "sh.db", clock, DISCORD_SHARD_COUNT=2).start()
    try:
        assert isinstance(live.running.client, ShardedImgBotClient)
        assert sorted(s.shard for s in double.sessions) == [(0, 2), (1, 2)]
        # the dev guild's interactions arrive on shard (guild_id >> 22) % 2; DMs on shard 0
        assert "IMG Peer Bot commands" in (await live.say(AMAL, "help")).text
    finally:
        await live.stop()


def test_api_base_accepts_a_proxy_root_or_a_full_base() -> None:
    assert api_base("http://proxy:8080") == "http://proxy:8080/api/v10"
    assert api_base("http://proxy:8080/") == "http://proxy:8080/api/v10"
    assert api_base("http://proxy:8080/api/v10") == "http://proxy:8080/api/v10"
    assert api_base("http://proxy:8080/api/v9/") == "http://proxy:8080/api/v9"


def test_importing_the_discord_front_end_has_no_side_effects(tmp_path: Path) -> None:
    import subprocess

    code = "import bot.frontends.discord.runner, bot.frontends.discord.render, bot.frontends.discord.port; print('ok')"
    res = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert res.stdout.strip() == "ok" and res.stderr == ""
    assert list(tmp_path.iterdir()) == []


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_imgbot_run_on_postgres_serves_health_and_metrics_and_drains_on_sigterm(
    double: DiscordDouble, tmp_path: Path, pg_url: str
) -> None:
    import json

    import aiohttp

    port = _free_port()
    proc = await _imgbot(
        double,
        tmp_path,
        "run",
        DISCORD_DEV_GUILD_ID=str(GUILD_ID),
        IMGBOT_DATABASE_URL=pg_url,
        IMGBOT_HTTP_PORT=str(port),
        IMGBOT_HTTP_HOST="127.0.0.1",
        IMGBOT_LOG_FORMAT="json",
        IMGBOT_INSTANCE_ID="replica-a",
    )
    base = f"http://127.0.0.1:{port}"
    try:
        await double.wait_ready()
        await double.interact(double.slash(AMAL, "profile set", specialty="psych", track="non-us-img"))
        answer = await double.interact(double.slash(AMAL, "contact add", name="Dr Maya Lee", how_met="conference"))
        assert "Added #1 Dr Maya Lee" in answer.text
        await double.interact(double.slash(AMAL, "contact show", contact="#99"))
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/healthz") as r:
                assert r.status == 200 and (await r.json())["instance"] == "replica-a"
            for _ in range(50):  # ready once the gateway is up and the scheduler has run
                async with http.get(f"{base}/readyz") as r:
                    ready = await r.json()
                    if r.status == 200:
                        break
                await asyncio.sleep(0.1)
            assert ready["status"] == "ready", ready
            assert set(ready["checks"]) == {"database", "migrations", "discord", "scheduler"}
            async with http.get(f"{base}/metrics") as r:
                metrics = await r.text()
        assert 'imgbot_commands_total{command="contact add",outcome="ok"} 1.0' in metrics
        assert 'imgbot_commands_total{command="contact show",outcome="user_error"} 1.0' in metrics
        assert "imgbot_nudges_pending 1.0" in metrics  # the follow-up owed after the conference
        for name in (
            "imgbot_command_seconds",
            "imgbot_nudges_delivered_total",
            "imgbot_delivery_lag_seconds",
            "imgbot_lease_takeovers_total",
            "imgbot_platform_rate_limited_total",
        ):
            assert name in metrics, name
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    lines = [json.loads(line) for line in err.decode().splitlines() if line.strip()]
    assert lines and all(entry["instance"] == "replica-a" for entry in lines)
    assert not any("Dr Maya Lee" in entry["msg"] for entry in lines)  # no contact names in logs


async def test_shard_ids_make_this_instance_run_only_its_shards(
    double: DiscordDouble, tmp_path: Path, clock: ManualClock
) -> None:
    live = await LiveBot(double, tmp_path / "ids.db", clock, DISCORD_SHARD_COUNT=2, DISCORD_SHARD_IDS="1").start()
    try:
        assert isinstance(live.running.client, ShardedImgBotClient)
        assert [s.shard for s in double.sessions] == [(1, 2)]  # shard 0 is another instance's
    finally:
        await live.stop()
