"""Whole-job comparison: the engine against the tools a user would reach for.

    python -m benchmarks.compare [--out DIR] [--seconds 120] [--quick] [--runs N] [--jobs KEY ...]

Builds (or reuses) the 1080p H.264 benchmark file in ``bench_media/`` (see
:mod:`benchmarks.media`), then runs every job of :data:`benchmarks.peers.JOBS`
through the engine (``engine.snapshot`` in-process, and the ``snapshots`` CLI),
FFmpeg's CLI, OpenCV, PyAV scripts and the decode floor. Every run is a fresh
process (peak RSS from ``wait4``), writing into a temporary folder that is counted
and deleted. Wall time is the median of ``--runs`` runs (3; 1 with ``--quick``);
any other tool whose first run takes longer than ``--slow`` seconds (5) runs
once, the engine (in-process) always ``--runs`` times. Runs are interleaved (tool order
repeats each round) so that drift in machine load hits every tool alike.

What "wall" means: for in-process tools (engine, OpenCV, PyAV, floor) the job
alone, imports excluded (and for the engine after one warm-up job on the small
sample, so the kernels are loaded); for CLIs (``engine-cli``, ``ffmpeg``) the
whole process. Compare CLI with CLI: the FFmpeg rows also give the ratio to
``engine-cli``.

Writes ``DIR/compare.json``, ``DIR/compare.md`` and ``DIR/compare.png`` (DIR
defaults to ``benchmarks/results/``, git-ignored) and prints the Markdown tables.
FFmpeg peers are skipped, with a note, when ``ffmpeg`` is not on PATH.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from benchmarks import chart, media
from benchmarks.peers import JOBS, JOB_BY_KEY, TOOLS, Job, Plan, RESULT_TAG, command, ffmpeg_note, make_plan, \
    probe, tools_for

REPO = media.REPO
RESULTS_DIR = REPO / "benchmarks" / "results"
ALWAYS_REPEAT = {"engine"}
REFERENCE_TOOLS = ("floor", "floor-nonref", "decode-all")  # decode only, write nothing


# ---------------------------------------------------------------------------
# Running one tool once
# ---------------------------------------------------------------------------


@dataclass
class Run:
    wall_s: float | None  # inner (job) for workers, outer for CLIs
    outer_s: float
    peak_rss_mb: float
    files: int | None
    frames_decoded: int | None = None
    extra: dict = field(default_factory=dict)
    error: str | None = None


# Peak RSS must come from a small parent: Linux carries a process's RSS high-water
# mark across fork and exec, so a child forked from this (large) process would
# report at least this process's RSS. The launcher is a bare interpreter that forks
# the command, waits for it and reports wall time and the child's own rusage.
_LAUNCHER = """
import json, os, sys, time
report, argv = sys.argv[1], sys.argv[2:]
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(argv[0], argv)
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - t0
with open(report, "w") as f:
    json.dump({"rc": os.waitstatus_to_exitcode(status), "wall_s": wall, "maxrss_kib": usage.ru_maxrss}, f)
"""


def measure(argv: list[str], *, env: dict | None = None, cwd: str | None = None) -> dict:
    """Run ``argv`` as a fresh process: its wall time and its own peak RSS (``wait4``
    in a small launcher: the process and the children it waited for, nobody else)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile(suffix=".json") as report:
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-S", "-c", _LAUNCHER, report.name, *argv], stdout=out, stderr=err,
                              stdin=subprocess.DEVNULL, env=env, cwd=cwd)
        outer = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        try:
            with open(report.name) as f:
                info = json.load(f)
        except ValueError:
            info = {"rc": proc.returncode or 1, "wall_s": outer, "maxrss_kib": 0}
        return {
            "rc": info["rc"],
            "outer_s": info["wall_s"],  # fork to exit of the command, launcher start excluded
            "peak_rss_mb": info["maxrss_kib"] / 1024,  # KiB on Linux
            "stdout": out.read().decode(errors="replace"),
            "stderr": err.read().decode(errors="replace"),
        }


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def _count_files(folder: str) -> int:
    return sum(len(files) for _, _, files in os.walk(folder))


def run_tool(tool: str, job: Job, src: str, plan: Plan) -> Run:
    """One run of ``tool`` on ``job`` in a fresh process and a fresh output folder."""
    with tempfile.TemporaryDirectory(prefix=f"bench_{job.key}_{tool}_") as tmp:
        out = os.path.join(tmp, "out")
        os.mkdir(out)
        argv = command(tool, job, src, out, plan)
        if argv is None:
            plan_file = os.path.join(tmp, "plan.json")
            with open(plan_file, "w") as f:
                json.dump({"job": asdict(job), "plan": plan.to_json()}, f)
            argv = [sys.executable, "-m", "benchmarks.peers", "--tool", tool, "--src", src, "--out", out,
                    "--plan", plan_file]
        m = measure(argv, env=_env(), cwd=str(REPO))
        files = _count_files(out)
    run = Run(wall_s=None, outer_s=m["outer_s"], peak_rss_mb=m["peak_rss_mb"], files=files)
    if m["rc"] != 0:
        lines = [line for line in m["stderr"].splitlines() if line.strip()]
        run.error = f"exit {m['rc']}: {lines[-1] if lines else '(no message)'}"
        return run
    if tool == "engine-cli":
        run.wall_s = m["outer_s"]
        try:
            run.frames_decoded = json.loads(m["stdout"])["frames_decoded"]
        except (ValueError, KeyError):
            pass
    elif tool == "ffmpeg":
        run.wall_s = m["outer_s"]
    else:
        line = next((l for l in reversed(m["stdout"].splitlines()) if l.startswith(RESULT_TAG)), None)
        if line is None:
            run.error = "no result line"
            return run
        info = json.loads(line[len(RESULT_TAG):])
        run.wall_s = info.pop("wall_s")
        run.frames_decoded = info.pop("frames_decoded", None)
        run.extra = info
    if tool in REFERENCE_TOOLS:
        run.files = None
    return run


# ---------------------------------------------------------------------------
# Jobs × tools
# ---------------------------------------------------------------------------


@dataclass
class ToolResult:
    tool: str
    runs: list[Run]
    note: str = ""
    shared_with: str | None = None  # measured under another job (same frames)

    @property
    def ok(self) -> bool:
        return any(r.error is None for r in self.runs)

    @property
    def wall_s(self) -> float | None:
        walls = [r.wall_s for r in self.runs if r.error is None and r.wall_s is not None]
        return statistics.median(walls) if walls else None

    def first(self, attr: str):
        for r in self.runs:
            if r.error is None:
                return getattr(r, attr)
        return None

    @property
    def peak_rss_mb(self) -> float | None:
        rss = [r.peak_rss_mb for r in self.runs if r.error is None]
        return max(rss) if rss else None


@dataclass
class JobResult:
    job: Job
    plan_targets: int
    tools: dict[str, ToolResult]
    loadavg: tuple[float, float, float] | None = None  # at the start of the job

    def wall(self, tool: str) -> float | None:
        t = self.tools.get(tool)
        return t.wall_s if t else None

    def ratio(self, a: str, b: str) -> float | None:
        wa, wb = self.wall(a), self.wall(b)
        return wa / wb if wa and wb else None


def bench_job(job: Job, src: str, plan: Plan, tools: list[str], *, runs: int, slow_s: float,
              shared: dict, log, always: set[str] = ALWAYS_REPEAT) -> JobResult:
    """Run every tool ``runs`` times, interleaved; tools not in ``always`` whose first
    run took longer than ``slow_s`` run once. ``shared`` carries floor measurements
    across jobs with the same target frames (measured once)."""
    results = {t: ToolResult(t, []) for t in tools}
    load = os.getloadavg()
    shared_key = (tuple(plan.target_pts), plan.keyframes_only)
    for tool in REFERENCE_TOOLS:
        key = (tool, None if tool == "decode-all" else shared_key)
        if tool in results and key in shared:
            other, previous = shared[key]
            results[tool] = ToolResult(tool, previous.runs, shared_with=other)
    for rep in range(runs):
        for tool in tools:
            res = results[tool]
            if res.shared_with:
                continue
            if rep > 0:
                if not res.ok:
                    continue
                if tool not in always and (res.runs[0].wall_s or 0) > slow_s:
                    continue
            run = run_tool(tool, job, src, plan)
            res.runs.append(run)
            status = run.error or f"{run.wall_s:.2f} s, {run.files} files, {run.peak_rss_mb:.0f} MB"
            log(f"  [{job.key}] {tool:12s} run {rep + 1}: {status}")
    for tool in REFERENCE_TOOLS:
        key = (tool, None if tool == "decode-all" else shared_key)
        if tool in results and not results[tool].shared_with:
            shared[key] = (job.key, results[tool])
    if "ffmpeg" in results:
        results["ffmpeg"].note = ffmpeg_note(job)
    return JobResult(job, len(plan.target_pts), results, load)


# ---------------------------------------------------------------------------
# Reporting
# ---------------------------------------------------------------------------


def _fmt(x: float | None, spec: str = ".2f", suffix: str = "") -> str:
    return "–" if x is None else f"{x:{spec}}{suffix}"


def _files(jr: JobResult, tool: str) -> int | None:
    res = jr.tools.get(tool)
    return res.first("files") if res is not None and res.ok else None


def expected_files(jr: JobResult) -> int | None:
    """The count a correct tool writes: the harness's own SPEC plan for the jobs
    whose count it knows (all but m_dhash), else the engine's."""
    return _files(jr, "engine") if jr.job.dense else jr.plan_targets


def wrong_count(jr: JobResult, tool: str) -> bool:
    files, expected = _files(jr, tool), expected_files(jr)
    return files is not None and expected is not None and files != expected and tool not in REFERENCE_TOOLS


def flags(jr: JobResult, tool: str) -> str:
    """Why a tool's output disagrees with the engine's or the plan (shown, never hidden)."""
    res = jr.tools[tool]
    if not res.ok:
        return res.runs[0].error if res.runs else "not run"
    notes = []
    engine_files, files = _files(jr, "engine"), res.first("files")
    planned = None if jr.job.dense else jr.plan_targets
    if tool in ("engine", "engine-cli") and planned is not None and files is not None and files != planned:
        notes.append(f"⚠ wrote {files} files, the SPEC plan has {planned}")
    elif tool not in ("engine", "engine-cli") and files is not None and engine_files is not None \
            and files != engine_files:
        agrees = " (= the SPEC plan)" if planned is not None and files == planned else ""
        notes.append(f"⚠ wrote {files} files, engine {engine_files}{agrees}")
    missing = (res.first("extra") or {}).get("missing")
    if missing:
        notes.append(f"⚠ {missing} targets not reached")
    return "; ".join(notes)


def summary(jr: JobResult) -> str:
    """The ratios the README's "Targets and where they stand" sets targets for."""
    job = jr.job
    parts = []
    r = jr.ratio("engine", "floor")
    if r is not None:
        target = " (target ≤ 1.15)" if job.mode == "inter" and job.inter_ms >= 8334 else ""
        parts.append(f"engine / floor = {r:.2f}{target}")
    r = jr.ratio("engine", "floor-nonref")
    if r is not None:
        parts.append(f"engine / floor-nonref = {r:.2f}")
    r = jr.ratio("ffmpeg", "engine")
    if r is not None:
        target = " (target ≥ 5)" if job.key == "inter" else " (target > 1)" if job.mode == "key" else ""
        parts.append(f"ffmpeg / engine = {r:.2f}{target}")
    r = jr.ratio("ffmpeg", "engine-cli")
    if r is not None:
        parts.append(f"ffmpeg / engine-cli = {r:.2f}")
    r = jr.ratio("opencv", "engine")
    if r is not None:
        parts.append(f"opencv / engine = {r:.2f}" + (" (target ≥ 1.5)" if job.key == "inter" else ""))
    if job.mode == "key":
        r = jr.ratio("engine", "pyav-nonkey")
        if r is not None:
            parts.append(f"engine / (keyframe decode + encode) = {r:.2f} (target ≤ 1.1)")
    if job.dense:
        r = jr.ratio("engine", "decode-all")
        if r is not None:
            parts.append(f"engine / decode-all = {r:.2f} (target < 1)")
    counts = [(t, jr.tools[t].first("frames_decoded")) for t in ("engine", "floor", "floor-nonref")
              if t in jr.tools and jr.tools[t].ok]
    if len(counts) > 1 and all(c is not None for _, c in counts):
        parts.append(f"frames decoded {' / '.join(t for t, _ in counts)} = {' / '.join(str(c) for _, c in counts)}")
    return " · ".join(parts)


def markdown_job(jr: JobResult) -> str:
    job = jr.job
    engine = jr.wall("engine")
    lines = [
        f"### {job.title}",
        "",
        f"`{job.process}` · {jr.plan_targets} target frames"
        + (f" · load average {jr.loadavg[0]:.1f} at the start" if jr.loadavg else ""),
        "",
        "| tool | wall s | runs | × engine | frames decoded | files | peak RSS MB | note |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for tool, res in jr.tools.items():
        wall = res.wall_s
        ratio = wall / engine if wall and engine else None
        note = "; ".join(filter(None, [res.note, flags(jr, tool),
                                        f"measured in job {res.shared_with}" if res.shared_with else ""]))
        if ratio is not None and ratio < 1 and tool not in REFERENCE_TOOLS and tool != "engine-cli":
            note = "; ".join(filter(None, ["◀ faster than the engine", note]))
        if tool == "ffmpeg" and jr.ratio("ffmpeg", "engine-cli"):
            note = "; ".join(filter(None, [note, f"{jr.ratio('ffmpeg', 'engine-cli'):.2f}× engine-cli"]))
        lines.append(
            f"| {tool} | {_fmt(wall)} | {len([r for r in res.runs if r.error is None])} | {_fmt(ratio, '.2f', '×')} "
            f"| {_fmt(res.first('frames_decoded'), 'd')} | {_fmt(res.first('files'), 'd')} "
            f"| {_fmt(res.peak_rss_mb, '.0f')} | {note} |"
        )
    s = summary(jr)
    if s:
        lines += ["", s]
    return "\n".join(lines)


def machine_notes() -> dict:
    import av
    import cv2
    import numpy

    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                if l.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    mem = None
    if Path("/proc/meminfo").exists():
        first = Path("/proc/meminfo").read_text().split("\n", 1)[0]
        mem = round(int(first.split()[1]) / 1024 / 1024, 1)
    ff = shutil.which("ffmpeg")
    ff_version = None
    if ff:
        try:
            ff_version = subprocess.run([ff, "-version"], capture_output=True, text=True, timeout=20).stdout.split("\n")[0]
        except Exception:
            pass
    git = {}
    try:
        run = lambda *a: subprocess.run(["git", *a], cwd=REPO, capture_output=True, text=True, timeout=20).stdout
        git = {"head": run("rev-parse", "--short", "HEAD").strip(),
               "dirty": [l[3:] for l in run("status", "--porcelain", "--", "engine", "kernels").splitlines()]}
    except Exception:
        pass
    return {
        "git": git,
        "cpus": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu_model": cpu,
        "mem_gib": mem,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "pyav": av.__version__,
        "libavcodec": ".".join(map(str, av.library_versions.get("libavcodec", ()))),
        "opencv": cv2.__version__,
        "numpy": numpy.__version__,
        "ffmpeg_cli": ff_version,
        "loadavg_start": os.getloadavg(),
    }


def machine_line(m: dict) -> str:
    git = m.get("git") or {}
    code = (f"; engine at {git['head']}" + (f" + uncommitted {', '.join(git['dirty'])}" if git.get("dirty") else "")
            if git.get("head") else "")
    return (f"{m['cpus_usable']} usable cores ({m['cpu_model']}), {m['mem_gib']} GiB, Python {m['python']}, "
            f"PyAV {m['pyav']} (libavcodec {m['libavcodec']}), OpenCV {m['opencv']}, "
            f"{m['ffmpeg_cli'] or 'no ffmpeg CLI'}; load average at start "
            f"{' / '.join(f'{x:.2f}' for x in m['loadavg_start'])}"
            + (f", at end {' / '.join(f'{x:.2f}' for x in m['loadavg_end'])}" if m.get("loadavg_end") else "")
            + code)


def chart_panels(results: list[JobResult]) -> list[chart.Panel]:
    panels = []
    for jr in results:
        engine = jr.wall("engine")
        panel = chart.Panel(jr.job.title)
        for tool, res in jr.tools.items():
            wall = res.wall_s
            flagged = wrong_count(jr, tool)
            text = "failed" if not res.ok else f"{wall:.2f} s" + (f"  ({wall / engine:.2f}x engine)" if engine and tool != "engine" else "")
            panel.bars.append(chart.Bar(tool, wall if res.ok else None, text,
                                        chart.COLOURS.get(tool, chart.DEFAULT_COLOUR), flagged))
        panels.append(panel)
    return panels


def _spread(res: ToolResult) -> list[float] | None:
    walls = [r.wall_s for r in res.runs if r.error is None and r.wall_s is not None]
    return [min(walls), max(walls)] if walls else None


def cold_start(runs: int, has_ffmpeg: bool, log) -> dict:
    """A one-frame job on the small sample as a whole process (target: ≤ 0.8 s
    with a warm Numba cache).  The resize job runs on the kernels compiled at install,
    and once more on Numba's JIT (``SNAPSHOTS_KERNELS=jit``) for comparison; a first
    run of each warms the page and Numba caches and is not counted."""
    from benchmarks.peers import SMALL_SAMPLE

    out = {}
    with tempfile.TemporaryDirectory(prefix="bench_cold_") as tmp:
        exe = Path(sys.executable).with_name("snapshots")
        cli = [str(exe)] if exe.exists() else [sys.executable, "-m", "engine.cli"]
        ff = [shutil.which("ffmpeg") or "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
              "-i", str(SMALL_SAMPLE), "-frames:v", "1", "-q:v", "2"]
        cmds = {}
        for name, process, vf in (
            ("full size", "video/snapshots,f_jpg,num_1", []),
            ("512² crop", "video/snapshots,f_jpg,w_512,h_512,scaletype_crop,num_1",
             ["-vf", "scale=512:512:force_original_aspect_ratio=increase,crop=512:512"]),
        ):
            engine = [*cli, str(SMALL_SAMPLE), process, "-o", os.path.join(tmp, "e_{index}.jpg")]
            cmds[f"engine-cli, {name}"] = (engine, _env())
            if vf:
                cmds[f"engine-cli, {name}, JIT kernels"] = (engine, {**_env(), "SNAPSHOTS_KERNELS": "jit"})
            if has_ffmpeg:
                cmds[f"ffmpeg, {name}"] = ([*ff, *vf, os.path.join(tmp, "f.jpg")], _env())
        for argv, env in cmds.values():
            measure(argv, env=env, cwd=str(REPO))  # warm the page and Numba caches
        for tool, (argv, env) in cmds.items():
            walls, rss = [], []
            for _ in range(max(runs, 7)):
                m = measure(argv, env=env, cwd=str(REPO))
                if m["rc"] == 0:
                    walls.append(m["outer_s"])
                    rss.append(m["peak_rss_mb"])
            out[tool] = {"wall_s": statistics.median(walls) if walls else None, "runs": walls,
                         "peak_rss_mb": max(rss) if rss else None}
            log(f"  [cold start] {tool:12s} {walls}")
    return out


def kernels_backend() -> str:
    from kernels import native

    return native.backend()


def markdown_cold(cold: dict) -> str:
    lines = ["### Cold start: one-frame job on `sample_media/h264_bframes.mp4`, whole process",
             "", "`video/snapshots,f_jpg,num_1`, and with `w_512,h_512,scaletype_crop` · kernels compiled at "
             f"install ({kernels_backend()}), and on Numba's JIT with a warm cache · target ≤ 0.8 s", "", "| tool | wall s | runs | peak RSS MB |", "|---|---:|---:|---:|"]
    for tool, r in cold.items():
        lines.append(f"| {tool} | {_fmt(r['wall_s'])} | {len(r['runs'])} | {_fmt(r['peak_rss_mb'], '.0f')} |")
    return "\n".join(lines)


def to_json(jr: JobResult) -> dict:
    return {
        "key": jr.job.key,
        "title": jr.job.title,
        "process": jr.job.process,
        "target_frames": jr.plan_targets,
        "loadavg_at_start": jr.loadavg,
        "summary": summary(jr),
        "tools": {
            tool: {
                "what": TOOLS.get(tool, ""),
                "wall_s": res.wall_s,
                "wall_min_max_s": _spread(res),
                "ratio_vs_engine": (res.wall_s / jr.wall("engine")) if res.wall_s and jr.wall("engine") else None,
                "frames_decoded": res.first("frames_decoded"),
                "files": res.first("files"),
                "peak_rss_mb": res.peak_rss_mb,
                "note": res.note,
                "flags": flags(jr, tool),
                "shared_with": res.shared_with,
                "runs": [asdict(r) for r in res.runs],
            }
            for tool, res in jr.tools.items()
        },
    }


def write_outputs(out_dir: Path, name: str, payload: dict, md: str, panels: list[chart.Panel], title: str,
                  columns: int = 1) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{name}.json", out_dir / f"{name}.md", out_dir / f"{name}.png"]
    paths[0].write_text(json.dumps(payload, indent=2, default=str) + "\n")
    paths[1].write_text(md + "\n")
    chart.draw(panels, paths[2], title, columns=columns)
    return paths


def warm_page_cache(path: Path) -> None:
    with open(path, "rb") as f:
        while f.read(1 << 22):
            pass


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.compare", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=RESULTS_DIR, help="output folder (default: benchmarks/results)")
    ap.add_argument("--seconds", type=float, default=120.0, help="length of the benchmark file (default 120)")
    ap.add_argument("--quick", action="store_true", help="one run per tool")
    ap.add_argument("--runs", type=int, default=None, help="runs per tool (default 3, --quick 1)")
    ap.add_argument("--slow", type=float, default=5.0,
                    help="a tool other than the engine whose first run takes longer runs only once (default 5 s)")
    ap.add_argument("--jobs", nargs="+", choices=[j.key for j in JOBS], help="only these jobs")
    args = ap.parse_args(argv)
    runs = args.runs or (1 if args.quick else 3)
    t_start = time.perf_counter()
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731

    machine = machine_notes()
    has_ffmpeg = shutil.which("ffmpeg") is not None
    if not has_ffmpeg:
        print("note: `ffmpeg` is not on PATH: the FFmpeg CLI peers are skipped "
              "(Debian/Ubuntu: apt-get install ffmpeg)", flush=True)
    t0 = time.perf_counter()
    src_path = media.bench_file(args.seconds, log=log)
    gen_s = time.perf_counter() - t0
    warm_page_cache(src_path)
    src = str(src_path)
    info = probe(src)
    log(f"benchmark file {src_path.name}: {len(info.pts)} frames, {len(info.key_pts)} keyframes, "
        f"{float(info.duration_ms) / 1000:.1f} s (ready in {gen_s:.1f} s)")

    jobs = [JOB_BY_KEY[k] for k in args.jobs] if args.jobs else list(JOBS)
    shared: dict = {}
    results = []
    for job in jobs:
        plan = make_plan(job, info)
        results.append(bench_job(job, src, plan, tools_for(job, ffmpeg=has_ffmpeg), runs=runs,
                                 slow_s=args.slow, shared=shared, log=log))
    cold = cold_start(runs, has_ffmpeg, log)
    elapsed = time.perf_counter() - t_start
    machine["loadavg_end"] = os.getloadavg()

    header = [
        "## Whole-job comparison",
        "",
        f"File: `{src_path.name}`: 1920×1080 H.264 (x264 {media.PRESET}, crf {media.CRF}), 30 fps, "
        f"{len(info.pts)} frames ({float(info.duration_ms) / 1000:.0f} s), keyframe every {media.GOP} frames, "
        f"{media.BFRAMES} B-frames ({src_path.stat().st_size / 1e6:.1f} MB).",
        f"Machine: {machine_line(machine)}.",
        f"Wall: median of up to {runs} runs (tools other than the engine slower than {args.slow:g} s: 1 run); "
        "in-process tools: the job alone; CLIs: the whole process. × engine = tool wall / engine wall "
        "(> 1: the engine is faster; ◀ marks a peer faster than the engine).",
        f"Total run time {elapsed:.0f} s (benchmark file ready in {gen_s:.1f} s).",
    ]
    if not has_ffmpeg:
        header.append("FFmpeg CLI peers skipped: `ffmpeg` not on PATH.")
    md = "\n".join(header) + "\n\n" + "\n\n".join([*(markdown_job(jr) for jr in results), markdown_cold(cold)])
    md += "\n\nTools: " + "; ".join(f"**{t}**: {w}" for t, w in TOOLS.items()) + "."
    print(md)
    payload = {
        "file": {"path": str(src_path), "frames": len(info.pts), "keyframes": len(info.key_pts),
                 "duration_s": float(info.duration_ms) / 1000, "bytes": src_path.stat().st_size,
                 "ready_s": gen_s},
        "machine": machine,
        "settings": {"runs": runs, "slow_s": args.slow, "quick": args.quick},
        "elapsed_s": elapsed,
        "jobs": [to_json(jr) for jr in results],
        "cold_start": cold,
    }
    paths = write_outputs(args.out, "compare", payload, md, chart_panels(results),
                          f"Whole-job wall time, {src_path.name} ({machine['cpus_usable']} cores)", columns=2)
    log("wrote " + ", ".join(str(p) for p in paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
