"""Helpers of the hostile-input suite (no tests here): media made with the ffmpeg
CLI (a test-time tool, never used at run time), and child processes bounded in
time and memory.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(sys.executable).parent / "snapshots"
#: Address space of a bounded child: ample for any honest job of these tests
#: (a CLI job peaks near 0.5 GiB), fatal to a memory bomb long before it hurts.
MEMORY_LIMIT = 1536 << 20
#: Seconds any one child may run.
TIME_LIMIT = 120


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", *args], check=True, timeout=TIME_LIMIT)


def h264(path: Path, size: str, seconds: float = 0.4, rate: str = "25", source: str = "testsrc") -> Path:
    ffmpeg("-f", "lavfi", "-i", f"{source}=size={size}:rate={rate}:duration={seconds}",
           "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path))
    return path


def bounded(memory: int = MEMORY_LIMIT, umask: int | None = None, file_size: int | None = None):
    """A ``preexec_fn``: the child's address space (and umask, largest file) limited."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        if file_size is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))
        if umask is not None:
            os.umask(umask)

    return limit


def snapshots(*args: str, umask: int | None = None, file_size: int | None = None) -> subprocess.CompletedProcess[str]:
    """The real CLI, bounded in time and memory."""
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=TIME_LIMIT,
                          preexec_fn=bounded(umask=umask, file_size=file_size))


def files(folder: Path) -> list[str]:
    """Every file under ``folder`` (relative names), hidden ones included."""
    if not folder.exists():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
