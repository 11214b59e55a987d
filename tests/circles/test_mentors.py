"""Peer-mentor assignment: capacity, exclusions, self, preferences, determinism."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.community.mentors import MentorOffer, MentorRequest, assign_mentors


def offer(key: int, capacity: int = 1, load: int = 0, specialty: str | None = "em", track: str | None = "us-img",
          tz: str = "America/New_York") -> MentorOffer:  # fmt: skip
    return MentorOffer(key=key, capacity=capacity, load=load, specialty=specialty, track=track, timezone=tz)


def request(key: int, specialty: str | None = "em", track: str | None = "us-img", tz: str = "America/New_York",
            excluded: frozenset[int] = frozenset()) -> MentorRequest:  # fmt: skip
    return MentorRequest(key=key, specialty=specialty, track=track, timezone=tz, excluded=excluded)


def test_capacity_minus_load_is_never_exceeded() -> None:
    offers = [offer(100, capacity=3, load=1), offer(101, capacity=2, load=2), offer(102, capacity=1, load=0)]
    got = assign_mentors(offers, [request(k) for k in range(1, 7)])
    assert len(got) == 3  # 2 + 0 + 1 free slots
    assert Counter(got.values()) == {100: 2, 102: 1}


def test_everyone_gets_a_mentor_when_the_slots_allow() -> None:
    # a greedy choice (both em mentees to the em mentor) would leave the psych mentee's only option
    # taken; the flow assigns all three
    offers = [offer(100, capacity=1, specialty="em"), offer(101, capacity=2, specialty="psych")]
    requests = [request(1, specialty="em"), request(2, specialty="em"), request(3, specialty="psych")]
    got = assign_mentors(offers, requests)
    assert set(got) == {1, 2, 3}
    assert Counter(got.values()) == {100: 1, 101: 2}


def test_past_mentors_and_self_are_never_assigned() -> None:
    offers = [offer(1, capacity=5), offer(2, capacity=5)]
    requests = [request(1), request(3, excluded=frozenset({1})), request(4, excluded=frozenset({1, 2}))]
    got = assign_mentors(offers, requests)
    assert got == {1: 2, 3: 2}  # 1 may not mentor themself; 4 has had both mentors already


def test_prefers_specialty_then_track_then_time_zone() -> None:
    offers = [
        offer(100, specialty="im", track="non-us-img", tz="Asia/Kolkata"),  # right track and zone only
        offer(101, specialty="psych", track="us-img", tz="Asia/Tokyo"),  # right specialty and track, far
        offer(102, specialty="psych", track="non-us-img", tz="Asia/Kolkata"),  # right specialty and zone
    ]
    mentee = request(1, specialty="psych", track="us-img", tz="Asia/Kolkata")
    assert assign_mentors(offers, [mentee]) == {1: 101}  # specialty and track beat the zone
    assert assign_mentors([offers[0], offers[2]], [mentee]) == {1: 102}  # specialty beats track
    near = offer(103, specialty="psych", track="us-img", tz="Asia/Dubai")
    assert assign_mentors([*offers, near], [mentee]) == {1: 103}  # then the nearer zone


def test_two_mentees_share_out_the_better_fits() -> None:
    offers = [offer(100, specialty="em"), offer(101, specialty="peds")]
    requests = [request(1, specialty="peds"), request(2, specialty="em")]
    assert assign_mentors(offers, requests) == {1: 101, 2: 100}


def test_identical_mentees_are_served_oldest_request_first() -> None:
    offers = [offer(100, capacity=2), offer(101, capacity=1)]
    got = assign_mentors(offers, [request(k) for k in (7, 3, 9, 5, 1)])
    assert sorted(got) == [1, 3, 5]


def test_the_two_pass_solve_for_large_requests_keeps_the_rules() -> None:
    rng = random.Random(11)
    zones = ["America/Chicago", "Africa/Lagos", "Asia/Karachi", "Europe/Berlin", "Asia/Tokyo"]
    offers = [
        offer(1000 + i, capacity=rng.randint(1, 3), load=rng.randint(0, 1), specialty=rng.choice(["em", "im"]),
              track=rng.choice(["us-img", "non-us-img"]), tz=rng.choice(zones))
        for i in range(30)
    ]  # fmt: skip
    requests = [
        request(i, specialty=rng.choice(["em", "im", "peds"]), track=rng.choice(["us-img", "non-us-img"]),
                tz=rng.choice(zones), excluded=frozenset(rng.sample(range(1000, 1030), 2)))
        for i in range(80)
    ]  # fmt: skip
    whole = assign_mentors(offers, requests)
    split = assign_mentors(offers, requests, exact_edges=0, top_k=2)
    free = sum(o.capacity - o.load for o in offers)
    assert len(whole) == len(split) == min(free, len(requests))
    for got in (whole, split):
        for mentee, mentor in got.items():
            assert mentor not in requests[mentee].excluded
        for o in offers:
            assert Counter(got.values())[o.key] <= o.capacity - o.load


def test_no_offers_or_no_free_slots_assign_nobody() -> None:
    assert assign_mentors([], [request(1)]) == {}
    assert assign_mentors([offer(9, capacity=2, load=2)], [request(1)]) == {}
    assert assign_mentors([offer(9)], []) == {}


def test_input_order_does_not_change_the_answer() -> None:
    rng = random.Random(5)
    zones = ["America/Chicago", "Africa/Lagos", "Asia/Karachi", "Europe/Berlin"]
    offers = [
        offer(100 + i, capacity=rng.randint(1, 3), specialty=rng.choice(["em", "im", None]), tz=rng.choice(zones))
        for i in range(8)
    ]
    requests = [request(i, specialty=rng.choice(["em", "im", "psych"]), tz=rng.choice(zones)) for i in range(20)]
    first = assign_mentors(offers, requests)
    for _ in range(3):
        rng.shuffle(offers)
        rng.shuffle(requests)
        assert assign_mentors(offers, requests) == first


def test_bad_input_is_refused_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match="mentor 1 is listed twice"):
        assign_mentors([offer(1), offer(1)], [request(2)])
    with pytest.raises(ValueError, match="mentee 2 is listed twice"):
        assign_mentors([offer(1)], [request(2), request(2)])
    with pytest.raises(ValueError, match="unknown time zone: 'Nowhere/City'"):
        assign_mentors([offer(1)], [request(2, tz="Nowhere/City")])
    with pytest.raises(ValueError, match="timezone-aware"):
        assign_mentors([offer(1)], [request(2)], when=datetime(2027, 1, 1))
    assert assign_mentors([offer(1)], [request(2)], when=datetime(2027, 1, 1, tzinfo=UTC)) == {2: 1}


@settings(max_examples=60, deadline=None)
@given(
    offers=st.lists(
        st.builds(
            MentorOffer,
            key=st.integers(1, 30),
            capacity=st.integers(0, 3),
            load=st.integers(0, 3),
            specialty=st.sampled_from(["em", "im", None]),
            track=st.sampled_from(["us-img", "non-us-img", None]),
            timezone=st.sampled_from(["UTC", "Asia/Kolkata", "America/Denver"]),
        ),
        max_size=8,
        unique_by=lambda o: o.key,
    ),
    requests=st.lists(
        st.builds(
            MentorRequest,
            key=st.integers(1, 30),
            specialty=st.sampled_from(["em", "im", None]),
            track=st.sampled_from(["us-img", "non-us-img", None]),
            timezone=st.sampled_from(["UTC", "Asia/Kolkata", "America/Denver"]),
            excluded=st.frozensets(st.integers(1, 30), max_size=4),
        ),
        max_size=15,
        unique_by=lambda r: r.key,
    ),
    exact=st.booleans(),
)
def test_assignment_invariants(offers: list[MentorOffer], requests: list[MentorRequest], exact: bool) -> None:
    got = assign_mentors(offers, requests, exact_edges=5_000 if exact else 0, top_k=1)
    by_key = {o.key: o for o in offers}
    req = {r.key: r for r in requests}
    for mentee, mentor in got.items():
        assert mentee != mentor and mentor not in req[mentee].excluded
    for mentor, n in Counter(got.values()).items():
        assert n <= by_key[mentor].capacity - by_key[mentor].load
    # maximal: no unassigned mentee has an allowed mentor with a slot still free
    used = Counter(got.values())
    for r in requests:
        if r.key in got:
            continue
        for o in offers:
            if o.key != r.key and o.key not in r.excluded:
                assert used[o.key] >= o.capacity - o.load
