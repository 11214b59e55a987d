"""The Slack front end: slack-bolt's AsyncApp over Socket Mode (default) or HTTP, one ``/imgbot``.

``/imgbot contact add "Dr Lee" role:attending`` takes the console syntax without the slash;
``/imgbot`` alone is help. A command typed without a required option opens a modal built from
the registry (:mod:`bot.frontends.slack.modals`). Buttons carry their command line and their
owner (:class:`~bot.frontends.slack.blocks.ButtonValue`), so they work after a restart and a
stranger's click is refused privately.

Every answer goes through :meth:`SlackFrontend._answer`, the front end's one error handler:
the work starts at once; if it is done within ``defer_after`` the answer rides on the ack
itself, otherwise the ack goes out empty (well inside Slack's 3 s) and the answer follows
through ``response_url`` (the policy in :func:`bot.frontends.kit.within_deadline`). An empty
ack costs Slack nothing, so by default (``defer_after=0``) a slash command acks before any work;
with ``defer_after`` set, a command that finds more than ``busy_after`` others in flight still
acks at once. A modal submission waits up to 2 s so a bad value can be shown on its field.
bolt runs with ``process_before_response=True`` and each listener is detached
(:meth:`SlackFrontend._detached`): bolt sends the ack the moment the handler calls ``ack()``,
and the rest of the work runs in a task, which first lets requests still on their way to their
ack go ahead (at most ``ACKS_FIRST``). Personal
replies are ephemeral; public commands (``Command.private=False``) answer in the channel.
Files (.ics, .csv) go to the user's DM with ``files_upload_v2``: an ephemeral message cannot
carry one.

A request Slack sends again (a slow ack, ``X-Slack-Retry-Num`` / ``retry_attempt``) is known
by its trigger or event id in the store (:meth:`bot.core.ports.InstallationStore.first_request`),
whichever instance it reaches, so it changes nothing twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import logging
import re
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.autocomplete import suggest
from bot.core.context import App
from bot.core.dispatch import error_reply, open_form, parse_line_positions, quote_hint, submit_form
from bot.core.errors import BotError, UsageError
from bot.core.hints import format_hints
from bot.core.models import UserRef
from bot.core.origin import Origin, Permission, Requirement
from bot.core.registry import Command, OptionType
from bot.core.reply import Attachment, Reply
from bot.frontends.kit import buttons_allowed, log_failure, notice_reply, run_invocation, truncate, within_deadline
from bot.frontends.slack.blocks import ACTION_PREFIX, ANYONE, PREFIX, ButtonValue, render, to_dicts
from bot.frontends.slack.clients import Connections, api_base, make_client, webhook
from bot.frontends.slack.home import publish_home
from bot.frontends.slack.installations import StoreInstallations, StoreOAuthStates
from bot.frontends.slack.modals import (
    AUTOCOMPLETE_PREFIX,
    CALLBACK,
    OPTION_TEXT,
    OPTION_VALUE,
    ModalMeta,
    SubmittedFile,
    build_form_modal,
    build_modal,
    field_of,
    read_submission,
)
from bot.settings import Settings

log = logging.getLogger(__name__)

PLATFORM = "slack"
COMMAND = "/imgbot"
# Work done this quickly would answer in the ack itself; slower work acks empty and answers through
# response_url. An empty ack costs nothing on Slack, so by default every command acks before any
# work (bench/slack_ack_bench.py: acks under load) and every answer follows through response_url.
DEFER_AFTER = 0.0
BUSY_AFTER = 4  # with more slash commands than this in flight, each acks empty at once (see README)
RESPONSE_LIFE = 30 * 60.0  # response_url works for 30 minutes...
RESPONSE_USES = 5  # ...and at most five times
SUBMIT_DEADLINE = 2.0  # a modal submission answers with field errors if it can, within Slack's 3 s
MAX_UPLOAD = 5 * 1024 * 1024
# after its ack, a listener's work waits while other requests are still on their way to their ack,
# for at most this long, so a burst's acks are not queued behind the first commands' work
ACKS_FIRST = 0.05
SUGGESTIONS = 100  # Slack's cap on an external select's options

SCOPES = (
    "commands",
    "chat:write",
    "im:write",
    "im:history",
    "mpim:write",  # buddy intros: one group DM per pair or trio (conversations.open with their users)
    "mpim:history",  # read back a group DM before an intro taken over from a dead instance is re-sent
    "files:write",
    "files:read",
    "users:read",
)
EVENTS = ("app_home_opened", "app_uninstalled", "tokens_revoked")

OLD_BUTTON = "that button is from an older version of the bot; run the command instead (see /imgbot help)"
NOT_YOURS = "that button belongs to someone else's message, so I did nothing; run the command yourself instead"
FORM_NOT_YOURS = "this form was opened by someone else"
UPLOAD_FAILED = "Slack would not take the file for your DM with the app; open the app's Messages tab once and try again"


class _EnvTokenNote(logging.Filter):
    """bolt reads SLACK_BOT_TOKEN from the environment itself and warns that the client we pass
    (which carries that token, SLACK_API_BASE and the retry handlers) wins, or, as we pass
    ``authorize``, that the token is left to it; that is the intent."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return "`token` will be unused" not in message and "will be ignored" not in message


class OneAuthTest:
    """Single-token mode's ``authorize``: one ``auth.test`` for the bot's one token, shared by every
    request. bolt's own single-workspace authorization caches the answer only once it has one, so a
    burst of requests that arrives before the first answer makes one ``auth.test`` each (50 at once
    for 50 commands right after start, all before their acks). Here concurrent first callers wait for
    the one call under a lock, and :meth:`warm` makes it at start, before the bot connects. A failed
    call is not cached: the next request tries again (bolt answers this one with its authorize error)."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self.calls = 0
        self._result: AuthorizeResult | None = None
        self._lock = asyncio.Lock()

        async def authorize(enterprise_id: str | None, team_id: str | None, user_id: str | None) -> AuthorizeResult:
            """What bolt calls for each request (its public ``authorize=`` argument; bolt passes the
            arguments a plain function names, so this is not a bound method)."""
            return await self.warm()

        self.authorize = authorize

    async def warm(self) -> AuthorizeResult:
        if self._result is None:
            async with self._lock:
                if self._result is None:
                    self.calls += 1
                    response = await self.client.auth_test()
                    self._result = AuthorizeResult.from_auth_test_response(
                        bot_token=self.client.token,
                        bot_scopes=response.headers.get("x-oauth-scopes"),
                        auth_test_response=response,
                    )
        return self._result


# ---------------------------------------------------------------- who and where
@dataclass(frozen=True)
class Who:
    """The ids a Slack payload names, in every payload's own shape."""

    user: str
    team: str | None
    enterprise: str | None

    @property
    def account(self) -> str:
        """Personal data is keyed by workspace and user; on Enterprise Grid (where user ids are
        org-wide) by enterprise and user."""
        return f"{self.enterprise or self.team or '-'}:{self.user}"

    def ref(self, name: str | None = None) -> UserRef:
        return UserRef(PLATFORM, self.account, name)


def _id(value: object) -> str | None:
    if isinstance(value, dict):
        value = value.get("id")
    return str(value) if value else None


def who_of(body: Mapping[str, Any]) -> Who:
    user = body.get("user")
    if isinstance(user, dict):  # block_actions, view_submission, block_suggestion
        return Who(
            user=str(user.get("id")),
            team=_id(body.get("team")) or user.get("team_id"),
            enterprise=_id(body.get("enterprise")),
        )
    if "event" in body:  # Events API
        event = body["event"]
        return Who(user=str(event.get("user")), team=body.get("team_id"), enterprise=body.get("enterprise_id"))
    return Who(user=str(body.get("user_id")), team=body.get("team_id"), enterprise=body.get("enterprise_id"))


def is_dm_channel(channel: str | None, name: str | None = None) -> bool:
    return channel is None or channel.startswith("D") or name == "directmessage"


def origin_of(who: Who, channel: str | None, channel_name: str | None, admin: bool) -> Origin:
    if is_dm_channel(channel, channel_name):
        return Origin.direct(PLATFORM)
    return Origin(
        platform=PLATFORM,
        community=who.team or who.enterprise,
        channel=channel,
        is_dm=False,
        permissions=frozenset({Permission.MANAGE_COMMUNITY}) if admin else frozenset(),
        channel_name=channel_name,
    )


def missing_required(command: Command, raw: Mapping[str, str], has_files: bool = False) -> bool:
    for opt in command.options:
        if not opt.required:
            continue
        if opt.type == OptionType.FILE:
            if not has_files:
                return True
        elif not str(raw.get(opt.name, "")).strip():
            return True
    return False


# ---------------------------------------------------------------- answering
Ack = Callable[..., Awaitable[Any]]  # bolt's AsyncAck, or SlackFrontend._detached's wrapper around it


@dataclass
class _Answer:
    """Where the answer to one request goes, and how far it has got."""

    who: Who
    client: AsyncWebClient
    ack: Ack | None = None  # None once used
    response_url: str | None = None
    in_dm: bool = True
    ack_answers: bool = True  # the ack can carry a message (not so for a modal submission)
    uses: int = 0  # of response_url

    async def defer(self) -> None:
        if self.ack is not None:
            ack, self.ack = self.ack, None
            await ack()


Work = Callable[[], Awaitable[tuple[Reply, list[str]] | None]]


class SlackFrontend:
    """Runs /imgbot, button clicks, modal submissions, suggestions and App Home against the core."""

    def __init__(
        self,
        app: App,
        settings: Settings,
        *,
        defer_after: float = DEFER_AFTER,
        busy_after: int = BUSY_AFTER,
        max_upload: int = MAX_UPLOAD,
        connections: Connections | None = None,
    ) -> None:
        self.app = app
        self.settings = settings
        self.connections = connections or Connections()
        self.defer_after = defer_after
        self.busy_after = busy_after
        self.max_upload = max_upload
        self._tasks: set[asyncio.Task[None]] = set()  # listeners' work after their ack
        self._commands = 0  # slash commands in flight (parsed, not yet answered)
        self._acking = 0  # requests received and not yet acked (see acking())
        self._acked = asyncio.Event()  # set while _acking is 0
        self._acked.set()
        self.client = make_client(settings, self._static_token())
        self.oauth = settings.slack_client_id is not None and settings.slack_client_secret is not None
        kwargs: dict[str, Any] = {
            "client": self.client,
            "signing_secret": _secret(settings.slack_signing_secret) or "socket-mode",
            # bolt sends the ack when a listener returns, with no poll: each listener is detached
            # (_detached), so it returns as soon as it has acked and its work goes on in a task
            "process_before_response": True,
            "request_verification_enabled": settings.slack_signing_secret is not None,
            "ignoring_self_events_enabled": True,
            "url_verification_enabled": True,
        }
        if self.oauth:
            settings_ = kwargs["oauth_settings"] = self._oauth_settings()
            kwargs["installation_store_bot_only"] = True
            # bolt's default authorize calls auth.test for every request before the ack; with the cache
            # it calls it once per bot token (the installation is still read from our store each time,
            # so an uninstalled workspace is refused at once)
            kwargs["authorize"] = AsyncInstallationStoreAuthorize(
                logger=logging.getLogger("slack_bolt.AsyncApp"),
                installation_store=settings_.installation_store,
                client_id=settings_.client_id,
                client_secret=settings_.client_secret,
                bot_only=True,
                cache_enabled=True,
                client=self.client,
            )
        self.authorizer: OneAuthTest | None = None
        if not self.oauth and self.client.token:
            self.authorizer = OneAuthTest(self.client)  # single-token mode: one auth.test, warmed at start
            kwargs["authorize"] = self.authorizer.authorize
        elif not self.oauth:
            kwargs["token"] = None
        bolt_log = logging.getLogger("slack_bolt.AsyncApp")
        if not any(isinstance(f, _EnvTokenNote) for f in bolt_log.filters):
            bolt_log.addFilter(_EnvTokenNote())
        self.bolt = AsyncApp(**kwargs)
        self._register()

    def start(self) -> None:
        """Inside the event loop, before the first request: the clients bolt makes for each request
        (copies of ``self.client``) share the bot's one HTTP session."""
        self.client.session = self.connections.session()

    def _static_token(self) -> str | None:
        return _secret(self.settings.slack_bot_token)

    def _oauth_settings(self) -> AsyncOAuthSettings:
        base = api_base(self.settings.slack_api_base)
        return AsyncOAuthSettings(
            client_id=_secret(self.settings.slack_client_id),
            client_secret=_secret(self.settings.slack_client_secret),
            scopes=list(SCOPES),
            installation_store=StoreInstallations(self.app.store, self.app.clock),
            state_store=StoreOAuthStates(self.app.store, self.app.clock),
            installation_store_bot_only=True,
            install_path="/slack/install",
            redirect_uri_path="/slack/oauth_redirect",
            # the consent page lives next to the Web API: slack.com/api/ -> slack.com/oauth/v2/authorize
            authorization_url=re.sub(r"api/$", "", base) + "oauth/v2/authorize",
        )

    def _register(self) -> None:
        bolt, detached = self.bolt, self._detached
        bolt.command(COMMAND)(detached(self.on_command))
        bolt.action(re.compile(f"^{re.escape(ACTION_PREFIX)}"))(detached(self.on_click))
        bolt.view(CALLBACK)(detached(self.on_submit))
        bolt.options(re.compile(f"^{re.escape(AUTOCOMPLETE_PREFIX)}"))(detached(self.on_suggest))
        bolt.event("app_home_opened")(detached(self.on_home))
        bolt.event("app_uninstalled")(detached(self.on_uninstalled))
        bolt.event("tokens_revoked")(detached(self.on_tokens_revoked))
        bolt.error(self.on_error)

    def _detached(self, handler: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
        """``handler`` as a bolt listener that returns as soon as the handler has acked.

        With ``process_before_response=True`` bolt sends the ack when its listener returns. This
        listener starts the handler in a task (kept in ``self._tasks``) and returns once the handler
        has called ``ack`` or finished, so bolt sends the ack at once while the work goes on. (With
        ``process_before_response=False`` bolt would run the handler in a task itself but look for
        the ack every 10 ms, which was most of a lone command's ack time.) A handler that takes no
        ``ack`` (an event) returns at once: bolt acks events itself. An exception before the ack
        reaches bolt's error handler (:meth:`on_error`); one after it is logged."""
        wants_ack = "ack" in inspect.signature(handler).parameters

        @functools.wraps(handler)  # bolt passes the arguments the handler names (it unwraps)
        async def listener(**kwargs: Any) -> None:
            answered = asyncio.get_running_loop().create_future()  # True once acked, False if it ended first

            def settle(value: bool) -> None:
                if not answered.done():
                    answered.set_result(value)

            if wants_ack:
                ack = kwargs["ack"]

                async def ack_once(*args: Any, **options: Any) -> Any:
                    try:
                        result = await ack(*args, **options)
                    finally:
                        settle(True)
                    await asyncio.sleep(0)  # bolt sends the ack before the handler goes on
                    await self._acks_first()
                    return result

                kwargs["ack"] = ack_once
            else:
                settle(True)
            task = asyncio.ensure_future(handler(**kwargs))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            task.add_done_callback(lambda _: settle(False))
            with self.acking():
                acked = await answered
            if not acked and not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]  # nothing acked: bolt's error handler answers
            task.add_done_callback(log_failure(f"Slack {handler.__name__}"))

        return listener

    @contextlib.contextmanager
    def acking(self) -> Iterator[None]:
        """Marks a request on its way to its ack (from the moment it reaches the bot, in HTTP mode,
        and while its listener waits for the ack): listeners' work waits for these (:meth:`_acks_first`)."""
        self._acking += 1
        self._acked.clear()
        try:
            yield
        finally:
            self._acking -= 1
            if not self._acking:
                self._acked.set()

    async def _acks_first(self) -> None:
        """After an ack: let the requests still waiting for theirs go first, for up to ``ACKS_FIRST`` s.
        Under a burst the loop otherwise ran each acked command's parsing and first query between the
        later requests' acks. (A modal submission, or a command with ``defer_after``, that works before
        it acks counts as on its way meanwhile, so other work yields to it for at most that long.)"""
        if self._acking:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(ACKS_FIRST):
                    await self._acked.wait()

    async def drain(self, seconds: float) -> None:
        """Let listeners' work in flight finish (their answers go out), for up to ``seconds``."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=seconds)

    # ------------------------------------------------------------ entry points
    async def on_command(self, ack: Ack, body: dict[str, Any], client: AsyncWebClient) -> None:
        self._commands += 1
        try:
            # under a burst every ack goes out empty before any work; the answers follow
            await self._command(ack, body, client, 0.0 if self._commands > self.busy_after else self.defer_after)
        finally:
            self._commands -= 1

    async def _command(self, ack: Ack, body: dict[str, Any], client: AsyncWebClient, defer_after: float) -> None:
        who = who_of(body)
        channel, channel_name = body.get("channel_id"), body.get("channel_name")
        answer = _Answer(who, client, ack, body.get("response_url"), is_dm_channel(channel, channel_name))
        if defer_after <= 0:
            await answer.defer()  # an empty ack costs Slack nothing: acknowledge before any work
        text = str(body.get("text") or "").strip() or "help"
        line = text.removeprefix("/").removeprefix("imgbot ").strip() if text != "imgbot" else "help"
        trigger = body.get("trigger_id")
        try:
            command, raw, positional = parse_line_positions(self.app, line)
        except BotError as exc:
            await self._send(answer, error_reply(exc), private=True)
            return
        if missing_required(command, raw):
            await answer.defer()
            await self._open_modal(
                client,
                trigger,
                command,
                raw,
                ModalMeta(
                    command=command.qualified, owner=who.account, channel=channel, response_url=answer.response_url
                ),
            )
            return

        async def work() -> tuple[Reply, list[str]] | None:
            if trigger and not await self._first(f"command:{trigger}"):
                return None  # Slack sent this command again: it was run once already
            admin = command.requirement is Requirement.COMMUNITY_ADMIN and await self._is_admin(client, who)
            origin = origin_of(who, channel, channel_name, admin)
            try:
                return await run_invocation(self.app, who.ref(body.get("user_name")), command, raw, origin=origin)
            except UsageError as exc:
                raise quote_hint(exc, positional) from None

        await self._answer(answer, command.private, work, defer_after=defer_after)

    async def on_click(self, ack: Ack, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        who = who_of(body)
        container = body.get("container") or {}
        channel = _id(body.get("channel")) or container.get("channel_id")
        answer = _Answer(who, client, None, body.get("response_url"), is_dm_channel(channel))
        action = (body.get("actions") or [{}])[0]
        value = ButtonValue.decode(action.get("value"))
        if value is None:
            await self._send(answer, error_reply(BotError(OLD_BUTTON)), private=True)
            return
        if value.owner not in (who.account, ANYONE):
            await self._send(answer, error_reply(BotError(NOT_YOURS)), private=True)
            return
        if value.form:
            await self._open_form(client, body.get("trigger_id"), who, channel, answer, value.line)
            return
        try:
            command, raw, _ = parse_line_positions(self.app, value.line)
        except BotError as exc:
            await self._send(answer, error_reply(exc), private=True)
            return
        if missing_required(command, raw):
            meta = ModalMeta(
                command=command.qualified, owner=who.account, channel=channel, response_url=answer.response_url
            )
            await self._open_modal(client, body.get("trigger_id"), command, raw, meta)
            return
        key = f"click:{body.get('trigger_id') or action.get('action_ts')}"

        async def work() -> tuple[Reply, list[str]] | None:
            if not await self._first(key):
                return None
            origin = origin_of(who, channel, None, False)
            return await run_invocation(self.app, who.ref(), command, raw, origin=origin)

        await self._answer(answer, True, work)
        if container.get("type") == "view" and body.get("view", {}).get("type") == "home":
            await publish_home(self.app, client, who.user, who.ref(), PREFIX)

    async def on_submit(self, ack: Ack, body: dict[str, Any], client: AsyncWebClient) -> None:
        who = who_of(body)
        view = body.get("view") or {}
        meta = ModalMeta.decode(view.get("private_metadata"))
        command = self.app.registry.get(meta.command) if meta else None
        if meta is None or command is None:
            await ack()
            await self._send(_Answer(who, client), error_reply(BotError(OLD_BUTTON)), private=True)
            return
        if meta.owner != who.account:
            await ack(response_action="errors", errors={field_of("", command): FORM_NOT_YOURS})
            return
        submitted = read_submission((view.get("state") or {}).get("values") or {})
        answer = _Answer(who, client, ack, meta.response_url, is_dm_channel(meta.channel), ack_answers=False)

        async def work() -> tuple[Reply, list[str]] | None:
            # a submission Slack re-sends keeps its trigger id; one made again after field errors has a new one
            if not await self._first(f"view:{body.get('trigger_id') or view.get('id')}"):
                return None
            files = tuple([await self._download(client, f) for f in submitted.files])
            origin = origin_of(who, meta.channel, None, False)
            try:
                if meta.form:
                    reply = await submit_form(
                        self.app, who.ref(), command.qualified, meta.fixed, submitted.values, origin
                    )
                    return reply, []
                return await run_invocation(self.app, who.ref(), command, submitted.values, files, origin=origin)
            except UsageError as exc:
                if answer.ack is None:
                    raise  # the modal is closed already: answer as for any error
                # still inside Slack's 3 s: show the message on the field it is about
                ack_, answer.ack = answer.ack, None
                message = truncate(format_hints(exc.message, PREFIX), 150)
                block = field_of(exc.message, command)
                if meta.form and block not in submitted.values:  # a form's blocks are its fields
                    block = next(iter((view.get("state") or {}).get("values") or {}), block)
                await ack_(response_action="errors", errors={block: message})
                return None

        await self._answer(answer, command.private, work, defer_after=SUBMIT_DEADLINE)

    async def on_suggest(self, ack: Ack, body: dict[str, Any]) -> None:
        who = who_of(body)
        source = str(body.get("action_id", "")).removeprefix(AUTOCOMPLETE_PREFIX)
        choices = await suggest(self.app, who.ref(), source, str(body.get("value") or "")[:OPTION_VALUE])
        await ack(
            options=[
                {
                    "text": {
                        "type": "plain_text",
                        "text": truncate(format_hints(c.label, PREFIX), OPTION_TEXT) or c.value,
                    },
                    "value": c.value[:OPTION_VALUE],
                }
                for c in choices[:SUGGESTIONS]
            ]
        )

    async def on_home(self, body: dict[str, Any], event: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        who = who_of(body)
        await publish_home(self.app, client, who.user, who.ref(), PREFIX)

    async def on_uninstalled(self, body: dict[str, Any]) -> None:
        """The workspace removed the app: forget its token (its users' data stays until they
        delete it with /imgbot privacy delete, or the operator does)."""
        team, enterprise = body.get("team_id"), body.get("enterprise_id")
        removed = await self.app.store.delete_installation(enterprise, team)
        if not removed and enterprise:
            removed = await self.app.store.delete_installation(enterprise, None, is_enterprise_install=True)
        log.info("app uninstalled from %s (%d installation removed)", team or enterprise, removed)

    async def on_tokens_revoked(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        if (event.get("tokens") or {}).get("bot"):
            await self.on_uninstalled(body)

    async def on_error(self, error: Exception, body: dict[str, Any]) -> None:
        """Anything a listener raised before it could answer (bolt's one error hook)."""
        log.error("Slack request failed: %s", type(error).__name__, exc_info=error)

    # ------------------------------------------------------------ answering
    async def _answer(self, answer: _Answer, private: bool, work: Work, *, defer_after: float | None = None) -> None:
        """The front end's one error handler: answer in the ack, or defer and answer later."""
        wait = self.defer_after if defer_after is None else defer_after
        try:
            result = await within_deadline(work(), defer_after=wait, defer=answer.defer, time_left=RESPONSE_LIFE)
        except Exception as exc:
            await self._send(answer, self.error_reply(exc), private=True)
            return
        if result is None:  # a re-sent request: nothing to say twice
            await answer.defer()
            return
        reply, notices = result
        await self._send(answer, reply, private=private)
        if notices:
            await self._send(answer, notice_reply(notices), private=True)

    def error_reply(self, exc: BaseException) -> Reply:
        if isinstance(exc, TimeoutError):
            exc = BotError(
                "that is taking longer than Slack lets me answer; check the result in a minute "
                "(e.g. /imgbot nudges list or /imgbot contact list)"
            )
        elif isinstance(exc, SlackApiError) and exc.response.get("error") in ("file_not_found", "not_allowed"):
            exc = BotError("Slack would not give me the attached file; attach it again")
        return error_reply(exc).with_hints(PREFIX)

    async def _send(self, answer: _Answer, reply: Reply, *, private: bool) -> None:
        buttons = buttons_allowed(private=private, in_dm=answer.in_dm)
        messages = render(reply, owner=answer.who.account, buttons=buttons)
        response_type = "ephemeral" if private else "in_channel"
        if not answer.ack_answers:
            await answer.defer()
        for message in messages:
            blocks = to_dicts(message)
            if answer.ack is not None:
                ack, answer.ack = answer.ack, None
                await ack(text=message.text, blocks=blocks, response_type=response_type)
            elif answer.response_url and answer.uses < RESPONSE_USES:
                answer.uses += 1
                await webhook(answer.response_url, self.connections.session()).send(
                    text=message.text, blocks=blocks, response_type=response_type, replace_original=False
                )
            else:  # no response_url (App Home) or it is used up: the user's DM
                channel = await self._dm(answer.client, answer.who)
                await answer.client.chat_postMessage(channel=channel, text=message.text, blocks=blocks)
        files = [f for m in messages for f in m.files]
        if files and not await self._upload(answer, files):
            await self._send(answer, error_reply(BotError(UPLOAD_FAILED)), private=True)

    async def _upload(self, answer: _Answer, files: list[Attachment]) -> bool:
        """Files go to the user's DM (an ephemeral message cannot carry one); False if Slack refused."""
        try:
            channel = await self._dm(answer.client, answer.who)
            await answer.client.files_upload_v2(
                channel=channel,
                file_uploads=[{"content": f.content, "filename": f.filename, "title": f.filename} for f in files],
                initial_comment="Here is your file.",
            )
        except (SlackApiError, SlackClientError, aiohttp.ClientError) as exc:
            log.warning("could not upload a file to a DM: %s", type(exc).__name__)
            return False
        return True

    async def _dm(self, client: AsyncWebClient, who: Who) -> str:
        ref = who.ref()
        known = await self.app.store.dm_channel(ref)
        if known:
            return known
        opened = await client.conversations_open(users=who.user)
        channel = str(opened["channel"]["id"])
        await self.app.store.set_dm_channel(ref, channel, self.app.clock.now())
        return channel

    async def _open_modal(
        self, client: AsyncWebClient, trigger: str | None, command: Command, raw: Mapping[str, str], meta: ModalMeta
    ) -> None:
        if not trigger:
            return
        await client.views_open(trigger_id=trigger, view=build_modal(self.app, command, raw, meta))

    async def _open_form(
        self, client: AsyncWebClient, trigger: str | None, who: Who, channel: str | None, answer: _Answer, line: str
    ) -> None:
        """A form button (Log my week): its command's form as a modal, pre-filled for the clicker."""
        try:
            command, form = await open_form(self.app, who.ref(), line, origin_of(who, channel, None, False))
        except BotError as exc:
            await self._send(answer, error_reply(exc), private=True)
            return
        if not trigger:
            return
        meta = ModalMeta(
            command=command.qualified, owner=who.account, channel=channel, response_url=answer.response_url
        )
        await client.views_open(trigger_id=trigger, view=build_form_modal(form, meta))

    async def _first(self, key: str) -> bool:
        return await self.app.store.first_request(key, self.app.clock.now())

    async def _is_admin(self, client: AsyncWebClient, who: Who) -> bool:
        info = await client.users_info(user=who.user)
        user = info.get("user") or {}
        return bool(user.get("is_admin") or user.get("is_owner"))

    async def _download(self, client: AsyncWebClient, upload: SubmittedFile) -> Attachment:
        """A file from a modal's file input, fetched from its private URL with the bot token."""
        if upload.size > self.max_upload:
            raise UsageError(
                f"{upload.name} is {upload.size / 1_048_576:.1f} MB; the limit is {self.max_upload / 1_048_576:.0f} MB"
            )
        url = upload.url
        if not url:
            info = await client.files_info(file=upload.id)
            meta = info.get("file") or {}
            url = meta.get("url_private_download") or meta.get("url_private")
        if not url:
            raise BotError("Slack would not give me the attached file; attach it again")
        headers = {"Authorization": f"Bearer {client.token}"}
        try:
            async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as resp:
                if resp.status != 200:
                    raise BotError("Slack would not give me the attached file; attach it again")
                data = await resp.content.read(self.max_upload + 1)
        except aiohttp.ClientError:
            raise BotError("could not download the attached file from Slack; attach it again") from None
        if len(data) > self.max_upload:
            raise UsageError(f"{upload.name} is over the limit of {self.max_upload / 1_048_576:.0f} MB")
        return Attachment(upload.name, data, upload.mimetype)


def _secret(value: Any) -> str | None:
    return value.get_secret_value().strip() if value is not None else None


__all__ = ["PLATFORM", "SlackApiError", "SlackClientError", "SlackFrontend", "api_base", "make_client", "who_of"]
