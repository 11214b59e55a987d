"""A buddy group's intro: one message to the whole group where the platform can hold one.

A pairing round owes each group one ``intro`` row (:data:`PostKind.INTRO`), run by the circle
engine under the same lease and run-once rules as channel posts. Where the program's channel
port is a :class:`~bot.core.ports.GroupPort` (Slack: ``conversations.open`` with all the
group's users; Discord: a private thread in the program's channel), the intro goes out once,
into that one conversation, at the first moment outside every member's quiet hours and pauses.
Where it is not (the console), where no such moment comes within :data:`GROUP_WAIT`, or where
the platform refuses the group for good (members of another workspace, a missing scope or
permission, a member who left), each member is owed their own intro DM instead, which waits
out their own quiet hours like any nudge.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from bot.core import planner
from bot.core.community.models import DAYS, Group, Program
from bot.core.context import App
from bot.core.dates import zone
from bot.core.models import TRACK_NAMES, Profile, UserRef
from bot.core.reply import ActionStyle, Reply, Tone

STARTERS = 3
GROUP_WAIT = timedelta(days=1)  # the longest a group intro waits for a moment good for all


def period(week: str, group_id: int) -> str:
    return f"{week}:{group_id}"


def group_of(period_: str) -> int:
    return int(period_.rsplit(":", 1)[1])


def common_time(profiles: Sequence[Profile], now: datetime) -> datetime | None:
    """The first moment from ``now`` outside every member's quiet hours and nudge pause, or None
    if there is none within :data:`GROUP_WAIT` (quiet hours that never overlap, a long pause)."""
    when = now
    for _ in range(4 * len(profiles) + 4):
        later = max(planner.deliver_time(p, when, when) for p in profiles)
        if later == when:
            return when
        if later - now > GROUP_WAIT:
            return None
        when = later
    return None


def starters(app: App, specialties: list[tuple[str | None, str | None]], seed: int) -> list[str]:
    """Three conversation starters from the members' playbooks (their FAQs and common mistakes),
    worded for the group's size: "either of you" in a pair, "any of you" in a trio."""
    who = "any of you" if len(specialties) > 2 else "either of you"
    pool: list[str] = []
    for specialty, track in specialties:
        if not specialty or specialty not in app.playbooks.ids:
            continue
        view = app.playbooks.get(specialty).view(track or "non-us-img")
        pool += [f"{f.question}" for f in view.faqs]
        pool += [f"Have {who} fallen into this one: {m.mistake.rstrip('.')}?" for m in view.mistakes]
    if not pool:
        view = next(iter(app.playbooks)).view("non-us-img")
        pool = [f.question for f in view.faqs]
    pool = list(dict.fromkeys(pool))
    return [pool[(seed + i * 7) % len(pool)] for i in range(min(STARTERS, len(pool)))]


def meet_buttons(r: Reply, group_id: int) -> None:
    r.action(f"circle:met-yes:{group_id}", "Yes", f"/circle met {group_id} yes", ActionStyle.PRIMARY)
    r.action(f"circle:met-not-yet:{group_id}", "Not yet", f"/circle met {group_id} not-yet")
    r.action(f"circle:met-no:{group_id}", "No", f"/circle met {group_id} no", ActionStyle.DANGER)


def buddy_line(app: App, name: str, p: Profile, now: datetime) -> str:
    """``Ben (Emergency Medicine · non-US-citizen IMG), Asia/Tokyo (now 09:00)``: what a buddy
    shares of their profile, in words (never the ids ``em``, ``non-us-img``)."""
    local = now.astimezone(zone(p.timezone))
    specialty = app.playbooks.label(p.specialty) if p.specialty else None
    track = TRACK_NAMES.get(p.track, p.track) if p.track else None
    what = " · ".join(x for x in (specialty, track) if x)
    return f"{name}" + (f" ({what})" if what else "") + f", {p.timezone} (now {local:%H:%M})"


def meet_by(program: Program, group: Group) -> str:
    ends = group.ends_at.astimezone(zone(program.timezone))
    return f"{DAYS[ends.weekday()].title()} {ends.day} {ends:%b}"


def name_of(ref: UserRef | None) -> str:
    return (ref.display_name or ref.account) if ref else "a former member"


def group_reply(
    app: App,
    program: Program,
    group: Group,
    refs: Mapping[int, UserRef],
    profiles: Mapping[int, Profile],
    now: datetime,
) -> Reply:
    """The one intro a whole group reads together: everyone in it, three starters, and the
    "did you meet?" buttons (each member's press answers for themself)."""
    uids = [u for u in group.user_ids if u in refs]
    kind = "trio" if len(uids) > 2 else "pair"
    r = Reply(title=f"🤝 Your buddy {kind} this round in {program.channel_label}", tone=Tone.INFO)
    r.bullets([buddy_line(app, name_of(refs[u]), profiles[u], now) for u in uids], heading="This round's group")
    specialties = [(profiles[u].specialty, profiles[u].track) for u in uids]
    r.bullets(starters(app, specialties, group.id), heading="Three things to talk about")
    r.text(
        f"Find half an hour before {meet_by(program, group)}. Say hello here: "
        "this conversation was opened for your group."
    )
    r.text("Did you meet? Each of you answers for yourself.")
    meet_buttons(r, group.id)
    return r
