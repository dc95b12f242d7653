"""Unit tests for the seek planner and the time resolver (SPEC §2), against a naive
Fraction oracle.

The planner gives target times; which frame answers each is decided from packet
times (engine.resolver), on decode runs (engine.decoder.decode_runs). Here both
are driven as the decoder drives them, over simulated packets in decode order
(B-frames reordered, decode times ascending and at most the pts), and compared
with the oracle frame by frame; and through the read-forward path
(``timeline_hits``), which must agree.
"""

from __future__ import annotations

import bisect
import itertools
import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from engine.decoder import SEEK_COST_FRAMES, DecodeRun, decode_runs
from engine.errors import ProcessError
from engine.params import ImageFormat, Mode, Request, SeekMode, parse
from engine.planner import Every, Listed, Plan, PictureTimeline, Spaced, StreamFacts, plan
from engine.resolver import RunResolver, timeline_hits

INT_MAX = 2**31 - 1


@dataclass(frozen=True)
class Stream:
    """A test stream: every frame's pts and key flag (presentation order), and D."""

    time_base: Fraction
    pts: np.ndarray
    keyframe: np.ndarray
    end_pts: int

    @property
    def frame_count(self) -> int:
        return int(self.pts.size)

    def facts(self, *, listed: bool = True) -> StreamFacts:
        keys = np.flatnonzero(self.keyframe)
        return StreamFacts(
            time_base=self.time_base, start_pts=int(self.pts[0]), last_pts=int(self.pts[-1]),
            end_pts=int(self.end_pts), frame_ticks=max(1, int(np.median(np.diff(self.pts))) if self.pts.size > 1 else 1),
            seek_points=self.pts[keys], keyframes_listed=listed,
            first_keyframe_pts=int(self.pts[keys[0]]) if keys.size else None,
        )

    def decode_order(self) -> list[int]:
        """B-frame-like reordering: within each GOP, the keyframe first, then each
        pair of following frames swapped."""
        order: list[int] = []
        starts = [i for i in range(self.frame_count) if self.keyframe[i]]
        if not starts or starts[0] != 0:
            starts = [0] + starts
        for start, stop in zip(starts, starts[1:] + [self.frame_count]):
            order.append(start)
            rest = list(range(start + 1, stop))
            for a in range(0, len(rest) - 1, 2):
                rest[a], rest[a + 1] = rest[a + 1], rest[a]
            order.extend(rest)
        return order


def facts(pts, keyframe=None, end=None, time_base=Fraction(1, 1000)) -> Stream:
    pts = list(pts)
    if keyframe is None:
        keyframe = [True] + [False] * (len(pts) - 1)
    if end is None:
        end = pts[-1] + (pts[-1] - pts[-2] if len(pts) > 1 else 1)
    return Stream(Fraction(time_base), np.array(pts, dtype=np.int64), np.array(keyframe, dtype=bool), int(end))


def req(process: str) -> Request:
    return parse("video/snapshots,f_jpg" + ("," + process if process else ""))


def _first_key_covers(p: Plan) -> bool:
    return p.keyframes_only and not getattr(p.times, "from_first", False)


def run_decisions(p: Plan, s: Stream, f: StreamFacts, run: DecodeRun, order: list[int]) -> list[tuple[int, int]]:
    """What the decoder decides on one run: from the run's keyframe (an earlier one
    when it lands late, as the seek ladder does), packets in decode order."""
    dts = list(itertools.accumulate(reversed([int(s.pts[j]) for j in order]), min))[::-1]
    where = {frame: k for k, frame in enumerate(order)}
    point = run.seek
    first_target = p.times.next_at_or_after(run.low)
    while True:
        start = 0 if point is None else where[int(np.flatnonzero(s.keyframe)[point])]
        first_time = p.times.clock.of_pts(int(s.pts[order[start]]))
        if point is None or getattr(p.times, "from_first", False) or first_time <= first_target:
            break
        point = point - 1 if point > 0 else None
    resolver = RunResolver(p.times, f, low=run.low, high=run.high, keyframes_only=p.keyframes_only,
                           first_key_covers=_first_key_covers(p))
    if point is not None and point == run.seek and p.keyframes_only and f.keyframes_listed and point + 1 < f.seek_points.size:
        resolver.close_before(p.times.clock.of_pts(int(f.seek_points[point + 1])))
    index = {int(t): i for i, t in enumerate(s.pts)}
    found = []
    for k in range(start, len(order)):
        frame = order[k]
        found += resolver.add(int(s.pts[frame]), dts[k], bool(s.keyframe[frame]))
        if resolver.done:
            break
    else:
        found += resolver.finish()
    return [(index[d.pts], d.time) for d in found if d.time is not None]


def resolve_plan(request: Request, s: Stream, last_only: bool = False, *, via: str = "runs"):
    """(plan, [(frame, requested ms)]) as the pipeline gives them: each frame once,
    the first ``num``, the last only when asked."""
    f = s.facts(listed=via != "cues")
    p = plan(request, f)
    if via == "timeline":
        hits = [(d.pts, d.time) for d in timeline_hits(p.times, PictureTimeline(s.pts, s.keyframe), f,
                                                        keyframes_only=p.keyframes_only,
                                                        first_key_covers=_first_key_covers(p))]
    else:
        order = s.decode_order()
        runs = decode_runs(p.times, f, per_keyframe=p.keyframes_only and f.keyframes_listed)
        check_runs(runs, p)
        hits = [h for run in runs for h in run_decisions(p, s, f, run, order)]
    seen, unique = set(), []
    for frame, t in hits:
        if frame not in seen:
            seen.add(frame)
            unique.append((frame, p.times.clock.to_ms(t)))
    if p.count:
        unique = unique[: p.count]
    if last_only and request.mode is not Mode.DHASH:
        unique = unique[-1:]
    return p, unique


def frames_of(request: Request, s: Stream, last_only: bool = False) -> list[int]:
    return [i for i, _ in resolve_plan(request, s, last_only)[1]]


def ms_of(request: Request, s: Stream) -> list[float]:
    return [t for _, t in resolve_plan(request, s)[1]]


# --- the naive oracle --------------------------------------------------------------


def oracle(request: Request, f: StreamFacts, last_only: bool = False):
    """SPEC §2 by the book: explicit loops over k, exact Fractions throughout.

    Returns (list of (frame, requested ms as Fraction), keyframes_only).
    """
    pts = [int(p) for p in f.pts]
    key = [bool(k) for k in f.keyframe]
    tb = Fraction(f.time_base)
    time = [Fraction(p - pts[0]) * tb * 1000 for p in pts]  # ms from the first frame
    D = Fraction(int(f.end_pts) - pts[0]) * tb * 1000
    ss = Fraction(request.start_ms)
    if ss >= D:
        raise ProcessError("ss")

    def frame_at(t):
        # The last frame whose time <= t (time is strictly ascending).
        i = bisect.bisect_right(time, t) - 1
        assert i >= 0 and time[i] <= t and (i + 1 == len(time) or time[i + 1] > t)
        return i

    def key_before(i):
        for j in range(i, -1, -1):
            if key[j]:
                return j
        return next((j for j in range(len(key)) if key[j]), 0)  # before the first: the first

    targets = []
    if request.mode in (Mode.INTER, Mode.DHASH):
        if request.interval_ms == 0:
            first = frame_at(ss)
            targets = [(first, ss)] + [(i, time[i]) for i in range(first + 1, len(pts))]
        else:
            k = 0
            while ss + k * request.interval_ms < D:
                t = ss + k * request.interval_ms
                targets.append((frame_at(t), t))
                k += 1
    elif request.mode is Mode.KEY:
        targets = [(i, time[i]) for i in range(len(pts)) if key[i] and time[i] >= ss]
    elif request.mode is Mode.AVG:
        n = request.count
        for k in range(n):
            t = ss + (k + Fraction(1, 2)) * (D - ss) / n
            targets.append((frame_at(t), t))
    fast = request.seek is SeekMode.FAST and request.mode is not Mode.KEY
    if fast:
        targets = [(key_before(i), t) for i, t in targets]
    seen, unique = set(), []
    for i, t in targets:
        if i not in seen:
            seen.add(i)
            unique.append((i, t))
    if request.count and request.mode is not Mode.DHASH:
        unique = unique[: request.count]
    if last_only and request.mode is not Mode.DHASH:
        unique = unique[-1:]
    return unique, request.mode is Mode.KEY or fast


def check_runs(runs: tuple[DecodeRun, ...], p: Plan) -> None:
    """Structural invariants of decode runs: ascending, adjacent, the first from the
    first target, the last to the end."""
    assert all(isinstance(r, DecodeRun) for r in runs)
    first = p.times.next_at_or_after(0)
    if first is None:
        assert runs == ()
        return
    assert runs[0].low == first and runs[-1].high is None
    for a, b in zip(runs, runs[1:]):
        assert a.high is not None and a.low < a.high <= b.low
        assert p.times.next_at_or_after(a.high) == b.low, "no target falls between two runs"
        assert (a.seek is None and b.seek is None) or b.seek is None or a.seek is None or a.seek <= b.seek


def assert_plan_matches_oracle(request: Request, f: Stream, last_only: bool = False):
    try:
        expected, keyframes_only = oracle(request, f, last_only)
    except ProcessError:
        with pytest.raises(ProcessError, match=r"^ss\b"):
            plan(request, f.facts())
        return None
    for via in ("runs", "timeline", "cues"):
        p, found = resolve_plan(request, f, last_only, via=via)
        assert [i for i, _ in found] == [i for i, _ in expected], via
        for (_, ms), (_, t) in zip(found, expected):
            assert isinstance(ms, float)
            assert math.isclose(ms, float(t), rel_tol=1e-12, abs_tol=1e-9), (ms, t, via)
        assert p.keyframes_only == keyframes_only
    return p


# --- strategies --------------------------------------------------------------------

TIME_BASES = st.one_of(
    st.sampled_from([Fraction(1, 1000), Fraction(1, 90000), Fraction(1, 30000), Fraction(1001, 30000),
                     Fraction(1, 25), Fraction(1, 48000), Fraction(1, 1_000_000), Fraction(1, 1)]),
    st.builds(Fraction, st.integers(1, 1001), st.integers(1, 100_000)),
)


@st.composite
def stream_facts(draw, max_frames=30):
    tb = draw(TIME_BASES)
    n = draw(st.integers(1, max_frames))
    if draw(st.booleans()):  # constant frame duration: exact hits happen
        d = draw(st.integers(1, 5000))
        deltas = [d] * n
    else:
        deltas = draw(st.lists(st.integers(1, 5000), min_size=n, max_size=n))
    offset = draw(st.sampled_from([0, 900000, 1]) | st.integers(0, 10**9))
    pts = [offset]
    for d in deltas[:-1]:
        pts.append(pts[-1] + d)
    end = pts[-1] + deltas[-1]
    keyframe = [True] + draw(st.lists(st.booleans(), min_size=n - 1, max_size=n - 1))
    return facts(pts, keyframe, end=end, time_base=tb)


def duration_ms(f: Stream) -> Fraction:
    return Fraction(int(f.end_pts) - int(f.pts[0])) * f.time_base * 1000


@st.composite
def request_for(draw, f: Stream, modes=tuple(Mode)):
    D = duration_ms(f)
    mode = draw(st.sampled_from(modes))
    past_end = draw(st.integers(0, 30)) == 0
    # ss is a 32-bit int (≤ INT_MAX) even when the generated stream is longer.
    ss = draw(st.integers(math.ceil(D), math.ceil(D) + 5)) if past_end else draw(
        st.sampled_from([0, 0, math.floor(D * Fraction(draw(st.integers(0, 99)), 100))]) | st.integers(0, max(0, math.ceil(D) - 1))
    )
    ss = min(ss, INT_MAX)
    fields = dict(format=ImageFormat.JPG, mode=mode, start_ms=ss,
                  seek=draw(st.sampled_from([SeekMode.ACCURATE, SeekMode.FAST])))
    if mode in (Mode.INTER, Mode.DHASH):
        inter = draw(st.sampled_from([0, 1]) | st.integers(0, math.ceil(D) + 2) | st.integers(1, 100))
        if inter and D / inter > 3000:  # keep the naive loop small
            inter = math.ceil(D / 3000)
        fields["interval_ms"] = inter
        fields["count"] = draw(st.sampled_from([0, 0, 1]) | st.integers(0, 40))
        if mode is Mode.DHASH:
            fields["threshold"] = draw(st.integers(0, 100))
    elif mode is Mode.KEY:
        fields["count"] = draw(st.integers(0, 10))
    else:
        fields["count"] = draw(st.integers(1, 200))
    return Request(**fields)


# --- the main property: planner + resolver == oracle -----------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_plan_matches_naive_oracle(data):
    f = data.draw(stream_facts())
    request = data.draw(request_for(f))
    last_only = data.draw(st.booleans())
    assert_plan_matches_oracle(request, f, last_only=last_only)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_plan_matches_oracle_inter_below_frame_interval(data):
    """inter shorter than a frame: every frame once, at the frame rate (the seed's FAQ)."""
    tb = data.draw(st.sampled_from([Fraction(1, 1000), Fraction(1, 90000), Fraction(1, 30000), Fraction(1, 25)]))
    ticks_per_ms = Fraction(1, 1000) / tb
    deltas = data.draw(st.lists(st.integers(2, 60), min_size=1, max_size=40))  # in ms
    pts, now = [], data.draw(st.integers(0, 10**6))
    for d in deltas:
        pts.append(now)
        now += math.ceil(d * ticks_per_ms)
    f = facts(pts, [True] + data.draw(st.lists(st.booleans(), min_size=len(pts) - 1, max_size=len(pts) - 1)),
              end=now, time_base=tb)
    inter = data.draw(st.integers(1, min(deltas)))
    request = Request(format=ImageFormat.PNG, interval_ms=inter)
    assert_plan_matches_oracle(request, f)
    assert frames_of(request, f) == list(range(f.frame_count))


# --- exact time: NTSC, TS offsets, ms time bases, VFR -----------------------------------


def ntsc(n=200, offset=0, tb=Fraction(1, 30000), tick=1001, gop=None):
    pts = [offset + k * tick for k in range(n)]
    key = [gop is None and k == 0 or (gop is not None and k % gop == 0) for k in range(n)]
    return facts(pts, key, end=pts[-1] + tick, time_base=tb)


def test_ntsc_inter_1001_hits_exact_frames():
    f = ntsc()
    assert frames_of(req("inter_1001"), f) == list(range(0, 200, 30))
    assert ms_of(req("inter_1001"), f)[:3] == [0.0, 1001.0, 2002.0]
    assert_plan_matches_oracle(req("inter_1001"), f)


def test_ntsc_one_ms_before_lands_on_previous_frame():
    # 1000 ms is before 1001 ms = frame 30's pts; 2001 ms is before frame 60.
    assert frames_of(req("ss_1000,inter_1001,num_2"), ntsc()) == [29, 59]


@pytest.mark.parametrize("offset", [900000, 2**32, 126000])
def test_ts_offset_start(offset):
    # MPEG-TS like: 1/90000, pts start far from 0, 29.97 fps (3003 ticks).
    f = ntsc(n=300, offset=offset, tb=Fraction(1, 90000), tick=3003, gop=15)
    assert frames_of(req("inter_1001"), f)[:4] == [0, 30, 60, 90]
    assert ms_of(req("inter_1001"), f)[:2] == [0.0, 1001.0]
    assert_plan_matches_oracle(req("inter_1001"), f)
    assert_plan_matches_oracle(req("ss_500,m_key,num_3"), f)
    assert frames_of(req("m_key"), f) == list(range(0, 300, 15))
    assert ms_of(req("m_key"), f)[1] == pytest.approx(15 * 3003 / 90)
    with pytest.raises(ProcessError, match="^ss"):
        plan(req("ss_10010"), f.facts())  # D = 300 * 3003 / 90 ms = 10010 ms exactly
    assert frames_of(req("ss_10009"), f) == [299]


def test_ms_time_base_33_34_frames():
    # 30 fps stored in 1/1000: 0, 33, 67, 100, 133, 167, 200, ...
    pts = [round(k * 1000 / 30) for k in range(31)]
    f = facts(pts, end=1033)
    assert frames_of(req("inter_100"), f) == [0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30]
    assert frames_of(req("ss_66,inter_0,num_2"), f) == [1, 2]
    assert frames_of(req("ss_67,num_1"), f) == [2]
    assert ms_of(req("ss_50,num_3"), f) == [50.0, 67.0, 100.0]
    for process in ["inter_33", "inter_34", "inter_1", "ss_10,inter_33", "m_avg,num_7", "m_avg,num_1000"]:
        assert_plan_matches_oracle(req(process), f)


def test_vfr_irregular():
    pts = [0, 10, 11, 50, 51, 52, 300, 301, 1000]
    key = [True, False, False, True, False, False, False, True, False]
    f = facts(pts, key, end=1200)
    assert frames_of(req("inter_50"), f) == [0, 3, 5, 6, 7, 8]
    assert frames_of(req("inter_10,num_4"), f) == [0, 1, 2, 3]
    assert ms_of(req("inter_10,num_4"), f) == [0.0, 10.0, 20.0, 50.0]
    assert frames_of(req("ss_12,inter_10,num_4"), f) == [2, 5, 7, 8]
    assert ms_of(req("ss_12,inter_10,num_4"), f) == [12.0, 52.0, 302.0, 1002.0]
    for process in ["inter_10", "inter_1", "inter_0", "ss_51,inter_7", "m_key", "m_avg,num_5", "m_avg,num_3,sm_fast",
                    "inter_20,sm_fast", "m_dhash,inter_30,num_1", "ss_1199,inter_1"]:
        assert_plan_matches_oracle(req(process), f)
        assert_plan_matches_oracle(req(process), f, last_only=True)


# --- modes ------------------------------------------------------------------------


def test_inter_zero_every_frame_from_ss():
    f = facts(range(0, 1000, 40), end=1000)
    assert frames_of(req("ss_90"), f) == list(range(2, 25))
    assert ms_of(req("ss_90"), f)[:2] == [90.0, 120.0]
    assert isinstance(plan(req("ss_90"), f.facts()).times, Every)


def test_inter_num_first_n_distinct():
    f = facts(range(0, 1000, 40), end=1000)
    assert frames_of(req("inter_10,num_3"), f) == [0, 1, 2]
    assert frames_of(req("inter_100,num_3"), f) == [0, 2, 5]
    assert frames_of(req("num_0,inter_100"), f) == [0, 2, 5, 7, 10, 12, 15, 17, 20, 22]
    assert frames_of(req("num_1000,inter_100"), f) == [0, 2, 5, 7, 10, 12, 15, 17, 20, 22]


def test_inter_targets_stop_before_end():
    f = facts([0, 500], end=1000)
    assert frames_of(req("inter_500"), f) == [0, 1]
    assert frames_of(req("inter_1000"), f) == [0]
    assert frames_of(req("ss_999,inter_1"), f) == [1]


def test_key_mode():
    key = [k % 10 == 0 for k in range(50)]
    f = facts(range(0, 2000, 40), key, end=2000)
    p, found = resolve_plan(req("m_key"), f)
    assert [i for i, _ in found] == [0, 10, 20, 30, 40]
    assert p.keyframes_only
    assert [t for _, t in found] == [0.0, 400.0, 800.0, 1200.0, 1600.0]
    # Every keyframe known: a run per keyframe, reading nothing between them.
    assert [r.seek for r in decode_runs(p.times, f.facts(), per_keyframe=True)] == [0, 1, 2, 3, 4]
    assert frames_of(req("m_key,ss_400"), f) == [10, 20, 30, 40]
    assert frames_of(req("m_key,ss_401,num_2"), f) == [20, 30]
    assert frames_of(req("m_key,ss_1601"), f) == []


def test_avg_mode_even_spread():
    f = facts(range(0, 10000, 40), end=10000)
    assert ms_of(req("m_avg,num_10"), f) == [500.0 + 1000.0 * k for k in range(10)]
    assert frames_of(req("m_avg,num_10"), f) == [12 + 25 * k for k in range(10)]
    assert ms_of(req("m_avg,num_4,ss_2000"), f) == [3000.0, 5000.0, 7000.0, 9000.0]
    times = plan(req("m_avg,num_4,ss_2000"), f.facts()).times
    assert isinstance(times, Spaced) and times.count == 4


def test_avg_huge_n_each_frame_once():
    n_frames = 20_000
    f = ntsc(n=n_frames, gop=250)
    assert frames_of(req(f"m_avg,num_{10**9}"), f) == list(range(n_frames))
    _, found = resolve_plan(req(f"m_avg,num_{INT_MAX},ss_1000"), f)
    assert [i for i, _ in found] == list(range(29, n_frames))
    assert found[0][1] == pytest.approx(1000.0, abs=1e-3)


def test_inter_one_ms_over_long_video_is_one_run():
    f = facts(range(0, 3_600_000, 40), [k % 250 == 0 for k in range(90_000)], end=3_600_000)
    p = plan(req("inter_1"), f.facts())
    # every target decoded in one forward run: no keyframe skips anything
    assert len(decode_runs(p.times, f.facts())) == 1
    p = plan(req("inter_10000"), f.facts())
    assert len(decode_runs(p.times, f.facts())) == 360


def test_dhash_candidates_not_limited_by_num():
    f = facts(range(0, 1000, 40), end=1000)
    p, found = resolve_plan(req("m_dhash,inter_100,num_2"), f)
    assert [i for i, _ in found] == frames_of(req("inter_100"), f)
    assert p.count == 0 and not p.keyframes_only


def test_ss_at_or_past_end():
    f = facts([0, 40, 80], end=120)
    for ss in (120, 121, INT_MAX):
        for mode in ("inter_0", "m_key", "m_avg,num_3", "m_dhash"):
            with pytest.raises(ProcessError, match=rf"^ss: {ss}\b"):
                plan(req(f"ss_{ss},{mode}"), f.facts())
    assert frames_of(req("ss_119"), f) == [2]


def test_sm_fast():
    key = [k % 10 == 0 for k in range(50)]
    f = facts(range(0, 2000, 40), key, end=2000)
    assert plan(req("inter_200,sm_fast"), f.facts()).keyframes_only
    assert frames_of(req("inter_200,sm_fast"), f) == [0, 10, 20, 30, 40]
    # requested time is the first target that landed on each keyframe
    assert ms_of(req("inter_200,sm_fast"), f) == [0.0, 400.0, 800.0, 1200.0, 1600.0]
    assert not plan(req("inter_200"), f.facts()).keyframes_only
    assert frames_of(req("m_avg,num_3,sm_fast"), f) == [0, 20, 40]
    assert frames_of(req("ss_399,inter_0,num_1,sm_fast"), f) == [0]


def test_sm_fast_before_the_first_keyframe_takes_it():
    f = facts(range(0, 400, 40), [False, False, True] + [False] * 7, end=400)
    assert frames_of(req("inter_20,sm_fast"), f) == [2]
    assert frames_of(req("inter_0,sm_fast"), f) == [2]


def test_last_only():
    f = facts(range(0, 1000, 40), end=1000)
    assert frames_of(req("inter_100"), f, last_only=True) == [22]
    assert frames_of(req("inter_100,num_3"), f, last_only=True) == [5]
    assert frames_of(req("m_avg,num_2"), f, last_only=True) == [18]


def test_each_frame_once_in_every_mode():
    f = facts([0, 1, 2, 100, 101], [True, True, False, True, False], end=102)
    for process in ["inter_1", "inter_0", "m_key", "m_avg,num_50", "inter_1,sm_fast", "m_avg,num_9,sm_fast"]:
        found = frames_of(req(process), f)
        assert len(found) == len(set(found)) and found == sorted(found)
        assert_plan_matches_oracle(req(process), f)


def test_huge_values_use_exact_arithmetic():
    # Time base of 1 s and a pts far beyond int64 once scaled (10**16 s * 1000 * den).
    pts = [0, 1, 10**15, 10**16]
    f = facts(pts, [True, False, True, False], end=10**16 + 1, time_base=Fraction(1, 1))
    assert frames_of(req(f"ss_{INT_MAX}"), f) == [1, 2, 3]
    assert frames_of(req("m_avg,num_2"), f) == [2]  # t = D/4, 3D/4 both in [10**15, 10**16) s
    for n, ss in [(INT_MAX, 0), (INT_MAX, INT_MAX), (3, 0), (7, 999), (10**6, 1)]:
        assert frames_of(req(f"m_avg,num_{n},ss_{ss}"), f) == avg_per_frame_oracle(n, ss, f)
    for process in [f"ss_{INT_MAX}", "m_key", "m_key,ss_1001", f"ss_{INT_MAX},m_key,num_1"]:
        assert_plan_matches_oracle(req(process), f)
    # The oracle would loop 5·10⁹ times here: frame i is hit iff some t_k falls in
    # [its time, the next frame's time).
    times = [Fraction(p) * 1000 for p in pts] + [Fraction(10**16 + 1) * 1000]

    def hit(ss):
        return [i for i in range(4) if max(0, math.ceil((max(times[i], ss) - ss) / INT_MAX)) * INT_MAX + ss < times[i + 1]]

    assert frames_of(req(f"inter_{INT_MAX}"), f) == hit(0) == [0, 1, 2]
    assert frames_of(req(f"ss_{INT_MAX},inter_{INT_MAX},num_{INT_MAX}"), f) == hit(INT_MAX)


def avg_per_frame_oracle(n: int, ss: int, f: Stream) -> list[int]:
    """Frame i is hit iff some k < n has t_k in [time_i, time_{i+1}) (exact, no loop over k)."""
    p0 = int(f.pts[0])
    time = [Fraction(int(p) - p0) * f.time_base * 1000 for p in f.pts] + [duration_ms(f)]
    span = time[-1] - ss
    hit = []
    for i in range(f.frame_count):
        lo, hi = max(time[i], Fraction(ss)), time[i + 1]
        if hi <= ss:
            continue
        # smallest k with ss + (k + 1/2) span / n >= lo
        k = max(0, math.ceil((lo - ss) * n / span - Fraction(1, 2)))
        if k < n and ss + (k + Fraction(1, 2)) * span / n < hi:
            hit.append(i)
    return hit


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_avg_large_n_matches_per_frame_oracle(data):
    f = data.draw(stream_facts(max_frames=12))
    D = duration_ms(f)
    assume(D > 1)
    ss = data.draw(st.integers(0, math.ceil(D) - 1))
    n = data.draw(st.integers(1, INT_MAX))
    assert frames_of(Request(format=ImageFormat.JPG, mode=Mode.AVG, count=n, start_ms=ss), f) == avg_per_frame_oracle(n, ss, f)


# --- target times ---------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 50), st.integers(1, 20), st.integers(1, 400), st.none() | st.integers(1, 30), st.integers(-5, 450))
def test_spaced_times_match_their_list(first, step, end, count, probe):
    from engine.planner import Clock

    times = Spaced(Clock(Fraction(1, 1000), 0), first, step, end, count)
    listed = [first + k * step for k in range(10**4) if first + k * step < end and (count is None or k < count)]
    after = [t for t in listed if t >= probe]
    before = [t for t in listed if t < probe]
    assert times.next_at_or_after(probe) == (after[0] if after else None)
    assert times.last_before(probe) == (before[-1] if before else None)
    as_list = Listed(times.clock, tuple(listed))
    assert as_list.next_at_or_after(probe) == times.next_at_or_after(probe)
    assert as_list.last_before(probe) == times.last_before(probe)


def test_every_from_first_names_frames_at_or_after_only():
    from engine.planner import Clock

    times = Every(Clock(Fraction(1, 1000), 0), 100, 1000, from_first=True)
    assert times.hit(90, 200) is None and times.hit(100, 200) == 100 and times.hit(150, 200) == 150
    assert Every(times.clock, 100, 1000).hit(90, 200) == 100


# --- decode runs ----------------------------------------------------------------------


def test_decode_runs_seek_only_when_it_skips_enough():
    assert SEEK_COST_FRAMES == 4
    key = [k % 10 == 0 for k in range(40)]
    f = facts(range(0, 400, 10), key, end=400).facts()
    times = Listed(plan(req("inter_0"), f).times.clock, ())

    def runs(*ms):
        listed = Listed(times.clock, tuple(times.clock.of_ms(m) for m in ms))
        return [(r.seek, times.clock.to_ms(r.low)) for r in decode_runs(listed, f)]

    # 50 → 120 ms: keyframe 100 would skip only frames 60–90: decode on. 130 → 390: seek to 300.
    assert runs(30, 50, 120, 130, 390) == [(0, 30.0), (3, 390.0)]
    assert runs(30, 90) == [(0, 30.0)]
    assert runs(90, 100) == [(0, 90.0)]
    assert runs(30, 120) == [(0, 30.0), (1, 120.0)]
    assert runs() == []


def test_decode_runs_before_the_first_keyframe_start_from_the_start():
    key = [False, False, False, True, False, False, False, False, False, True, False]
    f = facts(range(0, 110, 10), key, end=110).facts()
    clock = plan(req("inter_0"), f).times.clock
    listed = Listed(clock, (clock.of_ms(10), clock.of_ms(100)))
    assert [(r.seek, r.high is None) for r in decode_runs(listed, f)] == [(None, False), (1, True)]


# --- StreamFacts --------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(start_pts=5, last_pts=4, end_pts=9),
        dict(start_pts=0, last_pts=9, end_pts=9),
        dict(start_pts=0, last_pts=5, end_pts=9, time_base=Fraction(0)),
        dict(start_pts=0, last_pts=5, end_pts=9, time_base=Fraction(-1, 1000)),
        dict(start_pts=0, last_pts=5, end_pts=9, frame_ticks=0),
        dict(start_pts=0, last_pts=5, end_pts=9, seek_points=[5, 0]),
        dict(start_pts=0, last_pts=5, end_pts=9, seek_alternates=[0, 1]),
    ],
)
def test_stream_facts_validation(kwargs):
    kwargs.setdefault("time_base", Fraction(1, 1000))
    kwargs.setdefault("frame_ticks", 1)
    kwargs.setdefault("seek_points", [0])
    with pytest.raises(ValueError):
        StreamFacts(**kwargs)


def test_stream_facts_ms():
    f = facts([900000, 903003], end=906006, time_base=Fraction(1, 90000)).facts()
    assert f.duration_ms == pytest.approx(66.733333, rel=1e-6)
    assert float(f.ms(903003)) == pytest.approx(33.366667, rel=1e-6)


def test_picture_timeline_validation():
    with pytest.raises(ValueError):
        PictureTimeline(np.array([0, 0]), np.array([True, False]))
    with pytest.raises(ValueError):
        PictureTimeline(np.array([0, 1]), np.array([True]))


def test_fine_time_base_with_huge_interval():
    f = facts([0, 10**9, 10**10], end=2 * 10**10, time_base=Fraction(1, 10**10))
    assert frames_of(req(f"inter_{INT_MAX}"), f) == [0]


def test_nanosecond_time_base_with_huge_interval():
    f = facts([0, 10**8, 10**9], end=2 * 10**9, time_base=Fraction(1, 10**9))
    assert frames_of(req(f"inter_{INT_MAX}"), f) == [0]
    assert frames_of(req("inter_1500"), f) == [0, 2]
