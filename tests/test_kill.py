"""SIGKILL in the middle of a job (SPEC §4: "a failed or interrupted job leaves no
half-written image").

A child process (the CLI) writes every frame of the main sample as PNG (900 files);
once some files exist it is killed with SIGKILL, which no handler can catch. Then
every file under a real name must be a complete, decodable image of the frame its
serial names, and a temporary left by the kill may only be a hidden ``.part``
dotfile that never matches the output naming pattern.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bad_media import complete_image
from oracle import SAMPLE_DIR, frame_index_of

SCRIPT = Path(sys.executable).parent / "snapshots"
PROCESS = "video/snapshots,f_png,inter_0"  # 900 frames of h264_bframes.mp4, 1 file each
OUTPUT = re.compile(r"clip_0_([1-9][0-9]*)\.png")
TEMPORARY = re.compile(r"\.clip_0_[1-9][0-9]*\.png\..+\.part")


def _count(folder: Path) -> int:
    try:
        return sum(1 for name in os.listdir(folder) if OUTPUT.fullmatch(name))
    except FileNotFoundError:
        return 0


@pytest.mark.parametrize("after", [1, 150, 500], ids=lambda n: f"after-{n}-files")
def test_sigkill_leaves_only_complete_images(tmp_path, after):
    out = tmp_path / "out"
    child = subprocess.Popen(
        [str(SCRIPT), str(SAMPLE_DIR / "h264_bframes.mp4"), PROCESS, "-o", str(out / "clip")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while _count(out) < after and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        assert child.poll() is None, f"the job ended before {after} files: {child.stderr.read()!r}"
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stderr.close()

    names = os.listdir(out)
    finished = [n for n in names if OUTPUT.fullmatch(n)]
    temporaries = [n for n in names if n.endswith(".part")]
    assert len(finished) >= after
    assert len(finished) < 900, "the kill came too late to test anything"
    assert sorted(finished + temporaries) == sorted(names), f"unexpected files: {set(names) - set(finished) - set(temporaries)}"
    for name in temporaries:
        assert name.startswith(".") and TEMPORARY.fullmatch(name), name
        assert not OUTPUT.fullmatch(name)
    for name in finished:
        serial = int(OUTPUT.fullmatch(name).group(1))
        assert complete_image(out / name) == (384, 216), name
        # inter_0 from ss 0 on an intact file: serial j is frame j - 1.
        assert frame_index_of(out / name) == serial - 1, name
