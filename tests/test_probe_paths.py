"""The two probe paths give the same job: the container's index (MP4/MOV sample
tables, Matroska cues) and the full packet scan, forced on the same files, write
the same frames with the same times, and the index path reads less."""

from __future__ import annotations

from pathlib import Path

import pytest

import ffmpeg_oracle
from engine import snapshot
from engine import settings
from engine.probe import Source, probe
from engine.settings import PROBE_ENV
from oracle import SAMPLE_DIR

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "media" / "real-world"
INDEXED = (".mp4", ".mov", ".mkv", ".webm")
FILES = sorted(
    [str(p) for p in CORPUS.glob("*") if p.suffix in INDEXED] + [str(p) for p in SAMPLE_DIR.glob("*") if p.suffix in INDEXED]
)
#: Files whose index the engine refuses (truncated files list packets they do not
#: hold; repeated edit lists list more entries than frames; an index whose key
#: flags disagree with the packets), so both paths scan (or read forward).
SCANNED = {"fate_displaymatrix.mp4", "fate_hevc_two_first_slice.mp4", "fate_wwwq_cut.mp4", "fate_mov-3elist.mp4",
           "fate_vc1-wmapro.mp4", "mb_fucked-keyframes.mp4"}


def _run(path: str, process: str, target: Path, monkeypatch, setting: str):
    monkeypatch.setenv(PROBE_ENV, setting)
    result = snapshot(path, process, str(target))
    return result, [(s.serial, s.requested_ms, s.pts_ms, s.keyframe, s.width, s.height, s.dhash, s.score,
                     Path(s.path).read_bytes()) for s in result.snapshots]


def test_there_are_indexed_files_to_compare():
    assert len(FILES) >= 25


@pytest.mark.parametrize("path", FILES, ids=[Path(f).name for f in FILES])
def test_probe_paths_agree(tmp_path, monkeypatch, path):
    name = Path(path).name
    with Source(path) as source, source.open() as container:
        info = probe(container, reopen=source.open)
        assert info.probe_path in ("index", "forward") if name not in SCANNED else info.probe_path != "index"
        index_info = info
    with Source(path) as source, source.open() as container:
        scan_info = probe(container, reopen=source.open, use_index=False)
    assert scan_info.probe_path in ("scan", "forward", "cover")
    if index_info.facts is not None and not index_info.facts.forward:
        a, b = index_info.facts, scan_info.facts
        assert (a.start_pts, a.last_pts, a.end_pts) == (b.start_pts, b.last_pts, b.end_pts)
        assert a.first_keyframe_pts == b.first_keyframe_pts and a.starts_mid_gop == b.starts_mid_gop
    for case, process in sorted(ffmpeg_oracle.CASES.items()):
        outcome = {}
        for setting in ("auto", "scan"):
            try:
                result, shots = _run(path, process, tmp_path / setting / case / "o", monkeypatch, setting)
                outcome[setting] = (shots, result.duration_ms, result.warnings, result.decode_errors)
            except Exception as error:  # noqa: BLE001 - both paths must fail alike
                outcome[setting] = (type(error), str(error))
        assert outcome["auto"] == outcome["scan"], (name, case)


def test_index_path_reads_less_of_a_sparse_job(tmp_path, monkeypatch, sample):
    import subprocess

    long = tmp_path / "long.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-stream_loop", "59", "-i", sample("h264_bframes.mp4"), "-c", "copy",
                    str(long)], check=True)
    process = "video/snapshots,f_jpg,ss_300000,num_1"
    index, shots_index = _run(str(long), process, tmp_path / "a", monkeypatch, "auto")
    scan, shots_scan = _run(str(long), process, tmp_path / "b", monkeypatch, "scan")
    assert shots_index == shots_scan
    size = long.stat().st_size
    assert scan.bytes_read >= size  # every packet was read
    assert index.bytes_read < scan.bytes_read / 5  # the index (moov) is read by every open: small files pay it most


def test_probe_setting_is_checked(monkeypatch):
    monkeypatch.setenv(PROBE_ENV, "sideways")
    with pytest.raises(ValueError, match=r"SNAPSHOTS_PROBE must be one of auto, scan, got 'sideways'"):
        settings.probe_path()
    monkeypatch.setenv(PROBE_ENV, "")
    assert settings.probe_path() == "auto"
