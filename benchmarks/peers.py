"""The benchmark jobs, the tools that run them, and the decode floor.

Everything here is independent of the engine's internals: target times follow
SPEC §2 from a demux of the file (pts, keyframe flags; no decoding), and the
decode floor is plain PyAV. The engine itself is only called through its public
entry points (``engine.snapshot`` and the ``snapshots`` CLI).

Each measured run is a fresh process (for a clean peak RSS):

    python -m benchmarks.peers --tool opencv --job inter --src F --out DIR --plan P.json

prints one line ``BENCH_RESULT {"wall_s": …, "frames_decoded": …}`` where ``wall_s``
is the job alone (imports, and for the engine a warm-up call on the small sample
that loads the kernels, excluded). CLI tools (``engine-cli``, ``ffmpeg``) are
not run through this worker: :func:`command` gives their command line and the
caller times the whole process.
"""

from __future__ import annotations

import argparse
import bisect
import heapq
import json
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Callable

import av

REPO = Path(__file__).resolve().parent.parent
SMALL_SAMPLE = REPO / "sample_media" / "h264_bframes.mp4"
JPEG_QUALITY = 90  # the engine's default q
RESULT_TAG = "BENCH_RESULT "


# ---------------------------------------------------------------------------
# Jobs
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    key: str
    title: str
    process: str
    fmt: str
    mode: str  # inter | key | avg | dhash
    ss_ms: int = 0
    inter_ms: int = 0
    num: int = 0
    thr: int = 0
    crop: tuple[int, int] | None = None  # scaletype_crop w×h
    percent: int | None = None  # pw = ph

    @property
    def dense(self) -> bool:
        return self.mode == "dhash"


JOBS: tuple[Job, ...] = (
    Job("inter", "a) inter_10000, 512×512 crop, jpg",
        "video/snapshots,f_jpg,w_512,h_512,scaletype_crop,inter_10000",
        "jpg", "inter", inter_ms=10000, crop=(512, 512)),
    Job("ss_num", "b) ss_11000, 50 %, num_5, inter_4000, png",
        "video/snapshots,ss_11000,f_png,pw_50,ph_50,num_5,inter_4000",
        "png", "inter", ss_ms=11000, inter_ms=4000, num=5, percent=50),
    Job("key", "c) m_key, full size, jpg",
        "video/snapshots,m_key,f_jpg", "jpg", "key"),
    Job("avg", "d) m_avg, num_10, full size, jpg",
        "video/snapshots,m_avg,num_10,f_jpg", "jpg", "avg", num=10),
    Job("dhash_thr", "e) m_dhash, inter_1000, thr_15, jpg",
        "video/snapshots,m_dhash,f_jpg,inter_1000,thr_15", "jpg", "dhash", inter_ms=1000, thr=15),
    Job("dhash_num", "f) m_dhash, inter_1000, num_5, jpg",
        "video/snapshots,m_dhash,f_jpg,inter_1000,num_5", "jpg", "dhash", inter_ms=1000, num=5),
)
JOB_BY_KEY = {job.key: job for job in JOBS}


# ---------------------------------------------------------------------------
# Stream facts and targets (SPEC §2, from packets only)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StreamInfo:
    time_base: Fraction
    pts: tuple[int, ...]  # every frame, ascending (presentation order)
    key_pts: tuple[int, ...]  # key-flagged frames, ascending
    end_pts: int  # pts + duration of the last frame

    @property
    def start(self) -> int:
        return self.pts[0]

    @property
    def duration_ms(self) -> Fraction:
        return self.ms(self.end_pts)

    def ms(self, pts: int) -> Fraction:
        return (pts - self.start) * self.time_base * 1000

    def frame_at(self, t_ms: Fraction) -> int:
        """pts of the frame shown at ``t_ms`` (the last frame whose pts ≤ t), exact."""
        ticks = self.start + (Fraction(t_ms) / 1000 / self.time_base)
        i = bisect.bisect_right(self.pts, ticks) - 1
        return self.pts[max(i, 0)]

    def keyframe_before(self, pts: int) -> int:
        i = bisect.bisect_right(self.key_pts, pts) - 1
        return self.key_pts[max(i, 0)]


def probe(path: str | os.PathLike[str]) -> StreamInfo:
    """One demux pass over the first video stream (no decoding)."""
    pts: list[int] = []
    keys: list[int] = []
    end = None
    with av.open(os.fspath(path)) as container:
        stream = container.streams.video[0]
        time_base = Fraction(stream.time_base)
        for packet in container.demux(stream):
            if packet.pts is None:
                continue
            pts.append(packet.pts)
            if packet.is_keyframe:
                keys.append(packet.pts)
            last = packet.pts + (packet.duration or 0)
            end = last if end is None else max(end, last)
    pts.sort()
    keys.sort()
    if end is None or end <= pts[-1]:
        end = pts[-1] + (pts[-1] - pts[-2] if len(pts) > 1 else 1)
    return StreamInfo(time_base, tuple(pts), tuple(keys), end)


@dataclass(frozen=True)
class Plan:
    """What every tool of one job is asked for: target times (ms, exact) and the
    frames they name (pts, distinct, in time order)."""

    targets_ms: tuple[Fraction, ...]
    target_pts: tuple[int, ...]
    key_pts: tuple[int, ...]
    start_pts: int
    time_base: Fraction
    duration_ms: Fraction
    keyframes_only: bool = False

    def to_json(self) -> dict:
        d = asdict(self)
        d["targets_ms"] = [str(t) for t in self.targets_ms]
        d["time_base"] = str(self.time_base)
        d["duration_ms"] = str(self.duration_ms)
        return d

    @classmethod
    def from_json(cls, d: dict) -> "Plan":
        return cls(
            targets_ms=tuple(Fraction(t) for t in d["targets_ms"]),
            target_pts=tuple(d["target_pts"]),
            key_pts=tuple(d["key_pts"]),
            start_pts=d["start_pts"],
            time_base=Fraction(d["time_base"]),
            duration_ms=Fraction(d["duration_ms"]),
            keyframes_only=d["keyframes_only"],
        )


def make_plan(job: Job, info: StreamInfo) -> Plan:
    """SPEC §2 targets of ``job`` on the stream described by ``info``."""
    D = info.duration_ms
    ss = Fraction(job.ss_ms)
    times: list[Fraction] = []
    if job.mode in ("inter", "dhash"):
        if job.inter_ms == 0:
            times = [info.ms(p) for p in info.pts if info.ms(p) >= ss]
        else:
            t = ss
            while t < D:
                times.append(t)
                t += job.inter_ms
    elif job.mode == "avg":
        n = job.num
        times = [ss + (k + Fraction(1, 2)) * (D - ss) / n for k in range(n)]
    elif job.mode == "key":
        keys = [p for p in info.key_pts if info.ms(p) >= ss]
        if job.num:
            keys = keys[: job.num]
        return Plan(tuple(info.ms(p) for p in keys), tuple(keys), info.key_pts, info.start,
                    info.time_base, D, keyframes_only=True)
    else:
        raise ValueError(f"mode: {job.mode!r}")
    seen: set[int] = set()
    kept_t: list[Fraction] = []
    kept_p: list[int] = []
    for t in times:
        p = info.frame_at(t)
        if p not in seen:
            seen.add(p)
            kept_t.append(t)
            kept_p.append(p)
    if job.num and job.mode != "dhash":
        kept_t, kept_p = kept_t[: job.num], kept_p[: job.num]
    return Plan(tuple(kept_t), tuple(kept_p), info.key_pts, info.start, info.time_base, D)


# ---------------------------------------------------------------------------
# The decode floor
# ---------------------------------------------------------------------------


@dataclass
class FloorStats:
    frames_decoded: int = 0
    seeks: int = 0
    fallbacks: int = 0  # seeks that landed after the target (re-done from the start)
    found: list[int] = field(default_factory=list)  # pts of the target frames delivered


def decode_floor(
    path: str | os.PathLike[str],
    target_pts: list[int] | tuple[int, ...],
    key_pts: list[int] | tuple[int, ...],
    *,
    keyframes_only: bool = False,
    skip_nonref: bool = False,
    on_frame: Callable[[av.VideoFrame], None] | None = None,
) -> FloorStats:
    """Decode exactly what the targets require, with plain PyAV (threads AUTO).

    For each target (ascending pts): when its keyframe (the last key-flagged frame
    at or before it) lies after the last frame decoded, seek to that keyframe;
    otherwise keep decoding forward; stop at the target's pts. Nothing is converted,
    resized or written: ``on_frame`` (if given) receives each target frame.
    ``keyframes_only``: decode with ``skip_frame=NONKEY`` through the whole file
    (the floor of ``m_key``).
    ``skip_nonref``: the tighter floor: packets that are not targets are sent with
    ``skip_frame=NONREF``, so frames nothing refers to (most B-frames) are dropped
    by the decoder instead of reconstructed; reference frames are still decoded.
    """
    stats = FloorStats()
    targets = sorted(set(int(p) for p in target_pts))
    keys = sorted(int(k) for k in key_pts)
    with av.open(os.fspath(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        context = stream.codec_context
        if skip_nonref and not keyframes_only:
            wanted_pts = set(targets)
            context.skip_frame = skipping = "NONREF"

            def packets():
                nonlocal skipping
                for packet in container.demux(stream):
                    policy = "DEFAULT" if packet.pts in wanted_pts else "NONREF"
                    if policy != skipping:
                        context.skip_frame = skipping = policy
                    yield packet
        else:
            def packets():
                return container.demux(stream)

        def _frames(container, stream):
            for packet in packets():
                for frame in packet.decode():
                    yield frame

        if keyframes_only:
            context.skip_frame = "NONKEY"
            wanted = set(targets)
            for frame in _frames(container, stream):
                stats.frames_decoded += 1
                if frame.pts in wanted:
                    stats.found.append(frame.pts)
                    if on_frame is not None:
                        on_frame(frame)
            return stats
        frames = None
        last = None  # pts of the last frame decoded
        for target in targets:
            k = keys[max(bisect.bisect_right(keys, target) - 1, 0)]
            if frames is None or last is None or k > last:
                container.seek(k, stream=stream, backward=True)
                stats.seeks += 1
                frames = _frames(container, stream)
                first = True
            else:
                first = False
            hit = None
            for frame in frames:
                stats.frames_decoded += 1
                if frame.pts is None:
                    continue
                if first and frame.pts > target:
                    # The demuxer landed after the target: start over from the top.
                    stats.fallbacks += 1
                    container.seek(0, backward=True)
                    frames = _frames(container, stream)
                    first = False
                    continue
                first = False
                last = frame.pts
                if frame.pts >= target:
                    hit = frame
                    break
            if hit is None:
                break  # end of stream
            stats.found.append(hit.pts)
            if on_frame is not None:
                on_frame(hit)
    return stats


# ---------------------------------------------------------------------------
# Tools
# ---------------------------------------------------------------------------

# name -> (what it is, one line)
TOOLS = {
    "engine": "engine.snapshot() in-process (warm: kernels loaded by a call on the small sample)",
    "engine-cli": "`snapshots` CLI, whole process (cold start included)",
    "ffmpeg": "FFmpeg CLI, whole process",
    "opencv": "OpenCV VideoCapture (seek per target, or grab/retrieve loop for dense jobs)",
    "pyav-naive": "PyAV: decode every frame (threads AUTO) until the last target, pick by pts",
    "pyav-seek": "PyAV: seek per target, decode to it, cv2 resize + imwrite",
    "pyav-nonkey": "PyAV: skip_frame=NONKEY decode + cv2 imwrite",
    "floor": "decode floor: PyAV decoding only the frames the targets need (no resize/encode)",
    "floor-nonref": "tighter floor: as floor, but packets no target needs are sent with skip_frame=NONREF",
    "decode-all": "reference: PyAV decoding every frame (threads AUTO), nothing else",
}


def tools_for(job: Job, *, ffmpeg: bool) -> list[str]:
    tools = ["engine", "engine-cli"]
    if ffmpeg:
        tools.append("ffmpeg")
    if job.mode == "key":
        tools += ["pyav-naive", "pyav-nonkey", "floor"]  # OpenCV has no keyframe-only read
    elif job.dense:
        import importlib.util

        if importlib.util.find_spec("imagehash") is not None:  # the `test` extra
            tools += ["opencv", "pyav-naive"]
        else:
            print("note: imagehash is not installed: the OpenCV and PyAV dhash peers are skipped", flush=True)
        tools += ["floor", "floor-nonref", "decode-all"]
    else:
        tools += ["opencv", "pyav-naive", "pyav-seek", "floor", "floor-nonref"]
    return tools


def _ffmpeg_passthrough() -> list[str]:
    """``-fps_mode passthrough`` (FFmpeg ≥ 5.1), else the older ``-vsync 0``."""
    exe = shutil.which("ffmpeg")
    try:
        import subprocess

        text = subprocess.run([exe, "-hide_banner", "-h", "full"], capture_output=True, text=True,
                              timeout=20).stdout
        if "-fps_mode" in text:
            return ["-fps_mode", "passthrough"]
    except Exception:
        pass
    return ["-vsync", "0"]


def _ffmpeg_scale(job: Job) -> list[str]:
    if job.crop:
        w, h = job.crop
        return [f"scale={w}:{h}:force_original_aspect_ratio=increase,crop={w}:{h}"]
    if job.percent:
        f = job.percent / 100
        return [f"scale=trunc(iw*{f}/2)*2:trunc(ih*{f}/2)*2"]
    return []


def command(tool: str, job: Job, src: str, out: str, plan: Plan) -> list[str] | None:
    """Command line of a CLI tool (``engine-cli``, ``ffmpeg``); None for the others."""
    if tool == "engine-cli":
        exe = Path(sys.executable).with_name("snapshots")
        base = [str(exe)] if exe.exists() else [sys.executable, "-m", "engine.cli"]
        return [*base, src, job.process, "-o", os.path.join(out, "snap"), "--json"]
    if tool != "ffmpeg":
        return None
    ff = [shutil.which("ffmpeg") or "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y"]
    quality = ["-q:v", "2"] if job.fmt == "jpg" else []
    pattern = os.path.join(out, f"f%03d.{job.fmt}")
    if job.mode == "key":
        return [*ff, "-skip_frame", "nokey", "-i", src, *_ffmpeg_passthrough(), *quality, pattern]
    if job.mode == "avg":
        # What users do for N thumbnails at given times: one input-seeking run each.
        runs = []
        for j, t in enumerate(plan.targets_ms, 1):
            runs.append(" ".join([*ff, "-ss", f"{float(t) / 1000:.3f}", "-i", _q(src), "-frames:v", "1",
                                  *quality, _q(os.path.join(out, f"f{j:03d}.{job.fmt}"))]))
        return ["sh", "-c", " && ".join(runs)]
    if job.mode == "dhash" and job.num:
        # The N highest scores need every score first: what a user does with the
        # CLI is one scoring pass, then one input-seeking run per chosen time.
        scores = os.path.join(out, "scores.txt")
        vf = f"fps=1000/{job.inter_ms},select='gte(scene,0)',metadata=print:key=lavfi.scene_score:file={scores}"
        score_pass = " ".join([*ff, "-i", _q(src), "-vf", _q(vf), "-f", "null", "-"])
        best = (
            f"awk '/pts_time/{{split($3,a,\":\"); t=a[2]}} /scene_score/{{split($0,b,\"=\"); print b[2], t}}' {_q(scores)}"
            f" | sort -gr | head -n {job.num} | awk '{{print $2}}' | sort -g"
        )
        extract = " ".join([*ff, "-ss", '"$t"', "-i", _q(src), "-frames:v", "1", *quality,
                            _q(os.path.join(out, "f")) + '"$j"' + f".{job.fmt}"])
        script = f"{score_pass} && j=0 && for t in $({best}); do j=$((j+1)); {extract} || exit 1; done; rm -f {_q(scores)}"
        return ["sh", "-c", script]
    if job.mode == "dhash":
        vf = f"fps=1000/{job.inter_ms},select='gt(scene,{job.thr / 100 if job.thr else 0})'"
        return [*ff, "-i", src, "-vf", vf, *_ffmpeg_passthrough(), *quality, pattern]
    # inter
    pre = ["-ss", f"{job.ss_ms / 1000:.3f}"] if job.ss_ms else []
    vf = ",".join([f"fps=1000/{job.inter_ms}", *_ffmpeg_scale(job)])
    limit = ["-frames:v", str(job.num)] if job.num else []
    return [*ff, *pre, "-i", src, "-vf", vf, *limit, *quality, pattern]


def ffmpeg_note(job: Job) -> str:
    if job.mode == "avg":
        return "one `ffmpeg -ss T -frames:v 1` per target"
    if job.mode == "dhash":
        s = "scene score, not dhash"
        return s + ("; scoring pass, then one `-ss T` run per best time" if job.num else "")
    if job.mode == "key":
        return "-skip_frame nokey"
    return "fps filter (decodes every frame)"


def _q(s: str) -> str:
    import shlex

    return shlex.quote(s)


# -- in-process tools (run by the worker) -------------------------------------


def _resize(bgr, job: Job):
    import cv2

    h, w = bgr.shape[:2]
    if job.crop:
        cw, ch = job.crop
        s = max(cw / w, ch / h)
        nw, nh = max(cw, round(w * s)), max(ch, round(h * s))
        img = cv2.resize(bgr, (nw, nh), interpolation=cv2.INTER_AREA)
        x, y = (nw - cw) // 2, (nh - ch) // 2
        return img[y : y + ch, x : x + cw]
    if job.percent:
        f = job.percent / 100
        return cv2.resize(bgr, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
    return bgr


class _Writer:
    def __init__(self, job: Job, out: str) -> None:
        import cv2

        self.cv2, self.job, self.out, self.n = cv2, job, out, 0
        self.params = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY] if job.fmt == "jpg" else []

    def __call__(self, bgr) -> None:
        self.n += 1
        path = os.path.join(self.out, f"f{self.n:03d}.{self.job.fmt}")
        if not self.cv2.imwrite(path, _resize(bgr, self.job), self.params):
            raise RuntimeError(f"imwrite failed: {path}")


class _Dhash:
    """imagehash.dhash selection as a user would write it: score = changed bits in
    percent vs the previous candidate (the first scores 100); thr → every event,
    num → the num highest (ties to the earlier), written in time order."""

    def __init__(self, job: Job, write: _Writer) -> None:
        import imagehash
        from PIL import Image

        self.imagehash, self.Image = imagehash, Image
        self.job, self.write = job, write
        self.prev = None
        self.index = 0
        self.best: list[tuple[float, int, object]] = []  # min-heap (score, -index, bgr)

    def candidate(self, gray, get_bgr: Callable[[], object]) -> None:
        h = self.imagehash.dhash(self.Image.fromarray(gray))
        score = 100.0 if self.prev is None else 100.0 * (h - self.prev) / 64
        self.prev = h
        self.index += 1
        if score <= self.job.thr:
            return
        if not self.job.num:
            self.write(get_bgr())
            return
        item = (score, -self.index, get_bgr())
        if len(self.best) < self.job.num:
            heapq.heappush(self.best, item)
        elif item[:2] > self.best[0][:2]:
            heapq.heapreplace(self.best, item)

    def finish(self) -> None:
        for _, _, bgr in sorted(self.best, key=lambda x: -x[1]):
            self.write(bgr)


def _open_av(src: str):
    container = av.open(src)
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    return container, stream


def run_pyav_naive(job: Job, src: str, out: str, plan: Plan) -> dict:
    write = _Writer(job, out)
    decoded = 0
    container, stream = _open_av(src)
    with container:
        if job.mode == "key":
            for frame in container.decode(stream):
                decoded += 1
                if frame.key_frame:
                    write(frame.to_ndarray(format="bgr24"))
            return {"frames_decoded": decoded}
        times = list(plan.targets_ms)
        dh = _Dhash(job, write) if job.dense else None
        tb = stream.time_base
        start = None
        prev = None
        i = 0
        last_emitted = None

        def emit(frame) -> None:
            nonlocal last_emitted
            if frame is None or frame is last_emitted:
                return
            last_emitted = frame
            if dh is not None:
                dh.candidate(frame.to_ndarray(format="gray"), lambda: frame.to_ndarray(format="bgr24"))
            else:
                write(frame.to_ndarray(format="bgr24"))

        for frame in container.decode(stream):
            decoded += 1
            if start is None:
                start = frame.pts
            t = (frame.pts - start) * tb * 1000
            while i < len(times) and t > times[i]:
                emit(prev)  # the last frame at or before the target time
                i += 1
            if i == len(times):
                break
            prev = frame
        while i < len(times):
            emit(prev)
            i += 1
        if dh is not None:
            dh.finish()
    return {"frames_decoded": decoded}


def run_pyav_seek(job: Job, src: str, out: str, plan: Plan) -> dict:
    write = _Writer(job, out)
    decoded = 0
    container, stream = _open_av(src)
    with container:
        tb = stream.time_base
        start = plan.start_pts
        for t in plan.targets_ms:
            ticks = start + int(t / 1000 / tb)
            container.seek(ticks, stream=stream, backward=True)
            for frame in container.decode(stream):
                decoded += 1
                if frame.pts is not None and frame.pts >= ticks:
                    write(frame.to_ndarray(format="bgr24"))
                    break
    return {"frames_decoded": decoded}


def run_pyav_nonkey(job: Job, src: str, out: str, plan: Plan) -> dict:
    write = _Writer(job, out)
    decoded = 0
    container, stream = _open_av(src)
    with container:
        stream.codec_context.skip_frame = "NONKEY"
        for frame in container.decode(stream):
            decoded += 1
            write(frame.to_ndarray(format="bgr24"))
    return {"frames_decoded": decoded}


def run_opencv(job: Job, src: str, out: str, plan: Plan) -> dict:
    import cv2

    write = _Writer(job, out)
    cap = cv2.VideoCapture(src, cv2.CAP_FFMPEG)
    if not cap.isOpened():
        raise RuntimeError(f"OpenCV cannot open {src}")
    try:
        if not job.dense:
            for t in plan.targets_ms:
                cap.set(cv2.CAP_PROP_POS_MSEC, float(t))
                ok, img = cap.read()
                if ok:
                    write(img)
            return {"frames_decoded": None}
        # Dense: read straight through (seeking per candidate would re-decode each
        # GOP many times), retrieve only candidate frames.
        dh = _Dhash(job, write)
        times = [float(t) for t in plan.targets_ms]
        i = 0
        decoded = 0
        while i < len(times) and cap.grab():
            decoded += 1
            t = cap.get(cv2.CAP_PROP_POS_MSEC)
            if t + 1e-3 >= times[i]:
                ok, img = cap.retrieve()
                if ok:
                    dh.candidate(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), lambda img=img: img)
                while i < len(times) and t + 1e-3 >= times[i]:
                    i += 1
        dh.finish()
        return {"frames_decoded": decoded}
    finally:
        cap.release()


def run_floor(job: Job, src: str, out: str, plan: Plan, *, skip_nonref: bool = False) -> dict:
    stats = decode_floor(src, plan.target_pts, plan.key_pts, keyframes_only=plan.keyframes_only,
                         skip_nonref=skip_nonref)
    missing = len(set(plan.target_pts)) - len(set(stats.found))
    return {"frames_decoded": stats.frames_decoded, "seeks": stats.seeks, "missing": missing,
            "fallbacks": stats.fallbacks}


def run_decode_all(job: Job, src: str, out: str, plan: Plan) -> dict:
    decoded = 0
    container, stream = _open_av(src)
    with container:
        for _ in container.decode(stream):
            decoded += 1
    return {"frames_decoded": decoded}


def run_engine(job: Job, src: str, out: str, plan: Plan, *, warm: bool = True) -> dict:
    import tempfile

    from engine import snapshot
    from engine.heap import pin_mmap_threshold

    pin_mmap_threshold()  # as the engine's own processes (CLI, serve, batch workers) do
    if warm:
        with tempfile.TemporaryDirectory() as tmp:
            snapshot(str(SMALL_SAMPLE), job.process, os.path.join(tmp, "warm"))
    t0 = time.perf_counter()
    result = snapshot(src, job.process, os.path.join(out, "snap"))
    wall = time.perf_counter() - t0
    return {"wall_s": wall, "frames_decoded": result.frames_decoded, "snapshots": len(result.snapshots)}


RUNNERS: dict[str, Callable[..., dict]] = {
    "engine": run_engine,
    "opencv": run_opencv,
    "pyav-naive": run_pyav_naive,
    "pyav-seek": run_pyav_seek,
    "pyav-nonkey": run_pyav_nonkey,
    "floor": run_floor,
    "floor-nonref": lambda *a: run_floor(*a, skip_nonref=True),
    "decode-all": run_decode_all,
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.peers")
    ap.add_argument("--tool", required=True, choices=sorted(RUNNERS))
    ap.add_argument("--src", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--plan", required=True, help="JSON file: {'job': asdict(Job), 'plan': Plan.to_json()}")
    args = ap.parse_args(argv)
    with open(args.plan) as f:
        payload = json.load(f)
    job = Job(**{**payload["job"], "crop": tuple(payload["job"]["crop"]) if payload["job"]["crop"] else None})
    plan = Plan.from_json(payload["plan"])
    # Imports a tool needs are paid before the clock starts.
    import cv2  # noqa: F401
    import numpy  # noqa: F401

    if job.dense:
        import imagehash  # noqa: F401
        import PIL.Image  # noqa: F401

    t0 = time.perf_counter()
    info = RUNNERS[args.tool](job, args.src, args.out, plan)
    info.setdefault("wall_s", time.perf_counter() - t0)
    print(RESULT_TAG + json.dumps(info), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
