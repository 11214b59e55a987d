"""Peer-mentor assignment: as many mentees as the mentors' free slots allow, best fits first.

``assign_mentors`` solves a min-cost flow (networkx ``max_flow_min_cost``): source -> each mentee
(one unit) -> each mentor it may have -> sink (the mentor's free slots, ``capacity - load``).
The flow is maximal, so nobody is left without a mentor when some assignment would have given
them one; among the maximal assignments it takes the cheapest, where a different specialty costs
more than any difference of track, and a different track more than any time-zone distance. An
unknown (``None``) specialty or track never counts as the same.

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
) -> dict[int, int]:
    """Mentee key -> mentor key, for every mentee who can be given one (see the module docstring).

    ``when`` (timezone-aware) fixes the date on which time zones are compared.
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

    free = [o for o in mentors if o.capacity - o.load > 0]
    graph = nx.DiGraph()
    graph.add_node("source")
    for r in mentees:
        rz = zone(r.timezone, r.key)
        edges = []
        for o in free:
            if o.key == r.key or o.key in r.excluded:
                continue
            cost = _zone_distance(rz, zone(o.timezone, o.key))
            if not _same(r.specialty, o.specialty):
                cost += SPECIALTY_COST
            if not _same(r.track, o.track):
                cost += TRACK_COST
            edges.append((("mentee", r.key), ("mentor", o.key), {"capacity": 1, "weight": cost}))
        if edges:
            graph.add_edge("source", ("mentee", r.key), capacity=1, weight=0)
            graph.add_edges_from(edges)
    for o in free:
        if graph.has_node(("mentor", o.key)):
            graph.add_edge(("mentor", o.key), "sink", capacity=o.capacity - o.load, weight=0)
    if not graph.has_node("sink"):
        return {}
    flow = nx.max_flow_min_cost(graph, "source", "sink")
    out: dict[int, int] = {}
    for r in mentees:
        for (_, mentor), units in sorted(flow.get(("mentee", r.key), {}).items()):
            if units:
                out[r.key] = mentor
    return out
