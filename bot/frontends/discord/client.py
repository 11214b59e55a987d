"""The discord.py client, and the one place where interactions are answered.

Every slash command and button click goes through :meth:`Frontend.respond`:
the work starts at once; if it is not done within ``defer_after`` seconds
(Discord's deadline is 3), the interaction is deferred and the answer replaces
the placeholder later, well within the 15-minute token life. Any exception
becomes a private one-line reply in :meth:`Frontend.error_reply`, the front
end's only error handler (the command tree's ``on_error`` uses it too).
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import discord
from discord import app_commands

from bot.core.autocomplete import suggest
from bot.core.context import App
from bot.core.dispatch import error_reply, open_form, parse_line, run_command, submit_form
from bot.core.errors import BotError, UsageError
from bot.core.hints import SLASH, format_hints
from bot.core.models import UserRef
from bot.core.origin import Origin, Permission
from bot.core.registry import Command, Option
from bot.core.reply import Attachment, Reply
from bot.frontends.discord.build import CHOICE_VALUE, CHOICES, DESCRIPTION, asks_in_form, build_commands, short
from bot.frontends.discord.components import CommandButton, FormButton, make_files, make_modal, make_view, modal_values
from bot.frontends.discord.render import BUTTON_TEMPLATE, FORM_PREFIX, FORM_TEMPLATE, render
from bot.frontends.kit import buttons_allowed, log_failure, notice_reply, run_invocation, within_deadline

log = logging.getLogger(__name__)

PLATFORM = "discord"
DEFER_AFTER = 2.0  # seconds of work before deferring; Discord wants an answer within 3
TOKEN_LIFE = timedelta(minutes=15)
MAX_UPLOAD = 5 * 1024 * 1024
NO_MENTIONS = discord.AllowedMentions.none()
# Text forms (modals): Discord's limits for a title, a box's label and its text; at most 5 boxes.
TEXT_FORM_PREFIX = "imgbot-text:"  # a /review-style form: open in this process only
FORM_TITLE = 45
FORM_LABEL = 45
FORM_TEXT = 4000
FORM_INPUTS = 5
FORM_LIFE = 15 * 60  # seconds a form stays open in this process
OLD_FORM = "that form has expired (or the bot restarted since it opened); run the command again"

Work = Callable[[], Awaitable[tuple[Reply, list[str]]]]


def user_ref(user: discord.abc.User) -> UserRef:
    return UserRef(PLATFORM, str(user.id), user.display_name)


@dataclass
class _Answer:
    """How far the answer to one interaction has got."""

    interaction: discord.Interaction
    placeholder: bool = False  # a deferred "thinking..." message waits to be replaced
    public: bool = False  # ...and everyone in the channel can see it


def origin_of(interaction: discord.Interaction) -> Origin:
    """Where a Discord interaction came from. Manage Server (in that channel's resolved
    permissions) makes the actor a community admin."""
    if interaction.guild_id is None:
        return Origin.direct(PLATFORM)
    perms = interaction.permissions
    guild = interaction.guild
    channel = interaction.channel
    return Origin(
        platform=PLATFORM,
        community=str(interaction.guild_id),
        channel=str(interaction.channel_id) if interaction.channel_id else None,
        is_dm=False,
        permissions=frozenset({Permission.MANAGE_COMMUNITY}) if perms.manage_guild else frozenset(),
        community_name=guild.name if guild else None,
        channel_name=getattr(channel, "name", None),
    )


class Frontend:
    """Runs slash commands, button clicks and autocomplete against the core."""

    def __init__(self, app: App, *, defer_after: float = DEFER_AFTER, max_upload: int = MAX_UPLOAD) -> None:
        self.app = app
        self.defer_after = defer_after
        self.max_upload = max_upload
        self.forms: set[str] = set()  # custom ids of the text forms (modals) still open

    # ------------------------------------------------------------ entry points
    async def invoke(self, interaction: discord.Interaction, command: Command, raw: dict[str, Any]) -> None:
        """A slash command: ``raw`` holds Discord's typed option values by option name."""
        missing = [o for o in command.options if asks_in_form(o) and o.name not in raw]
        if missing and interaction.type is discord.InteractionType.application_command:
            form = TextForm(self, command, raw, missing)
            self.forms.add(form.custom_id)
            await interaction.response.send_modal(form)
            return
        user = user_ref(interaction.user)
        origin = origin_of(interaction)
        uploads = [v for v in raw.values() if isinstance(v, discord.Attachment)]
        values = {k: v for k, v in raw.items() if not isinstance(v, discord.Attachment)}

        async def work() -> tuple[Reply, list[str]]:
            files = tuple([await self._download(a) for a in uploads])
            return await run_invocation(self.app, user, command, values, files, origin=origin)

        await self.respond(interaction, command.private, work)

    async def click(self, interaction: discord.Interaction, line: str) -> None:
        """A button: run its command line as the clicker, answering privately."""
        user = user_ref(interaction.user)
        origin = origin_of(interaction)

        async def work() -> tuple[Reply, list[str]]:
            command, raw = parse_line(self.app, line)
            return await run_command(self.app, user, command, raw, origin=origin), []

        await self.respond(interaction, True, work)

    async def open_modal(self, interaction: discord.Interaction, line: str) -> None:
        """A form button: open its command's form as a modal, pre-filled for the clicker. A modal
        must be the first answer (it cannot be deferred), so a refusal is answered privately instead."""
        user = user_ref(interaction.user)
        try:
            _command, form = await open_form(self.app, user, line, origin_of(interaction))
            await interaction.response.send_modal(make_modal(form, line))
        except (BotError, ValueError) as exc:
            await self._send(_Answer(interaction), self.error_reply(exc), private=True)

    async def submit_modal(self, interaction: discord.Interaction, line: str, values: dict[str, str]) -> None:
        """A submitted form: run its command with the fixed options its id carries and the fields."""
        user = user_ref(interaction.user)
        origin = origin_of(interaction)

        async def work() -> tuple[Reply, list[str]]:
            command, fixed = parse_line(self.app, line)
            return await submit_form(self.app, user, command.qualified, fixed, values, origin), []

        await self.respond(interaction, True, work)

    async def suggest(
        self, interaction: discord.Interaction, source: str, current: str
    ) -> list[app_commands.Choice[str]]:
        choices = await suggest(self.app, user_ref(interaction.user), source, current[:CHOICE_VALUE], limit=CHOICES)
        return [
            app_commands.Choice(
                name=short(format_hints(c.label, SLASH)) or c.value[:CHOICE_VALUE], value=c.value[:CHOICE_VALUE]
            )
            for c in choices[:CHOICES]
        ]

    async def fail(self, interaction: discord.Interaction, error: BaseException) -> None:
        """An error raised before a command callback ran (unknown command, bad option value)."""
        if interaction.type is discord.InteractionType.autocomplete:
            log.warning("autocomplete failed: %s", error)
            if not interaction.response.is_done():
                await interaction.response.autocomplete([])
            return
        await self._send(_Answer(interaction), self.error_reply(error), private=True)

    # ------------------------------------------------------------ answering
    async def respond(self, interaction: discord.Interaction, private: bool, work: Work) -> None:
        answer = _Answer(interaction)

        async def defer() -> None:
            await interaction.response.defer(ephemeral=private, thinking=True)
            answer.placeholder, answer.public = True, not private

        try:
            reply, notices = await within_deadline(
                work(), defer_after=self.defer_after, defer=defer, time_left=self._time_left(interaction)
            )
        except Exception as exc:  # the Discord front end's one error handler
            await self._send(answer, self.error_reply(exc), private=True)
            return
        await self._send(answer, reply, private=private)
        if notices:
            await self._send(answer, notice_reply(notices), private=True)

    def error_reply(self, exc: BaseException) -> Reply:
        """What the user sees for any failure: one line, never a traceback."""
        if isinstance(exc, app_commands.CommandInvokeError):
            exc = exc.original
        if isinstance(exc, app_commands.CommandNotFound | app_commands.CommandSignatureMismatch):
            log.warning("interaction for a command this bot does not have: %s", exc)
            exc = BotError(
                "that command has changed since your Discord app loaded it; "
                "wait a minute (or restart Discord) and try again"
            )
        elif isinstance(exc, app_commands.TransformerError):
            exc = UsageError(f"could not read the value {str(exc.value)[:50]!r}")
        elif isinstance(exc, TimeoutError):
            exc = BotError(
                "that is taking longer than Discord lets me answer; "
                "check the result in a minute (e.g. /nudges list or /contact list)"
            )
        elif isinstance(exc, discord.HTTPException) and exc.status in (403, 404):
            # the only Discord request inside a command's work is downloading its attachment
            exc = BotError("Discord would not give me the attached file; attach it again")
        return error_reply(exc)

    def _time_left(self, interaction: discord.Interaction) -> float:
        """Seconds until the interaction token expires, less a margin for sending."""
        left = interaction.created_at + TOKEN_LIFE - datetime.now(UTC) - timedelta(seconds=30)
        return max(1.0, left.total_seconds())

    async def _send(self, answer: _Answer, reply: Reply, *, private: bool) -> None:
        interaction = answer.interaction
        in_dm = interaction.guild_id is None
        for message in render(reply, buttons=buttons_allowed(private=private, in_dm=in_dm)):
            kw: dict[str, Any] = {"embeds": message.embeds, "allowed_mentions": NO_MENTIONS}
            if message.content:
                kw["content"] = message.content
            view = make_view(message.rows)
            if view is not None:
                kw["view"] = view
            files = make_files(message.files)
            if answer.placeholder and answer.public and private:
                # A public "thinking..." placeholder cannot turn private: remove it instead.
                await interaction.delete_original_response()
                answer.placeholder = False
            if answer.placeholder:
                answer.placeholder = False
                await interaction.edit_original_response(attachments=files, **kw)
            elif not interaction.response.is_done():
                await interaction.response.send_message(ephemeral=private, files=files, **kw)
            else:
                await interaction.followup.send(ephemeral=private, files=files, **kw)

    # ------------------------------------------------------------ helpers
    async def _download(self, upload: discord.Attachment) -> Attachment:
        if upload.size > self.max_upload:
            raise UsageError(
                f"{upload.filename} is {upload.size / 1_048_576:.1f} MB; "
                f"the limit is {self.max_upload / 1_048_576:.0f} MB"
            )
        data = await upload.read()
        return Attachment(upload.filename, data, upload.content_type or "application/octet-stream")


OLD_BUTTON = "that button is from an older version of the bot; run the command instead (see /help)"
UNREADABLE = (
    "Discord sent me something I could not read, so I did nothing. "
    "Please try again; if it keeps happening, update your Discord app."
)


def guard_gateway(client: discord.Client) -> None:
    """Keep the bot running when Discord sends a payload it cannot parse.

    discord.py lets an exception in a gateway event parser end the connection
    (``Client.start`` raises). Each parser is wrapped so the payload is logged
    and skipped; an unreadable interaction is still answered with a clear,
    private error. (``ConnectionState.parsers`` is discord.py's dispatch table;
    tests/discord/test_safety.py covers this against the library version in use.)
    """
    parsers: dict[str, Callable[[Any], None]] = client._connection.parsers
    for event, parse in list(parsers.items()):
        parsers[event] = _guarded(client, event, parse)


def _guarded(client: discord.Client, event: str, parse: Callable[[Any], None]) -> Callable[[Any], None]:
    def guarded(data: Any) -> None:
        try:
            parse(data)
        except Exception:
            log.exception("ignored a %s payload from Discord that could not be parsed", event)
            if event == "INTERACTION_CREATE" and isinstance(data, dict):
                task = asyncio.ensure_future(_refuse(client, data))
                task.add_done_callback(log_failure("answering an unreadable interaction"))

    return guarded


async def _refuse(client: discord.Client, data: dict[str, Any]) -> None:
    """Answer an interaction discord.py could not parse, if it names itself well enough to reply."""
    iid, token = data.get("id"), data.get("token")
    if not isinstance(iid, str | int) or not isinstance(token, str) or not str(iid).isdigit():
        return
    route = discord.http.Route(
        "POST",
        "/interactions/{interaction_id}/{interaction_token}/callback",
        interaction_id=iid,
        interaction_token=token,
    )
    message = {"content": UNREADABLE, "flags": 64, "allowed_mentions": {"parse": []}}
    body = {"type": 8, "data": {"choices": []}} if data.get("type") == 4 else {"type": 4, "data": message}
    await client.http.request(route, json=body)


def _count_429s(app: App) -> aiohttp.TraceConfig:
    """Count Discord's 429 answers (discord.py waits them out itself) for the metrics."""
    trace = aiohttp.TraceConfig()

    async def on_end(_session: object, _ctx: object, params: aiohttp.TraceRequestEndParams) -> None:
        if params.response.status == 429:
            app.telemetry.rate_limited(PLATFORM)

    trace.on_request_end.append(on_end)
    return trace


class TextForm(discord.ui.Modal):
    """A form (modal) with a paragraph box for each long text a slash command left out, e.g.
    the draft of /review. Submitting it runs the command with the typed text added."""

    def __init__(self, frontend: Frontend, command: Command, values: dict[str, Any], missing: list[Option]) -> None:
        given = " ".join(str(v) for v in values.values() if isinstance(v, str))
        super().__init__(
            title=short(f"/{command.qualified} {given}".strip(), FORM_TITLE),
            timeout=FORM_LIFE,
            custom_id=TEXT_FORM_PREFIX + secrets.token_hex(8),
        )
        self.frontend, self.command, self.values = frontend, command, dict(values)
        self.inputs: dict[str, discord.ui.TextInput[TextForm]] = {}
        for opt in missing[:FORM_INPUTS]:
            box: discord.ui.TextInput[TextForm] = discord.ui.TextInput(
                label=short(opt.label, FORM_LABEL),
                custom_id=opt.name,
                style=discord.TextStyle.paragraph,
                max_length=min(opt.max_length, FORM_TEXT),
                placeholder=short(opt.chat_description, DESCRIPTION),
                required=True,
            )
            self.add_item(box)
            self.inputs[opt.name] = box

    async def on_submit(self, interaction: discord.Interaction, /) -> None:
        raw = {**self.values, **{name: box.value for name, box in self.inputs.items()}}
        await self.frontend.invoke(interaction, self.command, raw)

    async def on_timeout(self) -> None:
        self.frontend.forms.discard(self.custom_id)

    async def on_error(self, interaction: discord.Interaction, error: Exception, /) -> None:  # type: ignore[override]
        await self.frontend.fail(interaction, error)


class Tree(app_commands.CommandTree):
    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError, /) -> None:
        frontend: Frontend = interaction.client.frontend  # type: ignore[attr-defined]
        await frontend.fail(interaction, error)


Setup = Callable[[], Awaitable[None]]


class _ImgBot:
    """What both client classes add: the front end, its command tree, a setup step."""

    frontend: Frontend
    tree: Tree
    on_setup: Setup | None = None

    async def setup_hook(self) -> None:
        if self.on_setup is not None:
            await self.on_setup()

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """A button this version does not know (discord.py would leave it unanswered), and every
        submitted form: handled from its custom id, so a modal opened before a restart still works."""
        data: dict[str, Any] = dict(interaction.data or {})
        custom_id = str(data.get("custom_id", ""))
        if interaction.type is discord.InteractionType.component:
            if not (re.fullmatch(BUTTON_TEMPLATE, custom_id) or re.fullmatch(FORM_TEMPLATE, custom_id)):
                log.warning("a click on an unknown button: %r", custom_id[:100])
                await self.frontend.fail(interaction, BotError(OLD_BUTTON))
        elif interaction.type is discord.InteractionType.modal_submit:
            if custom_id.startswith(FORM_PREFIX):  # a registry form (check-ins): works across restarts
                line = "/" + custom_id.removeprefix(FORM_PREFIX)
                await self.frontend.submit_modal(interaction, line, modal_values(data))
            elif custom_id not in self.frontend.forms:
                # a text form this process did not open (it restarted) or that timed out: say so
                log.info("a form submitted after it expired")
                await self.frontend.fail(interaction, BotError(OLD_FORM))
            # else: discord.py hands it to the open TextForm


class ImgBotClient(_ImgBot, discord.Client):
    pass


class ShardedImgBotClient(_ImgBot, discord.AutoShardedClient):
    pass


def create_client(
    frontend: Frontend,
    *,
    shard_count: int | None = None,
    shard_ids: list[int] | None = None,
    on_setup: Setup | None = None,
) -> ImgBotClient | ShardedImgBotClient:
    """A client with every registry command in its tree and the persistent buttons registered."""
    options: dict[str, Any] = {
        # Interactions need no privileged intent; guilds keeps discord.py's state complete.
        # No message cache is needed.
        "intents": discord.Intents(guilds=True),
        "allowed_mentions": NO_MENTIONS,
        "max_messages": None,
        # A per-route 429 asking for a longer wait raises instead: a nudge DM is then retried
        # later by the engine rather than holding a delivery slot for minutes.
        "max_ratelimit_timeout": 60.0,
        "http_trace": _count_429s(frontend.app),
    }
    # The bot has no voice features: skip discord.py's warnings about voice libraries.
    discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
    if shard_count:
        # DISCORD_SHARD_IDS: this instance runs only these shards of DISCORD_SHARD_COUNT
        client: ImgBotClient | ShardedImgBotClient = ShardedImgBotClient(
            shard_count=shard_count,
            shard_ids=shard_ids or None,  # type: ignore[arg-type]  # discord.py's own default is None
            **options,
        )
    else:
        client = ImgBotClient(**options)
    client.frontend = frontend
    client.on_setup = on_setup
    client.tree = Tree(client)
    for command in build_commands(frontend.app, frontend):
        client.tree.add_command(command)
    client.add_dynamic_items(CommandButton, FormButton)
    guard_gateway(client)
    return client
