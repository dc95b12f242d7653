"""Keyframes from the container's index (engine.container_index): which indexes are
used, which are refused, and that what they give is what the scan gives."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from engine.container_index import index_facts, usable_index
from engine.probe import open_source, probe
from oracle import truth

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "media" / "real-world"


@pytest.mark.parametrize("name, every_packet", [("h264_bframes.mp4", True), ("hevc.mp4", True),
                                                ("vfr.mkv", False), ("vp9_odd.webm", False)])
def test_indexes_read_with_the_header(sample, name, every_packet):
    with open_source(sample(name)) as container:
        index = usable_index(container, container.streams.video[0])
    assert index is not None and index.every_packet == every_packet
    keys = [f for f in truth(name).frames if f.keyframe]
    assert 1 <= index.seek_points.size <= len(keys)
    assert np.all(np.diff(index.seek_points) > 0)
    if every_packet:
        assert index.seek_points.size == len(keys) and index.entries == len(truth(name).frames)


def test_containers_without_a_header_index_are_scanned(sample):
    with open_source(sample("ts_offset.ts")) as container:
        assert usable_index(container, container.streams.video[0]) is None


def test_a_truncated_file_refuses_its_index(sample, tmp_path):
    if shutil.which("ffmpeg") is None:
        pytest.skip("the FFmpeg CLI is needed to remux")
    whole = tmp_path / "faststart.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-i", sample("h264_bframes.mp4"), "-c", "copy", "-movflags", "+faststart",
                    str(whole)], check=True)
    cut = tmp_path / "cut.mp4"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) * 2 // 3])  # the index at the front names data that is gone
    with open_source(cut) as container:
        stream = container.streams.video[0]
        assert len(stream.index_entries) == 900
        assert usable_index(container, stream) is None
    with open_source(cut) as container:
        assert probe(container, reopen=lambda: open_source(cut)).probe_path == "scan"


@pytest.mark.skipif(not (CORPUS / "fate_mov-3elist.mp4").exists(), reason="real-world corpus missing")
def test_edit_lists_that_repeat_samples_refuse_the_index():
    with open_source(CORPUS / "fate_mov-3elist.mp4") as container:
        assert usable_index(container, container.streams.video[0]) is None


@pytest.mark.parametrize("name", ["h264_bframes.mp4", "hevc.mp4", "vfr.mkv", "vp9_odd.webm", "rotated_90.mp4"])
def test_index_facts_agree_with_the_scan(sample, name):
    path = sample(name)
    with open_source(path) as container:
        stream = container.streams.video[0]
        facts, entries = index_facts(container, stream, usable_index(container, stream),
                                     lambda: open_source(path), set())
    with open_source(path) as container:
        scanned = probe(container, reopen=lambda: open_source(path), use_index=False).facts
    assert facts is not None and entries > 0
    assert (facts.start_pts, facts.last_pts, facts.end_pts) == (scanned.start_pts, scanned.last_pts, scanned.end_pts)
    assert facts.first_keyframe_pts == scanned.first_keyframe_pts


def test_index_path_needs_no_scan_of_a_moov_at_the_end(sample, tmp_path):
    """A file whose index comes after the data (no faststart) is still indexed."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("the FFmpeg CLI is needed to remux")
    moved = tmp_path / "moov_last.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-i", sample("h264_bframes.mp4"), "-c", "copy", str(moved)], check=True)
    with open_source(moved) as container:
        info = probe(container, reopen=lambda: open_source(moved))
    assert info.probe_path == "index"
