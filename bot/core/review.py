"""/review: check a pasted draft against the playbook's review rules. Nothing is stored.

The rules are playbook data (``review_rules`` in the YAML): each names a detector from
:class:`~bot.core.playbooks.schema.ReviewCheck`, its patterns and the script kinds it applies
to. This module only reads the draft into lines, sentences and asks, and runs the detectors.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

from bot.core.playbooks.loader import TrackView
from bot.core.playbooks.schema import ReviewCheck, ReviewRule

WRAP = 100  # a pasted paragraph counts as the lines a mail client would show at this width
_SENTENCE_END = re.compile(r"(?<=[.?!])\s+")
_SUBJECT = re.compile(r"^\s*subject\s*:", re.IGNORECASE)


@dataclass(frozen=True)
class Draft:
    text: str
    body: tuple[str, ...]  # non-empty lines, without the subject line
    sentences: tuple[str, ...]

    @property
    def line_count(self) -> int:
        return sum(max(1, math.ceil(len(line) / WRAP)) for line in self.body)


def read_draft(text: str) -> Draft:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    body = [line for line in lines if line.strip() and not _SUBJECT.match(line)]
    sentences = [s.strip() for line in body for s in _SENTENCE_END.split(line) if s.strip()]
    return Draft(text, tuple(body), tuple(sentences))


@lru_cache(maxsize=512)
def _compiled(pattern: str, case_sensitive: bool) -> re.Pattern[str]:
    return re.compile(pattern, re.MULTILINE | (0 if case_sensitive else re.IGNORECASE))


def _search(rule: ReviewRule, patterns: list[str], text: str) -> re.Match[str] | None:
    for p in patterns:
        m = _compiled(p, rule.case_sensitive).search(text)
        if m:
            return m
    return None


def _is_ask(rule: ReviewRule, sentence: str) -> bool:
    return _search(rule, rule.patterns, sentence) is not None


def asks(view: TrackView, kind: str, draft: Draft) -> list[str]:
    """The sentences that ask for something, by the patterns of the kind's ``asks`` rules."""
    rules = [r for r in view.review_rules if r.check == ReviewCheck.ASKS and r.applies_to_kind(kind)]
    rules = rules or [r for r in view.review_rules if r.check == ReviewCheck.ASKS]
    return [s for s in draft.sentences if any(_is_ask(r, s) for r in rules)]


@dataclass(frozen=True)
class Finding:
    rule: ReviewRule
    passed: bool
    detail: str | None = None  # what was found, e.g. '18 lines' or '"observership"'


def _quote(m: re.Match[str]) -> str:
    found = " ".join(m.group(0).split())
    return "“" + (found if len(found) <= 40 else found[:39] + "…") + "”"


def check(rule: ReviewRule, view: TrackView, kind: str, draft: Draft) -> Finding:
    c = rule.check
    if c == ReviewCheck.MAX_LINES:
        n = draft.line_count
        return Finding(rule, n <= (rule.limit or 0), f"{n} lines")
    if c == ReviewCheck.ASKS:
        n = sum(1 for s in draft.sentences if _is_ask(rule, s))
        low = rule.min is not None and n < rule.min
        high = rule.max is not None and n > rule.max
        return Finding(rule, not (low or high), f"{n} ask{'s' if n != 1 else ''} found")
    if c == ReviewCheck.MISSING:
        return Finding(rule, _search(rule, rule.patterns, draft.text) is not None)
    if c == ReviewCheck.IN_OPENING:
        m = _search(rule, rule.patterns, "\n".join(draft.body[: rule.limit]))
        return Finding(rule, m is None, _quote(m) if m else None)
    # PATTERN
    target = "\n".join(asks(view, kind, draft)) if rule.in_asks else draft.text
    m = _search(rule, rule.patterns, target)
    if m is not None and rule.unless and _search(rule, rule.unless, draft.text):
        m = None
    return Finding(rule, m is None, _quote(m) if m else None)


def applies(rule: ReviewRule, kind: str, draft: Draft) -> bool:
    """Whether ``rule`` says anything of this draft: it covers ``kind`` and, with ``only_if``,
    the draft has what the rule is about (no greeting line: no verdict on the greeting)."""
    return rule.applies_to_kind(kind) and (not rule.only_if or _search(rule, rule.only_if, draft.text) is not None)


def review(view: TrackView, kind: str, text: str) -> list[Finding]:
    """Every rule of the playbook that applies to ``kind`` and the draft, run on it, in playbook order."""
    draft = read_draft(text)
    return [check(r, view, kind, draft) for r in view.review_rules if applies(r, kind, draft)]
