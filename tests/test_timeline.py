"""engine.timeline: timing pictures in the order the decoder gives them (pure parts)."""

from __future__ import annotations

import numpy as np

from engine.timeline import leading_frames, picture_times


def test_picture_times_unwrap_segments_and_ignore_a_stray_last_time():
    segments = picture_times([(0, 0, 1), (1, 1, 1), (0, 0, 1), (1, 1, 1)], 1)
    assert segments.stamps == [0, 1, 2, 3] and segments.jumps == 1
    stray = picture_times([(0, 0, 1), (1, 1, 1), (2, 2, 1), (2, None, 1)], 1)
    assert stray.stamps == [0, 1, 2, 3] and stray.jumps == 0
    packed = picture_times([(1, 1, 1), (2, 2, 1), (4, 3, 1), (3, 4, 1), (5, 5, 1), (6, None, 1)], 1)
    assert packed.stamps == [1, 2, 3, 4, 5, 6]  # decode times: the pts were reordered


def test_best_effort_times_follow_ffmpeg_when_pts_are_reordered_once():
    """VC-1 in MP4 (broken ctts): FFmpeg's per-picture guess switches to decode times
    after pts first go back; a stray repeat at the end stays one frame later."""
    raw = [(0, 42, 42), (84, 84, 42), (42, 125, 42), (167, 167, 42), (125, 209, 42), (209, None, 42)]
    times = picture_times(raw, 42)
    assert times.stamps == [0, 84, 125, 167, 209, 251] and times.jumps == 0


def test_leading_frames_only_when_the_stream_starts_mid_gop():
    keys = np.array([False, False, True, False, True])
    assert leading_frames(keys, starts_on_keyframe=False) == 2
    assert leading_frames(keys, starts_on_keyframe=True) == 0
    assert leading_frames(np.zeros(3, dtype=bool), starts_on_keyframe=False) == 0
