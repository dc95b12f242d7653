"""Catalog of the committed sample media (facts checked by tests/test_sample_media.py).

Frame timestamps are deliberately not listed: derive them by decoding.

Conventions
-----------
* Every video frame shows its presentation-order index (0-based) as a
  barcode; read it with ``sample_media.barcode.read_barcode(rgb)``.
* ``rotation`` is the display rotation in degrees counter-clockwise as set
  with ``stream.set_display_rotation(rotation)``.  PyAV reads it back as
  ``frame.rotation`` normalised to (-180, 180]: 90 -> 90, 180 -> -180,
  270 -> -90 (compare ``frame.rotation % 360``).  The displayed image is
  ``np.rot90(coded, k=rotation // 90)`` (what ffmpeg's autorotate shows).
* ``width``/``height`` are the coded size; ``display_width``/``display_height``
  the size after applying the rotation.
* ``first_pts_seconds`` is the pts of the first decoded frame (= stream
  ``start_time``), in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

SAMPLE_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class SampleFile:
    name: str
    media_type: str  # "video" or "audio"
    container: str  # PyAV container format name (first of the comma list)
    codec: str  # codec of the main stream (PyAV decoder name family)
    width: int | None = None  # coded size (video only)
    height: int | None = None
    rotation: int = 0  # CCW degrees, 0/90/180/270
    fps: Fraction | None = None  # nominal frame rate (None for VFR / audio)
    num_frames: int | None = None  # decoded video frames
    keyframe_interval: int | None = None  # frames between keyframes (fixed GOP)
    has_b_frames: bool = False
    time_base: Fraction | None = None  # stream time base when read back
    first_pts_seconds: float = 0.0
    duration_seconds: float | None = None  # approximate
    box_fraction: float = 0.4  # barcode box side / min(W, H)
    cover_index: int | None = None  # barcode index of the attached picture
    cover_codec: str | None = None
    cover_size: tuple[int, int] | None = None
    notes: str = ""
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def path(self) -> Path:
        return SAMPLE_DIR / self.name

    @property
    def display_width(self) -> int | None:
        return self.height if self.rotation in (90, 270) else self.width

    @property
    def display_height(self) -> int | None:
        return self.width if self.rotation in (90, 270) else self.height

    @property
    def is_video(self) -> bool:
        return self.media_type == "video"


def _rotated(deg: int) -> SampleFile:
    return SampleFile(
        name=f"rotated_{deg}.mp4", media_type="video", container="mov", codec="h264",
        width=320, height=180, rotation=deg, fps=Fraction(30), num_frames=30,
        keyframe_interval=30, has_b_frames=True, time_base=Fraction(1, 15360),
        duration_seconds=1.0,
        notes=f"phone-style display matrix ({deg} deg CCW); barcode drawn in the coded frame",
    )


_ALL = [
    SampleFile(
        name="h264_bframes.mp4", media_type="video", container="mov", codec="h264",
        width=384, height=216, fps=Fraction(30000, 1001), num_frames=900,
        keyframe_interval=60, has_b_frames=True, time_base=Fraction(1, 30000),
        duration_seconds=30.03,
        notes="main sample; pts = 1001*i; closed GOPs, 2 B-frames, keyframes at multiples of 60",
    ),
    SampleFile(
        name="hevc.mp4", media_type="video", container="mov", codec="hevc",
        width=320, height=240, fps=Fraction(25), num_frames=100, keyframe_interval=25,
        has_b_frames=True, time_base=Fraction(1, 12800), duration_seconds=4.0,
        notes="libx265, 3 B-frames, closed GOP",
    ),
    SampleFile(
        name="vp9_odd.webm", media_type="video", container="matroska", codec="vp9",
        width=321, height=241, fps=Fraction(24), num_frames=72, keyframe_interval=48,
        time_base=Fraction(1, 1000), duration_seconds=3.0,
        notes="odd dimensions; WebM ms timestamps are rounded (diffs 41/42 ms)",
    ),
    SampleFile(
        name="ts_offset.ts", media_type="video", container="mpegts", codec="h264",
        width=320, height=180, fps=Fraction(25), num_frames=75, keyframe_interval=25,
        has_b_frames=True, time_base=Fraction(1, 90000), first_pts_seconds=10.0,
        duration_seconds=3.0,
        notes="first pts = 900000/90000 = 10 s (first dts 9.92 s); barcode index still starts at 0",
    ),
    SampleFile(
        name="vfr.mkv", media_type="video", container="matroska", codec="h264",
        width=320, height=180, fps=None, num_frames=44, keyframe_interval=30,
        has_b_frames=True, time_base=Fraction(1, 1000), duration_seconds=3.06,
        notes="variable frame rate: durations cycle 33,33,100,17,250,40,33,67,20,120 ms "
              "(see generate.VFR_DURATIONS_MS / vfr_pts_ms); Matroska packets have no dts for "
              "the first B-frames",
    ),
    _rotated(90),
    _rotated(180),
    _rotated(270),
    SampleFile(
        name="scenes.mp4", media_type="video", container="mov", codec="h264",
        width=320, height=180, fps=Fraction(10), num_frames=120, keyframe_interval=50,
        has_b_frames=True, time_base=Fraction(1, 10240), duration_seconds=12.0,
        box_fraction=0.25,
        notes="scene patterns 1,4,2,7,3,9,5 with lengths 15,22,9,30,17,14,13 frames; "
              "cuts at frames 15,37,46,76,93,107 (generate.scene_cut_frames()); "
              "keyframes at 0,50,100 (no encoder scenecut)",
        extra={"cuts": (15, 37, 46, 76, 93, 107), "scenes": (1, 4, 2, 7, 3, 9, 5)},
    ),
    SampleFile(
        name="two_streams.mkv", media_type="video", container="matroska", codec="h264",
        width=160, height=90, fps=Fraction(10), num_frames=30, keyframe_interval=10,
        time_base=Fraction(1, 1000), duration_seconds=3.0,
        notes="two video streams: #0 160x90 10 fps (index i, FFmpeg's best), "
              "#1 320x180 5 fps (index 2000 + i)",
        extra={"second_stream_offset": 2000},
    ),
    SampleFile(
        name="video_with_cover.mp4", media_type="video", container="mov", codec="h264",
        width=320, height=180, fps=Fraction(10), num_frames=20, keyframe_interval=10,
        has_b_frames=True, time_base=Fraction(1, 10240), duration_seconds=2.0,
        cover_index=777, cover_codec="mjpeg", cover_size=(300, 300),
        notes="real video (stream 0) plus an attached cover picture (stream 1, barcode 777)",
    ),
    SampleFile(
        name="cover.flac", media_type="audio", container="flac", codec="flac",
        duration_seconds=1.0, cover_index=777, cover_codec="png", cover_size=(300, 300),
        notes="1 s 440 Hz tone 44.1 kHz mono; PNG attached_pic stream (index 1)",
    ),
    SampleFile(
        name="cover.mp3", media_type="audio", container="mp3", codec="mp3",
        duration_seconds=1.0, cover_index=777, cover_codec="mjpeg", cover_size=(300, 300),
        notes="1 s 440 Hz tone; JPEG attached_pic (ID3v2 APIC), stream index 1; "
              "start_time ~0.025 s (encoder delay)",
    ),
    SampleFile(
        name="no_cover.mp3", media_type="audio", container="mp3", codec="mp3",
        duration_seconds=1.0, notes="1 s 440 Hz tone, no picture",
    ),
]

SAMPLES: dict[str, SampleFile] = {s.name: s for s in _ALL}
VIDEO_SAMPLES: dict[str, SampleFile] = {k: v for k, v in SAMPLES.items() if v.is_video}
AUDIO_SAMPLES: dict[str, SampleFile] = {k: v for k, v in SAMPLES.items() if not v.is_video}
