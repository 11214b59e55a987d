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
    "school": "your medical school",
    "specialty": "your specialty",
    "role": "your current role",
    "interests": "your interests",
    "visa": "your visa status",
    "eras": "your ERAS month",
    # from a tracked contact
    "contact_name": "contact's name",
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
