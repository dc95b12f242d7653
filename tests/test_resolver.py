"""The resolver's rule (engine.resolver): which picture answers each target time,
decided from packet times in decode order, before any packet is decoded."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from engine.planner import Clock, Every, Listed, PictureTimeline, Spaced, StreamFacts
from engine.resolver import Decision, RunResolver, timeline_hits

MS = Fraction(1, 1000)


def facts(last=900, end=1000, first_key=0, mid_gop=False):
    return StreamFacts(time_base=MS, start_pts=0, last_pts=last, end_pts=end, frame_ticks=100,
                       seek_points=np.array([0]), first_keyframe_pts=first_key, starts_mid_gop=mid_gop)


CLOCK = Clock(MS, 0)


def ms(*values):
    return Listed(CLOCK, tuple(CLOCK.of_ms(v) for v in values))


def test_a_decision_waits_for_a_later_decode_time():
    # I0 P300 B100 B200 in decode order (dts 0, 100, 200, 300 … at most each pts).
    resolver = RunResolver(ms(150), facts())
    assert resolver.add(0, -100, True) == []
    assert resolver.add(300, 0, False) == []
    # Decode time 100: nothing still to come is shown before 100, so the picture at
    # 0 is followed by the one at 100 (it answers no target).
    assert resolver.add(100, 100, False) == [Decision(0, None, True)]
    assert resolver.pending(100) and resolver.pending(300)
    # The frame at 150 ms is the B-frame at 100, unless a picture between 100 and 150
    # is still to come: the next decode time (200) says none is.
    assert resolver.add(200, 200, False) == [Decision(100, CLOCK.of_ms(150), False)]
    assert resolver.done  # no target after 150 ms


def test_packets_with_no_decode_time_say_nothing_of_those_to_come():
    resolver = RunResolver(ms(50), facts())
    assert resolver.add(0, None, True) == []
    assert resolver.add(166, None, False) == []  # a pts is no bound: a packet at 33 may follow
    assert resolver.add(33, 0, False) == []
    assert resolver.add(66, 33, False) == [Decision(0, None, True)]
    # A packet decoded at 66: nothing still to come is shown before 66.
    assert resolver.add(473, 66, False) == [Decision(33, CLOCK.of_ms(50), False)]


def test_finish_decides_the_rest_against_the_end():
    resolver = RunResolver(ms(950), facts())
    for pts in (0, 300, 600, 900):
        resolver.add(pts, pts, pts == 0)
    decided = resolver.finish()
    assert decided[-1] == Decision(900, CLOCK.of_ms(950), False)


def test_packets_outside_the_pictures_are_not_frames():
    resolver = RunResolver(ms(0, 950), facts(last=800))
    decided = []
    for pts in (-100, 0, 400, 800, 900):
        decided += resolver.add(pts, pts, pts == -100)
    decided += resolver.finish()
    assert [d.pts for d in decided if d.time is not None] == [0, 800]


def test_a_run_answers_only_its_window():
    times = Spaced(CLOCK, 0, CLOCK.of_ms(250), CLOCK.of_ms(1000))
    resolver = RunResolver(times, facts(), low=CLOCK.of_ms(500), high=CLOCK.of_ms(750))
    decided = []
    for pts in range(0, 1000, 100):
        decided += resolver.add(pts, pts, pts == 0)
        if resolver.done:
            break
    assert [(d.pts, d.time) for d in decided if d.time is not None] == [(500, CLOCK.of_ms(500))]
    assert resolver.done


def test_keyframes_only_and_the_first_keyframe_covers_what_comes_before():
    times = ms(10, 120, 450)
    resolver = RunResolver(times, facts(first_key=100, mid_gop=True), keyframes_only=True, first_key_covers=True)
    decided = []
    for pts, key in ((0, False), (100, True), (200, False), (400, True), (500, False)):
        decided += resolver.add(pts, pts, key)
    decided += resolver.finish()
    assert [(d.pts, d.time) for d in decided if d.time is not None] == [(100, CLOCK.of_ms(10)), (400, CLOCK.of_ms(450))]


def test_close_before_decides_a_keyframe_at_once():
    resolver = RunResolver(Every(CLOCK, 0, CLOCK.of_ms(1000), from_first=True), facts(), keyframes_only=True,
                           low=CLOCK.of_ms(0), high=CLOCK.of_ms(500))
    resolver.close_before(CLOCK.of_ms(500))
    assert resolver.add(0, -200, True) == [Decision(0, 0, True)]
    assert resolver.done


def test_timeline_hits_by_position():
    timeline = PictureTimeline(np.array([0, 40, 80, 120]), np.array([True, False, True, False]))
    f = StreamFacts(time_base=MS, start_pts=0, last_pts=120, end_pts=160, frame_ticks=40,
                    seek_points=np.zeros(0, dtype=np.int64), timeline=timeline)
    assert [(d.pts, d.time) for d in timeline_hits(ms(50, 60, 130), timeline, f)] == [
        (1, CLOCK.of_ms(50)), (3, CLOCK.of_ms(130))]
    assert [d.pts for d in timeline_hits(ms(50, 130), timeline, f, keyframes_only=True)] == [0, 2]
