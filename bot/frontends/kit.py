"""Policies every chat front end (Discord, Slack) shares, written once.

- **Answer within the deadline or defer** (:func:`within_deadline`): the work starts at once;
  if it is not done when the platform's deadline is near, the front end's ``defer`` step runs
  (Discord: a "thinking..." placeholder; Slack: an empty ack), and the answer follows later.
- **Buttons only where only their owner sees them** (:func:`buttons_allowed`): a click runs
  the command as the clicker, so buttons go on ephemeral replies and into DMs, never onto a
  message the whole channel sees.
- **Notices privately after a public reply** (:func:`run_invocation`): pending notices
  ("your DMs are closed") open a private reply, and follow a public one as a separate private
  message.
- **Text splitting** (:func:`split_text`, :func:`split_lines`): long text is cut at paragraph,
  line or word breaks, never inside an escape (``\\*`` on Discord, ``&amp;`` on Slack).

Nothing here imports a platform SDK.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from bot.core.context import App
from bot.core.dispatch import run_command
from bot.core.models import UserRef
from bot.core.origin import Origin
from bot.core.registry import Command
from bot.core.reply import Attachment, Reply, Tone

log = logging.getLogger(__name__)

T = TypeVar("T")


# ---------------------------------------------------------------- deadline or defer
async def within_deadline(
    work: Awaitable[T],
    *,
    defer_after: float,
    defer: Callable[[], Awaitable[None]],
    time_left: float,
) -> T:
    """Await ``work``; if it takes longer than ``defer_after`` seconds, run ``defer()`` once and
    keep waiting up to ``time_left`` seconds in all (TimeoutError after that). Work that outlives
    the wait keeps running and its failure is logged, since nobody awaits it any more."""
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=max(0.0, defer_after))
    if not done:
        await defer()
    try:
        return await asyncio.wait_for(asyncio.shield(task), max(0.0, time_left - defer_after))
    except BaseException:
        if not task.done():
            task.add_done_callback(log_failure("a command that outlived its interaction"))
        raise


def log_failure(what: str) -> Callable[[asyncio.Future[Any]], None]:
    """A done-callback that logs a background task's exception (nobody awaits it)."""

    def done(task: asyncio.Future[Any]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("%s failed", what, exc_info=task.exception())

    return done


# ---------------------------------------------------------------- buttons
def buttons_allowed(*, private: bool, in_dm: bool) -> bool:
    """Buttons run their command as whoever clicks: show them only where nobody but the
    reply's owner can click (an ephemeral reply, a DM). Elsewhere actions are shown as text."""
    return private or in_dm


# ---------------------------------------------------------------- notices
def notice_reply(notices: list[str]) -> Reply:
    """Pending notices as their own private reply."""
    return Reply(title="Heads-up", tone=Tone.WARNING).text("\n".join(notices))


async def take_notices(app: App, user: UserRef) -> list[str]:
    uid = await app.store.ensure_user(user, app.clock.now())
    return await app.store.take_notices(uid)


async def run_invocation(
    app: App,
    user: UserRef,
    command: Command,
    raw: Mapping[str, Any],
    files: tuple[Attachment, ...] = (),
    *,
    origin: Origin,
) -> tuple[Reply, list[str]]:
    """Run ``command`` and return its reply with the notices to send privately after it.

    Pending notices must stay private: a private command shows them at the top of its reply;
    a public one leaves them for a separate private message (the second element)."""
    reply = await run_command(app, user, command, raw, files, notices=command.private, origin=origin)
    return reply, [] if command.private else await take_notices(app, user)


# ---------------------------------------------------------------- splitting
ENTITY_MAX = len("&amp;")


def _safe_cut(text: str, cut: int) -> int:
    """Move ``cut`` back so it never separates a backslash escape from its character, nor
    splits an HTML entity (``&amp;``)."""
    while cut > 1 and text[cut - 1] == "\\":
        cut -= 1
    amp = text.rfind("&", max(0, cut - ENTITY_MAX + 1), cut)
    if amp > 0 and ";" not in text[amp:cut]:
        cut = amp
    return cut


def split_text(text: str, limit: int) -> list[str]:
    """Split at paragraph, line or word breaks into pieces of at most ``limit`` characters."""
    out: list[str] = []
    while len(text) > limit:
        cut = limit
        for sep in ("\n\n", "\n", " "):
            i = text.rfind(sep, 0, limit)
            if i > limit // 4:
                cut = i
                break
        cut = _safe_cut(text, cut)
        out.append(text[:cut].rstrip())
        text = text[cut:].lstrip("\n ")
    if text or not out:
        out.append(text)
    return out


def split_lines(text: str, room: int) -> list[str]:
    """Chunks of at most ``room`` characters, cut between lines where possible (for code and
    scripts, whose lines and spaces must survive as they are)."""
    chunks: list[str] = []
    current = ""
    for line in text.rstrip().split("\n"):
        while len(line) > room:
            if current:
                chunks.append(current)
                current = ""
            cut = _safe_cut(line, room)
            chunks.append(line[:cut])
            line = line[cut:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > room:
            chunks.append(current)
            current = line
        else:
            current = candidate
    chunks.append(current)
    return chunks


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: _safe_cut(text, limit - 1)] + "…"
