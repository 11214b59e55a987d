"""Autocomplete sources the front ends ask for (Discord autocomplete, console tab)."""

from __future__ import annotations

from bot.core.context import App
from bot.core.dates import timezone_names
from bot.core.models import UserRef
from bot.core.playbooks.schema import ScriptKind
from bot.core.registry import Choice

LIMIT = 25  # Discord's maximum number of suggestions


async def suggest(app: App, user: UserRef, source: str, prefix: str) -> list[Choice]:
    p = prefix.strip().lower()
    if source == "contact":
        uid = await app.store.ensure_user(user, app.clock.now())
        contacts = await app.store.contact_names(uid, p, LIMIT)
        return [Choice(c.ref, f"{c.ref} {c.name}"[:100]) for c in contacts]
    if source == "script-kind":
        return [Choice(k.value, k.value.replace("-", " ")) for k in ScriptKind if p in k.value][:LIMIT]
    if source == "specialty":
        return [
            Choice(pb.id, pb.name)
            for pb in app.playbooks
            if not p or p in pb.id or p in pb.name.lower() or any(p in a.lower() for a in pb.aliases)
        ][:LIMIT]
    if source == "timezone":
        return [Choice(z, z) for z in timezone_names(p, LIMIT)]
    if source == "command":
        return [Choice(c.qualified, "/" + c.qualified) for c in app.registry.commands if p in c.qualified][:LIMIT]
    return []
