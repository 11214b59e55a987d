"""Text as chat apps deliver it, turned into what the user typed, before a command line is split.

Every text front end (the console, Slack's ``/imgbot``) hands core a whole line;
:func:`normalise` and :func:`split_words` run on it in
:func:`bot.core.dispatch.parse_line_positions`, so a front end passes the raw text
and does nothing else. Typed values (Discord options) go through
:func:`typed_value` and :func:`check_controls` in :func:`bot.core.dispatch.convert_value`.

- **Slack's encoding.** Slack escapes ``&``, ``<`` and ``>`` that a user typed
  (``&amp; &lt; &gt;``) and writes links and mentions as ``<...>`` markup:
  ``<mailto:a@b.org|a@b.org>`` becomes ``a@b.org``, ``<https://x.org/p|label>``
  and ``<https://x.org/p>`` become the URL (or what the user typed, when Slack only
  linked it), ``<@U123|maya>`` becomes ``@maya`` (``@U123`` without a name),
  ``<#C123|general>`` becomes ``#general``, and ``<!channel>``, ``<!here>``,
  ``<!everyone>`` become ``＠channel`` etc. with a full-width at sign, which neither
  Slack nor Discord reads as a mention. None of these forms can ping when echoed.
- **Smart quotes.** ``“ ” „ ‟ « »`` quote like ``"``, and ``‘ ’ ‚ ‛`` like ``'``, but
  only where they open a word (at its start, or after ``key:``) and close one (at its
  end). An apostrophe inside a word, curly or plain (``O’Brien``, ``O'Brien``,
  ``Women’s``), is text, and so is a single quote that nothing closes (``'90s``).
- **Hint markers** (:mod:`bot.core.hints`) are removed, so typed text cannot forge a hint.
- **Control characters** (NUL, the other C0 and C1 controls, DEL) are refused per
  option with a one-line message naming it; tab and line break only in options
  declared ``multiline``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.core.errors import UsageError
from bot.core.hints import strip_markers

DOUBLE_QUOTES = '"“”„‟«»'
SINGLE_QUOTES = "'‘’‚‛"
QUOTES = DOUBLE_QUOTES + SINGLE_QUOTES
FULLWIDTH_AT = "＠"
# names that ping a whole channel or server when written after an @
_BROADCAST = frozenset({"everyone", "here", "channel"})

# Slack markup: <target> or <target|label>. Slack escapes any < > & the user typed,
# so a literal "<" in Slack text always starts markup.
_MARKUP = re.compile(r"<([@#!][^<>|\s]*|[A-Za-z][A-Za-z0-9+.-]*:[^<>|\s]+)(?:\|([^<>]*))?>")
_ENTITY = re.compile(r"&(amp|lt|gt);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_SINGLE_LINE_OK: frozenset[str] = frozenset()
_MULTILINE_OK: frozenset[str] = frozenset({"\t", "\n"})


def _at(name: str) -> str:
    """``@name`` as plain text, with a full-width at sign for names that would reach everyone."""
    name = name.lstrip("@")
    return (FULLWIDTH_AT if name.lower() in _BROADCAST else "@") + name


def _link(target: str, label: str | None) -> str:
    scheme, _, rest = target.partition(":")
    if scheme.lower() == "mailto":
        return rest.split("?", 1)[0]
    if label and label.strip() in (target, rest.removeprefix("//")):
        return label.strip()  # Slack linked what the user typed (example.org): keep it as typed
    if scheme.lower() in ("http", "https"):
        return target
    return label.strip() if label and label.strip() else target


def _markup(m: re.Match[str]) -> str:
    target, label = m.group(1), m.group(2)
    label = label.strip() if label else None
    match target[:1]:
        case "@":  # a user: <@U123> or <@U123|maya>
            return _at(label or target[1:])
        case "#":  # a channel: <#C123|general>
            return "#" + (label.lstrip("#") if label else target[1:])
        case "!":  # <!channel>, <!here>, <!everyone>, <!subteam^S1|@team>, <!date^...|fallback>
            word = target[1:].split("^", 1)[0]
            if word == "subteam":
                return FULLWIDTH_AT + (label or "team").lstrip("@")
            if word in _BROADCAST:
                return FULLWIDTH_AT + word
            return label or word
        case _:
            return _link(target, label)


def decode_slack(text: str) -> str:
    """Slack's markup and entities as the text the user typed (see the module docstring)."""
    if "<" in text:
        text = _MARKUP.sub(_markup, text)
    if "&" in text:
        text = _ENTITY.sub(lambda m: _ENTITIES[m.group(1)], text)
    return text


def normalise(line: str) -> str:
    """A typed line, ready to split: hint markers removed, Slack markup decoded, CRLF as LF."""
    return decode_slack(strip_markers(line)).replace("\r\n", "\n")


@dataclass(frozen=True)
class Word:
    """One word of a command line. ``start``/``end`` index the line it came from."""

    text: str
    start: int
    end: int
    quoted_start: bool = False  # typed starting with a quote: text, never key:value
    quoted: bool = False  # some of it was in quotes

    def raw(self, line: str) -> str:
        return line[self.start : self.end]


def _opens(line: str, i: int, word_start: int) -> bool:
    return i == word_start or line[i - 1] in ":="


def _close(line: str, i: int) -> int | None:
    """Where the quote opened at ``i`` closes: the next quote of its kind that ends a word. A straight
    quote is closed by the same straight quote; a curly one by a curly one of its family, else by a
    straight one. A double quote with no closer at a word's end closes at the next one, as in a shell."""
    opener = line[i]
    family = DOUBLE_QUOTES if opener in DOUBLE_QUOTES else SINGLE_QUOTES
    straight = family[0]
    kinds = [straight] if opener == straight else [family[1:], straight]
    for closers in kinds:
        first: int | None = None
        j = i + 1
        while j < len(line):
            c = line[j]
            if c == "\\" and j + 1 < len(line) and line[j + 1] in QUOTES + "\\":
                j += 2
                continue
            if c in closers:
                if j + 1 == len(line) or line[j + 1].isspace():
                    return j
                if first is None:
                    first = j
            j += 1
        if first is not None and family is DOUBLE_QUOTES:
            return first
    return None


def _unescape(text: str) -> str:
    return re.sub(r"\\([" + re.escape(QUOTES) + r"\\])", r"\1", text)


def split_words(line: str) -> list[Word]:
    """Split a (normalised) line into words, honouring straight and smart quotes.

    ``\\"``, ``\\'`` and ``\\\\`` are a literal quote or backslash; any other backslash is text
    (``C:\\Users\\me\\contacts.csv``). An unclosed double quote is a usage error.
    """
    words: list[Word] = []
    i, n = 0, len(line)
    while i < n:
        if line[i].isspace():
            i += 1
            continue
        start = i
        parts: list[str] = []
        quoted_start = quoted = False
        while i < n and not line[i].isspace():
            c = line[i]
            if c == "\\" and i + 1 < n and line[i + 1] in QUOTES + "\\":
                parts.append(line[i + 1])
                i += 2
                continue
            if c in QUOTES and _opens(line, i, start):
                end = _close(line, i)
                if end is not None:
                    parts.append(_unescape(line[i + 1 : end]))
                    quoted_start = quoted_start or i == start
                    quoted = True
                    i = end + 1
                    continue
                if c in DOUBLE_QUOTES:
                    raise UsageError(f"could not read that line (the quote {c} is never closed); close every quote")
            parts.append(c)
            i += 1
        words.append(Word("".join(parts), start, i, quoted_start, quoted))
    return words


def typed_value(value: str) -> str:
    """A value typed into its own field (a Discord option): hint markers removed, and one pair of
    quotes around the whole of it dropped (``“Dr Maya Lee”``), as a text line would drop them."""
    value = strip_markers(value)
    inner = value.strip()
    if len(inner) < 2 or inner[0] not in QUOTES or inner[-1] not in QUOTES:
        return value
    family = DOUBLE_QUOTES if inner[0] in DOUBLE_QUOTES else SINGLE_QUOTES
    if inner[-1] not in family:
        return value
    body = inner[1:-1]
    # "A" and "B" is two quoted parts, not one: only unwrap when no other quote of the kind stands
    # at a word's edge (an apostrophe inside a word, O'Brien, is text)
    for i, c in enumerate(body):
        inside = 0 < i < len(body) - 1 and body[i - 1].isalnum() and body[i + 1].isalnum()
        if c in family and not inside:
            return value
    return body


def check_controls(opt_name: str, value: str, *, multiline: bool = False) -> str:
    """Refuse NUL and other control characters, which no chat shows and a terminal may obey.
    Tab and line break are allowed in a ``multiline`` option only."""
    allowed = _MULTILINE_OK if multiline else _SINGLE_LINE_OK
    for m in _CONTROL.finditer(value):
        c = m.group(0)
        if c in allowed:
            continue
        if c in _MULTILINE_OK:
            raise UsageError(f"option '{opt_name}' must be one line: remove the line break or tab")
        raise UsageError(
            f"option '{opt_name}' contains a control character (U+{ord(c):04X}) that cannot be stored; "
            "remove it and try again"
        )
    return value
