"""/privacy: what the bot keeps about you, a copy of all of it, and deleting all of it."""

from __future__ import annotations

from bot.core.context import Context
from bot.core.hints import hint

# bot.core.privacy (the export and its wording) is imported by the commands that use it: most
# processes never run one, and it is a sixth of what building the registry imports.
from bot.core.registry import Choice, CommandSet, Option, OptionType
from bot.core.reply import ActionStyle, Reply, Tone

commands = CommandSet()
commands.group("privacy", "What the bot keeps about you; download it or delete it", default="about")

STORED = (
    "Your profile: name, country, medical school, specialty, track, visa status, ERAS month, time zone, "
    "interests, current role, quiet hours and any pause.",
    "Your contacts and what you logged with them: names, roles, institutions, emails, notes, tags, "
    "dates and follow-up plans.",
    "Your goals, your conference plans (meeting name, dates, specialty), and the nudges the bot owes you "
    "or has sent (what about, when, whether delivered).",
    "Your chat account id and display name, and on Discord the id of your DM channel with the bot, "
    "so nudges can reach you.",
)


@commands.command("about", "What the bot stores about you, where, and who can see it", group="privacy")
async def privacy_about(ctx: Context) -> Reply:
    r = Reply(title="Your data and this bot")
    r.bullets(list(STORED), heading="What is stored")
    r.text(
        "In one database: the one the person running this bot set up (a SQLite file on their computer, "
        "or their PostgreSQL server). It is not sent anywhere else; nudges reach you as private messages "
        "on the chat platform you use. Usage metrics count commands and deliveries, never who or what.",
        heading="Where",
    )
    r.text(
        "Only you. Replies about your data are private to you, and nobody else can look up your profile, "
        "contacts or nudges through the bot. Server and workspace admins see nothing personal: the bot has "
        "no admin view of members' data. Whoever runs the bot holds the database itself.",
        heading="Who can see it",
    )
    r.text(
        "Scripts are written fresh from your profile each time and not kept. Drafts you give "
        f"{hint('review')} to check are read, answered and never stored.",
        heading="Never stored",
    )
    r.text(
        "Leaving a server or uninstalling the bot from a workspace does not delete your data. "
        f"{hint('privacy export')} downloads all of it as one JSON file; {hint('privacy delete')} removes all of it.",
        heading="Taking it out, or deleting it",
    )
    return r


@commands.command("export", "Download everything the bot holds about you, as one JSON file", group="privacy")
async def privacy_export(ctx: Context) -> Reply:
    from bot.core.privacy import export_user

    export = await export_user(ctx.store, ctx.user_id, ctx.now)
    history = sum(len(c.history) for c in export.contacts)
    r = Reply(title="Everything the bot holds about you", tone=Tone.SUCCESS)
    r.text(
        f"Your profile, {len(export.contacts)} contact(s) with {history} logged interaction(s), "
        f"{len(export.goals)} goal(s), {len(export.conference_plans)} conference plan(s), "
        f"{len(export.nudges)} nudge(s) and {len(export.notices)} pending notice(s)."
    )
    r.attach(f"imgbot-my-data-{ctx.today.isoformat()}.json", export.to_json(), "application/json")
    r.footer = "Keep it somewhere safe: it holds your contacts' names and emails."
    return r


@commands.command(
    "delete",
    "Delete everything the bot holds about you (asks first)",
    Option("confirm", "type yes to delete it all", OptionType.CHOICE, choices=(Choice("yes", "yes"),)),
    group="privacy",
)
async def privacy_delete(ctx: Context, confirm: str | None) -> Reply:
    from bot.core.privacy import count_words

    if confirm != "yes":
        counts = await ctx.store.user_data_counts(ctx.user_id)
        r = Reply(title="Delete everything the bot holds about you?", tone=Tone.WARNING)
        what = ", ".join([*count_words(counts), "your account record"])
        r.text(f"This removes {what}. It cannot be undone.")
        r.text(f"Want a copy first? Run {hint('privacy export')}.")
        r.action("privacy:delete", "Delete everything", "/privacy delete confirm:yes", ActionStyle.DANGER)
        return r
    removed = await ctx.store.delete_user_data(ctx.user_id)
    r = Reply(title="Deleted everything the bot held about you", tone=Tone.SUCCESS)
    r.bullets(count_words(removed), heading="Removed")
    r.text("Nothing of yours is left in the bot's database. Using the bot again starts afresh.")
    return r
