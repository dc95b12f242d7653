"""Cost against video length: 1 minute, 1 hour and 3 hours of one 1080p H.264 stream.

    python -m benchmarks.long_files [--media DIR] [--lengths 1 60 180] [--runs N] [--out DIR]

The long files are the 1-minute benchmark file (:mod:`benchmarks.media`) looped
with ``ffmpeg -stream_loop N -c copy`` (no re-encode), built on first use into
``--media`` (default ``bench_media/``, never committed: about 11 MB a minute).

Every measurement is a fresh process (start-up included), repetitions are
interleaved (engine, peer, engine, peer …) so that load on a shared machine hits
both alike; the wall time is the median, the peak RSS the process's own (``wait4``),
and ``bytes_read`` the engine's own count of what it read from the source.

- **one snapshot in the middle** (``ss_<half>,num_1``, full size jpg): the engine
  CLI against the FFmpeg CLI ``-ss T -i f -frames:v 1``; beside it what Python
  start-up alone costs (``python -c pass``, ``python -c "import engine.cli"``).
- **``m_avg,num_10``, 512² crop**: the engine CLI against the seek-and-decode floor,
  a PyAV process that seeks to each target, decodes forward to the frame shown
  there, resizes, crops and writes it (:data:`FLOOR`).
- the same two **off the keyframes**: looping a 1-minute file puts a keyframe at
  every whole minute, where the middle of an hour and every ``m_avg,num_10`` target
  of a whole number of hours fall (one frame to decode each); ``ss`` 4.2 s later for
  the one snapshot, ``ss_4000`` for ``m_avg`` put every target inside a GOP (up to
  250 frames to decode each).
- **``inter_600000``** (a frame every 10 minutes), full size: a sparse job's bytes
  read.

Writes ``DIR/long_files.json``, ``.md`` and ``.png`` (DIR: ``benchmarks/results/``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import chart, media
from benchmarks.compare import RESULTS_DIR, _env, machine_line, machine_notes, measure, warm_page_cache, \
    write_outputs

#: The seek-and-decode floor: seek to each m_avg target, decode forward to the
#: frame shown there (every frame from the keyframe, nothing skipped), resize to
#: cover 512², crop the centre, write a JPEG.
FLOOR = r"""
import sys
from fractions import Fraction
import av, cv2
src, out, n, ss = sys.argv[1], sys.argv[2], int(sys.argv[3]), Fraction(sys.argv[4])
with av.open(src) as container:
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    tb = Fraction(stream.time_base)
    start = stream.start_time or 0
    duration = Fraction(container.duration, 1000000)
    for k in range(n):
        t = start + int((ss + (k + Fraction(1, 2)) * (duration - ss) / n) / tb)
        container.seek(t, backward=True, stream=stream)
        shown = None
        for frame in container.decode(stream):
            if frame.pts > t:
                break
            shown = frame
        image = shown.to_ndarray(format="bgr24")
        h, w = image.shape[:2]
        scale = max(512 / w, 512 / h)
        size = (max(512, round(w * scale)), max(512, round(h * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        y, x = (size[1] - 512) // 2, (size[0] - 512) // 2
        cv2.imwrite(f"{out}_{k + 1}.jpg", image[y:y + 512, x:x + 512])
"""


def long_file(minutes: int, media_dir: Path, log) -> Path:
    """The benchmark stream, ``minutes`` long: the 1-minute file looped."""
    one = media.bench_file(60, log=log)
    if minutes == 1:
        return one
    path = media_dir / f"bench_v{media.VERSION}_1080p30_{minutes}min_looped.mp4"
    if not path.exists():
        log(f"building {path.name} (ffmpeg -stream_loop {minutes - 1} -c copy)")
        media_dir.mkdir(parents=True, exist_ok=True)
        part = path.with_suffix(".part.mp4")
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-stream_loop", str(minutes - 1), "-i", str(one),
                        "-c", "copy", str(part)], check=True)
        part.rename(path)
    return path


def engine(src: Path, process: str, out: str) -> list[str]:
    return [sys.executable, "-m", "engine.cli", str(src), process, "-o", out, "--json"]


def _median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def bench(commands: dict[str, list[str]], runs: int, log) -> dict[str, list[dict]]:
    """Each command ``runs`` times, interleaved; a failure is an error."""
    env = _env()
    results: dict[str, list[dict]] = {name: [] for name in commands}
    for number in range(runs):
        for name, argv in commands.items():
            run = measure(argv, env=env)
            if run["rc"] != 0:
                raise RuntimeError(f"{name} failed ({run['rc']}): {run['stderr'][-500:]}")
            if argv[1:3] == ["-m", "engine.cli"]:
                run["bytes_read"] = json.loads(run["stdout"])["bytes_read"]
            run.pop("stdout"), run.pop("stderr")
            results[name].append(run)
            log(f"  {name} run {number + 1}: {run['outer_s']:.2f} s, {run['peak_rss_mb']:.0f} MB")
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.long_files", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--media", type=Path, default=media.MEDIA_DIR, help="where the long files are built")
    ap.add_argument("--lengths", type=int, nargs="+", default=[1, 60, 180], help="minutes (default 1 60 180)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = ap.parse_args(argv)
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    if shutil.which("ffmpeg") is None:
        log("the FFmpeg CLI is needed (to loop the file, and as the peer)")
        return 2
    machine = machine_notes()
    started = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        startup = bench({"python": [sys.executable, "-c", "pass"],
                         "import": [sys.executable, "-c", "import engine.cli"]}, args.runs, log)
        for minutes in args.lengths:
            src = long_file(minutes, args.media, log)
            warm_page_cache(src)
            size = src.stat().st_size
            half_ms = minutes * 30_000
            log(f"{src.name}: {size / 1e6:.0f} MB")
            found = bench({
                "engine one": engine(src, f"video/snapshots,f_jpg,ss_{half_ms},num_1", f"{scratch}/one"),
                "ffmpeg one": ["ffmpeg", "-v", "error", "-y", "-ss", str(half_ms / 1000), "-i", str(src),
                               "-frames:v", "1", f"{scratch}/ff.jpg"],
                "engine avg": engine(src, "video/snapshots,f_jpg,m_avg,num_10,w_512,h_512,scaletype_crop",
                                     f"{scratch}/avg"),
                "floor avg": [sys.executable, "-c", FLOOR, str(src), f"{scratch}/floor", "10", "0"],
                "engine one mid": engine(src, f"video/snapshots,f_jpg,ss_{half_ms + 4200},num_1", f"{scratch}/onem"),
                "ffmpeg one mid": ["ffmpeg", "-v", "error", "-y", "-ss", str((half_ms + 4200) / 1000), "-i", str(src),
                                   "-frames:v", "1", f"{scratch}/ffm.jpg"],
                "engine avg mid": engine(
                    src, "video/snapshots,f_jpg,m_avg,num_10,ss_4000,w_512,h_512,scaletype_crop", f"{scratch}/avgm"),
                "floor avg mid": [sys.executable, "-c", FLOOR, str(src), f"{scratch}/floorm", "10", "4"],
                "engine sparse": engine(src, "video/snapshots,f_jpg,inter_600000", f"{scratch}/sparse"),
            }, args.runs, log)
            rows.append({"minutes": minutes, "bytes": size, "runs": found})
    elapsed = time.perf_counter() - started
    machine["loadavg_end"] = os.getloadavg()
    python_s, import_s = _median(startup["python"], "outer_s"), _median(startup["import"], "outer_s")
    lines = [
        "## Long files",
        "",
        f"Machine: {machine_line(machine)}. Whole processes, median of {args.runs} interleaved runs; "
        f"total {elapsed:.0f} s. Python start-up alone: {python_s:.2f} s; with the engine's imports "
        f"(`import engine.cli`): {import_s:.2f} s.",
        "",
        "| video | size | one snapshot: engine CLI | FFmpeg CLI `-ss` | engine / FFmpeg | engine read "
        "| `m_avg,num_10` 512²: engine CLI | seek-and-decode floor | engine / floor | engine read "
        "| `inter_600000`: engine read | peak RSS one / avg / sparse |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    panels = {key: chart.Panel(title) for key, title in (
        ("one", "one snapshot in the middle: wall (s)"), ("avg", "m_avg,num_10 512² crop: wall (s)"))}
    memory = chart.Panel("engine peak RSS (MB)", unit="MB")
    mid: list[str] = []
    for row in rows:
        r, size = row["runs"], row["bytes"]
        wall = {name: _median(runs, "outer_s") for name, runs in r.items()}
        read = {name: _median(runs, "bytes_read") / size for name, runs in r.items() if name.startswith("engine")}
        rss = {name: max(run["peak_rss_mb"] for run in runs) for name, runs in r.items()}
        label = f"{row['minutes']} min" if row["minutes"] < 60 else f"{row['minutes'] // 60} h"
        row["summary"] = {"wall_s": wall, "read_fraction": read, "peak_rss_mb": rss}
        lines.append(
            f"| {label} | {size / 1e6:.0f} MB | {wall['engine one']:.2f} s | {wall['ffmpeg one']:.2f} s "
            f"| {wall['engine one'] / wall['ffmpeg one']:.2f} | {read['engine one']:.2%} "
            f"| {wall['engine avg']:.2f} s | {wall['floor avg']:.2f} s | {wall['engine avg'] / wall['floor avg']:.2f} "
            f"| {read['engine avg']:.2%} | {read['engine sparse']:.2%} "
            f"| {rss['engine one']:.0f} / {rss['engine avg']:.0f} / {rss['engine sparse']:.0f} MB |")
        mid.append(
            f"| {label} | {wall['engine one mid']:.2f} s | {wall['ffmpeg one mid']:.2f} s "
            f"| {wall['engine one mid'] / wall['ffmpeg one mid']:.2f} | {read['engine one mid']:.2%} "
            f"| {wall['engine avg mid']:.2f} s | {wall['floor avg mid']:.2f} s "
            f"| {wall['engine avg mid'] / wall['floor avg mid']:.2f} | {read['engine avg mid']:.2%} "
            f"| {rss['engine one mid']:.0f} / {rss['engine avg mid']:.0f} MB |")
        for key, peer in (("one", "ffmpeg one"), ("avg", "floor avg")):
            for name in (f"engine {key}", peer, f"engine {key} mid", f"{peer} mid"):
                panels[key].bars.append(chart.Bar(f"{label} {name}", wall[name], f"{wall[name]:.2f} s",
                                                  chart.COLOURS.get(name.split()[0], chart.DEFAULT_COLOUR)))
        for name in ("engine one", "engine avg", "engine sparse"):
            memory.bars.append(chart.Bar(f"{label} {name}", rss[name], f"{rss[name]:.0f} MB",
                                         chart.COLOURS["engine"]))
    lines += ["", "Off the keyframes (`ss` 4.2 s after the middle; `m_avg,num_10,ss_4000`):", "",
              "| video | one snapshot: engine CLI | FFmpeg CLI `-ss` | engine / FFmpeg | engine read "
              "| `m_avg,num_10,ss_4000` 512²: engine CLI | floor | engine / floor | engine read | peak RSS one / avg |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|", *mid]
    md = "\n".join(lines)
    print(md)
    payload = {"machine": machine, "runs": args.runs, "elapsed_s": elapsed,
               "startup_s": {"python": python_s, "import_engine_cli": import_s}, "rows": rows}
    paths = write_outputs(args.out, "long_files", payload, md, [*panels.values(), memory],
                          f"Cost against video length ({machine['cpus_usable']} cores)", columns=3)
    log("wrote " + ", ".join(str(p) for p in paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
