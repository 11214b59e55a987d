"""Buddy pairing: recency, blocks, trios, time zones, affinity, determinism, and invariants."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.community.pairing import (
    Affinity,
    Candidate,
    PairingPolicy,
    PairingResult,
    overlap_minutes,
    pair_members,
    round_weight,
)

WHEN = datetime(2027, 1, 11, 12, 0, tzinfo=UTC)
ZONES = ["America/New_York", "Europe/London", "Africa/Cairo", "Asia/Kolkata", "Asia/Manila", "America/Los_Angeles"]


def members(n: int, tz: str = "America/New_York") -> list[Candidate]:
    return [Candidate(key=i, specialty="em", track="us-img", timezone=tz) for i in range(1, n + 1)]


def pairs_in(result: PairingResult) -> set[frozenset[int]]:
    out: set[frozenset[int]] = set()
    for g in result.groups:
        out.update(frozenset((a, b)) for i, a in enumerate(g) for b in g[i + 1 :])
    return out


def keys_in(result: PairingResult) -> list[int]:
    return [k for g in result.groups for k in g] + list(result.unpaired)


def run_rounds(cands: list[Candidate], rounds: int, policy: PairingPolicy) -> list[PairingResult]:
    history: list[list[frozenset[int]]] = []
    results = []
    for r in range(rounds):
        res = pair_members(cands, history=history, blocked=(), policy=policy, when=WHEN + timedelta(weeks=2 * r))
        results.append(res)
        history.insert(0, [frozenset(g) for g in res.groups])
    return results


@pytest.mark.parametrize("never_met", [40, 0], ids=["default", "no-never-met-bonus"])
def test_six_rounds_of_ten_never_repeat_inside_the_recency_window(never_met: int) -> None:
    # without the never-met bonus and with one date for every round, the tie-breaks are the same in
    # each round, so only the recency exclusion keeps a pair from meeting again
    policy = PairingPolicy(recency_rounds=3, never_met=never_met)
    history: list[list[frozenset[int]]] = []
    results: list[PairingResult] = []
    for r in range(6):
        when = WHEN if never_met == 0 else WHEN + timedelta(weeks=2 * r)
        res = pair_members(members(10), history=history, blocked=(), policy=policy, when=when)
        results.append(res)
        history.insert(0, [frozenset(g) for g in res.groups])
    for r, res in enumerate(results):
        assert len(res.groups) == 5 and all(len(g) == 2 for g in res.groups)
        assert res.unpaired == ()
        for earlier in results[max(0, r - 3) : r]:
            assert not pairs_in(res) & pairs_in(earlier), f"round {r} repeats a pair from the last 3 rounds"


def test_never_met_pairs_are_preferred_over_met_ones_outside_the_window() -> None:
    # with recency 1, the last round is excluded, and older pairs lose to people never met
    results = run_rounds(members(6), 4, PairingPolicy(recency_rounds=1))
    seen: set[frozenset[int]] = set()
    for res in results[:3]:
        # 6 people have 15 possible pairs: three rounds of three can all be new
        assert not pairs_in(res) & seen
        seen |= pairs_in(res)


def test_blocked_pairs_are_never_matched_even_when_they_are_the_only_option() -> None:
    cands = members(4)
    blocked = [frozenset((1, 2)), frozenset((3, 4)), frozenset((1, 3))]
    res = pair_members(cands, history=[], blocked=blocked, policy=PairingPolicy(), when=WHEN)
    assert res.groups == ((1, 4), (2, 3))
    # two people who block each other are both left unpaired
    res = pair_members(members(2), history=[], blocked=[frozenset((1, 2))], policy=PairingPolicy(), when=WHEN)
    assert res.groups == () and res.unpaired == (1, 2)


def test_an_odd_count_makes_one_trio() -> None:
    res = pair_members(members(7), history=[], blocked=(), policy=PairingPolicy(), when=WHEN)
    sizes = sorted(len(g) for g in res.groups)
    assert sizes == [2, 2, 3]
    assert sorted(keys_in(res)) == list(range(1, 8)) and res.unpaired == ()


def test_the_trio_needs_allowed_edges_to_both_partners() -> None:
    # member 3 is blocked with both 1 and 2: no trio is possible, so 3 stays unpaired
    res = pair_members(
        members(3), history=[], blocked=[frozenset((1, 3)), frozenset((2, 3))], policy=PairingPolicy(), when=WHEN
    )
    assert res.groups == ((1, 2),) and res.unpaired == (3,)
    # blocked with only one of them: still no trio
    res = pair_members(members(3), history=[], blocked=[frozenset((1, 3))], policy=PairingPolicy(), when=WHEN)
    assert len(res.groups) == 1 and len(res.groups[0]) == 2 and len(res.unpaired) == 1


def test_the_leftover_joins_the_pair_it_fits_best() -> None:
    cands = [
        Candidate(1, "em", "us-img", "America/New_York"),
        Candidate(2, "em", "us-img", "America/New_York"),
        Candidate(3, "psych", "non-us-img", "Asia/Manila"),
        Candidate(4, "psych", "non-us-img", "Asia/Manila"),
        Candidate(5, "psych", "non-us-img", "Asia/Manila"),
    ]
    res = pair_members(cands, history=[], blocked=(), policy=PairingPolicy(), when=WHEN)
    assert res.groups == ((1, 2), (3, 4, 5))


def test_time_zones_are_weighed_twelve_hours_apart_loses_to_an_overlap() -> None:
    # New York and Manila are 13 h apart in January (1 h of shared waking time). Pairing across the
    # zones would match specialties; the overlap of waking hours outweighs that.
    cands = [
        Candidate(1, "em", "us-img", "America/New_York"),
        Candidate(2, "em", "us-img", "Asia/Manila"),
        Candidate(3, "im", "us-img", "America/New_York"),
        Candidate(4, "im", "us-img", "Asia/Manila"),
    ]
    res = pair_members(cands, history=[], blocked=(), policy=PairingPolicy(), when=WHEN)
    assert res.groups == ((1, 3), (2, 4))
    # with the time zones equal, the same specialties pair up instead
    same_zone = [Candidate(c.key, c.specialty, c.track, "UTC") for c in cands]
    res = pair_members(same_zone, history=[], blocked=(), policy=PairingPolicy(), when=WHEN)
    assert res.groups == ((1, 2), (3, 4))


def test_waking_overlap_follows_daylight_saving_on_the_date() -> None:
    # New York vs London: 5 h apart in January, 4 h in late March (the US has moved, the UK not yet)
    policy = PairingPolicy(per_waking_hour=1, never_met=0, specialty=0, track=0, base=0)
    pair = [Candidate(1, None, None, "America/New_York"), Candidate(2, None, None, "Europe/London")]
    winter = pair_members(pair, history=[], blocked=(), policy=policy, when=WHEN)
    march = datetime(2027, 3, 20, 12, tzinfo=UTC)
    spring = pair_members(pair, history=[], blocked=(), policy=policy, when=march)
    assert round_weight(winter, pair, history=[], blocked=(), policy=policy, when=WHEN) == 9  # 14 h - 5 h
    assert round_weight(spring, pair, history=[], blocked=(), policy=policy, when=march) == 10  # 14 h - 4 h


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [(0, 0, 840), (0, 60, 780), (0, 720, 240), (0, 840, 240), (1380, 60, 720), (0, 1200, 600)],
)
def test_overlap_of_daily_windows_wraps_round_midnight(a: int, b: int, expected: int) -> None:
    assert overlap_minutes(a, b, 840) == expected
    assert overlap_minutes(b, a, 840) == expected


def test_short_windows_far_apart_do_not_overlap() -> None:
    assert overlap_minutes(0, 700, 600) == 0
    assert overlap_minutes(700, 0, 600) == 0


def affinity_four() -> list[Candidate]:
    return [
        Candidate(1, "im", "us-img", "Africa/Cairo"),
        Candidate(2, "im", "non-us-img", "Africa/Cairo"),
        Candidate(3, "im", "us-img", "Africa/Cairo"),
        Candidate(4, "im", "non-us-img", "Africa/Cairo"),
    ]


def test_affinity_same_pairs_same_specialty_and_track() -> None:
    res = pair_members(affinity_four(), history=[], blocked=(), policy=PairingPolicy(), when=WHEN)
    assert res.groups == ((1, 3), (2, 4))


def test_affinity_complementary_pairs_same_specialty_across_tracks() -> None:
    policy = PairingPolicy(affinity=Affinity.COMPLEMENTARY)
    res = pair_members(affinity_four(), history=[], blocked=(), policy=policy, when=WHEN)
    assert all({k % 2 for k in g} == {0, 1} for g in res.groups), res.groups


def test_specialty_counts_in_both_modes_and_unknown_never_matches() -> None:
    cands = [
        Candidate(1, "peds", None, "UTC"),
        Candidate(2, None, None, "UTC"),
        Candidate(3, "peds", None, "UTC"),
        Candidate(4, None, None, "UTC"),
    ]
    for affinity in Affinity:
        res = pair_members(cands, history=[], blocked=(), policy=PairingPolicy(affinity=affinity), when=WHEN)
        assert (1, 3) in res.groups


def test_same_input_in_any_order_gives_the_same_result() -> None:
    rng = random.Random(7)
    cands = [
        Candidate(i, rng.choice(["em", "im", None]), rng.choice(["us-img", "non-us-img"]), rng.choice(ZONES))
        for i in range(1, 42)
    ]
    history = [[frozenset((1, 2)), frozenset((3, 4, 5))]]
    first = pair_members(cands, history=history, blocked=(), policy=PairingPolicy(), when=WHEN)
    for _ in range(3):
        shuffled = cands[:]
        rng.shuffle(shuffled)
        again = pair_members(shuffled, history=history, blocked=(), policy=PairingPolicy(), when=WHEN)
        assert again == first


def test_bad_input_is_refused_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        pair_members(members(2), history=[], blocked=(), policy=PairingPolicy(), when=datetime(2027, 1, 1))
    with pytest.raises(ValueError, match="listed twice"):
        pair_members(members(2) + members(1), history=[], blocked=(), policy=PairingPolicy(), when=WHEN)
    with pytest.raises(ValueError, match="unknown time zone: 'Mars/Olympus'"):
        mars = [*members(1), Candidate(9, None, None, "Mars/Olympus")]
        pair_members(mars, history=[], blocked=(), policy=PairingPolicy(), when=WHEN)
    with pytest.raises(ValueError, match="top_k"):
        PairingPolicy(top_k=0)


def test_large_circles_are_split_into_blocks_and_still_pair_everyone() -> None:
    rng = random.Random(3)
    cands = [
        Candidate(i, rng.choice(["em", "im", "psych", "peds"]), rng.choice(["us-img", "non-us-img"]), rng.choice(ZONES))
        for i in range(1, 202)
    ]
    results = run_rounds(cands, 4, PairingPolicy(block_size=16, top_k=5))
    for r, res in enumerate(results):
        assert sorted(keys_in(res)) == [c.key for c in cands]
        assert res.unpaired == () and sorted(len(g) for g in res.groups)[-1] == 3
        for earlier in results[max(0, r - 3) : r]:
            assert not pairs_in(res) & pairs_in(earlier)


def test_members_the_blocks_cannot_pair_are_matched_across_blocks() -> None:
    # everyone may meet only one person, who is almost never in their own block of 2
    cands = members(40)
    allowed = {frozenset((i, i + 20)) for i in range(1, 21)}
    blocked = [frozenset((a, b)) for a in range(1, 41) for b in range(a + 1, 41) if frozenset((a, b)) not in allowed]
    res = pair_members(cands, history=[], blocked=blocked, policy=PairingPolicy(block_size=2), when=WHEN)
    assert set(map(frozenset, res.groups)) == allowed and res.unpaired == ()


candidate_lists = st.lists(
    st.builds(
        Candidate,
        key=st.integers(1, 60),
        specialty=st.sampled_from(["em", "im", "psych", "peds", None]),
        track=st.sampled_from(["us-img", "non-us-img", None]),
        timezone=st.sampled_from(ZONES),
    ),
    max_size=30,
    unique_by=lambda c: c.key,
)


@settings(max_examples=60, deadline=None)
@given(
    cands=candidate_lists,
    history=st.lists(st.lists(st.frozensets(st.integers(1, 60), min_size=2, max_size=3), max_size=12), max_size=5),
    blocked=st.lists(st.frozensets(st.integers(1, 60), min_size=2, max_size=2), max_size=40),
    recency=st.integers(0, 4),
    block_size=st.sampled_from([4, 8, 32]),
    affinity=st.sampled_from(list(Affinity)),
)
def test_pairing_invariants(
    cands: list[Candidate],
    history: list[list[frozenset[int]]],
    blocked: list[frozenset[int]],
    recency: int,
    block_size: int,
    affinity: Affinity,
) -> None:
    policy = PairingPolicy(recency_rounds=recency, block_size=block_size, affinity=affinity, top_k=3)
    res = pair_members(cands, history=history, blocked=blocked, policy=policy, when=WHEN)
    placed = keys_in(res)
    assert sorted(placed) == sorted(c.key for c in cands)  # every key exactly once
    assert all(len(g) == 2 for g in res.groups) or (
        len(cands) % 2 == 1 and sorted(len(g) for g in res.groups)[-2:] in ([2, 3], [3])
    )
    assert sum(len(g) == 3 for g in res.groups) <= 1
    forbidden = set(blocked)
    for rnd in history[:recency]:
        for g in rnd:
            forbidden.update(frozenset((a, b)) for a in g for b in g if a != b)
    assert not pairs_in(res) & forbidden
    # nobody left unpaired could have been paired with another unpaired member
    for i, a in enumerate(res.unpaired):
        for b in res.unpaired[i + 1 :]:
            assert frozenset((a, b)) in forbidden
