"""Buddy pairing for a circle: one round of pairs by maximum-weight matching (networkx).

``pair_members`` is pure: the same candidates, history, blocks, policy and date give the same
groups, whatever order the candidates come in. How a pair is weighed:

* a pair that met in the last ``recency_rounds`` rounds, or that is blocked, gets no edge at all;
* every other pair starts from ``base``; ``never_met`` more if the two were never grouped;
* ``per_waking_hour`` for each hour their waking hours (08:00-22:00 local by default) overlap on
  the date of ``when``, with each zone's UTC offset at that instant (so daylight saving counts);
* affinity: SAME adds ``specialty`` for the same specialty and ``track`` for the same track;
  COMPLEMENTARY adds ``specialty`` for the same specialty and ``track`` for different tracks.
  An unknown specialty or track (``None``) never counts as a match.

Large circles: networkx's blossom algorithm costs about n x edges, so matching 1,000 members at
once takes about 20 s even with each member's edges pruned to its ``top_k`` best. Members are
therefore ordered by specialty (then track, under SAME), waking window and a per-round shuffle,
and matched in blocks of ``block_size``, each block keeping its members' ``top_k`` best edges (an
edge stays when it is in either end's top k). Whoever the blocks leave over is matched again
among themselves with all their edges. Circles of up to ``block_size`` members are one block.
Equal weights are broken by a small per-pair jitter derived from the keys and the date of
``when``, so ties do not fall to the same people every round, yet a rerun of the same round gives
the same answer.

On an odd count, one member left over joins the pair it fits best as a trio, provided it has an
allowed edge to both of them. Anyone still left is returned in ``unpaired``.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import networkx as nx

_DAY_MIN = 24 * 60
_JITTER = 1000  # weights are scaled by this; the jitter lies in [0, _JITTER)


@dataclass(frozen=True, slots=True)
class Candidate:
    key: int  # circle member id
    specialty: str | None  # "em" | "im" | "psych" | "peds" | None
    track: str | None  # "us-img" | "non-us-img" | None
    timezone: str  # IANA name, e.g. "Asia/Kolkata"


class Affinity(StrEnum):
    SAME = "same"
    COMPLEMENTARY = "complementary"


@dataclass(frozen=True, slots=True)
class PairingPolicy:
    affinity: Affinity = Affinity.SAME
    recency_rounds: int = 3  # a pair that met in the last N rounds is excluded
    top_k: int = 10  # keep only each member's k best edges
    waking_start: time = time(8, 0)
    waking_end: time = time(22, 0)
    base: int = 1
    never_met: int = 40
    per_waking_hour: int = 3
    specialty: int = 20
    track: int = 10
    block_size: int = 24  # larger circles are matched in blocks of about this many similar members

    def __post_init__(self) -> None:
        if self.recency_rounds < 0:
            raise ValueError("recency_rounds must be 0 or more")
        if self.top_k < 1:
            raise ValueError("top_k must be at least 1")
        if self.block_size < 2:
            raise ValueError("block_size must be at least 2")
        if self.waking_start == self.waking_end:
            raise ValueError("waking hours must not start and end at the same time")
        if min(self.base, self.never_met, self.per_waking_hour, self.specialty, self.track) < 0:
            raise ValueError("pairing weights must not be negative")


@dataclass(frozen=True, slots=True)
class PairingResult:
    groups: tuple[tuple[int, ...], ...]  # pairs, plus at most one trio on an odd count
    unpaired: tuple[int, ...]  # members nobody could be matched with


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


def _waking_starts_utc(candidates: Sequence[Candidate], when: datetime, policy: PairingPolicy) -> list[int]:
    """Each candidate's waking window start, in minutes after 00:00 UTC (mod one day)."""
    start = _minutes(policy.waking_start)
    zones: dict[str, int] = {}
    out: list[int] = []
    for c in candidates:
        if c.timezone not in zones:
            try:
                zone = ZoneInfo(c.timezone)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"member {c.key} has an unknown time zone: {c.timezone!r}") from None
            offset = when.astimezone(zone).utcoffset()
            assert offset is not None  # a ZoneInfo always has one
            zones[c.timezone] = (start - int(offset.total_seconds() // 60)) % _DAY_MIN
        out.append(zones[c.timezone])
    return out


def overlap_minutes(a_start: int, b_start: int, length: int) -> int:
    """Overlap of two daily windows of ``length`` minutes starting at ``a_start`` and ``b_start`` (UTC)."""
    d = (b_start - a_start) % _DAY_MIN
    # window B relative to A starts at d; it may also wrap round to overlap A's start
    return max(0, length - d) + max(0, min(length, d + length - _DAY_MIN))


def _pairs_of(group: Iterable[int]) -> Iterable[tuple[int, int]]:
    members = sorted(group)
    for i, a in enumerate(members):
        for b in members[i + 1 :]:
            yield a, b


def _jitter(a: int, b: int, seed: int) -> int:
    """A stable pseudo-random value in [0, _JITTER) for the pair, differing from round to round."""
    x = (a * 0x9E3779B1 + b * 0x85EBCA77 + seed * 0xC2B2AE3D) & 0xFFFFFFFF
    x ^= x >> 15
    x = (x * 0x2C1B3C6D) & 0xFFFFFFFF
    x ^= x >> 12
    return x % _JITTER


class _Weights:
    """Weights of allowed pairs over candidates sorted by key (indexes into that order)."""

    def __init__(
        self,
        cands: Sequence[Candidate],
        *,
        history: Sequence[Sequence[frozenset[int]]],
        blocked: Collection[frozenset[int]],
        policy: PairingPolicy,
        when: datetime,
    ) -> None:
        self.policy = policy
        self.keys = [c.key for c in cands]
        self.seed = when.date().toordinal()
        excluded: set[tuple[int, int]] = set()
        met: set[tuple[int, int]] = set()
        for i, rnd in enumerate(history):
            for group in rnd:
                for pair in _pairs_of(group):
                    met.add(pair)
                    if i < policy.recency_rounds:
                        excluded.add(pair)
        for b in blocked:
            if len(b) == 2:
                lo, hi = sorted(b)
                excluded.add((lo, hi))
        self.excluded = excluded
        self.met = met
        self.length = (_minutes(policy.waking_end) - _minutes(policy.waking_start)) % _DAY_MIN
        self.starts = _waking_starts_utc(cands, when, policy)
        # The weight before history depends only on (specialty, track, window start): computed once
        # per pair of such profiles.
        profile_of: dict[tuple[str | None, str | None, int], int] = {}
        self.profile: list[int] = []
        self.profiles: list[tuple[str | None, str | None, int]] = []
        for c, start in zip(cands, self.starts, strict=True):
            p = (c.specialty, c.track, start)
            if p not in profile_of:
                profile_of[p] = len(self.profiles)
                self.profiles.append(p)
            self.profile.append(profile_of[p])
        self._same = policy.affinity is Affinity.SAME
        self._cache: dict[tuple[int, int], int] = {}

    def _profile_weight(self, pi: int, pj: int) -> int:
        w = self._cache.get((pi, pj))
        if w is None:
            policy = self.policy
            sa, ta, wa = self.profiles[pi]
            sb, tb, wb = self.profiles[pj]
            w = policy.base + policy.per_waking_hour * overlap_minutes(wa, wb, self.length) // 60
            if sa is not None and sa == sb:
                w += policy.specialty
            if ta is not None and tb is not None and (ta == tb) == self._same:
                w += policy.track
            self._cache[(pi, pj)] = self._cache[(pj, pi)] = w
        return w

    def weight(self, i: int, j: int) -> int | None:
        """The scaled weight of the pair (i, j), or None when they may not be grouped."""
        a, b = self.keys[i], self.keys[j]
        pair = (a, b) if a < b else (b, a)
        if pair in self.excluded:
            return None
        w = self._profile_weight(self.profile[i], self.profile[j])
        if pair not in self.met:
            w += self.policy.never_met
        return w * _JITTER + _jitter(pair[0], pair[1], self.seed)


def _match(weights: _Weights, members: Sequence[int], top_k: int | None) -> list[tuple[int, int]]:
    """Maximum-weight matching (of maximum cardinality) among ``members``, each keeping its top k edges."""
    edges: dict[int, list[tuple[int, int]]] = {i: [] for i in members}
    for x, i in enumerate(members):
        row = edges[i]
        for j in members[x + 1 :]:
            w = weights.weight(i, j)
            if w is not None:
                row.append((w, j))
                edges[j].append((w, i))
    kept: dict[tuple[int, int], int] = {}
    for i in members:
        best = edges[i] if top_k is None else heapq.nlargest(top_k, edges[i], key=lambda e: (e[0], -e[1]))
        for w, j in best:
            kept[(i, j) if i < j else (j, i)] = w
    graph = nx.Graph()
    graph.add_nodes_from(members)
    graph.add_weighted_edges_from((i, j, w) for (i, j), w in sorted(kept.items()))
    matching = nx.max_weight_matching(graph, maxcardinality=True)
    return sorted((min(e), max(e)) for e in matching)


def _blocks(weights: _Weights, cands: Sequence[Candidate], size: int) -> list[list[int]]:
    """Candidates split into blocks of about ``size`` whose members are likely to weigh well together."""
    n = len(cands)
    if n <= size:
        return [list(range(n))]

    def order(i: int) -> tuple[str, str, int, int]:
        c = cands[i]
        track = (c.track or "") if weights._same else ""
        return (c.specialty or "", track, weights.starts[i], _jitter(c.key, 0, weights.seed))

    ranked = sorted(range(n), key=order)
    blocks = [ranked[x : x + size] for x in range(0, n, size)]
    if len(blocks) > 1 and len(blocks[-1]) < size // 2:
        blocks[-2].extend(blocks.pop())
    return [sorted(b) for b in blocks]


def pair_members(
    candidates: Sequence[Candidate],
    *,
    history: Sequence[Sequence[frozenset[int]]],
    blocked: Collection[frozenset[int]],
    policy: PairingPolicy,
    when: datetime,
) -> PairingResult:
    """One pairing round. ``history`` is past rounds, most recent first; each a list of groups."""
    if when.tzinfo is None:
        raise ValueError("pair_members needs a timezone-aware datetime")
    cands = sorted(candidates, key=lambda c: c.key)
    for x, y in itertools.pairwise(cands):
        if x.key == y.key:
            raise ValueError(f"member {x.key} is listed twice")
    n = len(cands)
    if n < 2:
        return PairingResult(groups=(), unpaired=tuple(c.key for c in cands))
    weights = _Weights(cands, history=history, blocked=blocked, policy=policy, when=when)

    pairs: list[tuple[int, int]] = []
    for block in _blocks(weights, cands, policy.block_size):
        pairs += _match(weights, block, policy.top_k)
    # members the blocks (or the pruning) left out: matched again among themselves, with all their
    # edges unless so many are left (blocks full of blocked or recent pairs) that it would be slow
    matched = {v for e in pairs for v in e}
    left = [i for i in range(n) if i not in matched]
    for top_k in (policy.top_k, None):
        if len(left) < 2 or (top_k is not None and len(left) <= 2 * policy.block_size):
            continue
        pairs += _match(weights, left, top_k)
        matched = {v for e in pairs for v in e}
        left = [i for i in left if i not in matched]
    pairs.sort()

    groups: list[tuple[int, ...]] = list(pairs)
    if n % 2 == 1 and left:
        best: tuple[int, int, int] | None = None  # (weight, leftover, group index)
        for extra in left:
            for g, (i, j) in enumerate(pairs):
                wi, wj = weights.weight(extra, i), weights.weight(extra, j)
                if wi is None or wj is None:
                    continue
                if best is None or wi + wj > best[0]:
                    best = (wi + wj, extra, g)
        if best is not None:
            _, extra, g = best
            groups[g] = tuple(sorted((*pairs[g], extra)))
            left.remove(extra)

    keys = weights.keys
    out = sorted(tuple(keys[i] for i in grp) for grp in groups)
    return PairingResult(groups=tuple(out), unpaired=tuple(keys[i] for i in left))


def round_weight(
    result: PairingResult,
    candidates: Sequence[Candidate],
    *,
    history: Sequence[Sequence[frozenset[int]]],
    blocked: Collection[frozenset[int]],
    policy: PairingPolicy,
    when: datetime,
) -> int:
    """Sum of the weights (without the tie-breaking jitter) of every pair grouped in ``result``.

    A trio counts as its three pairs. Lets a benchmark compare one pairing with another.
    """
    cands = sorted(candidates, key=lambda c: c.key)
    weights = _Weights(cands, history=history, blocked=blocked, policy=policy, when=when)
    index = {k: i for i, k in enumerate(weights.keys)}
    total = 0
    for group in result.groups:
        for a, b in _pairs_of(group):
            w = weights.weight(index[a], index[b])
            if w is None:
                raise ValueError(f"members {a} and {b} may not be grouped")
            total += w // _JITTER
    return total
