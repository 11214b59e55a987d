"""Autocomplete sources the front ends ask for (Discord autocomplete, Slack external selects, console tab).

A front end passes its own platform's limit (Discord: 25 suggestions); labels may carry command hints
(:mod:`bot.core.hints`) and have no length cap here: a front end shortens them to what it can show."""

from __future__ import annotations

from bot.core.context import App
from bot.core.dates import timezone_names
from bot.core.hints import hint
from bot.core.models import UserRef
from bot.core.playbooks.schema import ScriptKind
from bot.core.registry import Choice

SUGGESTIONS = 50  # more than anyone scans in a pick list


async def suggest(app: App, user: UserRef, source: str, prefix: str, limit: int = SUGGESTIONS) -> list[Choice]:
    p = prefix.strip().lower()
    limit = max(1, min(limit, SUGGESTIONS))
    if source == "contact":
        uid = await app.store.ensure_user(user, app.clock.now())
        contacts = await app.store.contact_names(uid, p, limit)
        return [Choice(c.ref, f"{c.ref} {c.name}") for c in contacts]
    if source == "script-kind":
        return [Choice(k.value, k.value.replace("-", " ")) for k in ScriptKind if p in k.value][:limit]
    if source == "specialty":
        return [
            Choice(pb.id, pb.name)
            for pb in app.playbooks
            if not p or p in pb.id or p in pb.name.lower() or any(p in a.lower() for a in pb.aliases)
        ][:limit]
    if source == "timezone":
        return [Choice(z, z) for z in timezone_names(p, limit)]
    if source == "command":
        return [Choice(c.qualified, hint(c.qualified)) for c in app.registry.commands if p in c.qualified][:limit]
    return []
