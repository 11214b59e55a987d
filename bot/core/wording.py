"""Small grammar helpers, so a value reads right wherever a script puts it.

Scripts drop profile and contact values into sentences. A value such as ``University of
Lagos`` needs "the" in the middle of a sentence, ``research fellow`` needs "a", and a
greeting needs a title and a last name ("Dear Dr. Lee"), not the full name.
"""

from __future__ import annotations

import re
from functools import lru_cache

from bot.core.models import UsStatus, Visa

# "University of Lagos" -> "the University of Lagos"; "Cairo University" stays as it is
_THE_SCHOOL = re.compile(
    r"^(?:(?:university|college|faculty|institute|academy|school)\s+of\b"
    r"|[\w.'-]+\s+(?:university|college|institute|academy)\s+of\b)",
    re.IGNORECASE,
)
_LEADING_THE = re.compile(r"^the\s+", re.IGNORECASE)


def school_in_sentence(school: str) -> str:
    """The school as it reads mid-sentence: "at the University of Lagos", "at Cairo University"."""
    name = school.strip()
    bare = _LEADING_THE.sub("", name)
    if bare != name or _THE_SCHOOL.match(bare):
        return "the " + bare
    return name


def school_on_its_own(school: str) -> str:
    """The school on a line of its own (a signature): no leading article."""
    return _LEADING_THE.sub("", school.strip())


# the first word of a role that already reads right after "I'm currently ..."
_ROLE_KEEP = {
    "a",
    "an",
    "the",
    "my",
    "our",
    "on",
    "in",
    "at",
    "with",
    "between",
    "after",
    "for",
    "from",
    "still",
    "now",
    "currently",
    "also",
    "one",
    "part",
    "unemployed",
    "self-employed",
}


def indefinite_article(word: str) -> str:
    """ "a" or "an" for the sound the word starts with (good enough for job titles)."""
    head = re.sub(r"[^\w]", "", word)
    if not head:
        return "a"
    if len(head) > 1 and head[:2].isupper():  # an acronym, said letter by letter: an MD, a PGY-2
        return "an" if head[0].upper() in "AEFHILMNORSX" else "a"
    low = head.lower()
    if low.startswith(("hour", "honor", "honour", "honest", "heir")):
        return "an"
    if low.startswith(("uni", "use", "usu", "ur", "eu", "one", "once")):
        return "a"
    return "an" if low[0] in "aeiou" else "a"


def role_phrase(role: str) -> str:
    """A role that reads after "I'm currently": adds "a"/"an" to a bare job title."""
    text = role.strip()
    first = text.split()[0] if text else ""
    low = first.lower()
    if not first or low in _ROLE_KEEP or low.endswith("ing") or first[0].isdigit():
        return text
    return f"{indefinite_article(first)} {text}"


# ------------------------------------------------------------------ contacts
_TITLES = {
    "dr": "Dr.",
    "doctor": "Dr.",
    "prof": "Prof.",
    "professor": "Professor",
    "mr": "Mr.",
    "ms": "Ms.",
    "mrs": "Mrs.",
    "mx": "Mx.",
}
# credentials after a name that make the person a doctor ("Maya Lee MD" -> Dr. Lee)
_DOCTOR_CREDENTIALS = {"md", "do", "mbbs", "mbchb", "mbbch", "phd", "dphil", "dm", "frcp", "mrcp"}
_OTHER_CREDENTIALS = {
    "mph",
    "msc",
    "ms",
    "ma",
    "mba",
    "mhpe",
    "med",
    "rn",
    "np",
    "pa",
    "facp",
    "faap",
    "facep",
    "fapa",
    "jr",
    "sr",
    "ii",
    "iii",
}
_PARTICLES = {"van", "von", "der", "den", "de", "da", "del", "della", "di", "du", "la", "le", "bin", "ibn", "al", "el"}
# contact roles whose holders are physicians (or hold a doctorate), so "Dr." is right
DOCTOR_ROLES = {"attending", "resident", "fellow", "program-director", "researcher", "alumni"}
UNKNOWN_TITLE = "[Dr./Mr./Ms.]"


def _word(token: str) -> str:
    return token.lower().replace(".", "")


@lru_cache(maxsize=4096)  # a pure function, called for every follow-up of every digest
def split_name(full: str) -> tuple[str | None, str | None, bool]:
    """(title, last name, has a doctor's credential) from a name as the user typed it."""
    credentials = _DOCTOR_CREDENTIALS | _OTHER_CREDENTIALS
    head, _, tail = full.partition(",")
    tail_words = [_word(t) for t in re.split(r"[\s,]+", tail) if t]
    doctor = any(w in _DOCTOR_CREDENTIALS for w in tail_words)
    family_first = bool(tail_words) and not all(w in credentials for w in tail_words)  # "Lee, Maya"
    tokens = head.split()
    title = None
    while tokens and _word(tokens[0]) in _TITLES:
        title = _TITLES[_word(tokens.pop(0))]
    if family_first:
        return title, " ".join(tokens) or None, doctor
    while len(tokens) > 1 and _word(tokens[-1]) in credentials:
        doctor = doctor or _word(tokens[-1]) in _DOCTOR_CREDENTIALS
        tokens.pop()
    if not tokens:
        return title, None, doctor
    last = [tokens.pop()]
    while len(tokens) > 1 and tokens[-1].lower() in _PARTICLES:
        last.insert(0, tokens.pop())
    return title, " ".join(last), doctor


def salutation(full: str, role: str | None) -> str | None:
    """How a greeting names them: "Dr. Lee", or "[Dr./Mr./Ms.] Lee" when the title is unknown."""
    title, last, doctor = split_name(full)
    if last is None:
        return None
    if title is None:
        title = "Dr." if doctor or role in DOCTOR_ROLES else UNKNOWN_TITLE
    return f"{title} {last}"


# ------------------------------------------------------------------ status
US_STATUS_PHRASES = {
    UsStatus.CITIZEN: ("a US citizen", "US citizen"),
    UsStatus.PERMANENT_RESIDENT: ("a US permanent resident (green card holder)", "US permanent resident"),
}

# What a non-US citizen says about the visa: the sentence itself changes with the value.
VISA_PLAN = {
    Visa.J1: "I'm not a US citizen, so I'll need a visa for residency; I'm planning to train on a J-1.",
    Visa.H1B: "I'm not a US citizen, so I'll need a visa for residency; I'm hoping to train on an H-1B.",
    Visa.OTHER: (
        "I'm not a US citizen, and I expect to train on a visa other than the J-1 or H-1B "
        "([which one]), so I'm glad to explain what that means for a program."
    ),
    Visa.NONE: (
        "I'm not a US citizen, but I already hold US work authorization, so I won't need "
        "visa sponsorship for residency."
    ),
}
VISA_QUESTION = {
    Visa.J1: "Does your program take residents on J-1 visas?",
    Visa.H1B: "Does your program sponsor H-1B visas for residents?",
    Visa.OTHER: "Which visa types is your program able to support for residents?",
    Visa.NONE: "Have you trained residents who, like me, are not US citizens but already hold US work authorization?",
}


def shorten(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters at a word break, with "…" when cut, for a
    name inside a button label: "Dr Bartholomew Alexander…", never "Dr Bartholomew Alexander Montg"."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)  # the "…" takes the space's place
    head = text[:cut] if cut > limit // 2 else text[: limit - 1]
    return head.rstrip(" ,;:-·") + "…"
