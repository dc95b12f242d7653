"""How the engine's wall time and peak RSS grow with video length and target count.

    python -m benchmarks.scaling [--out DIR] [--quick] [--runs N]

Series (each run a fresh process; floors beside the engine for scale):

- video length 30 s / 2 min / 8 min (files built by remuxing the 30 s base's
  packets, see :mod:`benchmarks.media`): ``inter_10000`` 512² crop jpg and ``m_key``;
- number of targets on the 2 min file: ``m_avg`` with ``num`` 1, 4, 16, 64.

Writes ``DIR/scaling.json``, ``.md`` and ``.png`` (DIR: ``benchmarks/results/``).
Peak RSS should stay flat with video length (bounded frame queue).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from benchmarks import chart, media
from benchmarks.compare import RESULTS_DIR, JobResult, bench_job, machine_line, machine_notes, to_json, \
    warm_page_cache, write_outputs, _fmt
from benchmarks.peers import JOB_BY_KEY, Job, make_plan, probe

LENGTHS_S = (30, 120, 480)
AVG_COUNTS = (1, 4, 16, 64)
TOOLS = ["engine", "floor", "floor-nonref"]


def avg_job(n: int) -> Job:
    return Job(f"avg_{n}", f"m_avg, num_{n}, full size, jpg", f"video/snapshots,m_avg,num_{n},f_jpg", "jpg", "avg",
               num=n)


def _label(seconds: float) -> str:
    return f"{seconds:g} s" if seconds < 60 else f"{seconds / 60:g} min"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.scaling", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=RESULTS_DIR)
    ap.add_argument("--quick", action="store_true", help="one run per measurement")
    ap.add_argument("--runs", type=int, default=None, help="runs per measurement (default 3, --quick 1)")
    ap.add_argument("--slow", type=float, default=8.0, help="a floor whose first run takes longer runs once")
    args = ap.parse_args(argv)
    runs = args.runs or (1 if args.quick else 3)
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    t_start = time.perf_counter()
    machine = machine_notes()

    rows: list[tuple[str, str, JobResult]] = []  # (series, x label, result)
    files = {}
    for seconds in LENGTHS_S:
        files[seconds] = media.bench_file(seconds, log=log)
    for seconds in LENGTHS_S:
        src = files[seconds]
        warm_page_cache(src)
        info = probe(src)
        shared: dict = {}
        for key in ("inter", "key"):
            job = JOB_BY_KEY[key]
            jr = bench_job(job, str(src), make_plan(job, info), TOOLS, runs=runs, slow_s=args.slow,
                           shared=shared, log=log, always={"engine"})
            rows.append((f"length/{key}", _label(seconds), jr))
    src = files[120]
    warm_page_cache(src)
    info = probe(src)
    for n in AVG_COUNTS:
        job = avg_job(n)
        jr = bench_job(job, str(src), make_plan(job, info), TOOLS, runs=runs, slow_s=args.slow, shared={},
                       log=log, always={"engine"})
        rows.append(("targets/avg", f"num_{n}", jr))
    elapsed = time.perf_counter() - t_start
    machine["loadavg_end"] = os.getloadavg()

    lines = [
        "## Scaling",
        "",
        f"Machine: {machine_line(machine)}.",
        f"Wall: median of up to {runs} runs (engine always; floors slower than {args.slow:g} s: 1 run), the job "
        "alone (engine warm, in-process timing in a fresh process). Peak RSS of the engine's process (imports and "
        f"a warm-up job on the small sample included). Total run time {elapsed:.0f} s.",
        "",
        "| series | file / num | job | targets | engine s | floor s | floor-nonref s | engine / floor "
        "| engine / floor-nonref | frames decoded engine / floor / nonref | files | engine peak RSS MB | note |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---|",
    ]
    for series, x, jr in rows:
        engine = jr.tools["engine"]
        counts = " / ".join(_fmt(jr.tools[t].first("frames_decoded"), "d") for t in TOOLS)
        files_written = engine.first("files")
        note = ""
        if engine.ok and files_written != jr.plan_targets:
            note = f"⚠ engine wrote {files_written}, harness plans {jr.plan_targets}"
        if not engine.ok:
            note = engine.runs[0].error or "failed"
        lines.append(
            f"| {series} | {x} | `{jr.job.process.removeprefix('video/snapshots,')}` | {jr.plan_targets} "
            f"| {_fmt(jr.wall('engine'))} | {_fmt(jr.wall('floor'))} | {_fmt(jr.wall('floor-nonref'))} "
            f"| {_fmt(jr.ratio('engine', 'floor'))} | {_fmt(jr.ratio('engine', 'floor-nonref'))} | {counts} "
            f"| {_fmt(files_written, 'd')} | {_fmt(engine.peak_rss_mb, '.0f')} | {note} |"
        )
    md = "\n".join(lines)
    print(md)

    panels = []
    for series, title in (("length/inter", "inter_10000 512² crop: wall vs video length"),
                          ("length/key", "m_key: wall vs video length"),
                          ("targets/avg", "m_avg on the 2 min file: wall vs num")):
        panel = chart.Panel(title)
        for s, x, jr in rows:
            if s != series:
                continue
            for tool in TOOLS:
                w = jr.wall(tool)
                wrong = tool == "engine" and jr.tools[tool].first("files") not in (None, jr.plan_targets)
                text = "failed" if w is None else f"{w:.2f} s" + (
                    f"  (wrote {jr.tools[tool].first('files')} of {jr.plan_targets})" if wrong else "")
                panel.bars.append(chart.Bar(f"{x} {tool}", w, text, chart.COLOURS.get(tool, chart.DEFAULT_COLOUR),
                                            flagged=wrong))
        panels.append(panel)
    rss = chart.Panel("engine peak RSS (whole process)", unit="MB")
    for s, x, jr in rows:
        r = jr.tools["engine"].peak_rss_mb
        rss.bars.append(chart.Bar(f"{s.split('/')[1]} {x}", r, _fmt(r, ".0f", " MB"), chart.COLOURS["engine"]))
    panels.append(rss)
    payload = {
        "machine": machine,
        "settings": {"runs": runs, "slow_s": args.slow},
        "elapsed_s": elapsed,
        "files": {str(k): str(v) for k, v in files.items()},
        "rows": [{"series": s, "x": x, **to_json(jr)} for s, x, jr in rows],
    }
    paths = write_outputs(args.out, "scaling", payload, md, panels,
                          f"Engine scaling ({machine['cpus_usable']} cores)", columns=2)
    log("wrote " + ", ".join(str(p) for p in paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
