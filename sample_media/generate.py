"""Generate the committed sample media (deterministic) and benchmark files.

Usage::

    python -m sample_media.generate [--out DIR] [--only NAME ...]
    python -m sample_media.generate --bench --out /tmp/bench [--bench-seconds 120]

Every video frame carries its presentation-order index (0-based) as a
barcode (see :mod:`sample_media.barcode`).  Only PyAV encoders are used.
Output is deterministic for a given PyAV/FFmpeg build (single-threaded
encoders, no random input); byte-identity across library versions is not
guaranteed, only the decoded content facts checked by the tests.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterable, Sequence

import av
import numpy as np

from .barcode import frame_image

HERE = Path(__file__).resolve().parent

# Irregular frame durations (ms) used by vfr.mkv, cycled.
VFR_DURATIONS_MS = (33, 33, 100, 17, 250, 40, 33, 67, 20, 120)
# Scene layout of scenes.mp4: (scene pattern, length in frames).
SCENES = ((1, 15), (4, 22), (2, 9), (7, 30), (3, 17), (9, 14), (5, 13))
SCENE_BOX_FRACTION = 0.25
COVER_INDEX = 777


def _x264_opts(keyint: int, bframes: int, crf: int = 26, preset: str = "medium") -> dict:
    return {
        "crf": str(crf),
        "preset": preset,
        "x264-params": (
            f"keyint={keyint}:min-keyint={keyint}:scenecut=0:bframes={bframes}"
            ":b-adapt=0:open-gop=0:threads=1:log-level=error"
            # mbtree carries state between encodes in one process: off, so each file
            # is the same bytes however many are generated together.
            ":mbtree=0"
        ),
    }


def _bitexact(options: dict | None) -> dict:
    # No random Matroska SegmentUID / dates / version strings: reproducible bytes.
    opts = {"fflags": "+bitexact"}
    opts.update(options or {})
    return opts


def encode_video(
    path: Path,
    *,
    codec: str,
    width: int,
    height: int,
    pts: Sequence[int],
    time_base: Fraction,
    make_frame: Callable[[int], np.ndarray],
    options: dict | None = None,
    rate: Fraction | int | None = None,
    stream_time_base: Fraction | None = None,
    container_format: str | None = None,
    container_options: dict | None = None,
    gop: int | None = None,
    bframes: int | None = None,
    rotation: float | None = None,
    pix_fmt: str = "yuv420p",
) -> None:
    """Encode ``len(pts)`` frames; frame ``i`` = ``make_frame(i)`` at ``pts[i]``.

    ``pts`` are in ``time_base`` units (the encoder time base).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(
        str(path), "w", format=container_format, options=_bitexact(container_options)
    ) as out:
        st = out.add_stream(codec, rate=rate, options=options or {})
        st.width, st.height, st.pix_fmt = width, height, pix_fmt
        cc = st.codec_context
        cc.time_base = time_base
        if stream_time_base is not None:
            st.time_base = stream_time_base
        if gop is not None:
            cc.gop_size = gop
        if bframes is not None:
            cc.max_b_frames = bframes
        cc.thread_count = 1
        if rotation is not None:
            st.set_display_rotation(rotation)
        for i, p in enumerate(pts):
            frame = av.VideoFrame.from_ndarray(make_frame(i), format="rgb24")
            frame.pts = int(p)
            frame.time_base = time_base
            for packet in st.encode(frame):
                out.mux(packet)
        for packet in st.encode(None):
            out.mux(packet)


# ---------------------------------------------------------------------------
# Individual files
# ---------------------------------------------------------------------------


def gen_h264_bframes(out: Path) -> None:
    n, w, h = 900, 384, 216
    encode_video(
        out / "h264_bframes.mp4", codec="libx264", width=w, height=h,
        rate=Fraction(30000, 1001), time_base=Fraction(1001, 30000), pts=range(n),
        make_frame=lambda i: frame_image(i, w, h), options=_x264_opts(60, 2, crf=26),
        gop=60, bframes=2,
    )


def gen_hevc(out: Path) -> None:
    n, w, h = 100, 320, 240
    encode_video(
        out / "hevc.mp4", codec="libx265", width=w, height=h, rate=25,
        time_base=Fraction(1, 25), pts=range(n), make_frame=lambda i: frame_image(i, w, h),
        options={
            "crf": "28",
            "preset": "fast",
            "x265-params": (
                "keyint=25:min-keyint=25:scenecut=0:bframes=3:b-adapt=0:open-gop=0"
                ":pools=1:frame-threads=1:log-level=error"
            ),
        },
        gop=25, bframes=3,
    )


def gen_vp9_odd(out: Path) -> None:
    n, w, h = 72, 321, 241
    encode_video(
        out / "vp9_odd.webm", codec="libvpx-vp9", width=w, height=h, rate=24,
        time_base=Fraction(1, 24), pts=range(n), make_frame=lambda i: frame_image(i, w, h),
        options={"crf": "34", "b:v": "0", "deadline": "good", "cpu-used": "4",
                 "row-mt": "0", "threads": "1", "lag-in-frames": "16", "auto-alt-ref": "1"},
        gop=48,
    )


def gen_ts_offset(out: Path) -> None:
    # Frames get pts starting at 10 s (encoder time base 1/25).  PyAV's mux
    # does not add the ffmpeg-CLI style 1.4 s offset, so the first decoded pts
    # is exactly 10 s (900000 in the 1/90000 TS time base); with B-frames the
    # first dts is 2 frames earlier (9.92 s).
    n, w, h = 75, 320, 180
    encode_video(
        out / "ts_offset.ts", codec="libx264", width=w, height=h, rate=25,
        time_base=Fraction(1, 25), pts=range(250, 250 + n),
        make_frame=lambda i: frame_image(i, w, h), options=_x264_opts(25, 2, crf=26),
        container_format="mpegts", gop=25, bframes=2,
    )


def vfr_pts_ms(n: int) -> list[int]:
    pts, t = [], 0
    for i in range(n):
        pts.append(t)
        t += VFR_DURATIONS_MS[i % len(VFR_DURATIONS_MS)]
    return pts


def gen_vfr(out: Path) -> None:
    n, w, h = 44, 320, 180  # 44 frames: last pts = 3018 ms, ~3.06 s
    encode_video(
        out / "vfr.mkv", codec="libx264", width=w, height=h,
        time_base=Fraction(1, 1000), stream_time_base=Fraction(1, 1000),
        pts=vfr_pts_ms(n), make_frame=lambda i: frame_image(i, w, h),
        options=_x264_opts(30, 2, crf=26), gop=30, bframes=2,
    )


def gen_rotated(out: Path, deg: int) -> None:
    n, w, h = 30, 320, 180
    encode_video(
        out / f"rotated_{deg}.mp4", codec="libx264", width=w, height=h, rate=30,
        time_base=Fraction(1, 30), pts=range(n), make_frame=lambda i: frame_image(i, w, h),
        options=_x264_opts(30, 2, crf=26), gop=30, bframes=2, rotation=deg,
    )


def scene_of_frame(i: int) -> int:
    for scene, length in SCENES:
        if i < length:
            return scene
        i -= length
    raise IndexError(i)


def scene_cut_frames() -> list[int]:
    """Frame indices where a new scene starts (excluding frame 0)."""
    cuts, pos = [], 0
    for _, length in SCENES[:-1]:
        pos += length
        cuts.append(pos)
    return cuts


def gen_scenes(out: Path) -> None:
    n, w, h = sum(l for _, l in SCENES), 320, 180
    encode_video(
        out / "scenes.mp4", codec="libx264", width=w, height=h, rate=10,
        time_base=Fraction(1, 10), pts=range(n),
        make_frame=lambda i: frame_image(i, w, h, scene=scene_of_frame(i),
                                         box_fraction=SCENE_BOX_FRACTION),
        options=_x264_opts(50, 2, crf=26), gop=50, bframes=2,
    )


def _tone(n_samples: int, rate: int) -> np.ndarray:
    t = np.arange(n_samples) / rate
    env = np.minimum(1.0, np.minimum(t, t[-1] - t) / 0.02)  # 20 ms fades
    return (0.05 * np.sin(2 * np.pi * 440.0 * t) * env).astype(np.float32)


def encode_audio(
    path: Path, codec: str, *, picture_codec: str | None = None, seconds: float = 1.0
) -> None:
    """~1 s quiet 440 Hz mono tone, optionally with an attached cover picture.

    The picture is muxed as a video stream with disposition attached_pic and
    exactly one packet (the encoded image); mp3/flac muxers turn it into an
    ID3v2 APIC frame / FLAC METADATA_BLOCK_PICTURE.
    """
    rate = 44100
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", options=_bitexact(None)) as out:
        ast = out.add_stream(codec, rate=rate, layout="mono")
        fmt = ast.codec_context.codec.audio_formats[0].name
        pst = None
        if picture_codec is not None:
            pst = out.add_stream(picture_codec, rate=1)
            pst.width = pst.height = 300
            pst.pix_fmt = "yuvj420p" if picture_codec == "mjpeg" else "rgb24"
            if picture_codec == "mjpeg":
                pst.codec_context.qmin = pst.codec_context.qmax = 2  # high quality
            pst.disposition = av.stream.Disposition.attached_pic
            img = frame_image(COVER_INDEX, 300, 300)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = 0
            pkts = list(pst.encode(frame)) + list(pst.encode(None))
            assert len(pkts) == 1, len(pkts)
            for p in pkts:
                out.mux(p)
        n = int(rate * seconds)
        samples = _tone(n, rate)
        if fmt.startswith("s16"):
            data = (samples * 32767).astype(np.int16)
        elif fmt.startswith("s32"):
            data = (samples * 2**31 - 1).astype(np.int32)
        else:
            data = samples
        chunk = 1152
        for off in range(0, n, chunk):
            part = data[off : off + chunk]
            # Mono: packed and planar layouts are the same (1, n) array.
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(part.reshape(1, -1)), format=fmt, layout="mono")
            frame.sample_rate = rate
            frame.pts = off
            frame.time_base = Fraction(1, rate)
            for p in ast.encode(frame):
                out.mux(p)
        for p in ast.encode(None):
            out.mux(p)


def gen_cover_flac(out: Path) -> None:
    encode_audio(out / "cover.flac", "flac", picture_codec="png")


def gen_cover_mp3(out: Path) -> None:
    encode_audio(out / "cover.mp3", "libmp3lame", picture_codec="mjpeg")


def gen_no_cover_mp3(out: Path) -> None:
    encode_audio(out / "no_cover.mp3", "libmp3lame")


SECOND_STREAM_OFFSET = 2000  # barcodes of two_streams.mkv's second video stream


def gen_two_streams(out: Path) -> None:
    """Two video streams: 160×90 at 10 fps (index i), then 320×180 at 5 fps
    (index 2000 + i), 3 s each: ``vs`` picks one, ``_i_j`` names tell them apart."""
    streams = ((160, 90, 10, 0), (320, 180, 5, SECOND_STREAM_OFFSET))
    with av.open(str(out / "two_streams.mkv"), "w", options=_bitexact(None)) as mux:
        outs = []
        for w, h, fps, _ in streams:
            st = mux.add_stream("libx264", rate=fps, options=_x264_opts(fps, 0))
            st.width, st.height, st.pix_fmt = w, h, "yuv420p"
            st.codec_context.time_base = Fraction(1, fps)
            st.codec_context.thread_count = 1
            outs.append(st)
        events = sorted((Fraction(i, fps), k, i) for k, (_, _, fps, _) in enumerate(streams) for i in range(3 * fps))
        for _, k, i in events:
            w, h, fps, offset = streams[k]
            frame = av.VideoFrame.from_ndarray(frame_image(offset + i, w, h), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            for packet in outs[k].encode(frame):
                mux.mux(packet)
        for st in outs:
            for packet in st.encode(None):
                mux.mux(packet)


def gen_video_with_cover(out: Path) -> None:
    """MP4 whose first video stream is an attached cover picture (barcode 777) and
    whose second is the real video (320×180, 10 fps, 2 s, index i)."""
    w, h, fps, n = 320, 180, 10, 20
    with av.open(str(out / "video_with_cover.mp4"), "w", options=_bitexact(None)) as mux:
        cover = mux.add_stream("mjpeg", rate=1)
        cover.width = cover.height = 300
        cover.pix_fmt = "yuvj420p"
        cover.disposition = av.stream.Disposition.attached_pic
        video = mux.add_stream("libx264", rate=fps, options=_x264_opts(fps, 2))
        video.width, video.height, video.pix_fmt = w, h, "yuv420p"
        video.codec_context.time_base = Fraction(1, fps)
        video.codec_context.thread_count = 1
        picture = av.VideoFrame.from_ndarray(frame_image(COVER_INDEX, 300, 300), format="rgb24")
        picture.pts = 0
        for packet in [*cover.encode(picture), *cover.encode(None)]:
            mux.mux(packet)
        for i in range(n):
            frame = av.VideoFrame.from_ndarray(frame_image(i, w, h), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            for packet in video.encode(frame):
                mux.mux(packet)
        for packet in video.encode(None):
            mux.mux(packet)


GENERATORS: dict[str, Callable[[Path], None]] = {
    "h264_bframes.mp4": gen_h264_bframes,
    "hevc.mp4": gen_hevc,
    "vp9_odd.webm": gen_vp9_odd,
    "ts_offset.ts": gen_ts_offset,
    "vfr.mkv": gen_vfr,
    "rotated_90.mp4": lambda out: gen_rotated(out, 90),
    "rotated_180.mp4": lambda out: gen_rotated(out, 180),
    "rotated_270.mp4": lambda out: gen_rotated(out, 270),
    "scenes.mp4": gen_scenes,
    "cover.flac": gen_cover_flac,
    "cover.mp3": gen_cover_mp3,
    "no_cover.mp3": gen_no_cover_mp3,
    "two_streams.mkv": gen_two_streams,
    "video_with_cover.mp4": gen_video_with_cover,
}


def generate(out: Path, names: Iterable[str] | None = None, verbose: bool = False) -> list[Path]:
    names = list(GENERATORS) if not names else list(names)
    unknown = [n for n in names if n not in GENERATORS]
    if unknown:
        raise KeyError(f"unknown sample(s): {unknown}; known: {list(GENERATORS)}")
    paths = []
    for name in names:
        t0 = time.perf_counter()
        GENERATORS[name](out)
        p = out / name
        paths.append(p)
        if verbose:
            print(f"{name:20s} {p.stat().st_size:9d} B  {time.perf_counter() - t0:6.2f} s")
    return paths


def generate_bench(out: Path, seconds: float = 120.0, *, name: str | None = None,
                   width: int = 1920, height: int = 1080, fps: int = 30,
                   crf: int = 23, preset: str = "veryfast") -> Path:
    """1920x1080 H.264 30 fps, keyframe every 250 frames, B-frames, barcodes.

    Barcode indices wrap modulo 4096 (barcodes hold 12 bits), i.e. exact for
    files up to 4096 frames (136 s at 30 fps).
    """
    n = int(round(seconds * fps))
    name = name or f"bench_{width}x{height}_{fps}fps_{int(seconds)}s.mp4"
    path = out / name
    opts = _x264_opts(250, 3, crf=crf, preset=preset)
    opts["x264-params"] = opts["x264-params"].replace(":threads=1", "")
    # Background is expensive at 1080p: render at 1/4 and upscale, then draw.
    from .barcode import draw_barcode, scene_background
    import cv2

    def make(i: int) -> np.ndarray:
        bg = scene_background(i, width // 4, height // 4, 0)
        img = cv2.resize(bg, (width, height), interpolation=cv2.INTER_LINEAR)
        draw_barcode(img, i % 4096)
        return img

    encode_video(
        path, codec="libx264", width=width, height=height, rate=fps,
        time_base=Fraction(1, fps), pts=range(n), make_frame=make, options=opts,
        gop=250, bframes=3,
    )
    return path


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sample_media.generate", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=None,
                    help="output directory (default: sample_media/ for samples; required for --bench)")
    ap.add_argument("--only", nargs="+", metavar="NAME", help="generate only these samples")
    ap.add_argument("--bench", action="store_true", help="generate the 1080p benchmark file instead")
    ap.add_argument("--bench-seconds", type=float, default=120.0)
    args = ap.parse_args(argv)
    if args.bench:
        if args.out is None:
            ap.error("--bench needs --out DIR (benchmark files are not committed)")
        t0 = time.perf_counter()
        p = generate_bench(args.out, args.bench_seconds)
        print(f"{p} {p.stat().st_size} B {time.perf_counter() - t0:.1f} s")
        return 0
    out = args.out or HERE
    generate(out, args.only, verbose=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
