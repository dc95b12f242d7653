"""The console script: exit codes, one-line errors, JSON, nothing written on failure.

Runs the installed ``snapshots`` entry point in a child process, as users do.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from oracle import SAMPLE_DIR, frame_index_of

MAIN = str(SAMPLE_DIR / "h264_bframes.mp4")


# The console script installed beside the interpreter running the tests.
SCRIPT = Path(sys.executable).parent / "snapshots"


def cli(*args: str, cwd=None) -> subprocess.CompletedProcess[str]:
    assert SCRIPT.exists(), f"{SCRIPT}: the package is not installed (pip install -e .)"
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=120, cwd=cwd)


def test_json_result(tmp_path):
    done = cli(MAIN, "video/snapshots,f_jpg,w_512,h_512,scaletype_crop,inter_10000", "-o", str(tmp_path / "clip"), "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    shots = result["snapshots"]
    assert [s["serial"] for s in shots] == [1, 2, 3, 4]
    assert [frame_index_of(s["path"]) for s in shots] == [0, 299, 599, 899]
    assert {(s["width"], s["height"]) for s in shots} == {(512, 512)}
    assert result["decode_errors"] == 0 and result["warnings"] == []


def test_plain_output_lists_paths_and_warnings_go_to_stderr(tmp_path):
    done = cli(MAIN, "video/snapshots,f_jpg,m_avg,num_2,thr_5", "-o", str(tmp_path / "c"))
    assert done.returncode == 0
    assert done.stdout.split() == [str(tmp_path / "c_0_1.jpg"), str(tmp_path / "c_0_2.jpg")]
    assert done.stderr.startswith("snapshots: warning: thr: ignored")


def test_default_target_is_the_current_folder(tmp_path):
    done = cli(MAIN, "video/snapshots,f_png,m_avg,num_1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h264_bframes_0_1.png"]


@pytest.mark.parametrize(
    "process,code,message",
    [
        ("video/snapshots,f_gif", 2, r"f: 'gif' is not valid; valid: jpg, png, webp"),
        ("video/snapshots,f_jpg,w_10", 2, r"w: 10 is out of range; valid: an integer 32–4096"),
        ("video/snapshots,f_jpg,m_avg", 2, r"num: 0 \(the default\) is not valid with m_avg"),
        ("video/snapshots,f_jpg,ss_99000", 2, r"ss: 99000 ms is at or past the end"),
        ("video/snapshots,f_jpg,vs_1", 2, r"vs: 1 is out of range"),
        ("image/resize,f_jpg", 2, r"action 'image/resize' is not supported"),
    ],
)
def test_bad_processing_string_exits_2(tmp_path, process, code, message):
    done = cli(MAIN, process, "-o", str(tmp_path / "x"))
    assert done.returncode == code
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert re.search(message, lines[0]), lines[0]
    assert list(tmp_path.iterdir()) == []


def _text_file(tmp_path):
    path = tmp_path / "notes.mp4"
    path.write_text("this is not a video\n" * 50)
    return str(path)


def _empty_file(tmp_path):
    path = tmp_path / "empty.mp4"
    path.write_bytes(b"")
    return str(path)


@pytest.mark.parametrize(
    "make_source,message",
    [
        (lambda tmp: str(tmp / "missing.mp4"), r"missing\.mp4'?: no such file"),
        (lambda tmp: str(tmp), r"is a directory"),
        (_empty_file, r"empty \(0 bytes\)"),
        (_text_file, r"not a media file"),
        (lambda tmp: str(SAMPLE_DIR / "no_cover.mp3"), r"no video stream and no cover picture"),
    ],
    ids=["missing", "directory", "empty", "text-as-mp4", "audio-without-cover"],
)
def test_bad_input_exits_3(tmp_path, make_source, message):
    source = make_source(tmp_path)
    out = tmp_path / "out"
    done = cli(source, "video/snapshots,f_jpg", "-o", str(out / "x"))
    assert done.returncode == 3, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert re.search(message, lines[0]), lines[0]
    assert source.split("/")[-1] in lines[0]  # the message names the input
    assert not out.exists()


def test_refused_target_exits_4(tmp_path):
    process = "video/snapshots,f_jpg|sys/saveas,b_YnVja2V0,o_Li4vZXNjYXBl"  # bucket, ../escape
    (tmp_path / "bucket").mkdir()
    done = cli(MAIN, process, "--storage-root", str(tmp_path))
    assert done.returncode == 4
    assert "o: object '../escape' climbs out" in done.stderr
    assert list((tmp_path / "bucket").iterdir()) == []


# --- issue #16: help that teaches, errors that point the way --------------------------


def test_help_lists_subcommands_keys_and_an_example_per_mode():
    done = cli("--help")
    assert done.returncode == 0, done.stderr
    text = done.stdout
    for word in ("serve", "batch", "--version", "--json"):
        assert word in text
    for key in ("f ", "m ", "ss ", "inter ", "num ", "thr ", "w, h", "scaletype ", "q ", "sm ", "vs "):
        assert f"\n  {key}" in text, key
    for mode in ("inter_10000", "m_key", "m_avg", "m_dhash"):
        assert re.search(rf"snapshots \S+ '[^']*{mode}", text), mode
    assert "exit codes" in text


def test_version():
    from importlib.metadata import version

    done = cli("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"snapshots {version('snapshots-engine')}"


def test_help_of_the_package_shows_its_public_surface():
    import pydoc

    import engine

    text = pydoc.render_doc(engine, renderer=pydoc.plaintext)
    assert "Public surface" in text and "snapshots SOURCE PROCESS" in text
    assert "RemoteSourceError" in engine.__all__ and "__version__" in engine.__all__
    assert all(hasattr(engine, name) for name in engine.__all__)


def _one_error_line(done) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert lines[0].startswith("snapshots: error: ")
    return lines[0]


def test_swapped_arguments_are_named(tmp_path):
    done = cli("video/snapshots,f_jpg,inter_10000", MAIN, "-o", str(tmp_path / "x"))
    assert done.returncode == 2
    line = _one_error_line(done)
    assert "swapped" in line and "SOURCE PROCESS" in line and "h264_bframes.mp4" in line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("url", ["https://example.com/clip.mp4", "http://h/c.mp4", "s3://bucket/clip.mp4"])
def test_url_sources_are_refused_as_remote(tmp_path, url):
    done = cli(url, "video/snapshots,f_jpg", "-o", str(tmp_path / "x"))
    assert done.returncode == 3
    line = _one_error_line(done)
    assert url in line and "remote sources" in line and "not supported yet" in line
    assert "no such file" not in line


def test_unwritable_target_folder_is_refused_before_decoding(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    # m_inter every frame: ~900 decodes if the folder were found only at the first write.
    done = cli(MAIN, "video/snapshots,f_jpg,inter_0", "-o", str(blocker / "sub" / "clip"), "--json")
    assert done.returncode == 4
    line = _one_error_line(done)
    assert "cannot be created" in line and "is not a folder" in line
    assert json.loads(done.stdout)["error"]["class"] == "TargetError"


def test_json_failure_is_one_error_object(tmp_path):
    done = cli(MAIN, "video/snapshots,f_jpg,inetr_10000", "-o", str(tmp_path / "x"), "--json")
    assert done.returncode == 2
    line = _one_error_line(done)
    error = json.loads(done.stdout)["error"]
    assert error == {"class": "ProcessError", "message": line.removeprefix("snapshots: error: "), "exit": 2}
    assert "did you mean 'inter'?" in error["message"]


def test_one_snapshot_into_one_file_gives_no_last_only_warning(tmp_path):
    done = cli(MAIN, "video/snapshots,f_jpg,m_avg,num_1", "-o", str(tmp_path / "one.jpg"))
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    done = cli(MAIN, "video/snapshots,f_jpg,m_avg,num_3", "-o", str(tmp_path / "one.jpg"))
    assert done.returncode == 0, done.stderr
    assert "only the last of 3 snapshots is kept" in done.stderr


def test_dhash_fewer_events_than_num_warns(tmp_path):
    done = cli(str(SAMPLE_DIR / "scenes.mp4"), "video/snapshots,f_jpg,m_dhash,thr_99,num_5", "-o", str(tmp_path / "d"))
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.split()) == 1
    assert "snapshots: warning: m_dhash: only 1 event(s)" in done.stderr and "num_5" in done.stderr


@pytest.mark.parametrize("module", ["fastapi", "uvicorn", "pydantic"])
def test_serve_without_the_service_extra_says_which_extra(tmp_path, module):
    code = f"import sys; sys.modules[{module!r}] = None\nfrom engine.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    for folder in ("media", "store"):
        (tmp_path / folder).mkdir()
    (tmp_path / "s.toml").write_text('media_root = "media"\nstorage_root = "store"\ndatabase = "t.db"\n'
                                     '[clients.a]\napi_key = "a-key-0123456789abcdef"\n')
    done = subprocess.run([sys.executable, "-c", code, "serve", "--config", str(tmp_path / "s.toml")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        f"snapshots serve: error: needs the [service] extra (no module named {module!r}); install it: "
        "pip install 'snapshots-engine[service]' (from a checkout: pip install -e '.[service]')"
    ]
