"""Unit tests for m_dhash scoring and selection (SPEC §2), against a sorting oracle."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.dhash_selection import FIRST_SCORE, Scorer, is_event, scores, select_events

MASK = (1 << 64) - 1
HASHES = st.integers(0, MASK)


def oracle_select(candidate_scores, threshold, count):
    # The first candidate is always an event (SPEC §2); the others need score > thr.
    events = [i for i, s in enumerate(candidate_scores) if i == 0 or s > threshold]
    if count:
        events = sorted(events, key=lambda i: (-candidate_scores[i], i))[:count]
    return sorted(events)


# --- Scorer -------------------------------------------------------------------------


def test_first_score_is_100():
    assert FIRST_SCORE == 100.0
    for h in (0, 1, MASK, 0x0123456789ABCDEF):
        assert Scorer().score(h) == 100.0


def test_score_is_percent_of_differing_bits():
    scorer = Scorer()
    assert scorer.score(0) == 100.0
    assert scorer.score(0) == 0.0
    assert scorer.score(1) == 100.0 / 64
    assert scorer.score(MASK ^ 1) == 100.0  # every bit flipped
    assert scorer.score(0xFFFF_FFFF) == 100.0 * 33 / 64  # upper 32 bits and bit 0 differ
    assert scorer.score(0xFFFF_FFFF) == 0.0
    assert scorer.score(0xFFFF_FFFF_0000_0000) == 100.0


def test_score_against_previous_not_first():
    scorer = Scorer()
    scorer.score(0)
    assert scorer.score(0xFF) == 12.5
    assert scorer.score(0xFF) == 0.0
    assert scorer.score(0) == 12.5


def test_scores_helper():
    assert scores([]) == []
    assert scores([5]) == [100.0]
    assert scores([0, 0b111, 0b110, MASK]) == [100.0, 300 / 64, 100 / 64, 100 * 62 / 64]


@settings(max_examples=300, deadline=None)
@given(st.lists(HASHES, min_size=1, max_size=30))
def test_scores_oracle(hashes):
    expected = [100.0] + [100.0 * bin(a ^ b).count("1") / 64 for a, b in zip(hashes, hashes[1:])]
    assert scores(hashes) == expected
    scorer = Scorer()
    assert [scorer.score(h) for h in hashes] == expected
    assert all(0.0 <= s <= 100.0 for s in expected)


def test_independent_scorers():
    a, b = Scorer(), Scorer()
    a.score(0)
    assert b.score(MASK) == 100.0
    assert a.score(MASK) == 100.0
    assert a.score(MASK) == 0.0


@pytest.mark.parametrize("bad", [-1, 1 << 64, 1.0, "ff", None, True])
def test_score_rejects_bad_hash_after_first(bad):
    scorer = Scorer()
    scorer.score(0)
    with pytest.raises(ValueError):
        scorer.score(bad)


@pytest.mark.parametrize("bad", [-1, 1 << 64, "ff"])
def test_score_rejects_bad_first_hash(bad):
    with pytest.raises(ValueError):
        Scorer().score(bad)


# --- selection ----------------------------------------------------------------------


def test_is_event_strictly_above():
    assert is_event(3, 15.625, 15)
    assert not is_event(3, 15.0, 15)
    assert not is_event(1, 0.0, 0)
    assert is_event(1, 1.5625, 0)
    # The first candidate, whatever its score and the threshold.
    assert is_event(0, 100.0, 100) and is_event(0, 0.0, 50)
    assert not is_event(1, 100.0, 100)


def test_select_all_above_threshold():
    s = [100.0, 0.0, 20.0, 15.0, 15.625, 3.0]
    assert select_events(s, 15, 0) == [0, 2, 4]
    assert select_events(s, 0, 0) == [0, 2, 3, 4, 5]
    assert select_events([], 0, 0) == []
    assert select_events([], 0, 5) == []


def test_select_top_n_in_time_order():
    s = [100.0, 10.0, 50.0, 30.0, 50.0, 5.0]
    assert select_events(s, 0, 2) == [0, 2]
    assert select_events(s, 0, 3) == [0, 2, 4]
    assert select_events(s, 0, 4) == [0, 2, 3, 4]
    assert select_events(s, 20, 10) == [0, 2, 3, 4]


def test_select_ties_go_to_earlier():
    s = [100.0, 25.0, 25.0, 25.0, 25.0]
    assert select_events(s, 0, 3) == [0, 1, 2]
    assert select_events([10.0, 10.0, 10.0], 0, 1) == [0]
    assert select_events([1.0, 10.0, 10.0, 50.0], 0, 2) == [1, 3]


def test_seed_example_shapes():
    # thr_15: every score > 15 ; num_5 (thr 0): the 5 highest, time order.
    hashes = [0, 0, 0xFFFF, 0xFFFF, 0xFFFF_FFFF_FFFF, 1, 3, MASK, MASK, 0]
    s = scores(hashes)
    assert select_events(s, 15, 0) == [0, 2, 4, 5, 7, 9]
    assert select_events(s, 0, 5) == [0, 4, 5, 7, 9]


SCORE_VALUES = st.integers(0, 64).map(lambda h: 100.0 * h / 64)


@settings(max_examples=500, deadline=None)
@given(st.lists(SCORE_VALUES | st.floats(0, 100), max_size=60), st.integers(0, 100), st.integers(0, 70))
def test_select_matches_oracle(candidate_scores, threshold, count):
    chosen = select_events(candidate_scores, threshold, count)
    assert chosen == oracle_select(candidate_scores, threshold, count)
    assert chosen == sorted(set(chosen))
    if count:
        assert len(chosen) <= count


@settings(max_examples=200, deadline=None)
@given(st.lists(HASHES, min_size=1, max_size=40), st.integers(0, 25), st.integers(0, 10))
def test_hashes_to_selection(hashes, threshold, count):
    s = scores(hashes)
    chosen = select_events(s, threshold, count)
    assert chosen == oracle_select(s, threshold, count)
    if threshold < 100:
        assert chosen[:1] == [0], "the first candidate (score 100) is always an event"


def test_first_candidate_always_event_even_at_thr_100():
    assert select_events(scores([0, MASK, 0]), 100, 0)[:1] == [0]
