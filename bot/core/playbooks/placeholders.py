"""The placeholders a script template may use, and safe substitution.

Templates use ``{name}`` tokens. Substitution is a single regular-expression
pass over the template: values are inserted verbatim and never re-scanned, so
text a user typed cannot inject another placeholder or run anything.
A value that is missing shows as a visible hint such as ``[your medical school]``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# name -> the hint shown when the value is missing
PLACEHOLDERS: dict[str, str] = {
    # from the user's profile
    "name": "your name",
    "first_name": "your first name",
    "country": "your country",
    "school": "your medical school",  # mid-sentence: "the University of Lagos", "Cairo University"
    "school_name": "your medical school",  # as a line of its own, e.g. in a signature
    "specialty": "your specialty",
    "role": "your current role",  # with its article: "a research fellow at ..."
    "interests": "your interests",
    # whole sentences, worded from the visa value (J-1, H-1B, other, none)
    "visa_plan": "one sentence on your visa plan",
    "visa_question": "your question about visas",
    # us-img track: citizen or permanent resident (green card)
    "us_status": "a US citizen / a US permanent resident",
    "us_status_short": "US citizen / US permanent resident",
    "eras": "your ERAS month",
    # from a tracked contact
    "contact_name": "contact's name",
    "contact_salutation": "title and last name, e.g. Dr. Lee",
    "contact_last_name": "contact's last name",
    "contact_role": "contact's role",
    "contact_institution": "contact's institution",
    "how_met": "how you met",
    "met_on": "date you met",
}

_TOKEN = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def placeholders_in(template: str) -> list[str]:
    return [m.group(1) for m in _TOKEN.finditer(template)]


def unknown_placeholders(template: str) -> list[str]:
    return sorted({p for p in placeholders_in(template) if p not in PLACEHOLDERS})


def hint(name: str) -> str:
    return f"[{PLACEHOLDERS.get(name, name.replace('_', ' '))}]"


def fill(template: str, values: Mapping[str, str | None]) -> str:
    """Replace every ``{token}`` with its value, or with a bracketed hint."""

    def sub(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        return value if value else hint(match.group(1))

    return _TOKEN.sub(sub, template)
