"""Acknowledgement latency of /imgbot under 50 concurrent slash commands, against the Slack double.

    python bench/slack_ack_bench.py [--commands 50] [--rounds 5] [--http] [--floor] [--aiohttp-sender]
                                    [--profile-bot PATH]

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

How HTTP mode is sent, and why (2026-12-03). Until then the double sent each request with its aiohttp
client and timed it from the moment it decided to send, so a request's time held the double's own work
for it and for every request queued ahead of it in this one Python process: building the form, signing,
aiohttp's request machinery, reading the answer, and 50 waiters (one per command) woken by every ack,
2,500 wake-ups a round. cProfile of ``--floor --http`` put about 0.8 ms of this process's CPU on each
request (aiohttp's ``_request`` and ``_post_http`` most of it), and the floor, a stub that acks at once,
measured p99 47-116 ms, as much as the bot. Slack sends from many machines; what the bot can answer for is
the time from a request reaching its socket to the ack leaving it. So now (``KeptAlive``):

- one HTTP/1.1 connection per concurrent request is opened before any clock starts and kept alive (the
  bot's aiohttp server keeps an idle one open for an hour by default; the rounds take seconds);
- each round's requests are built and signed first, then written back to back in one turn of the loop
  (``KeptAlive.hold``): the burst is tighter than before, not looser (the table shows, per round, the
  time from the first request written to the last: about 1-3 ms for 50, was 10-17 ms when each was
  written as soon as it was built);
- each request is timed from the moment it was written to its socket to the moment its answer was read,
  parsed by hand (Content-Length bodies; the bot never answers chunked);
- a round's commands are sent with ``wait=False`` and one wait covers the whole round (both transports);
- the first round starts once the 50 ``profile set`` commands of the setup are answered, as every later
  round starts once the round before it is answered. It used to start right after their acks; while
  bolt made one ``auth.test`` per command of that first burst its acks trickled out and most of its work
  was done by then, but with the bot's one cached ``auth.test`` they all came at once and the first round
  ran over 50 profile writes: Socket Mode p99 70-131 ms (p50 12-31 ms) in 13 runs, 20-35 ms otherwise.

This makes the figure the bot's (plus a floor, still measured with ``--floor``, of this process reading
50 answers and the stub's own aiohttp server), and does not make the load lighter: all 50 requests reach
the bot within a few milliseconds, as before or faster. ``--aiohttp-sender`` sends with the double's
aiohttp session as before, for comparison. ``--profile-bot PATH`` runs the bot under cProfile.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

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


class KeptAlive:
    """HTTP mode: the double's signed deliveries sent as raw HTTP/1.1 over connections opened before the
    clock starts and kept alive, each request timed from the moment it is written (see the docstring)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.opened = 0
        self.written: list[float] = []  # when each request was written, in order
        self._gate: asyncio.Event | None = None
        self._held = 0
        self._hold = 0

    def hold(self, n: int) -> None:
        """Build and sign the next ``n`` requests, then write them back to back: a burst as tight as
        one process can make it, with none of its preparation inside any request's time."""
        self._gate, self._held, self._hold = asyncio.Event(), 0, n

    async def open(self, n: int) -> None:
        for _ in range(n):
            self.idle.append(await asyncio.open_connection(self.host, self.port))
            self.opened += 1

    async def close(self) -> None:
        for _, writer in self.idle:
            writer.close()
        self.idle.clear()

    async def __call__(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str, float | None]:
        lines = [
            f"POST {urlsplit(url).path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            f"Content-Length: {len(body)}",
        ]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + body  # built (and signed) before the clock
        if not self.idle:
            await self.open(1)
        reader, writer = self.idle.pop()
        if self._gate is not None:
            gate = self._gate
            self._held += 1
            if self._held >= self._hold:
                self._gate = None
                gate.set()  # the held requests resume one after another in this loop turn, before any read
            await gate.wait()
        writer.write(raw)  # an idle socket takes it in this call (asyncio tries send() at once)
        written = time.monotonic()
        self.written.append(written)
        status_line, _, rest = (await reader.readuntil(b"\r\n\r\n")).partition(b"\r\n")
        fields = {}
        for line in rest.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
        if "chunked" in fields.get("transfer-encoding", ""):
            raise RuntimeError("the bot answered chunked; this sender reads Content-Length bodies only")
        length = int(fields.get("content-length") or 0)
        text = (await reader.readexactly(length)).decode() if length else ""
        if fields.get("connection", "").lower() == "close":
            writer.close()
        else:
            self.idle.append((reader, writer))
        return int(status_line.split()[1]), text, written


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


async def run(
    n: int, rounds: int, http: bool, floor: bool = False, aiohttp_sender: bool = False, profile: str | None = None
) -> None:
    double = SlackDouble(channel_rate=1000.0, channel_burst=1000)
    spreads: list[float] = []  # per round, first to last request written (HTTP, kept-alive sender)
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
        sender: KeptAlive | None = None
        if http:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            env.update(SLACK_SIGNING_SECRET=SIGNING_SECRET, IMGBOT_HTTP_PORT=str(port), IMGBOT_HTTP_HOST="127.0.0.1")
            double.http_url = f"http://127.0.0.1:{port}/slack/events"
            if not aiohttp_sender:
                sender = double.http_transport = KeptAlive("127.0.0.1", port)
        else:
            env["SLACK_APP_TOKEN"] = APP_TOKEN
        command = ["-m", "bot.cli", "run"]
        if profile:  # the bot's main thread under cProfile, written when it exits
            command = ["-m", "cProfile", "-o", profile, *command]
        if floor:
            command = [str(ROOT / "bench" / "slack_ack_bench.py"), "--stub", double.api_base, str(port)]
        proc = await asyncio.create_subprocess_exec(
            sys.executable, *command, env=env, cwd=tmp,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            if http:
                await wait_http(port)
                if sender is not None:
                    await sender.open(n)  # one connection per concurrent request, opened before any clock
            else:
                await double.wait_connected(timeout=60)
            setup = await asyncio.gather(*(double.slash("/imgbot", PROFILE, user=u, channel="dm") for u in users))
            if not floor:  # the first round starts once the profiles are set, as each round after the last
                await double.wait_for(lambda: all(d.text for d in setup), 30, "every profile set")
            measured: list[Delivery] = []
            for r in range(rounds):
                lines = [MIX[(i + r) % len(MIX)].format(i=f"{r}-{i}") for i in range(n)]
                first = len(sender.written) if sender is not None else 0
                if sender is not None:
                    sender.hold(n)
                # wait=False, then one wait for the whole round: 50 waiters each woken by every ack
                # (2,500 wake-ups a round) were the harness's own work, in the loop that reads the acks
                batch = await asyncio.gather(
                    *(
                        double.slash("/imgbot", line, user=u, channel="dm", wait=False)
                        for u, line in zip(users, lines, strict=True)
                    )
                )
                await double.wait_for(lambda b=batch: all(d.acked for d in b), 30, "every ack")  # type: ignore[misc]
                if sender is not None:
                    written = sender.written[first:]
                    spreads.append(1000 * (max(written) - min(written)))
                measured += batch
                if floor:  # the stub answers nothing
                    await asyncio.sleep(0.2)
                    continue
                await double.wait_for(lambda b=batch: all(d.text for d in b), 30, "every answer")  # type: ignore[misc]
        finally:
            if sender is not None:
                await sender.close()
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
        *(
            [
                ("HTTP sender", "kept-alive raw HTTP/1.1, timed from each write"),
                (
                    "first to last request of a round written (ms)",
                    " / ".join(f"{x:.1f}" for x in spreads) if len(spreads) <= 10 else f"max {max(spreads):.1f}",
                ),
            ]
            if spreads
            else [("HTTP sender", "the double's aiohttp session (--aiohttp-sender)")]
            if http
            else []
        ),
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
    parser.add_argument(
        "--aiohttp-sender", action="store_true", help="HTTP mode: send with the double's aiohttp session, as before"
    )
    parser.add_argument("--profile-bot", metavar="PATH", help="run the bot under cProfile, stats to PATH")
    parser.add_argument("--stub", nargs=2, metavar=("API_BASE", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stub:
        asyncio.run(stub(args.stub[0], int(args.stub[1])))
        return
    profile = str(Path(args.profile_bot).resolve()) if args.profile_bot else None
    asyncio.run(run(args.commands, args.rounds, args.http, args.floor, args.aiohttp_sender, profile))


if __name__ == "__main__":
    main()
