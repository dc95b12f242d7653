"""What a stretch of packets says (engine.packet_timeline.read_times), on packets
made by hand."""

from __future__ import annotations

from fractions import Fraction
from typing import NamedTuple

from engine.packet_timeline import OUTSIZED_DURATION, NoTimeline, PacketTimes, read_times


class Packet(NamedTuple):
    pts: int | None
    dts: int | None
    is_keyframe: bool = False
    size: int = 100
    is_discard: bool = False
    is_corrupt: bool = False
    duration: int = 10
    pos: int | None = None


class Stream(NamedTuple):
    time_base: Fraction = Fraction(1, 1000)
    average_rate: Fraction = Fraction(100)
    base_rate: Fraction = Fraction(100)
    guessed_rate: Fraction = Fraction(100)


def test_times_sorted_with_their_decode_times_and_flags():
    got = read_times([Packet(0, -20, True), Packet(30, -10), Packet(10, 0), Packet(20, 10)], Stream(), set())
    assert isinstance(got, PacketTimes)
    assert got.pts.tolist() == [0, 10, 20, 30] and got.keyframe.tolist() == [True, False, False, False]
    assert got.dts.tolist() == [-20, 0, 10, -10] and got.typical == 10 and got.last_duration == 10
    assert got.starts_on_keyframe and not got.doubtful_end and got.read == 4


def test_discarded_empty_and_timeless_packets_are_not_frames():
    got = read_times([Packet(-10, -10, True, is_discard=True), Packet(0, 0, True), Packet(None, None),
                      Packet(10, 10, size=0)], Stream(), set())
    assert got.pts.tolist() == [0] and got.read == 3


def test_reasons_the_packets_cannot_be_the_timeline():
    assert read_times([Packet(0, 0, True), Packet(10, -5)], Stream(), set()) == NoTimeline(
        "decode times jump back (concatenated segments or a wrap)", 2)
    assert read_times([Packet(0, 0, True), Packet(0, 1)], Stream(), set()).reason == \
        "several packets share a presentation time"
    assert read_times([Packet(None, None, True)], Stream(), set()).reason == "no packet carries a time"


def test_a_doubtful_end():
    clean = [Packet(t, t, t == 0) for t in range(0, 200, 10)]
    assert not read_times(clean, Stream(), set()).doubtful_end
    corrupt = clean[:-1] + [Packet(190, 190, is_corrupt=True)]
    assert read_times(corrupt, Stream(), set()).doubtful_end
    outsized = clean[:-1] + [Packet(190, 190, duration=10 * (OUTSIZED_DURATION + 1))]
    assert read_times(outsized, Stream(), set()).doubtful_end
