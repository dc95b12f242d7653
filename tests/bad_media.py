"""A corpus of hostile and odd inputs, generated (never downloaded) and deterministic.

``build_corpus(folder)`` writes every item into ``folder`` and returns
``{name: path}``. Videos carry barcoded frames (``sample_media.barcode``) so the
tests can check each output image against the frame the contract names.

``plain_decode(path)`` is the independent truth for damaged files: a plain PyAV
demux loop (frame times and D, what the packets say) and a plain decode loop
(which frames really decode, one decoder thread, and the barcode each shows), no
seeking, no engine code; both stop at the first error the demuxer raises, skip packets the decoder
refuses and ignore frames the decoder marks corrupt.
"""

from __future__ import annotations

import functools
import os
import random
import shutil
import struct
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from sample_media.barcode import frame_image, read_barcode
from sample_media.generate import encode_video

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "sample_media"

#: The clip most damaged items are cut from: 3 s at 25 fps, H.264 with B-frames.
FPS = 25
FRAMES = 75
W, H = 320, 180
REAL_MS = 3000
LIED_SECONDS = 60

_X264 = {
    "crf": "18",
    "preset": "veryfast",
    "x264-params": "keyint=25:min-keyint=25:scenecut=0:bframes=2:b-adapt=0:open-gop=0:mbtree=0:threads=1:log-level=error",
}


@functools.lru_cache(maxsize=None)
def _frame(index: int, width: int, height: int, box_fraction: float) -> np.ndarray:
    # The same 75 frames feed four containers: draw them once.
    return frame_image(index, width, height, box_fraction=box_fraction)


def _clip(path: Path, *, frames: int = FRAMES, width: int = W, height: int = H, container_options: dict | None = None,
          container_format: str | None = None, options: dict | None = None, box_fraction: float = 0.4,
          pix_fmt: str = "yuv420p", gop: int = 25, bframes: int = 2, upscale: int = 1) -> Path:
    def make(i: int) -> np.ndarray:
        # A big frame is a small one blown up (nearest neighbour): same barcode, and
        # drawing 4K frames directly costs seconds.
        small = _frame(i, width // upscale, height // upscale, box_fraction)
        return np.ascontiguousarray(small.repeat(upscale, axis=0).repeat(upscale, axis=1)) if upscale > 1 else small

    encode_video(
        path, codec="libx264", width=width, height=height, rate=FPS, time_base=Fraction(1, FPS), pts=range(frames),
        make_frame=make,
        options=options or _X264, gop=gop, bframes=bframes, container_options=container_options,
        container_format=container_format, pix_fmt=pix_fmt,
    )
    return path


# --- MP4 box surgery -------------------------------------------------------------


def boxes(data: bytes, start: int = 0, end: int | None = None) -> list[tuple[bytes, int, int]]:
    """(type, offset, size) of the ISO-BMFF boxes in data[start:end] (one level)."""
    end = len(data) if end is None else end
    found = []
    at = start
    while at + 8 <= end:
        size, kind = struct.unpack(">I4s", data[at : at + 8])
        header = 8
        if size == 1:
            size = struct.unpack(">Q", data[at + 8 : at + 16])[0]
            header = 16
        elif size == 0:
            size = end - at
        if size < header:
            break
        found.append((kind, at, size))
        at += size
    return found


def over_report_mkv(src: bytes, seconds: int) -> bytes:
    """The Matroska file with its Segment Info Duration element (ID 0x4489, a float
    in TimecodeScale units, ms by default) claiming ``seconds``; nothing else changes."""
    data = bytearray(src)
    at = data.find(b"\x44\x89\x88")  # Duration, size 8: a float64
    assert at > 0, "no 8-byte Duration element"
    (claimed,) = struct.unpack(">d", data[at + 3 : at + 11])
    assert claimed == REAL_MS, claimed
    struct.pack_into(">d", data, at + 3, seconds * 1000.0)
    return bytes(data)


def cut_moov(src: bytes) -> bytes:
    """The MP4 without its moov box (ftyp + mdat left: the index is gone)."""
    (moov,) = [(at, size) for kind, at, size in boxes(src) if kind == b"moov"]
    at, size = moov
    return src[:at] + src[at + size :]


def moov_first(src: bytes) -> bool:
    order = [kind for kind, _, _ in boxes(src)]
    return order.index(b"moov") < order.index(b"mdat")


# --- MPEG-TS packet damage ----------------------------------------------------------

TS = 188


def corrupt_ts_payloads(src: bytes, *, seed: int, fraction: tuple[float, float] = (0.4, 0.6), hits: int = 6) -> bytes:
    """Overwrite the payload of a few TS packets of the video PID in the middle of the
    file with seeded random bytes. TS headers, adaptation fields, PES headers (packets
    starting a unit) and PSI tables stay intact: the container structure is kept, the
    codec data is damaged."""
    data = bytearray(src)
    assert len(data) % TS == 0 and all(data[i] == 0x47 for i in range(0, len(data), TS))
    pids: dict[int, int] = {}
    for i in range(0, len(data), TS):
        pid = ((data[i + 1] & 0x1F) << 8) | data[i + 2]
        pids[pid] = pids.get(pid, 0) + 1
    video_pid = max((p for p in pids if p not in (0, 0x1FFF) and p != 0x1000 and p > 0x20), key=pids.get)
    candidates = []
    for i in range(0, len(data), TS):
        pid = ((data[i + 1] & 0x1F) << 8) | data[i + 2]
        pusi = data[i + 1] & 0x40
        adaptation = (data[i + 3] >> 4) & 0x3
        if pid == video_pid and not pusi and adaptation == 1 and fraction[0] * len(data) <= i <= fraction[1] * len(data):
            candidates.append(i)
    rng = random.Random(seed)
    chosen = sorted(rng.sample(candidates, min(hits, len(candidates))))
    for i in chosen:
        data[i + 4 : i + TS] = bytes(rng.randrange(256) for _ in range(TS - 4))
    return bytes(data)


# --- the corpus ---------------------------------------------------------------------


@dataclass(frozen=True)
class Decoded:
    """What a plain PyAV loop makes of a file (times in exact seconds from time 0)."""

    packet_times: tuple[Fraction, ...]
    """Every demuxed frame's time, sorted (what the engine plans on)."""
    end: Fraction
    """D (SPEC §2): end of the last frame that decodes (its pts + duration)."""
    packets_end: Fraction
    """End of the last demuxed packet (what the header-free scan alone would say)."""
    frames: tuple[tuple[Fraction, int | None], ...]
    """(time, barcode) of every frame that decodes, in presentation order."""
    demux_failed: bool
    decode_failures: int

    def shown_at(self, ms: Fraction | float) -> int | None:
        """Barcode of the last decodable frame with time ≤ ms (None: none)."""
        t = Fraction(ms) / 1000
        shown = [index for when, index in self.frames if when <= t]
        return shown[-1] if shown else None


def plain_decode(path: str | os.PathLike[str]) -> Decoded:
    stamps: list[tuple[int, int]] = []
    demux_failed = False
    with av.open(os.fspath(path)) as container:
        stream = container.streams.video[0]
        time_base = Fraction(stream.time_base)
        try:
            for packet in container.demux(stream):
                stamp = packet.pts if packet.pts is not None else packet.dts
                if stamp is None or packet.size == 0 or packet.is_discard:
                    continue
                stamps.append((stamp, packet.duration or 0))
        except av.error.FFmpegError:
            demux_failed = True
    stamps.sort()
    first = stamps[0][0]
    last, last_duration = stamps[-1]
    if not last_duration:
        last_duration = stamps[-1][0] - stamps[-2][0]
    frames: list[tuple[int, int | None]] = []
    durations: dict[int, int] = {}
    failures = 0
    with av.open(os.fspath(path)) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_count = 1  # one thread: no frame-threading effects
        try:
            for packet in container.demux(stream):
                try:
                    decoded = packet.decode()
                except av.error.FFmpegError:
                    failures += 1
                    continue
                for frame in decoded:
                    if frame.is_corrupt:
                        failures += 1
                        continue
                    frames.append((frame.pts, read_barcode(frame.to_ndarray(format="rgb24"))))
                    durations[frame.pts] = frame.duration or 0
        except av.error.FFmpegError:
            failures += 1
    frames.sort(key=lambda f: f[0])
    last_picture = frames[-1][0] if frames else last
    picture_duration = durations.get(last_picture) or last_duration
    return Decoded(
        packet_times=tuple((s - first) * time_base for s, _ in stamps),
        end=(last_picture + picture_duration - first) * time_base,
        packets_end=(last + last_duration - first) * time_base,
        frames=tuple(((p - first) * time_base, index) for p, index in frames),
        demux_failed=demux_failed,
        decode_failures=failures,
    )


def build_corpus(folder: str | os.PathLike[str]) -> dict[str, Path]:
    """Write every corpus item into ``folder``; returns {item name: path}."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    work = out / ".work"
    work.mkdir(exist_ok=True)
    items: dict[str, Path] = {}

    def put(name: str, data: bytes) -> Path:
        path = out / name
        path.write_bytes(data)
        return path

    items["zero_bytes"] = put("zero.mp4", b"")
    items["text"] = put("notes.mp4", b"this is not a video, only some text\n" * 40)
    items["random"] = put("random.mp4", random.Random(1234).randbytes(64 * 1024))

    fast = _clip(work / "faststart.mp4", container_options={"movflags": "faststart"}).read_bytes()
    plain = _clip(work / "plain.mp4").read_bytes()
    assert moov_first(fast) and not moov_first(plain)
    for percent in (10, 50, 99):
        items[f"truncated_{percent}"] = put(f"truncated_{percent}.mp4", fast[: len(fast) * percent // 100])
    items["truncated_moov_at_end_50"] = put("truncated_moov_at_end_50.mp4", plain[: len(plain) // 2])
    items["no_moov"] = put("no_moov.mp4", cut_moov(plain))
    items["intact"] = put("intact.mp4", fast)

    ts = _clip(work / "clip.ts", container_format="mpegts").read_bytes()
    items["corrupt_packets"] = put("corrupt_packets.ts", corrupt_ts_payloads(ts, seed=7))

    mkv = _clip(work / "clip.mkv").read_bytes()
    items["over_reported"] = put("over_reported.mkv", over_report_mkv(mkv, LIED_SECONDS))

    items["single_frame"] = _clip(out / "single_frame.mp4", frames=1)
    items["tiny_16"] = _clip(out / "tiny_16.mp4", frames=10, width=16, height=16, box_fraction=1.0, pix_fmt="yuv444p")
    items["uhd_4k"] = _clip(
        out / "uhd_4k.mp4", frames=3, width=3840, height=2160,
        options={"crf": "30", "preset": "ultrafast", "x264-params": "keyint=3:mbtree=0:threads=1:log-level=error"}, bframes=0,
        upscale=10,
    )
    items["audio_no_cover"] = Path(shutil.copy(SAMPLE_DIR / "no_cover.mp3", out / "no_cover.mp3"))
    items["directory"] = out / "a_folder.mp4"
    items["directory"].mkdir(exist_ok=True)
    items["missing"] = out / "missing.mp4"
    odd = out / "dir with spaces" / "vidéo ünïcode.mp4"
    odd.parent.mkdir(exist_ok=True)
    items["unicode_path"] = Path(shutil.copy(SAMPLE_DIR / "hevc.mp4", odd))
    shutil.rmtree(work)
    _frame.cache_clear()
    return items


if __name__ == "__main__":  # python tests/bad_media.py DIR: write the corpus for a look
    import sys

    for name, path in build_corpus(sys.argv[1]).items():
        print(f"{name:28} {path}")


# --- checks shared by the hostile-input, fuzz and kill tests --------------------------


def complete_image(path: str | os.PathLike[str]) -> tuple[int, int]:
    """Assert ``path`` is a whole, decodable image (Pillow's structural check and an
    OpenCV decode); returns its (width, height)."""
    from PIL import Image
    import cv2

    with Image.open(path) as image:
        image.verify()
    pixels = cv2.imread(os.fspath(path), cv2.IMREAD_COLOR)
    assert pixels is not None, f"{path}: OpenCV cannot decode it"
    return pixels.shape[1], pixels.shape[0]


def files_under(folder: str | os.PathLike[str]) -> set[str]:
    """Every file under ``folder`` (hidden ones included), as strings."""
    return {os.fspath(p) for p in Path(folder).rglob("*") if p.is_file()}
