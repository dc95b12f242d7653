"""Soak: a few hundred small jobs in one process leak no memory, descriptors or threads.

A service runs the engine for days in one process: every job must give back its
demuxer and decoder (file descriptors, codec contexts, frame pools) and its writer
threads, including jobs that fail after the source was opened.

Memory bound: resident memory is compared after a warm-up of 50 jobs (imports,
Numba compilation, FFmpeg's and OpenCV's lazily built tables and pools are then in
place) and after job 300. The bound, 16 MiB over 250 jobs, is 64 KiB per job: one
leaked decoded frame of the smallest sample (320×180 YUV 4:2:0, 84 KiB), a leaked
codec context with its frame pool (hundreds of KiB) or a leaked source RGB frame
(170+ KiB) per job would exceed it, while allocator noise stays well below it
(measured: under 1 MiB over 250 jobs).
"""

from __future__ import annotations

import gc
import os
import threading

import pytest

from engine import snapshot
from engine.errors import ProcessError, UndecodableError
from oracle import SAMPLE_DIR, leftovers

SAMPLES = ["hevc.mp4", "vp9_odd.webm", "ts_offset.ts", "rotated_90.mp4", "scenes.mp4", "vfr.mkv", "two_streams.mkv", "cover.mp3"]
JOBS = 300
WARM_UP = 50
MAX_GROWTH_BYTES = 16 * 2**20


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _open_fds() -> set[int]:
    return {int(fd) for fd in os.listdir("/proc/self/fd")}


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs Linux /proc")
def test_hundreds_of_jobs_level_off(tmp_path):
    gc.collect()
    fds_before = _open_fds()
    threads_before = threading.active_count()
    failures = 0
    rss_after_warm_up = None
    for job in range(1, JOBS + 1):
        name = SAMPLES[job % len(SAMPLES)]
        if job % 25 == 0:
            # A job that fails after the source is open (ss past the end is found from the
            # packets): the error path must close it too. (Not the audio cover: ss does
            # not apply to it.)
            video = "hevc.mp4" if name == "cover.mp3" else name
            with pytest.raises(ProcessError):
                snapshot(SAMPLE_DIR / video, "video/snapshots,f_jpg,ss_99000", tmp_path / "fail")
            failures += 1
        else:
            result = snapshot(SAMPLE_DIR / name, "video/snapshots,f_jpg,m_avg,num_1,w_64", tmp_path / f"j{job % 7}")
            assert len(result.snapshots) == 1
        if job == WARM_UP:
            gc.collect()
            rss_after_warm_up = _rss_bytes()
    gc.collect()
    growth = _rss_bytes() - rss_after_warm_up
    assert growth < MAX_GROWTH_BYTES, f"resident memory grew {growth / 2**20:.1f} MiB from job {WARM_UP} to job {JOBS}"
    assert _open_fds() - fds_before == set(), "file descriptors left open"
    assert threading.active_count() == threads_before, [t.name for t in threading.enumerate()]
    assert failures == JOBS // 25
    assert leftovers(tmp_path) == []
    assert not (tmp_path / "fail").exists()


def test_undecodable_jobs_release_everything(tmp_path):
    """Jobs that end in an InputError after opening the source (damaged stream) leak nothing."""
    source = tmp_path / "damaged.mp4"
    data = bytearray((SAMPLE_DIR / "hevc.mp4").read_bytes())
    # Keep the index (moov at the end) and wipe the media data: every packet is garbage.
    start = data.find(b"mdat") + 4
    moov = data.find(b"moov") - 4
    data[start:moov] = bytes(moov - start)
    source.write_bytes(bytes(data))
    snapshot(SAMPLE_DIR / "hevc.mp4", "video/snapshots,f_jpg,m_avg,num_1,w_64", tmp_path / "warm")
    gc.collect()
    fds_before = _open_fds()
    threads_before = threading.active_count()
    for _ in range(30):
        with pytest.raises(UndecodableError):
            snapshot(source, "video/snapshots,f_jpg,m_avg,num_2", tmp_path / "x")
    gc.collect()
    assert _open_fds() - fds_before == set()
    assert threading.active_count() == threads_before
    assert not (tmp_path / "x").exists() and list(tmp_path.glob("x*")) == []
