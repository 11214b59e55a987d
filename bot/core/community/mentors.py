"""Peer-mentor assignment: as many mentees as the mentors' free slots allow, best fits first.

``assign_mentors`` solves a min-cost flow (networkx ``max_flow_min_cost``): source -> mentees ->
each mentor they may have -> sink (the mentor's free slots, ``capacity - load``). Mentees with the
same specialty, track, UTC offset and barred mentors are interchangeable, so they share one node
carrying one unit per member; when a class gets fewer mentors than it has members, the lowest
keys (the oldest requests) are served first.

Solved whole, the flow is maximum: nobody is left without a mentor when some assignment would
have given them one. Among those assignments it takes the cheapest, where a different specialty
costs more than any difference of track, and a different track more than any time-zone distance.
An unknown (``None``) specialty or track never counts as the same.

Large requests (more than ``exact_edges`` class-mentor pairs) are solved in two passes, because
the network simplex is pure Python (about 9 s for 500 mentees with distinct past mentors and 100
mentors, solved whole): first each class with only its cheapest mentors, then whoever that left
unassigned against every mentor with a slot still free. That no longer guarantees the most
mentees possible, but it stays maximal: nobody is left out while an allowed mentor has a free slot.

Never assigned: a mentor with no free slot, a mentor in the mentee's ``excluded`` set (their past
mentors), or the mentee themself. Pure and deterministic: the answer does not depend on the
order of the inputs.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import networkx as nx

SPECIALTY_COST = 10_000
TRACK_COST = 100
# time zones: one unit per half hour of distance, at most 24 (twelve hours) < TRACK_COST
_HALF_HOUR = 30 * 60


@dataclass(frozen=True, slots=True)
class MentorOffer:
    key: int
    capacity: int
    load: int
    specialty: str | None
    track: str | None
    timezone: str


@dataclass(frozen=True, slots=True)
class MentorRequest:
    key: int
    specialty: str | None
    track: str | None
    timezone: str
    excluded: frozenset[int] = field(default_factory=frozenset)


def _offset_half_hours(timezone: str, key: int, when: datetime | None) -> int:
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"member {key} has an unknown time zone: {timezone!r}") from None
    # without a date, the mean of a January and a July offset (a daylight-saving hour matters little)
    instants = (
        [when] if when is not None else [datetime(2026, 1, 15, 12, tzinfo=UTC), datetime(2026, 7, 15, 12, tzinfo=UTC)]
    )
    total = 0
    for instant in instants:
        offset = instant.astimezone(zone).utcoffset()
        assert offset is not None  # a ZoneInfo always has one
        total += int(offset.total_seconds())
    return round(total / len(instants) / _HALF_HOUR)


def _zone_distance(a: int, b: int) -> int:
    """Distance between two UTC offsets in half hours, round the clock (0-24)."""
    d = abs(a - b) % 48
    return min(d, 48 - d)


def _same(a: str | None, b: str | None) -> bool:
    return a is not None and a == b


def assign_mentors(
    offers: Sequence[MentorOffer],
    requests: Sequence[MentorRequest],
    *,
    when: datetime | None = None,
    top_k: int = 8,
    exact_edges: int = 5_000,
) -> dict[int, int]:
    """Mentee key -> mentor key, for every mentee who can be given one (see the module docstring).

    ``when`` (timezone-aware) fixes the date on which time zones are compared. Up to
    ``exact_edges`` allowed (mentee, mentor) pairs the flow is solved whole; above that each mentee
    first keeps its ``top_k`` cheapest mentors (see the module docstring).
    """
    if when is not None and when.tzinfo is None:
        raise ValueError("assign_mentors needs a timezone-aware datetime")
    mentors = sorted(offers, key=lambda o: o.key)
    mentees = sorted(requests, key=lambda r: r.key)
    for kind, keys in (("mentor", [o.key for o in mentors]), ("mentee", [r.key for r in mentees])):
        for x, y in itertools.pairwise(keys):
            if x == y:
                raise ValueError(f"{kind} {x} is listed twice")
    for o in mentors:
        if o.capacity < 0 or o.load < 0:
            raise ValueError(f"mentor {o.key} has a negative capacity or load")
    zones: dict[str, int] = {}

    def zone(tz: str, key: int) -> int:
        if tz not in zones:
            zones[tz] = _offset_half_hours(tz, key, when)
        return zones[tz]

    slots = {o.key: o.capacity - o.load for o in mentors if o.capacity - o.load > 0}
    offers_by_key = {o.key: o for o in mentors}
    # Mentees with the same specialty, track, UTC offset and barred mentors are interchangeable:
    # one node per such class, carrying as many units as it has members, gives the same optimum
    # with far fewer edges (new mentees have no past mentors, so most fall into a few classes).
    classes: dict[tuple[str | None, str | None, int, frozenset[int]], list[int]] = {}
    for r in mentees:
        barred = frozenset(k for k in (*r.excluded, r.key) if k in slots)
        classes.setdefault((r.specialty, r.track, zone(r.timezone, r.key), barred), []).append(r.key)
    options: dict[int, list[tuple[int, int]]] = {}  # class -> [(cost, mentor)], cheapest first
    sizes: dict[int, int] = {}
    members: dict[int, list[int]] = {}
    for c, ((specialty, track, rz, barred), keys) in enumerate(sorted(classes.items(), key=lambda kv: kv[1][0])):
        row = []
        for key in slots:
            if key in barred:
                continue
            o = offers_by_key[key]
            cost = _zone_distance(rz, zone(o.timezone, o.key))
            if not _same(specialty, o.specialty):
                cost += SPECIALTY_COST
            if not _same(track, o.track):
                cost += TRACK_COST
            row.append((cost, key))
        if row:
            row.sort()
            options[c], sizes[c], members[c] = row, len(keys), keys
    if sum(len(row) for row in options.values()) <= exact_edges:
        flows = _flow(options, sizes, slots)
    else:
        # Large: each class first with its cheapest mentors (top_k, or enough for twice its members'
        # slots), then what that left unassigned against every mentor with a slot still free.
        pruned = {}
        for c, row in options.items():
            cut, room = 0, 0
            while cut < len(row) and (cut < top_k or room < 2 * sizes[c]):
                room += slots[row[cut][1]]
                cut += 1
            pruned[c] = row[:cut]
        flows = _flow(pruned, sizes, slots)
        left = dict(slots)
        placed = dict.fromkeys(options, 0)
        for (c, mentor), units in flows.items():
            left[mentor] -= units
            placed[c] += units
        rest = {c: [e for e in row if left[e[1]] > 0] for c, row in options.items() if placed[c] < sizes[c]}
        more = _flow(
            {c: row for c, row in rest.items() if row},
            {c: sizes[c] - placed[c] for c in rest},
            {k: n for k, n in left.items() if n > 0},
        )
        for edge, units in more.items():
            flows[edge] = flows.get(edge, 0) + units
    out: dict[int, int] = {}
    for c, keys in members.items():
        waiting = iter(keys)  # a class's members take its mentors in key order
        for _cost, mentor in options[c]:
            for _ in range(flows.get((c, mentor), 0)):
                out[next(waiting)] = mentor
    return dict(sorted(out.items()))


def _flow(
    options: dict[int, list[tuple[int, int]]], sizes: dict[int, int], slots: dict[int, int]
) -> dict[tuple[int, int], int]:
    """Min-cost max flow: source -> class (its size) -> mentor (at its cost) -> sink (free slots).

    Returns the units on each (class, mentor) edge that carries any.
    """
    graph = nx.DiGraph()
    used: set[int] = set()
    for c, row in options.items():
        graph.add_edge("source", ("class", c), capacity=sizes[c], weight=0)
        for cost, mentor in row:
            graph.add_edge(("class", c), ("mentor", mentor), capacity=min(sizes[c], slots[mentor]), weight=cost)
            used.add(mentor)
    if not used:
        return {}
    for mentor in sorted(used):
        graph.add_edge(("mentor", mentor), "sink", capacity=slots[mentor], weight=0)
    flow = nx.max_flow_min_cost(graph, "source", "sink")
    out: dict[tuple[int, int], int] = {}
    for c in options:
        for (_, mentor), units in flow[("class", c)].items():
            if units:
                out[(c, mentor)] = units
    return out
