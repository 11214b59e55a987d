"""Render playbook scripts for a user's profile and an optional tracked contact."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core import wording
from bot.core.dates import fmt_date, fmt_month
from bot.core.models import Contact, Profile, UsStatus, Visa
from bot.core.playbooks.loader import Playbook
from bot.core.playbooks.placeholders import fill, placeholders_in
from bot.core.playbooks.schema import Script

HOW_MET_PHRASES = {
    "conference": "at a conference",
    "email": "over email",
    "linkedin": "on LinkedIn",
    "rotation": "during a rotation",
    "webinar": "at a webinar",
    "research": "through research work",
    "alumni": "through our alumni network",
    "other": "recently",
}

# profile placeholders -> the /profile set option that fills them
PROFILE_OPTION = {
    "name": "name",
    "first_name": "name",
    "country": "country",
    "school": "school",
    "school_name": "school",
    "specialty": "specialty",
    "role": "role",
    "interests": "interests",
    "visa_plan": "visa",
    "visa_question": "visa",
    "us_status": "status",
    "us_status_short": "status",
    "eras": "eras",
}


def _known(enum: type[Visa] | type[UsStatus], value: str | None) -> str | None:
    return value if value in {e.value for e in enum} else None


def script_values(profile: Profile, playbook: Playbook, contact: Contact | None = None) -> dict[str, str | None]:
    visa = _known(Visa, profile.visa)
    status = _known(UsStatus, profile.status)
    status_long, status_short = wording.US_STATUS_PHRASES[UsStatus(status)] if status else (None, None)
    values: dict[str, str | None] = {
        "name": profile.name,
        "first_name": profile.name.split()[0] if profile.name else None,
        "country": profile.country,
        "school": wording.school_in_sentence(profile.school) if profile.school else None,
        "school_name": wording.school_on_its_own(profile.school) if profile.school else None,
        "specialty": playbook.name.lower() if playbook.name.isascii() else playbook.name,
        "role": wording.role_phrase(profile.role) if profile.role else None,
        "interests": profile.interests,
        "visa_plan": wording.VISA_PLAN[Visa(visa)] if visa else None,
        "visa_question": wording.VISA_QUESTION[Visa(visa)] if visa else None,
        "us_status": status_long,
        "us_status_short": status_short,
        "eras": fmt_month(profile.eras) if profile.eras else None,
    }
    if contact is not None:
        _, last, _ = wording.split_name(contact.name)
        values.update(
            contact_name=contact.name,
            contact_salutation=wording.salutation(contact.name, contact.role),
            contact_last_name=last,
            contact_role=contact.role.replace("-", " ") if contact.role != "other" else None,
            contact_institution=contact.institution,
            how_met=HOW_MET_PHRASES.get(contact.how_met),
            met_on=fmt_date(contact.met_on) if contact.met_on else None,
        )
    return values


@dataclass(frozen=True)
class RenderedScript:
    subject: str | None
    body: str
    missing_profile: tuple[str, ...]  # /profile set options that would fill a hint
    missing_contact: bool


def render_script(script: Script, values: dict[str, str | None]) -> RenderedScript:
    used = placeholders_in(script.body) + placeholders_in(script.subject or "")
    missing = [p for p in used if not values.get(p)]
    options = tuple(dict.fromkeys(PROFILE_OPTION[p] for p in missing if p in PROFILE_OPTION))
    missing_contact = any(p.startswith("contact_") or p in ("how_met", "met_on") for p in missing)
    return RenderedScript(
        subject=fill(script.subject, values) if script.subject else None,
        body=fill(script.body, values),
        missing_profile=options,
        missing_contact=missing_contact,
    )
