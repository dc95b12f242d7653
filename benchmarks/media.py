"""The 1080p H.264 benchmark files, built fast and cached in ``bench_media/``.

Same stream as :func:`sample_media.generate.generate_bench` (1920×1080, 30 fps,
x264 ``veryfast`` crf 23, keyframe every 250 frames = 8.33 s, 3 B-frames, closed
GOPs, barcoded scene-0 gradient) but built in two cheap steps instead of encoding
every frame single-threaded (~175 s for 120 s of video on 2 cores):

1. encode **one 30 s base** (900 frames = GOPs of 250, 250, 250, 150) with x264
   threads on, and, for lengths whose last GOP is not 150 frames long, a short
   **tail** segment (``n mod 250`` frames);
2. build any length by **remuxing packets** (no re-encode): whole 250-frame GOPs
   of the base, cycled, then the tail, every packet's pts/dts shifted. Closed GOPs
   (IDR every 250 frames, ``open-gop=0``) make each GOP decodable on its own, so the
   keyframe interval stays exactly 250 frames everywhere.

Frame ``i`` of every file made here shows barcode ``i mod 750`` and the background
of frame ``i mod 750`` (a GOP copied from the base keeps its pictures), so the
content repeats every 25 s: the decode cost per frame is what matters here, and a
picture jump every 25 s gives the dhash jobs something to find.

    python -m benchmarks.media [--seconds 120 ...]      # build / reuse, print paths
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

REPO = Path(__file__).resolve().parent.parent
MEDIA_DIR = REPO / "bench_media"

WIDTH, HEIGHT, FPS = 1920, 1080, 30
GOP = 250
BFRAMES = 3
CRF, PRESET = 23, "veryfast"
BASE_FRAMES = 900  # 30 s: GOPs 250 + 250 + 250 + 150
PERIOD = 750  # three whole GOPs of the base; barcode of frame i = i mod PERIOD
VERSION = 1  # bump when the recipe changes: names carry it, stale files are ignored


def _x264_options() -> dict[str, str]:
    return {
        "crf": str(CRF),
        "preset": PRESET,
        "x264-params": (
            f"keyint={GOP}:min-keyint={GOP}:scenecut=0:bframes={BFRAMES}"
            ":b-adapt=0:open-gop=0:log-level=error"
        ),
    }


def _picture(i: int) -> np.ndarray:
    """yuv420p planes (I420 layout, shape (H*3/2, W)) of picture ``i``."""
    import cv2

    from sample_media.barcode import draw_barcode, scene_background

    k = i % PERIOD
    bg = scene_background(k, WIDTH // 4, HEIGHT // 4, 0)  # 1/4 size, then upscale
    img = cv2.resize(bg, (WIDTH, HEIGHT), interpolation=cv2.INTER_LINEAR)
    draw_barcode(img, k)
    return cv2.cvtColor(img, cv2.COLOR_RGB2YUV_I420)


def encode_segment(path: Path, first: int, count: int) -> Path:
    """Encode pictures ``first … first+count-1`` as a stand-alone MP4 starting at
    pts 0 with an IDR frame (x264 on all cores: ``generate_bench`` pins one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f".{path.name}.part")
    with av.open(str(part), "w", format="mp4", options={"fflags": "+bitexact"}) as out:
        st = out.add_stream("libx264", rate=FPS, options=_x264_options())
        st.width, st.height, st.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        cc = st.codec_context
        cc.time_base = Fraction(1, FPS)
        cc.gop_size = GOP
        cc.max_b_frames = BFRAMES
        cc.thread_count = 0  # x264 picks (frame threads + lookahead thread)
        for n in range(count):
            frame = av.VideoFrame.from_ndarray(_picture(first + n), format="yuv420p")
            frame.pts = n
            frame.time_base = Fraction(1, FPS)
            for packet in st.encode(frame):
                out.mux(packet)
        for packet in st.encode(None):
            out.mux(packet)
    os.replace(part, path)
    return path


def _segment(name: str, first: int, count: int, log) -> Path:
    path = MEDIA_DIR / f"seg_v{VERSION}_{name}.mp4"
    if not path.exists():
        t0 = time.perf_counter()
        encode_segment(path, first, count)
        log(f"encoded {path.name}: {count} frames in {time.perf_counter() - t0:.1f} s")
    return path


_Packet = tuple[bytes, int, int, int, bool]  # data, pts, dts, duration, keyframe


def _gops(path: Path) -> list[list[_Packet]]:
    """The video packets of ``path`` (decode order) split at keyframes, as plain
    values (muxing consumes a packet, and base GOPs are written many times)."""
    gops: list[list[_Packet]] = []
    with av.open(str(path)) as src:
        for packet in src.demux(video=0):
            if packet.size == 0:
                continue  # flush packet
            if packet.is_keyframe or not gops:
                gops.append([])
            gops[-1].append((bytes(packet), packet.pts, packet.dts, packet.duration, packet.is_keyframe))
    return gops


def _frame_ticks(path: Path) -> tuple[Fraction, int, int]:
    """(stream time base, ticks per frame, first pts)."""
    with av.open(str(path)) as src:
        st = src.streams.video[0]
        tb = st.time_base
        per_frame = Fraction(1, FPS) / tb
        if per_frame.denominator != 1:
            raise RuntimeError(f"{path}: time base {tb} does not hold whole frames at {FPS} fps")
        first = min(p.pts for p in src.demux(st) if p.pts is not None)
        return tb, int(per_frame), first


def bench_file(seconds: float = 120.0, *, log=print) -> Path:
    """Path of the cached ``seconds``-long 1080p benchmark file, built if missing."""
    n = int(round(seconds * FPS))
    if n < 1:
        raise ValueError(f"seconds: {seconds} is less than one frame")
    path = MEDIA_DIR / f"bench_v{VERSION}_1080p30_{n}f.mp4"
    if path.exists():
        return path
    t0 = time.perf_counter()
    base = _segment(f"base_{BASE_FRAMES}", 0, BASE_FRAMES, log)
    if n == BASE_FRAMES:
        try:
            os.link(base, path)
        except OSError:
            import shutil

            shutil.copyfile(base, path)
        return path
    full, tail = divmod(n, GOP)
    base_gops = _gops(base)
    if len(base_gops) != 4:
        raise RuntimeError(f"{base}: expected 4 GOPs (250, 250, 250, 150 frames), found {len(base_gops)}")
    pieces: list[tuple[Path, list[_Packet], int]] = []  # (file, packets, frames)
    for g in range(full):
        pieces.append((base, base_gops[g % 3], GOP))
    if tail:
        first = (full * GOP) % PERIOD
        if tail == BASE_FRAMES - 3 * GOP and first == 0:
            pieces.append((base, base_gops[3], tail))
        else:
            seg = _segment(f"tail_{first}_{tail}", first, tail, log)
            seg_gops = _gops(seg)
            assert len(seg_gops) == 1, f"{seg}: expected one GOP"
            pieces.append((seg, seg_gops[0], tail))
    _remux(path, pieces)
    log(f"built {path.name}: {n} frames ({n / FPS:.0f} s) by remuxing in {time.perf_counter() - t0:.1f} s")
    return path


def _remux(path: Path, pieces: list[tuple[Path, list[_Packet], int]]) -> None:
    part = path.with_name(f".{path.name}.part")
    with av.open(str(pieces[0][0])) as template_src:
        template = template_src.streams.video[0]
        extradata = bytes(template.codec_context.extradata or b"")
        tb, per_frame, _ = _frame_ticks(pieces[0][0])
        with av.open(str(part), "w", format="mp4", options={"fflags": "+bitexact"}) as out:
            ost = out.add_stream_from_template(template)
            ost.time_base = tb
            offset = 0
            for src_path, packets, frames in pieces:
                if src_path != pieces[0][0]:
                    with av.open(str(src_path)) as other:
                        other_st = other.streams.video[0]
                        if bytes(other_st.codec_context.extradata or b"") != extradata or other_st.time_base != tb:
                            raise RuntimeError(f"{src_path}: stream parameters differ from {pieces[0][0]}")
                shift = offset - min(pts for _, pts, _, _, _ in packets)  # GOP starts at `offset`
                for data, pts, dts, duration, key in packets:
                    packet = av.Packet(data)
                    packet.pts = pts + shift
                    packet.dts = dts + shift
                    packet.duration = duration
                    packet.is_keyframe = key
                    packet.time_base = tb
                    packet.stream = ost
                    out.mux(packet)
                offset += frames * per_frame
    os.replace(part, path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.media", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, nargs="+", default=[120.0])
    args = ap.parse_args(argv)
    for s in args.seconds:
        p = bench_file(s)
        print(f"{p} {p.stat().st_size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
