"""Real-world media (../shared/media/real-world/): every output image is the frame
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

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "media" / "real-world"
FILES = sorted(p.name for p in CORPUS.glob("*") if p.suffix != ".md") if CORPUS.is_dir() else []

pytestmark = pytest.mark.skipif(not ffmpeg_oracle.available(), reason="the FFmpeg CLI oracle is not installed")


def test_corpus_is_present():
    """The suite below must not pass by finding nothing."""
    assert len(FILES) >= 39, f"expected the real-world corpus in {CORPUS}"


@pytest.mark.parametrize("case", sorted(ffmpeg_oracle.CASES))
@pytest.mark.parametrize("name", FILES)
def test_real_world_frames(tmp_path, name, case):
    result = ffmpeg_oracle.check_job(str(CORPUS / name), ffmpeg_oracle.CASES[case], str(tmp_path / "o"))
    assert leftovers(tmp_path) == []
    if result is not None:
        assert all(os.path.exists(s.path) for s in result.snapshots)
