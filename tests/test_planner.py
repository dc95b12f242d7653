"""Unit tests for the seek planner (SPEC §2), against a naive Fraction oracle."""

from __future__ import annotations

import bisect
import math
import time
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from engine.errors import ProcessError
from engine.params import ImageFormat, Mode, Request, SeekMode, parse
from engine.planner import SEEK_COST_FRAMES, DecodeRun, Plan, StreamFacts, Target, decode_runs, plan

INT_MAX = 2**31 - 1


def facts(pts, keyframe=None, end=None, time_base=Fraction(1, 1000)):
    pts = list(pts)
    if keyframe is None:
        keyframe = [True] + [False] * (len(pts) - 1)
    if end is None:
        end = pts[-1] + (pts[-1] - pts[-2] if len(pts) > 1 else 1)
    return StreamFacts(time_base=Fraction(time_base), pts=np.array(pts, dtype=np.int64),
                       keyframe=np.array(keyframe, dtype=bool), end_pts=int(end))


def req(process: str) -> Request:
    return parse("video/snapshots,f_jpg" + ("," + process if process else ""))


def frames_of(p: Plan) -> list[int]:
    return [t.frame for t in p.targets]


def ms_of(p: Plan) -> list[float]:
    return [t.requested_ms for t in p.targets]


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


def oracle_runs(frames, keyframe):
    """A new run when the keyframe before the target skips more than SEEK_COST_FRAMES
    frames past the last decoded one; otherwise keep decoding forward."""
    key = [bool(k) for k in keyframe]
    runs, position = [], -1
    for frame in frames:
        seek = max([j for j in range(frame + 1) if key[j]], default=0)
        if not runs or seek - position - 1 > SEEK_COST_FRAMES:
            runs.append((seek, [frame]))
        else:
            runs[-1][1].append(frame)
        position = frame
    return [DecodeRun(s, tuple(fs)) for s, fs in runs]


def check_runs(p: Plan, f: StreamFacts):
    """Structural invariants of decode runs (independent of any oracle)."""
    key = [bool(k) for k in f.keyframe]
    flat = [fr for r in p.runs for fr in r.frames]
    assert flat == frames_of(p), "every target in exactly one run, in order"
    previous_end = -1
    for run in p.runs:
        assert run.frames, "no empty run"
        assert list(run.frames) == sorted(set(run.frames))
        assert run.seek_frame <= run.frames[0]
        if key[0]:
            assert key[run.seek_frame], "runs seek to a keyframe"
        # The keyframe at or before the run's first frame.
        assert not any(key[run.seek_frame + 1 : run.frames[0] + 1])
        if previous_end >= 0:
            skipped = run.seek_frame - previous_end - 1
            assert skipped > SEEK_COST_FRAMES, "a new run only when its seek skips more than a seek costs"
        # Within a run, no keyframe before a target would have skipped enough.
        for a, b in zip(run.frames, run.frames[1:]):
            last_key = max([j for j in range(a + 1, b + 1) if key[j]], default=a)
            assert last_key - a - 1 <= SEEK_COST_FRAMES
        previous_end = run.frames[-1]


def assert_plan_matches_oracle(request: Request, f: StreamFacts, last_only: bool = False):
    try:
        expected, keyframes_only = oracle(request, f, last_only)
    except ProcessError:
        with pytest.raises(ProcessError, match=r"^ss\b"):
            plan(request, f, last_only=last_only)
        return None
    p = plan(request, f, last_only=last_only)
    assert frames_of(p) == [i for i, _ in expected]
    for target, (_, t) in zip(p.targets, expected):
        assert isinstance(target.frame, int) and isinstance(target.requested_ms, float)
        assert math.isclose(target.requested_ms, float(t), rel_tol=1e-12, abs_tol=1e-9), (target, t)
    assert p.keyframes_only == keyframes_only
    assert list(p.runs) == oracle_runs(frames_of(p), f.keyframe)
    check_runs(p, f)
    assert bool(p.warnings) == (not expected)
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
    return StreamFacts(time_base=tb, pts=np.array(pts, dtype=np.int64),
                       keyframe=np.array(keyframe, dtype=bool), end_pts=end)


def duration_ms(f: StreamFacts) -> Fraction:
    return Fraction(int(f.end_pts) - int(f.pts[0])) * f.time_base * 1000


@st.composite
def request_for(draw, f: StreamFacts, modes=tuple(Mode)):
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


# --- the main property: planner == oracle ---------------------------------------------


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_plan_matches_naive_oracle(data):
    f = data.draw(stream_facts())
    request = data.draw(request_for(f))
    last_only = data.draw(st.booleans())
    assert_plan_matches_oracle(request, f, last_only=last_only)


@settings(max_examples=150, deadline=None)
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
    p = assert_plan_matches_oracle(request, f)
    assert frames_of(p) == list(range(f.frame_count))


# --- exact time: NTSC, TS offsets, ms time bases, VFR -----------------------------------


def ntsc(n=200, offset=0, tb=Fraction(1, 30000), tick=1001, gop=None):
    pts = [offset + k * tick for k in range(n)]
    key = [gop is None and k == 0 or (gop is not None and k % gop == 0) for k in range(n)]
    return facts(pts, key, end=pts[-1] + tick, time_base=tb)


def test_ntsc_inter_1001_hits_exact_frames():
    f = ntsc()
    p = plan(req("inter_1001"), f)
    assert frames_of(p)[:3] == [0, 30, 60]
    assert frames_of(p) == list(range(0, 200, 30))
    assert ms_of(p)[:3] == [0.0, 1001.0, 2002.0]
    assert_plan_matches_oracle(req("inter_1001"), f)


def test_ntsc_one_ms_before_lands_on_previous_frame():
    f = ntsc()
    p = plan(req("ss_1000,inter_1001,num_2"), f)
    # 1000 ms is before 1001 ms = frame 30's pts; 2001 ms is before frame 60.
    assert frames_of(p) == [29, 59]


@pytest.mark.parametrize("offset", [900000, 2**32, 126000])
def test_ts_offset_start(offset):
    # MPEG-TS like: 1/90000, pts start far from 0, 29.97 fps (3003 ticks).
    f = ntsc(n=300, offset=offset, tb=Fraction(1, 90000), tick=3003, gop=15)
    p = plan(req("inter_1001"), f)
    assert frames_of(p)[:4] == [0, 30, 60, 90]
    assert ms_of(p)[:2] == [0.0, 1001.0]
    assert_plan_matches_oracle(req("inter_1001"), f)
    assert_plan_matches_oracle(req("ss_500,m_key,num_3"), f)
    p = plan(req("m_key"), f)
    assert frames_of(p) == list(range(0, 300, 15))
    assert p.targets[1].requested_ms == pytest.approx(15 * 3003 / 90)
    with pytest.raises(ProcessError, match="^ss"):
        plan(req("ss_10010"), f)  # D = 300 * 3003 / 90 ms = 10010 ms exactly
    assert frames_of(plan(req("ss_10009"), f)) == [299]


def test_ms_time_base_33_34_frames():
    # 30 fps stored in 1/1000: 0, 33, 67, 100, 133, 167, 200, ...
    pts = [round(k * 1000 / 30) for k in range(31)]
    f = facts(pts, end=1033)
    assert frames_of(plan(req("inter_100"), f)) == [0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30]
    assert frames_of(plan(req("ss_66,inter_0,num_2"), f)) == [1, 2]
    assert frames_of(plan(req("ss_67,num_1"), f)) == [2]
    assert ms_of(plan(req("ss_50,num_3"), f)) == [50.0, 67.0, 100.0]
    for process in ["inter_33", "inter_34", "inter_1", "ss_10,inter_33", "m_avg,num_7", "m_avg,num_1000"]:
        assert_plan_matches_oracle(req(process), f)


def test_vfr_irregular():
    pts = [0, 10, 11, 50, 51, 52, 300, 301, 1000]
    key = [True, False, False, True, False, False, False, True, False]
    f = facts(pts, key, end=1200)
    assert frames_of(plan(req("inter_50"), f)) == [0, 3, 5, 6, 7, 8]
    assert frames_of(plan(req("inter_10,num_4"), f)) == [0, 1, 2, 3]
    assert ms_of(plan(req("inter_10,num_4"), f)) == [0.0, 10.0, 20.0, 50.0]
    assert frames_of(plan(req("ss_12,inter_10,num_4"), f)) == [2, 5, 7, 8]
    assert ms_of(plan(req("ss_12,inter_10,num_4"), f)) == [12.0, 52.0, 302.0, 1002.0]
    for process in ["inter_10", "inter_1", "inter_0", "ss_51,inter_7", "m_key", "m_avg,num_5", "m_avg,num_3,sm_fast",
                    "inter_20,sm_fast", "m_dhash,inter_30,num_1", "ss_1199,inter_1"]:
        assert_plan_matches_oracle(req(process), f)
        assert_plan_matches_oracle(req(process), f, last_only=True)


# --- modes ------------------------------------------------------------------------


def test_inter_zero_every_frame_from_ss():
    f = facts(range(0, 1000, 40), end=1000)
    p = plan(req("ss_90"), f)
    assert frames_of(p) == list(range(2, 25))
    assert ms_of(p)[:2] == [90.0, 120.0]


def test_inter_num_first_n_distinct():
    f = facts(range(0, 1000, 40), end=1000)
    assert frames_of(plan(req("inter_10,num_3"), f)) == [0, 1, 2]
    assert frames_of(plan(req("inter_100,num_3"), f)) == [0, 2, 5]
    assert frames_of(plan(req("num_0,inter_100"), f)) == [0, 2, 5, 7, 10, 12, 15, 17, 20, 22]
    assert frames_of(plan(req("num_1000,inter_100"), f)) == [0, 2, 5, 7, 10, 12, 15, 17, 20, 22]


def test_inter_targets_stop_before_end():
    f = facts([0, 500], end=1000)
    assert frames_of(plan(req("inter_500"), f)) == [0, 1]
    assert frames_of(plan(req("inter_1000"), f)) == [0]
    assert frames_of(plan(req("ss_999,inter_1"), f)) == [1]


def test_key_mode():
    key = [k % 10 == 0 for k in range(50)]
    f = facts(range(0, 2000, 40), key, end=2000)
    p = plan(req("m_key"), f)
    assert frames_of(p) == [0, 10, 20, 30, 40]
    assert p.keyframes_only
    assert ms_of(p) == [0.0, 400.0, 800.0, 1200.0, 1600.0]
    assert [r.seek_frame for r in p.runs] == [0, 10, 20, 30, 40]
    assert frames_of(plan(req("m_key,ss_400"), f)) == [10, 20, 30, 40]
    assert frames_of(plan(req("m_key,ss_401,num_2"), f)) == [20, 30]
    p = plan(req("m_key,ss_1601"), f)
    assert p.targets == () and p.runs == () and p.warnings


def test_avg_mode_even_spread():
    f = facts(range(0, 10000, 40), end=10000)
    p = plan(req("m_avg,num_10"), f)
    assert ms_of(p) == [500.0 + 1000.0 * k for k in range(10)]
    assert frames_of(p) == [12 + 25 * k for k in range(10)]
    p = plan(req("m_avg,num_4,ss_2000"), f)
    assert ms_of(p) == [3000.0, 5000.0, 7000.0, 9000.0]


def test_avg_huge_n_is_fast_and_each_frame_once():
    n_frames = 20_000
    f = ntsc(n=n_frames, gop=250)
    start = time.perf_counter()
    p = plan(req(f"m_avg,num_{10**9}"), f)
    assert time.perf_counter() - start < 2.0
    assert frames_of(p) == list(range(n_frames))
    p = plan(req(f"m_avg,num_{INT_MAX},ss_1000"), f)
    assert frames_of(p) == list(range(29, n_frames)) and frames_of(p)[0] == 29
    assert p.targets[0].requested_ms == pytest.approx(1000.0, abs=1e-3)


def test_inter_one_ms_over_long_video_is_fast():
    f = facts(range(0, 3_600_000, 40), [k % 250 == 0 for k in range(90_000)], end=3_600_000)
    start = time.perf_counter()
    p = plan(req("inter_1"), f)
    assert time.perf_counter() - start < 2.0
    # every target decoded in one forward run: no keyframe skips anything
    assert len(p.targets) == 90_000 and len(p.runs) == 1
    p = plan(req("inter_1000,sm_fast"), f)
    assert frames_of(p) == list(range(0, 90_000, 250))


def test_dhash_candidates_not_limited_by_num():
    f = facts(range(0, 1000, 40), end=1000)
    p = plan(req("m_dhash,inter_100,num_2"), f)
    assert frames_of(p) == frames_of(plan(req("inter_100"), f))
    assert frames_of(plan(req("m_dhash,inter_100,num_2"), f, last_only=True)) == frames_of(p)
    assert not p.keyframes_only


def test_ss_at_or_past_end():
    f = facts([0, 40, 80], end=120)
    for ss in (120, 121, INT_MAX):
        for mode in ("inter_0", "m_key", "m_avg,num_3", "m_dhash"):
            with pytest.raises(ProcessError, match=rf"^ss: {ss}\b"):
                plan(req(f"ss_{ss},{mode}"), f)
    assert frames_of(plan(req("ss_119"), f)) == [2]


def test_sm_fast():
    key = [k % 10 == 0 for k in range(50)]
    f = facts(range(0, 2000, 40), key, end=2000)
    p = plan(req("inter_200,sm_fast"), f)
    assert p.keyframes_only
    assert frames_of(p) == [0, 10, 20, 30, 40]
    # requested time is the first target that landed on each keyframe
    assert ms_of(p) == [0.0, 400.0, 800.0, 1200.0, 1600.0]
    assert not plan(req("inter_200"), f).keyframes_only
    p = plan(req("m_avg,num_3,sm_fast"), f)
    assert frames_of(p) == [0, 20, 40] and p.keyframes_only
    p = plan(req("ss_399,inter_0,num_1,sm_fast"), f)
    assert frames_of(p) == [0]


def test_last_only():
    f = facts(range(0, 1000, 40), end=1000)
    p = plan(req("inter_100"), f, last_only=True)
    assert frames_of(p) == [22]
    assert ms_of(p) == [900.0]
    assert len(p.runs) == 1 and p.runs[0].frames == (22,)
    assert frames_of(plan(req("inter_100,num_3"), f, last_only=True)) == [5]
    assert frames_of(plan(req("m_avg,num_2"), f, last_only=True)) == [18]


def test_each_frame_once_in_every_mode():
    f = facts([0, 1, 2, 100, 101], [True, True, False, True, False], end=102)
    for process in ["inter_1", "inter_0", "m_avg,num_1000", "m_key", "inter_1,sm_fast", "m_dhash,inter_1"]:
        p = plan(req(process), f)
        assert len(frames_of(p)) == len(set(frames_of(p)))
        assert frames_of(p) == sorted(frames_of(p))


def test_huge_values_use_exact_arithmetic():
    # Time base of 1 s and a pts far beyond int64 once scaled (10**16 s * 1000 * den).
    pts = [0, 1, 10**15, 10**16]
    f = facts(pts, [True, False, True, False], end=10**16 + 1, time_base=Fraction(1, 1))
    for process in [f"ss_{INT_MAX}", f"inter_{INT_MAX}", f"ss_{INT_MAX},inter_{INT_MAX},num_{INT_MAX}",
                    f"m_avg,num_{INT_MAX}", f"m_avg,num_{INT_MAX},ss_{INT_MAX}", "m_key,ss_1001"]:
        p = plan(req(process), f)
        check_runs(p, f)
    assert frames_of(plan(req(f"ss_{INT_MAX}"), f)) == [1, 2, 3]
    assert frames_of(plan(req("m_avg,num_2"), f)) == [2]  # t = D/4, 3D/4 both in [10**15, 10**16) s
    for n, ss in [(INT_MAX, 0), (INT_MAX, INT_MAX), (3, 0), (7, 999), (10**6, 1)]:
        assert frames_of(plan(req(f"m_avg,num_{n},ss_{ss}"), f)) == avg_per_frame_oracle(n, ss, f)
    for process in [f"ss_{INT_MAX}", "m_key", "m_key,ss_1001", f"ss_{INT_MAX},m_key,num_1"]:
        assert_plan_matches_oracle(req(process), f)


def avg_per_frame_oracle(n: int, ss: int, f: StreamFacts) -> list[int]:
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


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_avg_large_n_matches_per_frame_oracle(data):
    f = data.draw(stream_facts(max_frames=12))
    D = duration_ms(f)
    assume(D > 1)
    ss = data.draw(st.integers(0, math.ceil(D) - 1))
    n = data.draw(st.integers(1, INT_MAX))
    p = plan(Request(format=ImageFormat.JPG, mode=Mode.AVG, count=n, start_ms=ss), f)
    assert frames_of(p) == avg_per_frame_oracle(n, ss, f)
    check_runs(p, f)


# --- decode runs --------------------------------------------------------------------


def test_decode_runs_basic():
    key = [k % 10 == 0 for k in range(40)]
    assert SEEK_COST_FRAMES == 4
    # 5 → 12: keyframe 10 would skip only frames 6–9 (4): decode on. 13 → 39: seek to 30.
    assert decode_runs(np.array([3, 5, 12, 13, 39]), np.array(key)) == (
        DecodeRun(0, (3, 5, 12, 13)), DecodeRun(30, (39,)),
    )
    # No keyframe after the previous target: keep decoding forward.
    assert decode_runs(np.array([3, 9]), np.array(key)) == (DecodeRun(0, (3, 9)),)
    # The target is the next frame and a keyframe: nothing to skip, keep decoding.
    assert decode_runs(np.array([9, 10]), np.array(key)) == (DecodeRun(0, (9, 10)),)
    # Skipping 4 frames (6–9) is not worth a seek, skipping 5 (5–9) is not either, 6 is.
    assert decode_runs(np.array([5, 12]), np.array(key)) == (DecodeRun(0, (5, 12)),)
    assert decode_runs(np.array([3, 12]), np.array(key)) == (DecodeRun(0, (3,)), DecodeRun(10, (12,)))
    assert decode_runs(np.array([3, 12]), np.array(key), seek_cost=0) == (DecodeRun(0, (3,)), DecodeRun(10, (12,)))
    assert decode_runs(np.array([8, 12]), np.array(key), seek_cost=0) == (DecodeRun(0, (8,)), DecodeRun(10, (12,)))
    assert decode_runs(np.array([], dtype=np.int64), np.array(key)) == ()


def test_decode_runs_no_keyframe_at_zero():
    key = [False, False, False, True, False, False, False, False, False, True, False]
    assert decode_runs(np.array([1, 4]), np.array(key)) == (DecodeRun(0, (1, 4)),)
    assert decode_runs(np.array([1, 10]), np.array(key)) == (DecodeRun(0, (1,)), DecodeRun(9, (10,)))


def test_decode_runs_refuse_descending():
    with pytest.raises(ValueError):
        decode_runs(np.array([5, 3]), np.ones(6, dtype=bool))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=60).flatmap(
    lambda key: st.tuples(st.just([True] + key), st.sets(st.integers(0, len(key)))).map(lambda t: (t[0], sorted(t[1])))
))
def test_decode_runs_match_oracle(case):
    key, frames = case
    runs = decode_runs(np.array(frames, dtype=np.int64), np.array(key))
    assert list(runs) == oracle_runs(frames, key)
    assert [fr for r in runs for fr in r.frames] == frames
    for a, b in zip(runs, runs[1:]):
        assert b.seek_frame > a.frames[-1]


# --- StreamFacts --------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(pts=[], keyframe=[], end_pts=1),
        dict(pts=[0, 0], keyframe=[True, False], end_pts=5),
        dict(pts=[0, 5, 3], keyframe=[True, False, False], end_pts=9),
        dict(pts=[0, 5], keyframe=[True], end_pts=9),
        dict(pts=[0, 5], keyframe=[True, False], end_pts=5),
        dict(pts=[0, 5], keyframe=[True, False], end_pts=9, time_base=Fraction(0)),
        dict(pts=[0, 5], keyframe=[True, False], end_pts=9, time_base=Fraction(-1, 1000)),
    ],
)
def test_stream_facts_validation(kwargs):
    kwargs.setdefault("time_base", Fraction(1, 1000))
    with pytest.raises(ValueError):
        StreamFacts(**kwargs)


def test_stream_facts_ms():
    f = facts([900000, 903003], end=906006, time_base=Fraction(1, 90000))
    assert f.frame_count == 2
    assert f.duration_ms == pytest.approx(66.733333, rel=1e-6)
    assert float(f.ms(903003)) == pytest.approx(33.366667, rel=1e-6)


def test_plan_types():
    p = plan(req("inter_100"), facts(range(0, 1000, 40), end=1000))
    assert isinstance(p, Plan) and all(isinstance(t, Target) for t in p.targets)
    assert isinstance(p.targets, tuple) and isinstance(p.runs, tuple)
    assert all(type(t.frame) is int and type(t.requested_ms) is float for t in p.targets)
    assert all(type(r.seek_frame) is int and all(type(x) is int for x in r.frames) for r in p.runs)


def test_fine_time_base_with_huge_interval():
    f = facts([0, 10**9, 10**10], end=2 * 10**10, time_base=Fraction(1, 10**10))
    assert frames_of(plan(req(f"inter_{INT_MAX}"), f)) == [0]


def test_nanosecond_time_base_with_huge_interval():
    f = facts([0, 10**8, 10**9], end=2 * 10**9, time_base=Fraction(1, 10**9))
    assert frames_of(plan(req(f"inter_{INT_MAX}"), f)) == [0]
    assert frames_of(plan(req("inter_1500"), f)) == [0, 2]
