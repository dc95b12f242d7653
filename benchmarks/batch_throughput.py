"""Batch throughput: items/s and videos/s, local process pool vs a Dask LocalCluster.

    python -m benchmarks.batch_throughput [--videos N] [--runs R] [--json FILE]

The manifest has N small videos (links to the committed samples under distinct
names, cycling through the video samples), each with two jobs: the seed example
(``f_jpg,w_512,h_512,scaletype_crop,inter_10000``) and ``m_avg,num_4,w_256``; so
items = 2N. Each configuration runs the whole manifest through ``run_batch`` with a
fresh results file and output folder:

- ``in-process loop``: the baseline, ``run_item`` over the items in one warm
  process (no pool, no results file).
- ``local``: ``run_batch(workers=W)``, W = 1, 2. Wall time includes starting the
  pool (forkserver + workers) and each worker's first-item warm-up.
- ``dask``: ``run_batch(scheduler=...)`` on a ``LocalCluster`` of W worker
  processes × 1 thread, W = 1, 2; starting the cluster is excluded, connecting a
  client and the workers' first-item warm-up are included.

``wall`` rates are items (videos) over the whole run; ``steady`` rates count from
the first result to the last, i.e. without start-up. The table is the median of
R runs. Prints a Markdown table and then the JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from engine.batch import run_batch
from sample_media.catalog import SAMPLES, SAMPLE_DIR

PROCESSES = (
    "video/snapshots,f_jpg,w_512,h_512,scaletype_crop,inter_10000",
    "video/snapshots,f_jpg,m_avg,num_4,w_256",
)
VIDEOS = sorted(name for name, s in SAMPLES.items() if s.is_video and name != "two_streams.mkv")


@dataclass(frozen=True)
class Run:
    config: str
    workers: int
    items: int
    videos: int
    wall_s: float
    steady_s: float
    failed: int

    @property
    def items_per_s(self) -> float:
        return self.items / self.wall_s

    @property
    def videos_per_s(self) -> float:
        return self.videos / self.wall_s

    @property
    def steady_items_per_s(self) -> float:
        # The first result ends the start-up; the other items-1 are steady work.
        return (self.items - 1) / self.steady_s if self.steady_s > 0 else float("nan")


def make_manifest(folder: Path, videos: int) -> Path:
    media = folder / "media"
    media.mkdir(parents=True)
    lines = []
    for i in range(videos):
        sample = VIDEOS[i % len(VIDEOS)]
        link = media / f"v{i:04d}{Path(sample).suffix}"
        link.symlink_to(SAMPLE_DIR / sample)
        for j, process in enumerate(PROCESSES):
            lines.append(json.dumps({"source": f"media/{link.name}", "process": process, "target": f"out/v{i:04d}/job{j}"}))
    manifest = folder / "jobs.jsonl"
    manifest.write_text("\n".join(lines) + "\n")
    return manifest


def one_run(manifest: Path, config: str, workers: int, scheduler: str | None, videos: int, tag: str) -> Run:
    stamps: list[float] = []
    started = time.monotonic()
    summary = run_batch(manifest, results=manifest.parent / f"results-{tag}.jsonl", workers=workers,
                        scheduler=scheduler, on_record=lambda _: stamps.append(time.monotonic()))
    wall = time.monotonic() - started
    assert summary.ran == summary.items, summary
    return Run(config, workers, summary.items, videos, wall, stamps[-1] - stamps[0], summary.failed)


def in_process_run(manifest: Path, videos: int) -> Run:
    """Baseline without batch machinery: run_item in a loop in this (warmed) process."""
    from engine.batch import read_manifest, run_item

    jobs = [e.job for e in read_manifest(manifest)]
    run_item(jobs[0])  # warm-up, as a pool worker's first item
    stamps = []
    started = time.monotonic()
    failed = 0
    for job in jobs:
        failed += not run_item(job)["ok"]
        stamps.append(time.monotonic())
    return Run("in-process loop (warm, no pool)", 1, len(jobs), videos, time.monotonic() - started, stamps[-1] - stamps[0], failed)


def median_run(runs: list[Run]) -> Run:
    return sorted(runs, key=lambda r: r.wall_s)[len(runs) // 2]


def fresh_outputs(folder: Path) -> None:
    # Every run writes all of its outputs anew (no earlier run's files in the way).
    import shutil

    shutil.rmtree(folder / "out", ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--videos", type=int, default=30, help="videos in the manifest (2 jobs each)")
    parser.add_argument("--runs", type=int, default=3, help="runs per configuration (median reported)")
    parser.add_argument("--json", type=Path, help="also write the JSON here")
    parser.add_argument("--no-dask", action="store_true", help="local pool only")
    args = parser.parse_args(argv)

    table: list[Run] = []
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="batch-bench-") as tmp:
        manifest = make_manifest(Path(tmp), args.videos)
        table.append(median_run([in_process_run(manifest, args.videos) for _ in range(args.runs)]))
        for workers in (1, 2):
            runs = []
            for r in range(args.runs):
                fresh_outputs(manifest.parent)
                runs.append(one_run(manifest, "local", workers, None, args.videos, f"local{workers}-{r}"))
            table.append(median_run(runs))
        if not args.no_dask:
            from distributed import LocalCluster

            for workers in (1, 2):
                with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
                    runs = []
                    for r in range(args.runs):
                        fresh_outputs(manifest.parent)
                        runs.append(one_run(manifest, "dask", workers, cluster.scheduler_address, args.videos, f"dask{workers}-{r}"))
                    table.append(median_run(runs))

    print(f"{args.videos} videos × {len(PROCESSES)} jobs = {2 * args.videos} items; {os.cpu_count()} CPUs; "
          f"median of {args.runs} runs; load average {load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after\n")
    print("| runner | workers | items | wall s | items/s | videos/s | steady items/s |")
    print("|---|---|---|---|---|---|---|")
    for run in table:
        print(f"| {run.config} | {run.workers} | {run.items} | {run.wall_s:.2f} | {run.items_per_s:.1f} | "
              f"{run.videos_per_s:.1f} | {run.steady_items_per_s:.1f} |")
    report = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    # Other work on the machine skews every rate: say how busy it was.
                    "load_average_before": load_before, "load_average_after": os.getloadavg()},
        "videos": args.videos,
        "processes": PROCESSES,
        "runs_per_config": args.runs,
        "results": [asdict(r) | {"items_per_s": r.items_per_s, "videos_per_s": r.videos_per_s,
                                 "steady_items_per_s": r.steady_items_per_s} for r in table],
    }
    text = json.dumps(report, indent=2)
    print("\n" + text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0 if all(r.failed == 0 for r in table) else 1


if __name__ == "__main__":
    sys.exit(main())
