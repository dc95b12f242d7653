"""Real-world media (an external corpus, see CORPUS): every output image is the frame
SPEC §2 names, with the FFmpeg CLI as the independent oracle (tests/ffmpeg_oracle.py).

Five cases per file (``ffmpeg_oracle.CASES``): an interval, an odd start and
interval, every keyframe, evenly spread, and a 64² crop. A start at or past D must
be refused (``ProcessError``) and is checked as such.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import ffmpeg_oracle
from oracle import leftovers

#: 39 third-party files (25 MB, mostly FFmpeg FATE samples; its README.md lists each
#: one's origin), kept out of the repository: $SNAPSHOTS_REAL_WORLD_MEDIA, else
#: shared/media/real-world in the folder that holds the checkout.
CORPUS = Path(os.environ.get("SNAPSHOTS_REAL_WORLD_MEDIA")
              or Path(__file__).resolve().parents[2] / "shared" / "media" / "real-world")
FILES = sorted(p.name for p in CORPUS.glob("*") if p.suffix != ".md") if CORPUS.is_dir() else []

pytestmark = pytest.mark.skipif(not ffmpeg_oracle.available(), reason="the FFmpeg CLI oracle is not installed")


def test_corpus_is_present():
    """The suite below must not pass by finding nothing."""
    assert len(FILES) >= 39, f"expected the real-world corpus in {CORPUS} (or set SNAPSHOTS_REAL_WORLD_MEDIA)"


@pytest.mark.parametrize("case", sorted(ffmpeg_oracle.CASES))
@pytest.mark.parametrize("name", FILES)
def test_real_world_frames(tmp_path, name, case, probe_path):
    result = ffmpeg_oracle.check_job(str(CORPUS / name), ffmpeg_oracle.CASES[case], str(tmp_path / "o"))
    assert leftovers(tmp_path) == []
    if result is not None:
        assert all(os.path.exists(s.path) for s in result.snapshots)


@pytest.mark.parametrize("name, reason", [
    ("fate_Sony-00001_mpeg2.mxf", "the container cannot seek"),
    ("fate_hevc_two_first_slice.mp4", "a keyframe does not decode the same after a seek"),
    ("fate_cinepak_pcitva15.avi", "stores no presentation times"),
    ("fate_packed_bframes.avi", "stores no presentation times"),
    ("fate_vc1-wmapro.mp4", "pictures do not carry their packets' times"),
])
def test_sources_that_cannot_seek_are_read_forward(name, reason):
    """Each cause sends the stream to the picture timeline, said in the probe."""
    from engine.probe import open_source, probe

    path = str(CORPUS / name)
    with open_source(path) as container:
        info = probe(container, reopen=lambda: open_source(path))
    assert info.read_forward is not None and reason in info.read_forward
    assert info.facts.forward


@pytest.mark.parametrize("name", ["fate_Sony-00001_mpeg2.mxf", "fate_hevc_two_first_slice.mp4", "lp_videotest.mp4"])
def test_one_decoder_and_several_write_the_same(tmp_path, monkeypatch, name):
    """Seeks that fail or mislead must not make the output depend on the decoder count."""
    import cv2
    import numpy as np

    from engine import snapshot

    path = str(CORPUS / name)
    process = "video/snapshots,f_png,ss_40,inter_500"
    several = snapshot(path, process, str(tmp_path / "a"))
    monkeypatch.setenv("SNAPSHOTS_DECODERS", "1")
    single = snapshot(path, process, str(tmp_path / "b"))
    assert [s.pts_ms for s in single.snapshots] == [s.pts_ms for s in several.snapshots]
    for a, b in zip(several.snapshots, single.snapshots):
        assert np.array_equal(cv2.imread(a.path), cv2.imread(b.path)), (a.path, b.path)
