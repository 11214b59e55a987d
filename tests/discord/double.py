"""A local Discord double: the REST routes and gateway websocket discord.py needs, on 127.0.0.1.

The real discord.py client logs in against it (``GET /users/@me``), opens the
gateway (HELLO, IDENTIFY -> READY, heartbeats), syncs its commands, and then
receives the ``INTERACTION_CREATE`` payloads a test pushes. Every request is
recorded so tests can assert what the bot sent. Faults are switched on per
test: scripted 429s and 5xx responses, closed DMs (403, code 50007), private
threads refused (403, code 50013, ``deny_private_threads``), users who left the
server (``departed``: Unknown Member when added to a thread), no Manage Threads,
an announcement channel, and a global limit of N requests/s answered with
real-looking 429s.

Besides DMs and the one guild text channel (``CHANNEL_ID``) it serves threads
in that channel: creation without a starter message (type 11/12, a name of
1-100 characters, an archive duration Discord offers), members added and taken
out, deletion, the guild's active threads, and posts and history in a thread
(``thread_messages``). With ``serve_guild`` READY lists the guild and
GUILD_CREATE brings its channel and active threads, so discord.py caches them
as it does in production; without it discord.py caches no guild, and the bot
works from REST answers (``GET /channels/{id}``).

It behaves like Discord where discord.py can tell: JSON only with a
Content-Type of exactly ``application/json``; 429s with ``Via`` and a JSON
``retry_after``; an interaction must be acknowledged within 3 s and only
once; a message nonce with ``enforce_nonce`` is deduplicated (for
``nonce_window`` seconds, 300 by default); the Discord
client only sends options a command registered (checked here, so tests cannot
invoke what the bot never declared).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSMsgType, web

BOT_ID = 1_100_000_000_000_000_001
APP_ID = 1_100_000_000_000_000_002
GUILD_ID = 1_100_000_000_000_000_003
CHANNEL_ID = 1_100_000_000_000_000_004
TOKEN = "test-token"
EPHEMERAL = 64
LOADING = 128
ACK_DEADLINE = 3.0  # seconds Discord waits for the first response to an interaction
DISCORD_EPOCH_MS = 1_420_070_400_000

Json = Any
Handler = Callable[[web.Request, "Call", re.Match[str]], Awaitable[web.StreamResponse]]


def snowflake_time(ms: int, inc: int) -> int:
    return ((ms - DISCORD_EPOCH_MS) << 22) | (inc & 0x3FFFFF)


def user(uid: int, name: str) -> dict[str, Any]:
    return {
        "id": str(uid),
        "username": name,
        "discriminator": "0",
        "global_name": name.title(),
        "avatar": None,
        "public_flags": 0,
        "bot": False,
    }


BOT_USER = {**user(BOT_ID, "imgbot"), "bot": True, "verified": True, "mfa_enabled": False, "flags": 0}


def json_response(data: Json, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # discord.py parses JSON only when the Content-Type is exactly application/json.
    return web.Response(
        status=status, body=json.dumps(data).encode(), headers={"Content-Type": "application/json", **(headers or {})}
    )


def error(status: int, code: int, message: str) -> web.Response:
    return json_response({"message": message, "code": code}, status)


@dataclass
class Call:
    """One request as the bot sent it."""

    method: str
    path: str
    query: dict[str, str]
    json: Json
    files: list[tuple[str, bytes]]
    at: float
    status: int = 0

    @property
    def route(self) -> str:
        return f"{self.method} {self.path}"


@dataclass
class Fault:
    method: str
    pattern: re.Pattern[str]
    status: int
    times: int
    retry_after: float
    body: Json | None
    after_effect: bool  # apply the request, then answer with the fault (a lost response)


@dataclass
class Interaction:
    """One interaction pushed to the bot and everything the bot answered to it."""

    payload: dict[str, Any]
    pushed_at: float
    callback: dict[str, Any] | None = None
    callback_at: float | None = None
    original: dict[str, Any] | None = None
    followups: list[dict[str, Any]] = field(default_factory=list)
    original_deleted: bool = False
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    last_change: float = 0.0

    @property
    def id(self) -> str:
        return str(self.payload["id"])

    @property
    def token(self) -> str:
        return str(self.payload["token"])

    @property
    def kind(self) -> int | None:
        return None if self.callback is None else int(self.callback["type"])

    @property
    def answered(self) -> bool:
        if self.callback is None:
            return False
        if self.kind in (8, 9):  # autocomplete result, or a modal opened
            return True
        loading = self.original is not None and bool(int(self.original.get("flags", 0)) & LOADING)
        return not (loading and not self.original_deleted)

    @property
    def messages(self) -> list[dict[str, Any]]:
        """What the user sees, in order."""
        first = [self.original] if self.original is not None and not self.original_deleted else []
        return first + self.followups

    @property
    def modal(self) -> dict[str, Any]:
        """The modal the bot opened in answer (callback type 9)."""
        assert self.callback is not None and self.kind == 9, f"not a modal answer: {self.callback}"
        return dict(self.callback["data"])

    @property
    def choices(self) -> list[dict[str, Any]]:
        assert self.callback is not None and self.kind == 8, f"not an autocomplete answer: {self.callback}"
        return list(self.callback["data"]["choices"])

    @property
    def text(self) -> str:
        return "\n".join(message_text(m) for m in self.messages)

    @property
    def ephemeral(self) -> bool:
        return all(int(m.get("flags", 0)) & EPHEMERAL for m in self.messages) and bool(self.messages)

    def touch(self) -> None:
        self.last_change = time.monotonic()
        self.changed.set()


def message_text(message: dict[str, Any]) -> str:
    """Everything a user reads in a message: content, embeds, buttons, file names."""
    out = [message.get("content") or ""]
    for e in message.get("embeds") or []:
        out += [e.get("title") or "", e.get("description") or ""]
        out += [f"{f['name']}: {f['value']}" for f in e.get("fields") or []]
        out.append((e.get("footer") or {}).get("text") or "")
    for b in buttons(message):
        out.append(f"[{b.get('label')}]")
    out += [f"(file {a['filename']})" for a in message.get("attachments") or []]
    return "\n".join(x for x in out if x)


def limit_problems(payload: dict[str, Any]) -> list[str]:
    """What Discord would reject in a message payload (it answers 400 Invalid Form Body, code 50035)."""
    problems = []
    if len(payload.get("content") or "") > 2000:
        problems.append("content is over 2000 characters")
    embeds = payload.get("embeds") or []
    if len(embeds) > 10:
        problems.append("more than 10 embeds")
    total = 0
    for e in embeds:
        title, desc = e.get("title") or "", e.get("description") or ""
        footer = (e.get("footer") or {}).get("text") or ""
        fields = e.get("fields") or []
        problems += ["embed title over 256"] * (len(title) > 256) + ["embed description over 4096"] * (len(desc) > 4096)
        problems += ["footer over 2048"] * (len(footer) > 2048) + ["more than 25 fields"] * (len(fields) > 25)
        for f in fields:
            if not f.get("name") or not f.get("value") or len(f["name"]) > 256 or len(f["value"]) > 1024:
                problems.append(f"bad field {f.get('name')!r}")
        if not (title or desc or fields or footer):
            problems.append("empty embed")
        total += len(title) + len(desc) + len(footer)
        total += sum(len(f.get("name", "")) + len(f.get("value", "")) for f in fields)
    if total > 6000:
        problems.append(f"embeds total {total} characters (over 6000)")
    rows = payload.get("components") or []
    if len(rows) > 5:
        problems.append("more than 5 component rows")
    ids = [c.get("custom_id") for row in rows for c in row.get("components") or []]
    for row in rows:
        for c in row.get("components") or []:
            if len(c.get("custom_id") or "") > 100 or len(c.get("label") or "") > 80:
                problems.append("custom_id over 100 or label over 80")
        if len(row.get("components") or []) > 5:
            problems.append("more than 5 buttons in a row")
    if len(ids) != len(set(ids)):
        problems.append("duplicate custom_id")
    return problems


def modal_problems(data: dict[str, Any]) -> list[str]:
    """What Discord would reject in a MODAL callback: a title of 1-45 characters, a custom_id of
    at most 100, 1-5 action rows each holding one text input (label 1-45, style 1 or 2, lengths
    up to 4000, placeholder up to 100)."""
    problems = []
    if not 1 <= len(data.get("title") or "") <= 45:
        problems.append("modal title must be 1-45 characters")
    if not 1 <= len(data.get("custom_id") or "") <= 100:
        problems.append("modal custom_id must be 1-100 characters")
    rows = data.get("components") or []
    if not 1 <= len(rows) <= 5:
        problems.append("a modal needs 1-5 rows")
    for row in rows:
        inputs = row.get("components") or []
        if row.get("type") != 1 or len(inputs) != 1 or inputs[0].get("type") != 4:
            problems.append("each modal row holds exactly one text input")
            continue
        box = inputs[0]
        if not 1 <= len(box.get("label") or "") <= 45 or box.get("style") not in (1, 2):
            problems.append("text input label must be 1-45 characters and style 1 or 2")
        if not 1 <= len(box.get("custom_id") or "") <= 100:
            problems.append("text input custom_id must be 1-100 characters")
        if int(box.get("max_length") or 4000) > 4000 or int(box.get("min_length") or 0) > 4000:
            problems.append("text input lengths are at most 4000")
        if len(box.get("placeholder") or "") > 100:
            problems.append("text input placeholder over 100")
    return problems


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for row in message.get("components") or [] for c in row.get("components") or []]


class DiscordDouble:
    def __init__(self, *, token: str = TOKEN, global_limit: int | None = None) -> None:
        self.token = token
        self.global_limit = global_limit
        self.calls: list[Call] = []
        self.rate_limited = 0  # 429s answered because of global_limit
        self.invalid: list[str] = []  # limit violations Discord would have refused
        self.unknown: list[str] = []  # requests to routes the double does not serve
        self.faults: list[Fault] = []
        self.commands: dict[int | None, list[dict[str, Any]]] = {}
        self.interactions: dict[str, Interaction] = {}
        self.channels: dict[int, list[dict[str, Any]]] = {}
        self.dm_channels: dict[int, int] = {}  # user id -> DM channel id
        self.dm_users: dict[int, int] = {}  # DM channel id -> user id
        self.closed_dms: set[int] = set()
        self.threads: dict[int, dict[str, Any]] = {}  # thread id -> its channel object (while it exists)
        self.thread_members: dict[int, set[int]] = {}  # thread id -> user ids in it (the bot too)
        self.deleted_threads: set[int] = set()
        self.departed: set[int] = set()  # users no longer in the server (adding one: Unknown Member)
        self.files: dict[str, bytes] = {}  # attachment url -> bytes (uploads and bot-sent files)
        self.sessions: list[_Session] = []
        self.identified = 0
        self.message_latency = 0.0  # seconds each message post takes, as over a real network
        self.nonce_window = 300.0  # seconds Discord remembers a nonce (0: the retry comes after it forgot)
        # READY lists the guild and GUILD_CREATE follows with its text channel and active threads, as
        # Discord does for the ``guilds`` intent (off: READY lists no guild, so discord.py caches none)
        self.serve_guild = False
        self.channel_type = 0  # CHANNEL_ID's type: 0 text; 5 announcement (no private threads there)
        self.manage_threads = True  # the bot holds Manage Threads (needed to delete a thread)
        self._window: deque[float] = deque()
        self._ids = itertools.count(1)
        self._nonces: dict[tuple[int, str], tuple[float, dict[str, Any]]] = {}
        self._activity = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = [
            ("GET", re.compile(r"/users/@me"), self._me),
            ("GET", re.compile(r"/oauth2/applications/@me"), self._app_info),
            ("GET", re.compile(r"/gateway"), self._gateway_url),
            ("GET", re.compile(r"/gateway/bot"), self._gateway_bot),
            ("PUT", re.compile(r"/applications/(?P<app>\d+)(/guilds/(?P<guild>\d+))?/commands"), self._put_commands),
            ("GET", re.compile(r"/applications/(?P<app>\d+)(/guilds/(?P<guild>\d+))?/commands"), self._get_commands),
            ("POST", re.compile(r"/interactions/(?P<id>\d+)/(?P<token>[^/]+)/callback"), self._callback),
            (
                "PATCH",
                re.compile(r"/webhooks/(?P<app>\d+)/(?P<token>[^/]+)/messages/(?P<mid>@original|\d+)"),
                self._edit_webhook_message,
            ),
            (
                "DELETE",
                re.compile(r"/webhooks/(?P<app>\d+)/(?P<token>[^/]+)/messages/(?P<mid>@original|\d+)"),
                self._delete_webhook_message,
            ),
            ("POST", re.compile(r"/webhooks/(?P<app>\d+)/(?P<token>[^/]+)"), self._followup),
            ("POST", re.compile(r"/users/@me/channels"), self._open_dm),
            ("POST", re.compile(r"/channels/(?P<channel>\d+)/messages"), self._create_message),
            ("GET", re.compile(r"/channels/(?P<channel>\d+)/messages"), self._get_messages),
            ("GET", re.compile(r"/channels/(?P<channel>\d+)"), self._get_channel),
            ("DELETE", re.compile(r"/channels/(?P<channel>\d+)"), self._delete_channel),
            ("POST", re.compile(r"/channels/(?P<channel>\d+)/threads"), self._create_thread),
            (
                "PUT",
                re.compile(r"/channels/(?P<channel>\d+)/thread-members/(?P<user>\d+)"),
                self._add_thread_member,
            ),
            (
                "DELETE",
                re.compile(r"/channels/(?P<channel>\d+)/thread-members/(?P<user>\d+)"),
                self._remove_thread_member,
            ),
            ("GET", re.compile(r"/guilds/(?P<guild>\d+)/threads/active"), self._active_threads),
        ]

    # ================================================================ lifecycle
    async def start(self) -> None:
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_get("/gateway-ws", self._gateway)
        app.router.add_get("/cdn/{path:.*}", self._cdn)
        app.router.add_route("*", "/api/v10/{path:.*}", self._rest)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def close(self) -> None:
        for s in list(self.sessions):
            with contextlib.suppress(Exception):
                await s.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        return f"{self.base}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway-ws"

    def snowflake(self) -> int:
        return snowflake_time(int(time.time() * 1000), next(self._ids))

    # ================================================================ assertions helpers
    def count(self, method: str, pattern: str) -> int:
        rx = re.compile(pattern)
        return sum(1 for c in self.calls if c.method == method and rx.fullmatch(c.path))

    def calls_to(self, method: str, pattern: str) -> list[Call]:
        rx = re.compile(pattern)
        return [c for c in self.calls if c.method == method and rx.fullmatch(c.path)]

    def dms(self, uid: int) -> list[dict[str, Any]]:
        channel = self.dm_channels.get(uid)
        return list(self.channels.get(channel, [])) if channel is not None else []

    def thread_messages(self, thread_id: int) -> list[dict[str, Any]]:
        """What was posted in a thread (not its system messages), oldest first."""
        return [m for m in self.channels.get(thread_id, []) if m["type"] == 0]

    def deny_private_threads(self, *, times: int = 1) -> None:
        """Refuse the next ``times`` thread creations as Discord does when the bot lacks Create
        Private Threads in the channel: 403, code 50013 Missing Permissions."""
        self.fail_next(
            "POST", r"/channels/\d+/threads", 403, times=times, body={"message": "Missing Permissions", "code": 50013}
        )

    async def wait_for(self, predicate: Callable[[], bool], within: float = 10.0, what: str = "condition") -> None:
        """Wait until ``predicate()`` holds, re-checking whenever the bot sends something (and every 20 ms)."""
        deadline = time.monotonic() + within
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            self._activity.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._activity.wait(), 0.02)

    # ================================================================ faults
    def fail_next(
        self,
        method: str,
        pattern: str,
        status: int,
        *,
        times: int = 1,
        retry_after: float = 0.05,
        body: Json | None = None,
        after_effect: bool = False,
    ) -> None:
        """Answer the next ``times`` matching requests with ``status`` (a 429 carries ``retry_after``)."""
        self.faults.append(Fault(method, re.compile(pattern), status, times, retry_after, body, after_effect))

    def _fault_for(self, method: str, path: str) -> Fault | None:
        for f in self.faults:
            if f.times > 0 and f.method == method and f.pattern.fullmatch(path):
                f.times -= 1
                return f
        return None

    @staticmethod
    def _fault_response(f: Fault) -> web.Response:
        if f.status == 429:
            return json_response(
                f.body or {"message": "You are being rate limited.", "retry_after": f.retry_after, "global": False},
                429,
                {
                    "Via": "1.1 google",
                    "Retry-After": str(max(1, round(f.retry_after))),
                    "X-RateLimit-Limit": "5",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset-After": f"{f.retry_after:.3f}",
                    "X-RateLimit-Bucket": "double-bucket",
                    "X-RateLimit-Scope": "user",
                },
            )
        if f.body is not None:
            return json_response(f.body, f.status)
        return web.Response(status=f.status, text="<html>upstream error</html>", content_type="text/html")

    def _over_global_limit(self, path: str) -> float | None:
        """Seconds to wait if this request breaks the global limit (interaction endpoints are exempt)."""
        if self.global_limit is None or path.startswith(("/interactions/", "/webhooks/")):
            return None
        now = time.monotonic()
        while self._window and now - self._window[0] >= 1.0:
            self._window.popleft()
        if len(self._window) >= self.global_limit:
            return 1.0 - (now - self._window[0])
        self._window.append(now)
        return None

    # ================================================================ REST
    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["path"]
        payload, files = await self._read_body(request)
        call = Call(request.method, path, dict(request.query), payload, files, time.monotonic())
        self.calls.append(call)
        response = await self._answer(request, call, path)
        call.status = response.status
        self._activity.set()
        return response

    async def _answer(self, request: web.Request, call: Call, path: str) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bot {self.token}" and not path.startswith(
            ("/interactions/", "/webhooks/")
        ):
            return error(401, 0, "401: Unauthorized")
        wait = self._over_global_limit(path)
        if wait is not None:
            self.rate_limited += 1
            return json_response(
                {"message": "You are being rate limited.", "retry_after": round(wait, 3), "global": True},
                429,
                {
                    "Via": "1.1 google",
                    "Retry-After": str(max(1, round(wait))),
                    "X-RateLimit-Global": "true",
                    "X-RateLimit-Scope": "global",
                },
            )
        fault = self._fault_for(request.method, path)
        if fault is not None and not fault.after_effect:
            return self._fault_response(fault)
        for method, rx, handler in self._routes:
            m = rx.fullmatch(path)
            if m and method == request.method:
                response = await handler(request, call, m)
                return self._fault_response(fault) if fault is not None else response
        self.unknown.append(f"{request.method} {path}")
        return error(404, 0, "404: Not Found")

    @staticmethod
    async def _read_body(request: web.Request) -> tuple[Json, list[tuple[str, bytes]]]:
        if request.content_type == "multipart/form-data":
            form = await request.post()
            files = [(v.filename, v.file.read()) for k, v in form.items() if k.startswith("files[")]  # type: ignore[union-attr]
            raw = form.get("payload_json")
            return (json.loads(raw) if isinstance(raw, str) else None), files
        if request.can_read_body:
            text = await request.text()
            return (json.loads(text) if text else None), []
        return None, []

    async def _me(self, request: web.Request, call: Call, m: re.Match[str]) -> web.Response:
        return json_response(BOT_USER)

    async def _app_info(self, request: web.Request, call: Call, m: re.Match[str]) -> web.Response:
        return json_response(
            {
                "id": str(APP_ID),
                "name": "IMG Peer Bot",
                "icon": None,
                "description": "",
                "rpc_origins": [],
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": user(1, "owner"),
                "summary": "",
                "verify_key": "00",
                "flags": 0,
                "bot": BOT_USER,
                "team": None,
                "interactions_endpoint_url": None,
            }
        )

    async def _gateway_url(self, request: web.Request, call: Call, m: re.Match[str]) -> web.Response:
        return json_response({"url": self.gateway_url})

    async def _gateway_bot(self, request: web.Request, call: Call, m: re.Match[str]) -> web.Response:
        return json_response(
            {
                "url": self.gateway_url,
                "shards": 1,
                "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1},
            }
        )

    async def _put_commands(self, request: web.Request, call: Call, m: re.Match[str]) -> web.Response:
        guild = int(m["guild"]) if m["guild"] else None
        stored = [
            {
                **c,
                "id": str(self.snowflake()),
                "application_id": str(APP_ID),
                "version": "1",
                **({"guild_id": str(guild)} if guild else {}),
            }
            for c in call.json
        ]
        self.commands[guild] = stored
        return json_response(stored)

    async def _get_commands(self, request: web.Request, call: Call, m: re.Match[str]) -> web.Response:
        return json_response(self.commands.get(int(m["guild"]) if m["guild"] else None, []))

    def _invalid(self, data: dict[str, Any]) -> web.Response | None:
        problems = limit_problems(data)
        if not problems:
            return None
        self.invalid.extend(problems)
        return json_response({"message": "Invalid Form Body", "code": 50035, "errors": problems}, 400)

    # ---------------------------------------------------------------- interactions
    def _interaction(self, token: str) -> Interaction | None:
        return next((i for i in self.interactions.values() if i.token == token), None)

    def _message(
        self,
        channel_id: int | str,
        data: dict[str, Any],
        files: list[tuple[str, bytes]],
        *,
        flags: int = 0,
        webhook: bool = False,
    ) -> dict[str, Any]:
        mid = self.snowflake()
        attachments = []
        for i, (name, content) in enumerate(files):
            url = f"{self.base}/cdn/attachments/{channel_id}/{mid}/{i}/{name}"
            self.files[url] = content
            attachments.append(
                {"id": str(self.snowflake()), "filename": name, "size": len(content), "url": url, "proxy_url": url}
            )
        msg: dict[str, Any] = {
            "id": str(mid),
            "channel_id": str(channel_id),
            "type": 0,
            "author": BOT_USER,
            "content": data.get("content") or "",
            "embeds": data.get("embeds") or [],
            "components": data.get("components") or [],
            "attachments": attachments,
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": False,
            "timestamp": datetime.now(UTC).isoformat(),
            "edited_timestamp": None,
            "flags": flags | int(data.get("flags") or 0),
            "allowed_mentions": data.get("allowed_mentions"),
        }
        if data.get("nonce") is not None:
            msg["nonce"] = data["nonce"]
        if webhook:
            msg["webhook_id"] = str(APP_ID)
            msg["application_id"] = str(APP_ID)
        return msg

    @staticmethod
    def _update(message: dict[str, Any], data: dict[str, Any], new: dict[str, Any]) -> None:
        for key in ("content", "embeds", "components", "allowed_mentions"):
            if key in data:
                message[key] = data[key] if data[key] is not None else ([] if key != "content" else "")
        if new["attachments"] or "attachments" in data:
            message["attachments"] = new["attachments"]
        message["flags"] = int(message.get("flags", 0)) & ~LOADING
        message["edited_timestamp"] = datetime.now(UTC).isoformat()

    async def _callback(self, request: web.Request, call: Call, m: re.Match[str]) -> web.Response:
        inter = self.interactions.get(m["id"])
        if inter is None or inter.token != m["token"] or time.monotonic() - inter.pushed_at > ACK_DEADLINE:
            return error(404, 10062, "Unknown interaction")
        if inter.callback is not None:
            return error(400, 40060, "Interaction has already been acknowledged.")
        body = call.json or {}
        if int(body.get("type") or 0) == 9:
            # a modal answers a command or a button, never a modal submit or an autocomplete
            if inter.payload["type"] not in (2, 3):
                self.invalid.append("a modal cannot answer this interaction type")
                return error(400, 50035, "Invalid Form Body")
            if problems := modal_problems(body.get("data") or {}):
                self.invalid.extend(problems)
                return json_response({"message": "Invalid Form Body", "code": 50035, "errors": problems}, 400)
        elif (bad := self._invalid(body.get("data") or {})) is not None:
            return bad
        kind = int(body["type"])
        data = body.get("data") or {}
        if kind == 9 and (bad := self._invalid_modal(inter, data)) is not None:
            return bad
        inter.callback, inter.callback_at = body, time.monotonic()
        channel = inter.payload.get("channel_id") or inter.payload["channel"]["id"]
        resource: dict[str, Any] = {"type": kind}
        if kind in (4, 5):
            flags = int(data.get("flags") or 0) | (LOADING if kind == 5 else 0)
            inter.original = self._message(channel, data, call.files, flags=flags, webhook=True)
            resource["message"] = inter.original
        elif kind == 7 and inter.payload.get("message"):
            self._update(inter.payload["message"], data, self._message(channel, data, call.files))
        inter.touch()
        return json_response(
            {
                "interaction": {
                    "id": inter.id,
                    "type": inter.payload["type"],
                    "response_message_id": inter.original["id"] if inter.original else None,
                    "response_message_loading": kind == 5,
                    "response_message_ephemeral": bool(inter.original and int(inter.original["flags"]) & EPHEMERAL),
                },
                "resource": resource,
            }
        )

    def _invalid_modal(self, inter: Interaction, data: dict[str, Any]) -> web.Response | None:
        """What Discord refuses in a MODAL callback: answering a modal submit with another modal,
        a title or label over 45 characters, more than 5 rows, a row that is not one text input,
        a pre-filled value longer than its max_length, a custom id over 100."""
        problems = []
        if inter.payload["type"] == 5:
            problems.append("a modal cannot answer a modal submit")
        title = data.get("title") or ""
        if not 1 <= len(title) <= 45:
            problems.append("modal title must be 1-45 characters")
        if not 1 <= len(data.get("custom_id") or "") <= 100:
            problems.append("modal custom_id must be 1-100 characters")
        rows = data.get("components") or []
        if not 1 <= len(rows) <= 5:
            problems.append("a modal has 1-5 rows")
        for row in rows:
            inputs = row.get("components") or []
            if row.get("type") != 1 or len(inputs) != 1 or inputs[0].get("type") != 4:
                problems.append("each modal row holds exactly one text input")
                continue
            ti = inputs[0]
            if not 1 <= len(ti.get("label") or "") <= 45:
                problems.append(f"text input label {ti.get('label')!r} must be 1-45 characters")
            if len(ti.get("value") or "") > int(ti.get("max_length") or 4000):
                problems.append(f"text input {ti.get('custom_id')!r} value is over its max_length")
            if not 1 <= len(ti.get("custom_id") or "") <= 100:
                problems.append("text input custom_id must be 1-100 characters")
        if not problems:
            return None
        self.invalid.extend(problems)
        return json_response({"message": "Invalid Form Body", "code": 50035, "errors": problems}, 400)

    async def _edit_webhook_message(self, request: web.Request, call: Call, m: re.Match[str]) -> web.Response:
        inter = self._interaction(m["token"])
        if inter is None:
            return error(404, 10015, "Unknown Webhook")
        target = (
            inter.original
            if m["mid"] == "@original"
            else next((f for f in inter.followups if f["id"] == m["mid"]), None)
        )
        if target is None:
            return error(404, 10008, "Unknown Message")
        data = call.json or {}
        if (bad := self._invalid(data)) is not None:
            return bad
        self._update(target, data, self._message(target["channel_id"], data, call.files))
        inter.touch()
        return json_response(target)

    async def _delete_webhook_message(self, request: web.Request, call: Call, m: re.Match[str]) -> web.Response:
        inter = self._interaction(m["token"])
        if inter is None:
            return error(404, 10015, "Unknown Webhook")
        if m["mid"] == "@original":
            inter.original_deleted = True
        else:
            inter.followups = [f for f in inter.followups if f["id"] != m["mid"]]
        inter.touch()
        return web.Response(status=204)

    async def _followup(self, request: web.Request, call: Call, m: re.Match[str]) -> web.Response:
        inter = self._interaction(m["token"])
        if inter is None:
            return error(404, 10015, "Unknown Webhook")
        if inter.callback is None:
            return error(400, 40060, "Interaction has not been acknowledged.")
        data = call.json or {}
        if (bad := self._invalid(data)) is not None:
            return bad
        channel = inter.payload.get("channel_id") or inter.payload["channel"]["id"]
        loading = inter.original is not None and int(inter.original["flags"]) & LOADING
        if loading and not inter.original_deleted:
            # Discord: the first follow-up after a deferral replaces the "thinking..." message.
            self._update(inter.original, data, self._message(channel, data, call.files))  # type: ignore[arg-type]
            msg = inter.original
        else:
            msg = self._message(channel, data, call.files, webhook=True)
            inter.followups.append(msg)
        inter.touch()
        return json_response(msg) if request.query.get("wait") in ("true", "1", "True") else web.Response(status=204)

    # ---------------------------------------------------------------- DMs
    def dm_channel_for(self, uid: int) -> int:
        if uid not in self.dm_channels:
            cid = self.snowflake()
            self.dm_channels[uid] = cid
            self.dm_users[cid] = uid
        return self.dm_channels[uid]

    async def _open_dm(self, request: web.Request, call: Call, m: re.Match[str]) -> web.Response:
        uid = int(call.json["recipient_id"])
        cid = self.dm_channel_for(uid)
        return json_response(
            {
                "id": str(cid),
                "type": 1,
                "last_message_id": None,
                "flags": 0,
                "recipients": [user(uid, f"user{uid % 10_000}")],
            }
        )

    async def _create_message(self, request: web.Request, call: Call, m: re.Match[str]) -> web.Response:
        if self.message_latency:
            await asyncio.sleep(self.message_latency)
        cid = int(m["channel"])
        if cid in self.dm_users and self.dm_users[cid] in self.closed_dms:
            return error(403, 50007, "Cannot send messages to this user")
        thread = self.threads.get(cid)
        if cid not in self.dm_users and cid != CHANNEL_ID and thread is None:
            return error(404, 10003, "Unknown Channel")
        if thread is not None and BOT_ID not in self.thread_members[cid]:
            return error(403, 50001, "Missing Access")  # a private thread is open to its members only
        data = call.json or {}
        if (bad := self._invalid(data)) is not None:
            return bad
        nonce = data.get("nonce")
        if nonce is not None and data.get("enforce_nonce"):
            seen = self._nonces.get((cid, str(nonce)))
            if seen is not None and time.monotonic() - seen[0] < self.nonce_window:
                return json_response(seen[1])  # Discord returns the message already created
        msg = self._message(cid, data, call.files)
        self.channels.setdefault(cid, []).append(msg)
        if thread is not None:
            thread["last_message_id"] = msg["id"]
            thread["message_count"] += 1
            thread["total_message_sent"] += 1
        if nonce is not None:
            self._nonces[(cid, str(nonce))] = (time.monotonic(), msg)
        return json_response(msg)

    async def _get_messages(self, request: web.Request, call: Call, m: re.Match[str]) -> web.Response:
        """A channel's history, newest first: ``limit`` (1-100, default 50), ``before`` / ``after`` an id."""
        cid = int(m["channel"])
        if cid not in self.dm_users and cid != CHANNEL_ID and cid not in self.threads:
            return error(404, 10003, "Unknown Channel")
        limit = int(call.query.get("limit", 50))
        if not 1 <= limit <= 100:
            self.invalid.append(f"history limit {limit} is not 1-100")
            return error(400, 50035, "Invalid Form Body")
        found = list(self.channels.get(cid, []))
        if "before" in call.query:
            found = [x for x in found if int(x["id"]) < int(call.query["before"])]
        if "after" in call.query:
            found = [x for x in found if int(x["id"]) > int(call.query["after"])]
            return json_response(list(reversed(found[:limit])))  # the oldest after the id, newest first
        return json_response(list(reversed(found))[:limit])

    # ---------------------------------------------------------------- the guild channel and its threads
    def text_channel(self) -> dict[str, Any]:
        """The guild's text channel (``CHANNEL_ID``) as Discord describes it."""
        return {
            "id": str(CHANNEL_ID),
            "type": self.channel_type,
            "guild_id": str(GUILD_ID),
            "name": "general",
            "position": 0,
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": None,
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "default_auto_archive_duration": 1440,
            "flags": 0,
        }

    def guild_create(self) -> dict[str, Any]:
        """The guild as GUILD_CREATE describes it: its text channel and the active threads the bot
        can see, no members (no members intent)."""
        joined = [t for tid, t in self.threads.items() if BOT_ID in self.thread_members[tid]]
        return {
            "id": str(GUILD_ID),
            "name": "IMG Peers",
            "unavailable": False,
            "owner_id": "1",
            "member_count": 2 + len(self.dm_channels),
            "large": False,
            "joined_at": "2026-01-01T00:00:00+00:00",
            "roles": [],
            "emojis": [],
            "stickers": [],
            "features": [],
            "members": [],
            "presences": [],
            "voice_states": [],
            "channels": [self.text_channel()],
            "threads": [t for t in joined if not t["thread_metadata"]["archived"]],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }

    def _thread_member(self, thread_id: int, uid: int) -> dict[str, Any]:
        return {"id": str(thread_id), "user_id": str(uid), "join_timestamp": datetime.now(UTC).isoformat(), "flags": 0}

    async def _get_channel(self, request: web.Request, call: Call, m: re.Match[str]) -> web.Response:
        cid = int(m["channel"])
        if cid == CHANNEL_ID:
            return json_response(self.text_channel())
        if cid in self.threads:
            return json_response(self.threads[cid])
        if cid in self.dm_users:
            uid = self.dm_users[cid]
            return json_response(
                {
                    "id": str(cid),
                    "type": 1,
                    "last_message_id": None,
                    "flags": 0,
                    "recipients": [user(uid, f"user{uid}")],
                }
            )
        return error(404, 10003, "Unknown Channel")

    async def _create_thread(self, request: web.Request, call: Call, m: re.Match[str]) -> web.Response:
        """A thread without a starter message. Discord: only in a guild text (or news) channel; type 11
        (public) or 12 (private); a name of 1-100 characters; an auto-archive of 60, 1440, 4320 or
        10080 minutes."""
        cid = int(m["channel"])
        if cid in self.dm_users or cid in self.threads:
            return error(400, 50024, "Cannot execute action on this channel type")
        if cid != CHANNEL_ID:
            return error(404, 10003, "Unknown Channel")
        data = call.json or {}
        problems = []
        kind = data.get("type")
        if self.channel_type == 5 and kind == 12:
            return error(400, 50024, "Cannot execute action on this channel type")  # announcement: public only
        if kind not in (11, 12):
            problems.append(f"thread type {kind!r} is not 11 or 12")
        name = data.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            problems.append(f"thread name {name!r} must be 1-100 characters")
        archive = data.get("auto_archive_duration")
        if archive not in (60, 1440, 4320, 10080):
            problems.append(f"auto_archive_duration {archive!r} is not 60, 1440, 4320 or 10080")
        if problems:
            self.invalid.extend(problems)
            return json_response({"message": "Invalid Form Body", "code": 50035, "errors": problems}, 400)
        tid = self.snowflake()
        now = datetime.now(UTC).isoformat()
        thread = {
            "id": str(tid),
            "type": kind,
            "guild_id": str(GUILD_ID),
            "parent_id": str(cid),
            "owner_id": str(BOT_ID),
            "name": name,
            "last_message_id": None,
            "message_count": 0,
            "member_count": 1,
            "total_message_sent": 0,
            "rate_limit_per_user": int(data.get("rate_limit_per_user") or 0),
            "flags": 0,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": archive,
                "archive_timestamp": now,
                "locked": False,
                "create_timestamp": now,
                **({"invitable": bool(data.get("invitable", True))} if kind == 12 else {}),
            },
        }
        self.threads[tid] = thread
        self.thread_members[tid] = {BOT_ID}
        # Discord tells the creator's gateway too; discord.py caches it if it knows the guild
        if any(s.identified for s in self.sessions):
            await self.push("THREAD_CREATE", {**thread, "newly_created": True}, GUILD_ID)
        return json_response({**thread, "member": self._thread_member(tid, BOT_ID)}, 201)

    async def _add_thread_member(self, request: web.Request, call: Call, m: re.Match[str]) -> web.StreamResponse:
        tid, uid = int(m["channel"]), int(m["user"])
        thread = self.threads.get(tid)
        if thread is None:
            return error(404, 10003, "Unknown Channel")
        if BOT_ID not in self.thread_members[tid]:
            return error(403, 50001, "Missing Access")
        if uid in self.departed:
            return error(404, 10007, "Unknown Member")
        if uid not in self.thread_members[tid]:
            self.thread_members[tid].add(uid)
            thread["member_count"] = len(self.thread_members[tid])
            # the thread shows "imgbot added X to the thread" (a system message, type 7)
            added = self._message(tid, {}, [])
            added.update({"type": 7, "mentions": [user(uid, f"user{uid % 10_000}")]})
            self.channels.setdefault(tid, []).append(added)
        return web.Response(status=204)

    async def _remove_thread_member(self, request: web.Request, call: Call, m: re.Match[str]) -> web.StreamResponse:
        """Take a member out of a thread: Manage Threads, or the creator of a private thread."""
        tid, uid = int(m["channel"]), int(m["user"])
        thread = self.threads.get(tid)
        if thread is None:
            return error(404, 10003, "Unknown Channel")
        if not self.manage_threads and not (thread["type"] == 12 and int(thread["owner_id"]) == BOT_ID):
            return error(403, 50013, "Missing Permissions")
        if uid not in self.thread_members[tid]:
            return error(404, 10007, "Unknown Member")
        self.thread_members[tid].discard(uid)
        thread["member_count"] = len(self.thread_members[tid])
        return web.Response(status=204)

    async def _delete_channel(self, request: web.Request, call: Call, m: re.Match[str]) -> web.Response:
        """Delete a thread: Discord asks for Manage Threads, even of the thread's creator."""
        cid = int(m["channel"])
        if cid not in self.threads:
            if cid == CHANNEL_ID or cid in self.dm_users:
                self.invalid.append(f"the bot tried to delete channel {cid}, which is not a thread")
                return error(403, 50013, "Missing Permissions")
            return error(404, 10003, "Unknown Channel")
        if not self.manage_threads:
            return error(403, 50013, "Missing Permissions")
        self.deleted_threads.add(cid)
        return json_response(self.threads.pop(cid))

    async def _active_threads(self, request: web.Request, call: Call, m: re.Match[str]) -> web.Response:
        """The guild's unarchived threads the bot can see (a private one only if it is in it), and
        the bot's own membership of each it has joined."""
        if int(m["guild"]) != GUILD_ID:
            return error(404, 10004, "Unknown Guild")
        seen = [
            t
            for tid, t in self.threads.items()
            if not t["thread_metadata"]["archived"] and (t["type"] == 11 or BOT_ID in self.thread_members[tid])
        ]
        members = [
            self._thread_member(int(t["id"]), BOT_ID) for t in seen if BOT_ID in self.thread_members[int(t["id"])]
        ]
        return json_response({"threads": seen, "members": members})

    async def _cdn(self, request: web.Request) -> web.StreamResponse:
        url = f"{self.base}/cdn/{request.match_info['path']}"
        if url not in self.files:
            return web.Response(status=404)
        return web.Response(body=self.files[url], content_type="application/octet-stream")

    # ================================================================ gateway
    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        session = _Session(ws)
        self.sessions.append(session)
        await session.send({"op": 10, "d": {"heartbeat_interval": 41250}, "s": None, "t": None})
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                frame = json.loads(msg.data)
                op, d = frame.get("op"), frame.get("d")
                if op == 1:  # heartbeat
                    await session.send({"op": 11, "d": None, "s": None, "t": None})
                elif op == 2:  # identify
                    if d.get("token") != self.token:
                        await ws.close(code=4004, message=b"Authentication failed.")
                        break
                    session.shard = tuple(d.get("shard") or (0, 1))  # type: ignore[assignment]
                    session.identified = True
                    self.identified += 1
                    await session.dispatch(
                        "READY",
                        {
                            "v": 10,
                            "user": BOT_USER,
                            "guilds": [{"id": str(GUILD_ID), "unavailable": True}] if self.serve_guild else [],
                            "session_id": f"session-{next(self._ids)}",
                            "resume_gateway_url": self.gateway_url,
                            "shard": list(session.shard),
                            "application": {"id": str(APP_ID), "flags": 0},
                            "private_channels": [],
                            "relationships": [],
                            "presences": [],
                            "geo_ordered_rtc_regions": [],
                        },
                    )
                    if self.serve_guild:
                        await session.dispatch("GUILD_CREATE", self.guild_create())
                    self._activity.set()
                elif op == 6:  # resume
                    session.identified = True
                    await session.dispatch("RESUMED", {})
        finally:
            self.sessions.remove(session)
        return ws

    async def wait_ready(self, shards: int = 1) -> None:
        await self.wait_for(lambda: sum(s.identified for s in self.sessions) >= shards, what="gateway READY")

    async def push(self, event: str, data: dict[str, Any], guild_id: int | None = None) -> None:
        """Send a gateway event on the shard Discord would use."""
        live = [s for s in self.sessions if s.identified]
        assert live, "no gateway session is connected"
        count = live[0].shard[1]
        shard = ((guild_id >> 22) % count) if guild_id else 0
        session = next((s for s in live if s.shard[0] == shard), live[0])
        await session.dispatch(event, data)

    # ================================================================ building interactions
    def _command(self, name: str, guild_id: int | None) -> dict[str, Any]:
        pool = (self.commands.get(guild_id, []) if guild_id else []) + self.commands.get(None, [])
        found = next((c for c in pool if c["name"] == name), None)
        assert found is not None, f"/{name} is not registered with Discord (registered: {[c['name'] for c in pool]})"
        return found

    def _options(
        self, defs: list[dict[str, Any]], values: dict[str, Any], resolved: dict[str, Any], focused: str | None = None
    ) -> list[dict[str, Any]]:
        by_name = {o["name"]: o for o in defs}
        out = []
        for name, value in values.items():
            spec = by_name.get(name)
            assert spec is not None, f"option '{name}' is not registered (has: {sorted(by_name)})"
            kind = spec["type"]
            if name == focused:
                out.append({"name": name, "type": kind, "value": str(value), "focused": True})
                continue
            if kind == 11:  # attachment: the value is an id into resolved.attachments
                att = dict(value)
                resolved.setdefault("attachments", {})[att["id"]] = att
                out.append({"name": name, "type": kind, "value": att["id"]})
                continue
            if kind == 4:
                value = int(value)
                assert spec.get("min_value") is None or value >= spec["min_value"], f"{name} below min_value"
                assert spec.get("max_value") is None or value <= spec["max_value"], f"{name} above max_value"
            elif kind == 3:
                value = str(value)
                assert len(value) <= spec.get("max_length", 6000), f"{name} longer than max_length"
            if spec.get("choices"):
                allowed = [c["value"] for c in spec["choices"]]
                assert value in allowed, f"{name}={value!r} is not one of the registered choices {allowed}"
            out.append({"name": name, "type": kind, "value": value})
        missing = [o["name"] for o in defs if o.get("required") and o["name"] not in values]
        assert focused or not missing, f"the Discord client would not send this: required {missing} missing"
        return out

    def _base(
        self,
        kind: int,
        who: dict[str, Any],
        data: dict[str, Any],
        guild_id: int | None,
        message: dict[str, Any] | None = None,
        permissions: int = 0,
    ) -> dict[str, Any]:
        iid = self.snowflake()
        p: dict[str, Any] = {
            "id": str(iid),
            "application_id": str(APP_ID),
            "type": kind,
            "data": data,
            "token": f"interaction-token-{iid}",
            "version": 1,
            "locale": "en-US",
            "entitlements": [],
            "attachment_size_limit": 10 * 1024 * 1024,
            "app_permissions": "0",
        }
        if guild_id:
            thread = self.threads.get(int(message["channel_id"])) if message else None
            channel = dict(thread) if thread is not None else {**self.text_channel(), "guild_id": str(guild_id)}
            p.update(
                {
                    "guild_id": str(guild_id),
                    "guild_locale": "en-US",
                    "channel_id": channel["id"],
                    "context": 0,
                    "guild": {"id": str(guild_id), "locale": "en-US", "features": []},
                    "channel": channel,
                    "member": {
                        "user": who,
                        "roles": [],
                        "joined_at": "2026-01-01T00:00:00+00:00",
                        "deaf": False,
                        "mute": False,
                        "flags": 0,
                        "pending": False,
                        "permissions": str(permissions),  # resolved in the channel, as Discord sends it
                        "nick": None,
                        "avatar": None,
                        "premium_since": None,
                        "communication_disabled_until": None,
                    },
                    "authorizing_integration_owners": {"0": str(guild_id)},
                }
            )
        else:
            channel = int(message["channel_id"]) if message else self.dm_channel_for(int(who["id"]))
            p.update(
                {
                    "channel_id": str(channel),
                    "context": 1,
                    "user": who,
                    "channel": {
                        "id": str(channel),
                        "type": 1,
                        "last_message_id": None,
                        "flags": 0,
                        "recipients": [who],
                    },
                    "authorizing_integration_owners": {"0": str(GUILD_ID)},
                }
            )
        if message is not None:
            p["message"] = message
        return p

    def slash(
        self,
        who: dict[str, Any],
        command: str,
        /,
        *,
        guild_id: int | None = GUILD_ID,
        focused: str | None = None,
        permissions: int = 0,
        **values: Any,
    ) -> dict[str, Any]:
        """The payload Discord sends for ``/command`` (``"contact add"``) with these option values."""
        words = command.split()
        top = self._command(words[0], guild_id)
        resolved: dict[str, Any] = {}
        if len(words) == 2:
            sub = next((o for o in top.get("options", []) if o["type"] == 1 and o["name"] == words[1]), None)
            assert sub is not None, f"/{command} is not registered"
            options = [
                {
                    "name": words[1],
                    "type": 1,
                    "options": self._options(sub.get("options", []), values, resolved, focused),
                }
            ]
        else:
            options = self._options(top.get("options", []), values, resolved, focused)
        data: dict[str, Any] = {"id": top["id"], "name": words[0], "type": 1, "options": options}
        if resolved:
            data["resolved"] = resolved
        if guild_id:
            data["guild_id"] = str(guild_id)
        return self._base(4 if focused else 2, who, data, guild_id, permissions=permissions)

    def component(self, who: dict[str, Any], message: dict[str, Any], label: str) -> dict[str, Any]:
        """The payload Discord sends when ``who`` presses the button labelled ``label`` on ``message``."""
        button = next((b for b in buttons(message) if b.get("label") == label), None)
        assert button is not None, f"no button {label!r} on the message: {[b.get('label') for b in buttons(message)]}"
        data = {"custom_id": button["custom_id"], "component_type": 2}
        channel = int(message["channel_id"])
        if channel in self.threads:
            # only a private thread's members (and moderators) see it and its buttons
            assert int(who["id"]) in self.thread_members[channel], f"{who['username']} is not in thread {channel}"
        guild = None if channel in self.dm_users else GUILD_ID
        return self._base(3, who, data, guild, message)

    def modal_submit(
        self, who: dict[str, Any], opened: Interaction, values: dict[str, str], *, guild_id: int | None = None
    ) -> dict[str, Any]:
        """The payload Discord sends when ``who`` submits the modal the bot opened for ``opened``,
        with these field values (fields not named keep what the modal was pre-filled with); it comes
        from where the modal was opened unless ``guild_id`` says otherwise."""
        modal = opened.modal
        rows = []
        for row in modal["components"]:
            ti = row["components"][0]
            value = values.get(ti["custom_id"], ti.get("value") or "")
            assert len(value) <= int(ti.get("max_length") or 4000), "Discord stops typing at max_length"
            assert not ti.get("required") or value, (
                f"the Discord client would not submit: {ti['custom_id']} is required"
            )
            rows.append({"type": 1, "components": [{"type": 4, "custom_id": ti["custom_id"], "value": value}]})
        data = {"custom_id": modal["custom_id"], "components": rows}
        message = opened.payload.get("message")
        if guild_id is None and opened.payload.get("guild_id"):
            guild_id = int(opened.payload["guild_id"])
        return self._base(5, who, data, guild_id, message)

    def upload(self, filename: str, content: bytes, content_type: str = "text/csv") -> dict[str, Any]:
        """An attachment the user picked for a file option."""
        aid = str(self.snowflake())
        url = f"{self.base}/cdn/ephemeral-attachments/{aid}/{filename}"
        self.files[url] = content
        return {
            "id": aid,
            "filename": filename,
            "size": len(content),
            "url": url,
            "proxy_url": url,
            "content_type": content_type,
            "ephemeral": True,
        }

    async def interact(
        self, payload: dict[str, Any], *, expect: int = 1, settle: float = 0.05, within: float = 10.0
    ) -> Interaction:
        """Push an interaction and wait until the bot has answered it with at least ``expect`` messages
        (then ``settle`` seconds more for any further follow-ups)."""
        inter = Interaction(payload, time.monotonic())
        self.interactions[inter.id] = inter
        await self.push("INTERACTION_CREATE", payload, int(payload["guild_id"]) if payload.get("guild_id") else None)
        await self.wait_for(
            lambda: inter.answered and (inter.kind in (8, 9) or len(inter.messages) >= expect),
            within,
            f"an answer to interaction {inter.id}",
        )
        # follow-ups (a reply split over several messages) come right after the first answer
        await self.wait_for(lambda: time.monotonic() - inter.last_change >= settle, what="follow-ups")
        return inter


@dataclass(eq=False)
class _Session:
    ws: web.WebSocketResponse
    shard: tuple[int, int] = (0, 1)
    identified: bool = False
    seq: int = 0

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send_str(json.dumps(frame))

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        self.seq += 1
        await self.send({"op": 0, "t": event, "s": self.seq, "d": data})
