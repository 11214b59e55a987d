"""Command hints inside replies, written once and shown in each front end's own syntax.

Core writes ``hint("profile set specialty:<name>")`` wherever a reply or an error
tells the user what to type next, and ``Registry.mark_commands`` marks the
``/command`` mentions in playbook prose. That marks the command line with two
private-use characters; a front end then writes them with its own prefix:
``/`` on Discord and in the console (``/profile set ...``), ``/imgbot `` on
Slack (``/imgbot profile set ...``).

For a front end:

- ``reply.with_hints(prefix)`` (:meth:`bot.core.reply.Reply.with_hints`): a copy of a
  reply (error replies too) with every readable string formatted; call it once
  before rendering. ``Action.command`` is never marked: it is the line a button runs.
- :func:`format_hints` for a loose string, such as an autocomplete label.

Text a user typed never carries the markers: :func:`strip_markers` removes them on
the way in (``bot.core.textin``, for lines and typed values alike).
"""

from __future__ import annotations

import re

OPEN = "\ue000"
CLOSE = "\ue001"
_HINT = re.compile(f"{OPEN}([^{OPEN}{CLOSE}]*){CLOSE}")
_MARKERS = re.compile(f"[{OPEN}{CLOSE}]")

SLASH = "/"


def hint(line: str) -> str:
    """A command line to show the user, such as ``hint("contact list")``; no leading slash."""
    return f"{OPEN}{line.lstrip('/')}{CLOSE}"


def format_hints(text: str, prefix: str = SLASH) -> str:
    """``text`` with every marked hint written as ``prefix`` + the command line."""
    if OPEN not in text:
        return text
    return _HINT.sub(lambda m: prefix + m.group(1), text)


def strip_markers(text: str) -> str:
    """Remove hint markers from text a user typed, so nobody can forge a hint."""
    return _MARKERS.sub("", text)
