"""An independent oracle for any media file: the FFmpeg CLI (Debian's package).

``ffprobe -show_frames`` gives the pictures the decoder gives and their times;
``ffmpeg`` decodes the same pictures to small RGB thumbnails. From those two, and
SPEC §2 computed in exact fractions, the oracle names the frame each target must
show, and tells which decoded picture an output image is. No engine code is used.

SPEC §2 as the oracle reads it:
- a frame is a picture the decoder gives, in the order it gives them;
- each frame's time is its best-effort timestamp (FFmpeg's own choice for
  broken or missing pts); timestamps that jump back are unwrapped in that order,
  the new segment starting one frame after the previous segment's last frame;
- time 0 is the first frame's time, D is the last frame's time plus its duration,
  or the stream's stated end when that is earlier and after the last frame.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
from dataclasses import dataclass, replace
from fractions import Fraction

import cv2
import numpy as np

from engine import ProcessError, snapshot
from engine.result import Result

#: Side of the square RGB thumbnails pictures are compared at: fine enough to tell
#: neighbouring frames of moving video apart, coarse enough to average away the
#: colour-conversion and filter differences between two decoders' RGB.
THUMB = 96

#: An output image is the frame the contract names when that frame is, within
#: this mean absolute difference (0–255 luma), as close as any decoded picture.
TIE_TOLERANCE = 1.0
#: ...and closer than this in absolute terms (a garbage picture is far from all).
MATCH_LIMIT = 6.0

#: RGB -> luma weights by the stream's colour matrix (what the engine converted with).
_LUMA_WEIGHTS = {"bt709": (0.2126, 0.7152, 0.0722), "bt2020nc": (0.2627, 0.6780, 0.0593),
                 "bt2020c": (0.2627, 0.6780, 0.0593)}
_BT601 = (0.299, 0.587, 0.114)
#: Side a 64² crop is compared at, and the tie tolerance there: two scalers'
#: crops of one picture differ more than neighbouring pictures' whole frames.
CROP_COMPARE = 16
CROP_TIE_TOLERANCE = 1.5
#: Containers whose stream durations FFmpeg estimates rather than reads.
_ESTIMATED_DURATION = frozenset({"mpegts", "mpeg", "mpegvideo", "h264", "hevc", "m4v", "h263", "avi"})


def available() -> bool:
    return shutil.which("ffprobe") is not None and shutil.which("ffmpeg") is not None


@dataclass(frozen=True)
class Picture:
    seconds: Fraction
    """From time 0 (the first picture), on the unwrapped timeline."""
    keyframe: bool


@dataclass(frozen=True)
class Timeline:
    pictures: tuple[Picture, ...]
    end: Fraction
    """D, from time 0."""
    thumbs: np.ndarray
    """(N, side, side) float32: every picture's luma samples, displayed (rotation
    applied), as decoded: comparing luma, not RGB, keeps two decoders' colour
    conversions out of the comparison."""
    weights: tuple[float, float, float]
    full_range: bool
    tie: float = TIE_TOLERANCE

    def at(self, seconds: Fraction) -> int:
        """Index of the frame shown at ``seconds``: the last with time ≤ it."""
        shown = [i for i, p in enumerate(self.pictures) if p.seconds <= seconds]
        return shown[-1] if shown else 0

    @property
    def frame_step(self) -> Fraction:
        """The typical time between pictures."""
        times = [p.seconds for p in self.pictures]
        return Fraction(sorted(b - a for a, b in zip(times, times[1:]))[len(times) // 2 - 1]) if len(times) > 1 else self.end

    def expected(self, process: dict[str, int | str], end: Fraction | None = None) -> list[int]:
        """Picture indices a request names, in time order, each once (SPEC §2);
        ``end`` replaces D."""
        if end is not None:
            return replace(self, end=end).expected(process)
        ss = Fraction(int(process.get("ss", 0)), 1000)
        mode = process.get("m", "inter")
        num = int(process.get("num", 0))
        hits: list[int] = []
        if mode == "key":
            hits = [i for i, p in enumerate(self.pictures) if p.keyframe and p.seconds >= ss]
        elif mode == "avg":
            for k in range(num):
                hits.append(self.at(ss + (k + Fraction(1, 2)) * (self.end - ss) / num))
        else:
            step = Fraction(int(process.get("inter", 0)), 1000)
            if step == 0:
                first = self.at(ss)
                hits = list(range(first, len(self.pictures)))
            else:
                k = 0
                while ss + k * step < self.end:
                    hits.append(self.at(ss + k * step))
                    k += 1
        once: list[int] = []
        for index in hits:
            if index not in once:
                once.append(index)
        return once[:num] if num and mode != "avg" else once

    def luma(self, image_rgb: np.ndarray) -> np.ndarray:
        """An output image's luma samples, as the decoder had them."""
        kr, kg, kb = self.weights
        rgb = image_rgb.astype(np.float32)
        y = kr * rgb[..., 0] + kg * rgb[..., 1] + kb * rgb[..., 2]
        return y if self.full_range else 16 + y * (219 / 255)

    def identify(self, image_rgb: np.ndarray) -> tuple[int, np.ndarray]:
        """(closest picture, distances to every picture) for an output image."""
        side = self.thumbs.shape[1]
        luma = self.luma(image_rgb)
        if luma.shape != (side, side):
            luma = cv2.resize(luma, (side, side), interpolation=cv2.INTER_AREA)
        distances = np.abs(self.thumbs - luma[None]).mean(axis=(1, 2))
        return int(np.argmin(distances)), distances

    def shows(self, image_rgb: np.ndarray, expected: int) -> bool:
        """Whether an output image is picture ``expected`` (or one no different)."""
        best, distances = self.identify(image_rgb)
        return bool(distances[expected] <= distances[best] + self.tie and distances[expected] < MATCH_LIMIT)


def _run(args: list[str]) -> bytes:
    return subprocess.run(args, check=True, capture_output=True, timeout=300).stdout


def _stream(path: str, position: int) -> dict:
    out = _run(["ffprobe", "-v", "error", "-select_streams", f"v:{position}", "-show_entries",
                "stream=time_base,start_pts,duration_ts,width,height,color_space,color_range,pix_fmt",
                "-of", "json", path])
    return json.loads(out)["streams"][0]


def _durations(path: str, position: int) -> dict[int, int]:
    """Frame durations by best-effort timestamp, as ffprobe reports them."""
    out = _run(["ffprobe", "-v", "error", "-select_streams", f"v:{position}", "-show_entries",
                "frame=best_effort_timestamp,duration,pkt_duration", "-of", "json", path])
    found = {}
    for frame in json.loads(out).get("frames", []):
        stamp = frame.get("best_effort_timestamp")
        duration = frame.get("duration") or frame.get("pkt_duration")
        if stamp is not None and duration:
            found[int(stamp)] = int(duration)
    return found


_SHOWINFO = re.compile(r"n:\s*(\d+)\s+pts:\s*(-?\d+|NOPTS).*?iskey:(\d)")


@functools.cache
def timeline(path: str, position: int = 0, crop: int | None = None) -> Timeline:
    """The pictures of video stream ``position`` as the FFmpeg CLI decodes them; with
    ``crop``, thumbnails are the centre ``crop``² square after a cover scale
    (scaletype_crop) instead of the whole picture."""
    stream = _stream(path, position)
    container = json.loads(_run(["ffprobe", "-v", "error", "-show_entries", "format=format_name", "-of", "json", path]))
    estimated = bool(set(container["format"]["format_name"].split(",")) & _ESTIMATED_DURATION)
    time_base = Fraction(stream["time_base"])
    full_range = stream.get("color_range") == "pc" or str(stream.get("pix_fmt", "")).startswith("yuvj")
    if crop:
        scale = f"scale={crop}:{crop}:force_original_aspect_ratio=increase:flags=area,crop={crop}:{crop}"
        side = crop
    else:
        scale = f"scale={THUMB}:{THUMB}:flags=area"
        side = THUMB
    result = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "info", "-i", path, "-map", f"0:v:{position}", "-fps_mode", "passthrough",
         "-vf", f"{scale},showinfo", "-pix_fmt", "yuvj444p" if full_range else "yuv444p", "-f", "rawvideo", "-"],
        check=True, capture_output=True, timeout=300,
    )
    planes = np.frombuffer(result.stdout, np.uint8).reshape(-1, 3, side, side)
    thumbs = planes[:, 0].astype(np.float32)
    if crop:
        # Two scalers place a small crop up to a pixel apart: compare coarser.
        thumbs = np.stack([cv2.resize(t, (CROP_COMPARE, CROP_COMPARE), interpolation=cv2.INTER_AREA) for t in thumbs])
    rows = _SHOWINFO.findall(result.stderr.decode("utf-8", "replace"))
    assert len(rows) == thumbs.shape[0], f"{path}: {len(rows)} showinfo lines, {thumbs.shape[0]} pictures"
    assert rows, f"{path}: ffmpeg gives no pictures"
    durations = _durations(path, position)
    raw = [None if r[1] == "NOPTS" else int(r[1]) for r in rows]
    known = [r for r in raw if r is not None]
    step = int(np.median(np.diff(known))) if len(known) > 1 else max(1, round(Fraction(1, 25) / time_base))
    stamps: list[int] = []
    offset = 0
    for value in raw:
        if value is None:
            stamp = stamps[-1] + step if stamps else 0
        else:
            stamp = value + offset
            if stamps and stamp <= stamps[-1]:
                # A jump back (concatenated segments, wrap): continue one frame on.
                offset += stamps[-1] + step - stamp
                stamp = stamps[-1] + step
        stamps.append(stamp)
    last_raw = raw[-1]
    last_duration = durations.get(last_raw, 0) if last_raw is not None and offset == 0 else 0
    end = stamps[-1] + (last_duration or step)
    stated = None if estimated else _stated_end(stream)
    if stated is not None and offset == 0 and stamps[-1] < stated < end:
        end = stated
    first = stamps[0]
    pictures = tuple(Picture((s - first) * time_base, r[2] == "1") for s, r in zip(stamps, rows))
    weights = _LUMA_WEIGHTS.get(stream.get("color_space", ""), _BT601)
    tie = CROP_TIE_TOLERANCE if crop else TIE_TOLERANCE
    return Timeline(pictures, (end - first) * time_base, thumbs, weights, full_range, tie)


def _stated_end(stream: dict) -> int | None:
    start, duration = stream.get("start_pts"), stream.get("duration_ts")
    if start is None or duration is None:
        return None
    return int(start) + int(duration)


#: The five cases every file is tried with (the ones the corpus was first tried with).
CASES = {
    "inter": "video/snapshots,f_png,inter_1000",
    "odd": "video/snapshots,f_png,ss_333,inter_777",
    "key": "video/snapshots,f_png,m_key",
    "avg": "video/snapshots,f_png,m_avg,num_7",
    "crop": "video/snapshots,f_png,w_64,h_64,scaletype_crop,inter_1500",
}
#: The result's times are float ms: exact to well within this.
MS_ROUNDING = Fraction(1, 10**6)


def leading_warning(warnings: tuple[str, ...]) -> int:
    """How many snapshots the engine said show pictures before the first keyframe."""
    for warning in warnings:
        found = re.match(r"(\d+) snapshot\(s\) show pictures from before the stream's first keyframe", warning)
        if found:
            return int(found.group(1))
    return 0


def _read_rgb(path: str) -> np.ndarray:
    bgr = cv2.imread(path, cv2.IMREAD_COLOR)
    assert bgr is not None, f"{path}: not a readable image"
    return np.ascontiguousarray(bgr[:, :, ::-1])


def check_job(path: str, process: str, target: str) -> Result | None:
    """Run a job and check every image is the picture SPEC §2 names, by the oracle.

    A start at or past D must be refused (None is returned then). D rests on the
    last picture's duration, which FFmpeg versions report differently (Debian's CLI
    is older than the engine's libraries): it must agree within one frame, and
    where they differ the engine's D names the targets. Pictures shown before the
    first keyframe of a stream cut mid-GOP reference pictures the file lacks, and
    each decoder conceals them its own way: the engine must say so in a warning,
    and those are not compared.
    """
    fields = dict(token.split("_", 1) for token in process.split(",")[1:])
    crop = 64 if "scaletype_crop" in process else None
    try:
        result = snapshot(path, process, target)
    except ProcessError as error:
        timeline_ = timeline(path, 0, crop)
        start = int(fields.get("ss", 0))
        assert start >= timeline_.end * 1000, f"refused a start before D ({float(timeline_.end) * 1000:.1f} ms): {error}"
        return None
    found_timeline = timeline(path, result.stream, crop)
    engine_end = Fraction(str(result.duration_ms)) / 1000
    difference = abs(engine_end - found_timeline.end)
    assert difference <= found_timeline.frame_step * Fraction(21, 20) + MS_ROUNDING, (
        f"D {result.duration_ms} ms, the oracle's {float(found_timeline.end) * 1000:.3f} ms")
    expected = found_timeline.expected(fields, end=None if difference <= MS_ROUNDING else engine_end)
    shown = [_read_rgb(s.path) for s in result.snapshots]
    found = [found_timeline.identify(image)[0] for image in shown]
    assert len(shown) == len(expected), f"wrote pictures {found}, the contract names {expected}"
    unvouched = leading_warning(result.warnings)
    first_key = next((i for i, p in enumerate(found_timeline.pictures) if p.keyframe), 0)
    assert all(e < first_key for e in expected[:unvouched]), (unvouched, expected, first_key)
    wrong = [(i, want, got) for i, (want, got, image) in enumerate(zip(expected, found, shown))
             if i >= unvouched and not found_timeline.shows(image, want)]
    assert not wrong, f"(serial-1, named, shown): {wrong}; D {float(found_timeline.end):.4f} s vs {result.duration_ms} ms"
    assert [s.serial for s in result.snapshots] == list(range(1, len(expected) + 1))
    return result
