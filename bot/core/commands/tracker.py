"""/contact ... and /followups: the personal networking tracker."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from bot.core import planner
from bot.core.context import Context
from bot.core.dates import fmt_date
from bot.core.errors import LimitError, UsageError
from bot.core.hints import hint
from bot.core.models import Contact, ContactRole, ContactState, HowMet, InteractionType
from bot.core.playbooks.schema import situation_words
from bot.core.registry import Choice, CommandSet, Option, OptionType
from bot.core.reply import ActionStyle, Attachment, Reply, Tone
from bot.core.tracker import check_email, done_log, parse_tags, recompute, resolve_contact

commands = CommandSet()
commands.group("contact", "Your personal contact tracker", default="list")

ROLE_CHOICES = tuple(Choice(r.value, r.value.replace("-", " "), (r.value.replace("-", " "),)) for r in ContactRole)
HOW_CHOICES = tuple(Choice(h.value, h.value) for h in HowMet)
TYPE_CHOICES = tuple(Choice(t.value, t.value.replace("-", " "), (t.value.replace("-", " "),)) for t in InteractionType)
CONTACT = Option("contact", "the contact's name or #id", required=True, autocomplete="contact", max_length=80)

FIELDS = (
    Option("role", "their role", OptionType.CHOICE, choices=ROLE_CHOICES),
    Option(
        "specialty",
        "their specialty (a playbook name sets the follow-up windows)",
        max_length=60,
        autocomplete="specialty",
    ),
    Option("institution", "hospital, program or university", max_length=120),
    Option("email", "their email address", max_length=254),
    Option("how_met", "how you met", OptionType.CHOICE, choices=HOW_CHOICES),
    Option("met_on", "when you met (YYYY-MM-DD, today, 3 days ago); default today", OptionType.DATE),
    Option("notes", "what you talked about, what you promised", max_length=500, multiline=True),
    Option("tags", "comma-separated tags, e.g. mentor,research", max_length=200),
)


CADENCE_INPUTS = {"how_met", "met_on", "tags", "specialty"}


def not_future(ctx: Context, day: date, option: str) -> date:
    if day > ctx.today + timedelta(days=1):
        raise UsageError(f"option '{option}': {day.isoformat()} is in the future; use the date you met")
    return day


def specialty_id(ctx: Context, text: str | None) -> str | None:
    if not text:
        return None
    pb = ctx.app.playbooks.resolve(text)
    return pb.id if pb else text


def line(c: Contact, today: date | None = None, why: str | None = None) -> str:
    """``#1 Dr Maya Lee · attending · next: Mon 23 Nov 2026 (overdue, after meeting them)``:
    ``why`` (the follow-up's reason, for /followups) joins "overdue" in one parenthesis."""
    bits = [f"{c.ref} {c.name}"]
    if c.role != ContactRole.OTHER:
        bits.append(c.role.replace("-", " "))
    if c.institution:
        bits.append(c.institution)
    s = " · ".join(bits)
    if c.state != ContactState.ACTIVE:
        return f"{s} ({c.state.replace('-', ' ')})"
    if c.next_followup_on:
        overdue = today is not None and c.next_followup_on < today
        notes = ", ".join(x for x in ("overdue" if overdue else None, why) if x)
        s += f" · next: {fmt_date(c.next_followup_on)}" + (f" ({notes})" if notes else "")
    return s


def card(ctx: Context, c: Contact, title: str, advice: str | None = None) -> Reply:
    dash = "—"
    r = Reply(title=title)
    r.fields(
        ("Name", c.name),
        ("Role", c.role.replace("-", " ")),
        ("Specialty", ctx.app.playbooks.label(c.specialty) if c.specialty else dash),
        ("Institution", c.institution or dash),
        ("Email", c.email or dash),
        ("How met", c.how_met),
        ("Met on", fmt_date(c.met_on) if c.met_on else dash),
        ("Last contact", fmt_date(c.last_contact_on) if c.last_contact_on else dash),
        ("Next follow-up", fmt_date(c.next_followup_on) if c.next_followup_on else dash),
        ("Tags", ", ".join(c.tags) or dash),
        ("State", c.state),
    )
    if c.notes:
        r.text(c.notes, heading="Notes")
    if advice:
        r.text(advice, heading="Playbook says")
    if c.followup_script and c.state == ContactState.ACTIVE:
        r.text(hint(f"script {c.followup_script} contact:{c.ref}"), heading="Script for the next step")
    return r


@commands.command(
    "add",
    "Track someone you met or want to reach",
    Option("name", "their name, e.g. Dr Maya Lee", required=True, max_length=80),
    *FIELDS,
    group="contact",
    help='/contact add "Dr Maya Lee" role:attending specialty:psych how_met:conference met_on:yesterday',
)
async def contact_add(
    ctx: Context,
    name: str,
    role: str | None,
    specialty: str | None,
    institution: str | None,
    email: str | None,
    how_met: str | None,
    met_on: date | None,
    notes: str | None,
    tags: str | None,
) -> Reply:
    cap = ctx.app.limits.max_contacts
    if await ctx.store.count_contacts(ctx.user_id) >= cap:
        raise LimitError(f"you have reached the limit of {cap} contacts; remove some with {hint('contact remove')}")
    contact = Contact(
        id=0,
        user_id=ctx.user_id,
        number=0,
        name=name,
        role=role or ContactRole.OTHER,
        specialty=specialty_id(ctx, specialty),
        institution=institution,
        email=check_email(email),
        how_met=how_met or HowMet.OTHER,
        met_on=not_future(ctx, met_on or ctx.today, "met_on"),
        notes=notes,
        tags=parse_tags(tags),
    )
    namesakes = await ctx.store.find_contacts(ctx.user_id, name, limit=5, exact=True)  # the index, no scan
    async with ctx.store.transaction():
        stored = await ctx.store.add_contact(contact, ctx.now)
        if stored.how_met in (HowMet.CONFERENCE, HowMet.ROTATION, HowMet.WEBINAR):
            await ctx.store.add_interaction(
                ctx.user_id, stored.id, InteractionType.MET, stored.met_on or ctx.today, None, ctx.now
            )
        stored, step = await recompute(ctx, stored)
    r = card(ctx, stored, f"Added {stored.ref} {stored.name}", step.advice)
    r.tone = Tone.SUCCESS
    if namesakes:  # added anyway: two people can share a name, and nothing typed is thrown away
        known = ", ".join(f"{c.ref} {c.name}" for c in namesakes)
        r.text(
            f"You already track {known}. If that is the same person, delete this new entry with "
            f"{hint(f'contact remove {stored.ref}')} and log what happened on the first one."
        )
    return r


@commands.command(
    "list",
    "List contacts: all, due for follow-up, mentors, or by tag",
    Option("filter", "all, due, mentor or tag:NAME", max_length=40),
    Option("page", "page number", OptionType.INTEGER, min_value=1, max_value=1000, default=1),
    group="contact",
)
async def contact_list(ctx: Context, filter: str | None, page: int) -> Reply:
    f = (filter or "all").strip().lower()
    tag = None
    due_by = None
    if f == "due":
        due_by = ctx.today
    elif f == "mentor":
        tag = "mentor"
    elif f.startswith("tag:") or f.startswith("#"):
        tag = f.split(":", 1)[-1].lstrip("#")
    elif f != "all":
        raise UsageError(f"option 'filter': '{filter}' is not a filter; use all, due, mentor or tag:NAME")
    size = ctx.app.limits.page_size
    contacts, total = await ctx.store.list_contacts(
        ctx.user_id, tag=tag, due_by=due_by, limit=size, offset=(page - 1) * size
    )
    r = Reply(title=f"Contacts ({f}): {total}")
    if not total:
        r.text("Nothing here yet. Add someone with " + hint('contact add "Dr Maya Lee" how_met:conference'))
        return r
    today = ctx.today
    r.bullets([line(c, today) for c in contacts])
    pages = (total + size - 1) // size
    if pages > 1:
        r.footer = f"Page {page} of {pages}: " + hint(f"contact list {f} page:{min(page + 1, pages)}")
    return r


@commands.command("show", "Show one contact with history and next step", CONTACT, group="contact")
async def contact_show(ctx: Context, contact: str) -> Reply:
    c = await resolve_contact(ctx, contact)
    r = card(ctx, c, f"{c.ref} {c.name}")
    history = await ctx.store.interactions(c.id)
    r.bullets([f"{fmt_date(d)}: {k}" + (f" ({n})" if n else "") for k, d, n in history[-10:]], heading="History")
    return r


@commands.command(
    "edit",
    "Change a contact's details",
    CONTACT,
    Option("name", "new name", max_length=80),
    *FIELDS,
    group="contact",
)
async def contact_edit(ctx: Context, contact: str, **changes: object) -> Reply:
    c = await resolve_contact(ctx, contact)
    given = {k: v for k, v in changes.items() if v is not None}
    if not given:
        raise UsageError(hint("contact edit") + ' needs at least one field to change, e.g. institution:"Mass General"')
    if "email" in given:
        given["email"] = check_email(str(given["email"]))
    if "tags" in given:
        given["tags"] = parse_tags(str(given["tags"]))
    if "specialty" in given:
        given["specialty"] = specialty_id(ctx, str(given["specialty"]))
    if "met_on" in given:
        given["met_on"] = not_future(ctx, given["met_on"], "met_on")  # type: ignore[arg-type]
    updated = replace(c, **given)  # type: ignore[arg-type]
    advice = None
    async with ctx.store.transaction():
        await ctx.store.update_contact(updated)
        if "met_on" in given and c.met_on is not None:
            await ctx.store.move_auto_met(c.id, c.met_on, updated.met_on)  # type: ignore[arg-type]
        if CADENCE_INPUTS & given.keys():  # otherwise keep the schedule (and any snooze) as it is
            updated, step = await recompute(ctx, updated)
            advice = step.advice
    r = card(ctx, updated, f"Updated {updated.ref} {updated.name}", advice)
    r.tone = Tone.SUCCESS
    return r


@commands.command(
    "remove",
    "Delete a contact and its history (asks first)",
    CONTACT,
    Option("confirm", "type yes to delete", OptionType.CHOICE, choices=(Choice("yes", "yes"),)),
    group="contact",
)
async def contact_remove(ctx: Context, contact: str, confirm: str | None) -> Reply:
    c = await resolve_contact(ctx, contact)
    if confirm != "yes":
        r = Reply(title=f"Delete {c.ref} {c.name} and all their history?", tone=Tone.WARNING)
        r.text("This cannot be undone.")
        r.action(f"contact:remove:{c.id}", "Delete", f"/contact remove {c.ref} confirm:yes", ActionStyle.DANGER)
        return r
    async with ctx.store.transaction():
        await ctx.store.retire_nudges(ctx.user_id, "followup", str(c.id))
        await ctx.store.delete_contact(ctx.user_id, c.id)
    return Reply(title=f"Deleted {c.ref} {c.name}", tone=Tone.SUCCESS)


@commands.command(
    "log",
    "Record an interaction; the next follow-up is recomputed from it",
    CONTACT,
    Option("type", "what happened", OptionType.CHOICE, required=True, choices=TYPE_CHOICES),
    Option("date", "when (default today)", OptionType.DATE),
    Option("note", "a short note", max_length=500, multiline=True),
    group="contact",
    help='/contact log "Dr Maya Lee" emailed yesterday "sent poster PDF"',
)
async def contact_log(ctx: Context, contact: str, type: str, date: date | None, note: str | None) -> Reply:
    c = await resolve_contact(ctx, contact)
    return await log_interaction(ctx, c, type, date or ctx.today, note)


async def log_interaction(ctx: Context, c: Contact, kind: str, on: date, note: str | None) -> Reply:
    if on > ctx.today + timedelta(days=1):
        raise UsageError(f"option 'date': {on.isoformat()} is in the future; log things after they happen")
    async with ctx.store.transaction():
        await ctx.store.add_interaction(ctx.user_id, c.id, kind, on, note, ctx.now)
        updated, step = await recompute(ctx, c)
    r = Reply(title=f"Logged {kind} with {updated.ref} {updated.name} on {fmt_date(on)}", tone=Tone.SUCCESS)
    if updated.state == ContactState.MOVED_ON:
        r.text(step.advice or "", heading="Time to move on")
    elif updated.next_followup_on:
        r.text(f"Next follow-up {fmt_date(updated.next_followup_on)} ({situation_words(updated.followup_situation)}).")
        if updated.followup_script:
            r.text(hint(f"script {updated.followup_script} contact:{updated.ref}"), heading="When it's time")
    return r


FOLLOWUP_BUTTONS = 5  # contacts whose buttons /followups shows (a row each on Discord, which allows 5)
# a follow-up button's label, by what it logs
LOGGED_WORDS: dict[str, str] = {
    InteractionType.EMAILED: "Emailed",
    InteractionType.UPDATE_SENT: "Update sent",
    InteractionType.THANKED: "Thanked",
    InteractionType.NO_REPLY: "Still no reply",
}


def log_button(c: Contact) -> tuple[str, str]:
    """The button that logs ``c``'s due follow-up as done, as (label, command line):
    ("Emailed", "contact log #1 emailed"); /followups and the Slack Home tab both show it."""
    kind = done_log(c)
    return LOGGED_WORDS.get(kind, kind), f"contact log {c.ref} {kind}"


@commands.command(
    "followups",
    "Follow-ups that are due or overdue, soonest first, with the script to use",
    Option("days", "also include the next N days", OptionType.INTEGER, min_value=0, max_value=60, default=0),
)
async def followups(ctx: Context, days: int) -> Reply:
    horizon = ctx.today + timedelta(days=days)
    contacts, total = await ctx.store.list_contacts(ctx.user_id, due_by=horizon, limit=25)
    r = Reply(title=f"Follow-ups due: {total}")
    if not total:
        r.text(f"Nothing due. Add people as you meet them with {hint('contact add')}, and log what you send.")
        return r
    lines = []
    today = ctx.today
    for c in contacts:
        script = " → " + hint(f"script {c.followup_script} contact:{c.ref}") if c.followup_script else ""
        why = situation_words(c.followup_situation) if c.followup_situation else None
        lines.append(line(c, today, why) + script)
    r.bullets(lines)
    for c in contacts[:FOLLOWUP_BUTTONS]:  # one row each: log what was sent, get the script
        label, logs = log_button(c)
        r.action(f"followup:log:{c.id}", f"{label} · {c.ref}", f"/{logs}")
        if c.followup_script:
            r.action(f"followup:script:{c.id}", f"Script · {c.ref}", f"/script {c.followup_script} contact:{c.ref}")
    if total > len(contacts):
        r.footer = f"Showing the first {len(contacts)}; see {hint('contact list due')}"
    return r


@commands.command("export", "Download your contacts as a CSV spreadsheet", group="contact")
async def contact_export(ctx: Context) -> Reply:
    from bot.core import csvio  # CSV only for export and import

    contacts = await ctx.store.all_contacts(ctx.user_id)
    data = csvio.export_csv(contacts)
    r = Reply(title=f"{len(contacts)} contacts exported")
    r.attach(f"imgbot-contacts-{ctx.today.isoformat()}.csv", data, "text/csv")
    return r


@commands.command(
    "import",
    "Import contacts from a CSV file (same columns as /contact export)",
    Option("file", "the CSV file", OptionType.FILE, required=True),
    group="contact",
)
async def contact_import(ctx: Context, file: Attachment) -> Reply:
    from bot.core import csvio

    parsed = csvio.parse_csv(file.content, ctx.today)
    existing = {csvio.dedupe_key(c.name, c.institution, c.email) for c in await ctx.store.all_contacts(ctx.user_id)}
    cap = ctx.app.limits.max_contacts
    room = cap - await ctx.store.count_contacts(ctx.user_id)
    added = skipped = 0
    rejected = list(parsed.rejected)
    async with ctx.store.transaction():
        for row_no, row in parsed.rows:
            key = csvio.dedupe_key(row.name, row.institution, row.email)
            if key in existing:
                skipped += 1
                continue
            if room <= 0:
                rejected.append((row_no, f"contact limit of {cap} reached"))
                continue
            contact = replace(row, user_id=ctx.user_id, specialty=specialty_id(ctx, row.specialty))
            stored = await ctx.store.add_contact(contact, ctx.now)
            await ctx.store.mark_contact_imported(ctx.user_id, stored.id)
            if stored.last_contact_on:
                await ctx.store.add_interaction(
                    ctx.user_id,
                    stored.id,
                    csvio.import_kind(stored),
                    stored.last_contact_on,
                    "imported",
                    ctx.now,
                    imported=True,
                )
            await recompute(ctx, stored, keep_overdue=True)
            existing.add(key)
            room -= 1
            added += 1
    r = Reply(title=f"Imported {added} contact(s)", tone=Tone.SUCCESS if not rejected else Tone.WARNING)
    if skipped:
        r.text(f"{skipped} row(s) were already in your tracker and were skipped.")
    r.bullets(
        [f"row {n}: {why}" for n, why in sorted(rejected)[:50]],
        heading=f"Rejected {len(rejected)} row(s)" if rejected else None,
    )
    return r


async def followup_action(ctx: Context, contact_id: int, action: str, days: int = 0) -> Reply:
    """What the done / snooze / stop buttons on a follow-up nudge do."""
    c = await ctx.store.get_contact(ctx.user_id, contact_id)
    if c is None:
        raise UsageError("that contact no longer exists")
    if action == "done":
        return await log_interaction(ctx, c, done_log(c), ctx.today, "from a nudge")
    if action == "snooze":
        until = ctx.today + timedelta(days=days)
        updated = replace(c, next_followup_on=until)
        async with ctx.store.transaction():
            await ctx.store.update_contact(updated)
            await planner.plan_followup(ctx.store, ctx.profile, updated, ctx.now)
        return Reply(title=f"Snoozed {c.ref} {c.name} until {fmt_date(until)}", tone=Tone.SUCCESS)
    if action == "stop":
        updated = replace(c, state=ContactState.STOPPED, next_followup_on=None)
        async with ctx.store.transaction():
            await ctx.store.update_contact(updated)
            await planner.plan_followup(ctx.store, ctx.profile, updated, ctx.now)
        return Reply(title=f"No more nudges about {c.ref} {c.name}", tone=Tone.SUCCESS)
    raise UsageError(f"unknown action '{action}'")
