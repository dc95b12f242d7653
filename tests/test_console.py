"""engine/console.py: the kernels' advice as one prefixed line per command run,
whatever the command (a job, a batch with several worker processes, the service)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.console import prefix_kernel_warnings

REPO = Path(__file__).resolve().parents[1]
NOT_BUILT = "kernels._native_aot is not built"


@pytest.fixture
def kernels_logger():
    logger = logging.getLogger("kernels")
    before = list(logger.handlers)
    yield logging.getLogger("kernels.native")
    logger.handlers[:] = before


def test_each_message_once_and_prefixed(kernels_logger, capsys):
    prefix_kernel_warnings("snapshots serve")
    prefix_kernel_warnings("snapshots serve")  # idempotent: still one handler
    for _ in range(3):
        kernels_logger.warning("%s (x)\nmore", NOT_BUILT)
    kernels_logger.warning("another")
    kernels_logger.info("not a warning")
    assert capsys.readouterr().err.splitlines() == [
        f"snapshots serve: warning: {NOT_BUILT} (x) more",
        "snapshots serve: warning: another",
    ]


@pytest.fixture
def without_compiled_kernels(tmp_path):
    """An environment whose every Python process (workers included) finds no
    compiled module, as where no C compiler was at install."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text("import sys\nsys.modules['kernels._native_aot'] = None\n")
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_DISABLE_JIT", "SNAPSHOTS_KERNELS")}
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(REPO)])
    return env


def _warnings_about_kernels(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "_native_aot" in line]


def test_a_job_says_it_once_prefixed(tmp_path, sample, without_compiled_kernels):
    code = (
        "import sys\n"
        "from engine.cli import main\n"
        "for n in (1, 2):\n"
        "    assert main([sys.argv[1], 'video/snapshots,f_jpg,num_2,w_64,h_64', '-o', f'{sys.argv[2]}/r{n}']) == 0\n"
    )
    done = subprocess.run([sys.executable, "-c", code, sample("h264_bframes.mp4"), str(tmp_path)],
                          cwd=REPO, env=without_compiled_kernels, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [line for line in done.stderr.splitlines()
                                        if line.startswith(f"snapshots: warning: {NOT_BUILT}")]
    assert len(done.stderr.splitlines()) == 1, done.stderr


def test_a_batch_says_it_once_for_all_its_workers(tmp_path, sample, without_compiled_kernels):
    manifest = tmp_path / "m.jsonl"
    lines = [{"source": sample(name), "process": "video/snapshots,f_jpg,num_2,w_64,h_64", "target": f"out/{n}"}
             for n, name in enumerate(["h264_bframes.mp4", "vp9_odd.webm", "hevc.mp4"])]
    manifest.write_text("".join(json.dumps(line) + "\n" for line in lines))
    done = subprocess.run([sys.executable, "-m", "engine.cli", "batch", str(manifest), "--workers", "2", "--no-progress"],
                          cwd=tmp_path, env=without_compiled_kernels, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert len(list((tmp_path / "out").iterdir())) == 6
    kernel_lines = _warnings_about_kernels(done.stderr)
    assert len(kernel_lines) == 1, done.stderr
    assert kernel_lines[0].startswith(f"snapshots batch: warning: {NOT_BUILT}")


def test_a_batch_refuses_an_unusable_kernel_choice_in_one_line(tmp_path, sample, without_compiled_kernels):
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(json.dumps({"source": sample("h264_bframes.mp4"), "process": "video/snapshots,num_1"}) + "\n")
    env = {**without_compiled_kernels, "SNAPSHOTS_KERNELS": "aot"}
    done = subprocess.run([sys.executable, "-m", "engine.cli", "batch", str(manifest), "--workers", "1", "--no-progress"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        f"snapshots batch: error: SNAPSHOTS_KERNELS=aot, but {NOT_BUILT} (import of kernels._native_aot halted; "
        "None in sys.modules); rebuild with `python -m kernels.build_native` or reinstall (needs a C compiler)"
    ]
