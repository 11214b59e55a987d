"""Acknowledgement latency of /imgbot under 50 concurrent slash commands, against the Slack double.

    python bench/slack_ack_bench.py [--commands 50] [--rounds 5] [--http]

The bot is ``imgbot run`` itself, in its own process as an operator starts it (Socket Mode by
default, or HTTP mode with ``--http``), pointed at the double on 127.0.0.1; the double runs in
this process, as Slack runs on its own machines, so its work is not counted against the bot. Each round, N users type a
command at the same moment (a mix of ``contact add``, ``script cold-email``, ``followups``,
``help`` and ``profile show``, each user's profile already set). The double times every ack
from the moment it sent the envelope (or request) to the moment the ack arrived. Target: p99
at most 100 ms; Slack's limit is 3 s. ``--floor`` runs a stub that acks every request at once in
the bot's place, to show how much of the figure is the harness itself. Reported: ack latency
p50/p95/p99/max, late acks, how long until the user saw the answer (the ack if it carried it,
else the first response_url post), and how many answers rode on the ack itself rather than
following through response_url.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _common import machine_info, peak_rss_mib, percentile, table  # noqa: E402

from tests.slack.double import APP_TOKEN, SIGNING_SECRET, Delivery, SlackDouble  # noqa: E402

PROFILE = (
    'profile set name:"Dr User" country:Egypt school:"Cairo University" specialty:psych '
    "track:non-us-img eras:2027-09 timezone:UTC"
)
MIX = ['contact add "Dr Maya Lee {i}" role:attending how_met:conference', "script cold-email", "followups", "help",
       "profile show"]  # fmt: skip


def answered_after(d: Delivery) -> float:
    """Seconds from sending the command to the user seeing the answer: the ack, if it carried the
    answer, else the first response_url post."""
    first = d.first_ack
    assert first is not None and first.acked_at is not None
    start = d.attempts[0].sent_at
    if isinstance(d.ack, dict) and d.ack.get("blocks"):
        return first.acked_at - start
    return min(p.at for p in d.posts) - start


async def wait_http(port: int) -> None:
    for _ in range(300):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        writer.close()
        return
    raise RuntimeError("imgbot run did not start its HTTP server")


async def stub(api_base: str, port: int) -> None:
    """``--floor``: not the bot, a stub that acks every request at once with nothing (HTTP on
    ``port``, or Socket Mode through the double at ``api_base``), to show the harness's own share."""
    if port:
        from aiohttp import web

        async def ack(request: web.Request) -> web.Response:
            await request.read()
            return web.Response(text="")

        app = web.Application()
        app.router.add_post("/slack/events", ack)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        await asyncio.Event().wait()
    import json

    import aiohttp

    async with aiohttp.ClientSession() as http:
        headers = {"Authorization": f"Bearer {APP_TOKEN}"}
        async with http.post(f"{api_base}apps.connections.open", headers=headers) as res:
            url = (await res.json())["url"]
        async with http.ws_connect(url) as ws:
            async for msg in ws:
                frame = json.loads(msg.data)
                if "envelope_id" in frame:
                    await ws.send_str(json.dumps({"envelope_id": frame["envelope_id"]}))


async def run(n: int, rounds: int, http: bool, floor: bool = False) -> None:
    double = SlackDouble(channel_rate=1000.0, channel_burst=1000)
    await double.start()
    users = [f"UA{i:04d}" for i in range(n)]
    for u in users:
        double.add_user("T1", u, u.lower())
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("IMGBOT_", "DISCORD_", "SLACK_"))}
        env.update(
            PYTHONPATH=str(ROOT),
            IMGBOT_DATABASE_URL=f"sqlite:///{Path(tmp) / 'bench.db'}",
            SLACK_BOT_TOKEN=double.bot_token("T1"),
            SLACK_API_BASE=double.api_base,
            IMGBOT_LOG_LEVEL="WARNING",
        )
        port = 0
        if http:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            env.update(SLACK_SIGNING_SECRET=SIGNING_SECRET, IMGBOT_HTTP_PORT=str(port), IMGBOT_HTTP_HOST="127.0.0.1")
            double.http_url = f"http://127.0.0.1:{port}/slack/events"
        else:
            env["SLACK_APP_TOKEN"] = APP_TOKEN
        command = ["-m", "bot.cli", "run"]
        if floor:
            command = [str(ROOT / "bench" / "slack_ack_bench.py"), "--stub", double.api_base, str(port)]
        proc = await asyncio.create_subprocess_exec(
            sys.executable, *command, env=env, cwd=tmp,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            if http:
                await wait_http(port)
            else:
                await double.wait_connected(timeout=60)
            await asyncio.gather(*(double.slash("/imgbot", PROFILE, user=u, channel="dm") for u in users))
            measured: list[Delivery] = []
            for r in range(rounds):
                lines = [MIX[(i + r) % len(MIX)].format(i=f"{r}-{i}") for i in range(n)]
                batch = await asyncio.gather(
                    *(double.slash("/imgbot", line, user=u, channel="dm") for u, line in zip(users, lines, strict=True))
                )
                measured += batch
                if floor:  # the stub answers nothing
                    await asyncio.sleep(0.2)
                    continue
                await double.wait_for(lambda b=batch: all(d.text for d in b), 30, "every answer")  # type: ignore[misc]
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(proc.communicate(), 60)
        if proc.returncode != 0:
            print(err.decode(), file=sys.stderr)
    await double.close()

    lat = [1000 * (d.ack_latency or 0.0) for d in measured]
    in_ack = sum(1 for d in measured if isinstance(d.ack, dict) and d.ack.get("blocks"))
    answer = [1000 * answered_after(d) for d in measured] if not floor else [float("nan")]
    rows = [
        (
            "transport",
            ("HTTP (signed requests)" if http else "Socket Mode") + (", stub bot (--floor)" if floor else ""),
        ),
        ("concurrent slash commands per round", n),
        ("rounds", rounds),
        ("acks measured", len(lat)),
        (
            "ack p50 / p95 / p99 / max (ms)",
            " / ".join(f"{percentile(lat, p):.1f}" for p in (50, 95, 99)) + f" / {max(lat):.1f}",
        ),
        ("acks later than 3 s", len(double.late_acks)),
        (
            "answer shown p50 / p95 / p99 / max (ms)",
            " / ".join(f"{percentile(answer, p):.1f}" for p in (50, 95, 99)) + f" / {max(answer):.1f}",
        ),
        ("answered in the ack / through response_url", f"{in_ack} / {len(measured) - in_ack}"),
        ("every command answered", all(d.text for d in measured)),
        ("peak RSS (MiB)", f"{peak_rss_mib():.0f}"),
    ]
    print(machine_info())
    print(table(["Slack ack benchmark", "value"], rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commands", type=int, default=50, help="concurrent slash commands per round (default 50)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (default 5)")
    parser.add_argument("--http", action="store_true", help="HTTP mode instead of Socket Mode")
    parser.add_argument("--floor", action="store_true", help="a stub that acks at once instead of the bot")
    parser.add_argument("--stub", nargs=2, metavar=("API_BASE", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stub:
        asyncio.run(stub(args.stub[0], int(args.stub[1])))
        return
    asyncio.run(run(args.commands, args.rounds, args.http, args.floor))


if __name__ == "__main__":
    main()
