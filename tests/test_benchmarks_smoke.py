"""Smoke test of the whole-job benchmark harness on the committed sample (no timing
assertions): the decode floor decodes exactly the target frames, and one job runs
through the tools and the report writers. FFmpeg is skipped when not installed."""

from __future__ import annotations

import json
import shutil

import pytest
from PIL import Image

from benchmarks import compare
from benchmarks.peers import JOB_BY_KEY, SMALL_SAMPLE, decode_floor, make_plan, probe
from sample_media.barcode import read_barcode


@pytest.fixture(scope="module")
def info():
    return probe(SMALL_SAMPLE)


def _barcodes(plan, **kwargs) -> tuple[list[int], int]:
    seen: list[int] = []
    stats = decode_floor(SMALL_SAMPLE, plan.target_pts, plan.key_pts,
                         on_frame=lambda f: seen.append(read_barcode(f.to_ndarray(format="rgb24"))), **kwargs)
    return seen, stats.frames_decoded


@pytest.mark.parametrize("skip_nonref", [False, True])
def test_floor_decodes_the_frames_at_0_10_20_30_s(info, skip_nonref):
    plan = make_plan(JOB_BY_KEY["inter"], info)  # inter_10000 on 30 s at 29.97 fps
    seen, decoded = _barcodes(plan, skip_nonref=skip_nonref)
    assert seen == [0, 299, 599, 899]
    assert 4 <= decoded < 900  # seeks, never the whole file


def test_floor_keyframes_only(info):
    plan = make_plan(JOB_BY_KEY["key"], info)
    seen, decoded = _barcodes(plan, keyframes_only=True)
    assert seen == list(range(0, 900, 60))  # keyint 60
    assert decoded == 15


def test_plans_follow_the_spec(info):
    assert len(make_plan(JOB_BY_KEY["ss_num"], info).target_pts) == 5
    assert len(make_plan(JOB_BY_KEY["avg"], info).target_pts) == 10
    assert len(make_plan(JOB_BY_KEY["dhash_thr"], info).target_pts) == 31  # 0 … 30 s


def test_one_job_through_tools_and_writers(info, tmp_path):
    job = JOB_BY_KEY["inter"]
    tools = ["engine", "opencv", "floor"] + (["ffmpeg"] if shutil.which("ffmpeg") else [])
    jr = compare.bench_job(job, str(SMALL_SAMPLE), make_plan(job, info), tools, runs=1, slow_s=8.0,
                           shared={}, log=lambda _: None)
    for tool in tools:
        res = jr.tools[tool]
        assert res.ok, (tool, res.runs[0].error)
        assert res.wall_s is not None and res.peak_rss_mb > 0
    assert jr.tools["engine"].first("files") == 4
    assert jr.tools["engine"].first("frames_decoded") > 0
    assert jr.tools["floor"].first("frames_decoded") > 0
    md = compare.markdown_job(jr)
    assert md.count("\n| ") >= len(tools) + 1
    payload = {"jobs": [compare.to_json(jr)]}
    paths = compare.write_outputs(tmp_path, "compare", payload, md, compare.chart_panels([jr]), "smoke")
    loaded = json.loads(paths[0].read_text())
    assert loaded["jobs"][0]["tools"]["engine"]["files"] == 4
    with Image.open(paths[2]) as png:
        assert png.format == "PNG" and png.size[0] > 100


@pytest.mark.parametrize("ss", [0, 4])
def test_long_files_floor_writes_the_frames_shown_at_the_targets(tmp_path, ss):
    """The seek-and-decode floor of benchmarks.long_files writes, for m_avg, the
    frames the engine writes (same targets: t_k = ss + (k + ½)(D − ss)/n)."""
    import subprocess
    import sys

    import cv2

    from benchmarks.long_files import FLOOR
    from engine import snapshot

    subprocess.run([sys.executable, "-c", FLOOR, str(SMALL_SAMPLE), str(tmp_path / "floor"), "5", str(ss)], check=True)
    result = snapshot(str(SMALL_SAMPLE), f"video/snapshots,f_jpg,m_avg,num_5,ss_{ss * 1000},w_512,h_512,scaletype_crop",
                      str(tmp_path / "engine"))
    floor = [read_barcode(cv2.imread(str(tmp_path / f"floor_{k}.jpg"))[:, :, ::-1]) for k in range(1, 6)]
    assert floor == [read_barcode(cv2.imread(s.path)[:, :, ::-1]) for s in result.snapshots]
