"""Decode runs on several decoders: the same frames, files and result as one decoder,
errors surfaced, nothing left running."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from engine import snapshot
from engine import parallel, settings
from engine.decoder import DecodeStats, decode_runs
from engine.params import parse
from engine.planner import plan
from engine.probe import open_source, probe
from oracle import frame_index_of, truth

JOBS = [
    ("h264_bframes.mp4", "video/snapshots,f_jpg,w_160,h_160,scaletype_crop,inter_2000"),
    ("h264_bframes.mp4", "video/snapshots,ss_11000,f_png,pw_50,ph_50,num_5,inter_4000"),
    ("h264_bframes.mp4", "video/snapshots,m_avg,num_10,f_jpg,w_96"),
    ("hevc.mp4", "video/snapshots,f_jpg,inter_1500,w_64"),
    ("vp9_odd.webm", "video/snapshots,m_avg,num_6,f_png"),
    ("ts_offset.ts", "video/snapshots,f_jpg,inter_700,w_64"),
    ("vfr.mkv", "video/snapshots,f_jpg,inter_700,w_64"),
    ("rotated_90.mp4", "video/snapshots,f_jpg,inter_300,w_80"),
    ("scenes.mp4", "video/snapshots,m_dhash,f_jpg,inter_200,thr_15,w_64"),
    ("scenes.mp4", "video/snapshots,m_dhash,f_jpg,num_3,w_64"),
]


def _run(sample, name, process, out: Path, decoders: str, monkeypatch):
    monkeypatch.setenv(settings.DECODERS_ENV, decoders)
    result = snapshot(sample(name), process, out / "shot")
    files = {Path(s.path).name: Path(s.path).read_bytes() for s in result.snapshots}
    return result, files


@pytest.mark.parametrize("name, process", JOBS, ids=[f"{n}:{p.split(',', 1)[1]}" for n, p in JOBS])
def test_several_decoders_write_what_one_writes(sample, tmp_path, monkeypatch, name, process):
    one, one_files = _run(sample, name, process, tmp_path / "one", "1", monkeypatch)
    three, three_files = _run(sample, name, process, tmp_path / "three", "3", monkeypatch)
    strip = lambda r: [(s.serial, s.requested_ms, s.pts_ms, s.keyframe, s.width, s.height, s.dhash, s.score)
                       for s in r.snapshots]  # noqa: E731
    assert strip(one) == strip(three)
    assert one.warnings == three.warnings and one.decode_errors == three.decode_errors == 0
    assert one_files == three_files  # same pixels, same encoder: same bytes
    assert len(one.snapshots) >= 3


def test_several_decoders_really_ran(sample, tmp_path, monkeypatch):
    """The path above is the parallel one: several threads decoded."""
    seen: set[str] = set()
    real = parallel._Worker.run

    def spy(self):
        seen.add(self.name)
        real(self)

    monkeypatch.setattr(parallel._Worker, "run", spy)
    monkeypatch.setenv(settings.DECODERS_ENV, "3")
    result = snapshot(sample("h264_bframes.mp4"), "video/snapshots,f_jpg,inter_5000,w_64", tmp_path / "x")
    assert len(seen) == 3
    # And the frames are the right ones: the frames shown at t = 0, 5, 10 ... s.
    facts = truth("h264_bframes.mp4")
    assert len(result.snapshots) == 7  # t = 0 ... 30 s < D = 30.03 s
    for k, snap in enumerate(result.snapshots):
        assert frame_index_of(snap.path) == facts.at(5000 * k).index


def _plan_for(path: str, process: str):
    request = parse(process)
    with open_source(path) as container:
        info = probe(container, position=None)
    job_plan = plan(request, info.facts)
    return info, job_plan, decode_runs(job_plan.times, info.facts)


def test_worker_errors_reach_the_consumer(sample):
    info, job_plan, runs = _plan_for(sample("h264_bframes.mp4"), "video/snapshots,f_jpg,inter_5000")

    def broken_open():
        raise OSError("disk gone")

    before = threading.active_count()
    with pytest.raises(OSError, match="disk gone"):
        list(parallel.parallel_resolve(broken_open, info.stream_index, job_plan, info.facts, runs, DecodeStats(), 2))
    assert threading.active_count() == before


def test_stopping_early_stops_the_workers(sample):
    path = sample("h264_bframes.mp4")
    info, job_plan, runs = _plan_for(path, "video/snapshots,f_jpg,inter_3000")
    assert len(runs) > 6
    before = threading.active_count()
    stats = DecodeStats()
    targets = parallel.parallel_resolve(lambda: open_source(path), info.stream_index, job_plan, info.facts, runs,
                                        stats, 3)
    first = [next(targets) for _ in range(2)]
    targets.close()
    assert threading.active_count() == before
    assert [job_plan.times.clock.to_ms(r.time) for r in first] == [0.0, 3000.0]
    assert stats.frames_decoded > 0  # the workers' counts were added


def test_memory_is_bounded_by_the_queues(sample):
    """Workers run at most QUEUE_FRAMES frames ahead of a consumer that waits."""
    path = sample("h264_bframes.mp4")
    info, job_plan, runs = _plan_for(path, "video/snapshots,f_jpg,inter_2500")
    assert len(runs) > 2 * parallel.QUEUE_FRAMES + 2
    targets = parallel.parallel_resolve(lambda: open_source(path), info.stream_index, job_plan, info.facts, runs,
                                        DecodeStats(), 2)
    next(targets)
    threading.Event().wait(0.5)  # let the workers fill their queues
    held = [t for t in threading.enumerate() if isinstance(t, parallel._Worker)]
    assert len(held) == 2
    assert all(w.out.qsize() <= parallel.QUEUE_FRAMES for w in held)
    assert all(w.is_alive() for w in held)  # blocked on a full queue, not finished
    targets.close()


@pytest.mark.parametrize("setting, cores, runs, expected", [
    ("", 2, 12, 2), ("", 16, 12, parallel.MAX_DECODERS), ("", 16, 3, 3), ("", 1, 12, 1),
    ("1", 16, 12, 1), ("6", 2, 12, 6), ("6", 2, 1, 1), ("", 2, 0, 1),
])
def test_decoder_count(monkeypatch, setting, cores, runs, expected):
    monkeypatch.setenv(settings.DECODERS_ENV, setting)
    monkeypatch.setattr(parallel, "_cores", lambda: cores)
    assert parallel.decoder_count(runs) == expected


@pytest.mark.parametrize("bad", ["0", "two", "-1", "1.5"])
def test_decoder_count_setting_is_checked(monkeypatch, bad):
    monkeypatch.setenv(settings.DECODERS_ENV, bad)
    with pytest.raises(ValueError, match=f"SNAPSHOTS_DECODERS must be a whole number >= 1, got {bad!r}"):
        parallel.decoder_count(4)


def test_damaged_and_keyframe_jobs_keep_one_decoder(sample, tmp_path, monkeypatch):
    calls = []
    real = parallel.parallel_resolve
    monkeypatch.setattr("engine.parallel.parallel_resolve", lambda *a, **k: calls.append(a) or real(*a, **k))
    monkeypatch.setenv(settings.DECODERS_ENV, "3")
    snapshot(sample("h264_bframes.mp4"), "video/snapshots,m_key,f_jpg,w_32", tmp_path / "k")
    assert calls == []
    snapshot(sample("h264_bframes.mp4"), "video/snapshots,inter_9000,f_jpg,w_32", tmp_path / "i")
    assert len(calls) == 1
    assert np.all(np.diff([r.seek for r in calls[0][4]]) > 0)
