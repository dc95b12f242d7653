"""Fuzzing (issue 4): processing strings end to end, and byte-flipped media via the CLI.

(a) ``engine.parse`` on arbitrary text returns a Request or raises ProcessError,
nothing else; ``engine.snapshot`` on valid-looking strings (small sizes, small
``num``) returns a Result or raises a SnapshotError subclass, and what it writes is
complete. (The parser's own grammar is fuzzed in tests/test_params.py.)
(b) ~30 mutants of three small samples (random byte flips, fixed seeds), each run
through the CLI in a child process with a timeout: exit 0, 2 or 3, never a
traceback, never a hang, no ``.part`` left, every written image decodes.

With CI=true the hypothesis profile "ci" (tests/conftest.py) derandomizes the
examples so CI runs are reproducible.
"""

from __future__ import annotations

import base64
import os
import random
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bad_media import complete_image, files_under
from engine import Request, Result, SnapshotError, parse, snapshot
from engine.errors import ProcessError
from oracle import SAMPLE_DIR, leftovers

SCRIPT = Path(sys.executable).parent / "snapshots"

# --- (a) processing strings -------------------------------------------------------------

KEYS = ["ss", "f", "m", "thr", "num", "inter", "w", "h", "pw", "ph", "scaletype", "ar", "q", "sm", "vs"]
SEPARATORS = [",", "_", "|", "/", ", ", ",,", "__", "=", ";", "\t", "\n", "\x00", "\u00a0", "\uff0c"]


def _b64_edge() -> st.SearchStrategy[str]:
    raw = st.binary(max_size=40) | st.text(max_size=20).map(lambda t: t.encode("utf-8"))
    encoded = raw.flatmap(
        lambda b: st.sampled_from(
            [
                base64.urlsafe_b64encode(b).decode(),
                base64.urlsafe_b64encode(b).decode().rstrip("="),
                base64.b64encode(b).decode(),
                base64.b64encode(b).decode() + "=",
                base64.b64encode(b).decode()[:-1],
                "=" + base64.b64encode(b).decode(),
                base64.b64encode(b).decode().replace("A", "*"),
            ]
        )
    )
    return encoded | st.sampled_from(["", "=", "==", "====", "AA", "AA=", "AAA", "AAAA", "AA==", "-_", "+/", "\x00"])


_token = st.one_of(
    st.builds(lambda k, v: f"{k}_{v}", st.sampled_from(KEYS), st.text(max_size=12)),
    st.builds(lambda k, v: f"{k}_{v}", st.sampled_from(KEYS), st.integers(-(2**40), 2**40).map(str)),
    st.builds(lambda k, v: f"{k}_{v}", st.sampled_from(["b", "o", "topic"]), _b64_edge()),
    st.sampled_from(["video/snapshots", "sys/saveas", "notify", "f_jpg", "m_avg", "num_1", ""]),
    st.text(max_size=20),
)
_fuzz_strings = st.one_of(
    st.text(max_size=200),
    st.builds(lambda toks, seps: "".join(t + s for t, s in zip(toks, seps)), st.lists(_token, max_size=12), st.lists(st.sampled_from(SEPARATORS), min_size=12, max_size=12)),
    st.builds(lambda toks: "video/snapshots," + ",".join(toks), st.lists(_token, max_size=10)),
    st.builds(lambda a, b: f"video/snapshots,f_jpg|sys/saveas,b_{a},o_{b}", _b64_edge(), _b64_edge()),
    st.builds(lambda a, b, c: f"video/snapshots,f_png|sys/saveas,o_{b},b_{a}/notify,topic_{c}", _b64_edge(), _b64_edge(), _b64_edge()),
    st.builds(lambda n, c: "video/snapshots,f_jpg," + c * n, st.integers(0, 9000), st.sampled_from([",", "w_64,", "x"])),
)


@settings(max_examples=300, deadline=None)
@given(_fuzz_strings)
def test_parse_returns_a_request_or_raises_process_error(text):
    try:
        request = parse(text)
    except ProcessError as error:
        assert type(error) is ProcessError
        assert str(error)
    else:
        assert isinstance(request, Request)


SMALL_SAMPLES = ["hevc.mp4", "vp9_odd.webm", "ts_offset.ts", "rotated_90.mp4", "vfr.mkv", "cover.mp3"]


@st.composite
def valid_looking(draw) -> str:
    """A processing string that mostly parses: small outputs, small num, the odd fault."""
    mode = draw(st.sampled_from(["inter", "key", "avg", "dhash"]))
    fields = {"f": draw(st.sampled_from(["jpg", "png", "webp"])), "m": mode}
    if mode == "avg":
        fields["num"] = draw(st.integers(0, 3))
    elif mode == "dhash":
        fields["num"] = draw(st.integers(1, 3))
        fields["thr"] = draw(st.integers(0, 100))
    else:
        fields["num"] = draw(st.integers(1, 3) if mode == "inter" else st.integers(0, 2))
    if mode in ("inter", "dhash") and draw(st.booleans()):
        fields["inter"] = draw(st.sampled_from([0, 1, 40, 333, 1000, 2999, 2**31 - 1]))
    size = draw(st.sampled_from(["none", "w", "h", "wh", "pw", "ph", "pwph"]))
    if "w" in size.replace("pw", ""):
        fields["w"] = draw(st.integers(32, 96))
    if "h" in size.replace("ph", ""):
        fields["h"] = draw(st.integers(32, 96))
    if "pw" in size:
        fields["pw"] = draw(st.integers(1, 30))
    if "ph" in size:
        fields["ph"] = draw(st.integers(1, 30))
    if size == "none":  # keep outputs small: a percent size anyway
        fields["pw"] = draw(st.integers(1, 40))
    for key, values in (
        ("scaletype", st.sampled_from(["stretch", "crop", "fill", "fit"])),
        ("ss", st.sampled_from([0, 1, 500, 999, 2999, 4000, 99999])),
        ("q", st.integers(1, 100)),
        ("sm", st.sampled_from(["fast", "accurate"])),
        ("ar", st.sampled_from(["auto", "0"])),
        ("vs", st.integers(0, 2)),
        ("thr", st.integers(0, 100)),
    ):
        if key not in fields and draw(st.integers(0, 3)) == 0:
            fields[key] = draw(values)
    tokens = [f"{k}_{v}" for k, v in fields.items()]
    tokens = draw(st.permutations(tokens))
    fault = draw(st.integers(0, 9))
    if fault == 0:  # a junk or repeated key
        tokens.append(draw(st.sampled_from(["zz_1", "w_64", "f_gif", "num_-1", "w_", "W_64", "q_101"])))
    elif fault == 1:  # whitespace around the whole string is allowed
        return " \n" + "video/snapshots," + ",".join(tokens) + "\n"
    return "video/snapshots," + ",".join(tokens)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(process=valid_looking(), name=st.sampled_from(SMALL_SAMPLES))
def test_snapshot_with_fuzzed_strings_returns_result_or_snapshot_error(process, name):
    with tempfile.TemporaryDirectory() as folder:
        try:
            result = snapshot(SAMPLE_DIR / name, process, Path(folder) / "out" / "x")
        except SnapshotError as error:
            assert type(error) is not SnapshotError, "the root class is never raised bare"
            assert str(error)
            assert files_under(folder) == set(), "something was written on an error"
        else:
            assert isinstance(result, Result)
            assert leftovers(Path(folder)) == []
            assert files_under(folder) == {s.path for s in result.snapshots}
            request = parse(process)
            if request.count:
                assert len(result.snapshots) <= request.count
            for shot in result.snapshots:
                assert complete_image(shot.path) == (shot.width, shot.height)


# --- (b) byte-flipped media through the CLI ------------------------------------------------

MUTATED = ["h264_bframes.mp4", "hevc.mp4", "vp9_odd.webm"]
PER_SAMPLE = 10
PROCESSES = [
    "video/snapshots,f_jpg,m_avg,num_4",
    "video/snapshots,f_png,inter_0,num_12",
    "video/snapshots,f_webp,m_key,num_3",
    "video/snapshots,f_jpg,inter_1000,num_4,sm_fast",
]
TIMEOUT_S = 30


def mutate(data: bytes, seed: int) -> bytes:
    """Seeded byte flips: anywhere, in the header region, in the tail (an MP4's moov),
    or a burst in the middle."""
    rng = random.Random(seed)
    out = bytearray(data)
    kind = seed % 4
    if kind == 0:
        spots = [rng.randrange(len(out)) for _ in range(rng.randint(1, 64))]
    elif kind == 1:
        spots = [rng.randrange(min(4096, len(out))) for _ in range(rng.randint(1, 16))]
    elif kind == 2:
        spots = [len(out) - 1 - rng.randrange(min(4096, len(out))) for _ in range(rng.randint(1, 16))]
    else:
        start = rng.randrange(len(out) // 4, len(out) // 2)
        spots = range(start, min(len(out), start + rng.randint(16, 512)))
    for at in spots:
        out[at] ^= rng.randrange(1, 256)
    return bytes(out)


MUTANTS = [(name, i) for name in MUTATED for i in range(PER_SAMPLE)]


@pytest.fixture(scope="module")
def mutant_runs(tmp_path_factory):
    """All mutants through the CLI, a few at a time (each is a child process)."""
    base = tmp_path_factory.mktemp("mutants")

    def one(case):
        name, i = case
        stem, ext = os.path.splitext(name)
        source = base / f"{stem}-{i}{ext}"
        source.write_bytes(mutate((SAMPLE_DIR / name).read_bytes(), seed=1000 * MUTATED.index(name) + i))
        out = base / f"out-{stem}-{i}"
        process = PROCESSES[i % len(PROCESSES)]
        try:
            done = subprocess.run(
                [str(SCRIPT), os.fspath(source), process, "-o", os.fspath(out / "x")],
                capture_output=True, text=True, timeout=TIMEOUT_S,
            )
        except subprocess.TimeoutExpired:
            done = None
        return done, out, process

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(MUTANTS, pool.map(one, MUTANTS)))


@pytest.mark.parametrize("case", MUTANTS, ids=[f"{n}-{i}" for n, i in MUTANTS])
def test_mutant_never_crashes_hangs_or_leaves_partial_files(mutant_runs, case):
    done, out, process = mutant_runs[case]
    assert done is not None, f"{case} with {process!r}: no answer in {TIMEOUT_S} s"
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode in (0, 2, 3), (done.returncode, done.stderr)
    assert leftovers(out.parent) == []
    if done.returncode:
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("snapshots: error: "), done.stderr
        assert not out.exists()
    else:
        paths = done.stdout.split("\n")[:-1]  # may be none: e.g. m_key finding no keyframe
        assert files_under(out) == set(paths) if out.exists() else paths == []
        for path in paths:
            complete_image(path)


def test_mutants_are_really_damaged():
    """The mutation changes every file, and differently per seed."""
    for name in MUTATED:
        data = (SAMPLE_DIR / name).read_bytes()
        mutants = {mutate(data, seed=1000 * MUTATED.index(name) + i) for i in range(PER_SAMPLE)}
        assert len(mutants) == PER_SAMPLE and data not in mutants


def test_decode_errors_count_each_damaged_packet_once(tmp_path):
    import av

    source = tmp_path / "mutant.mp4"
    source.write_bytes(mutate((SAMPLE_DIR / "h264_bframes.mp4").read_bytes(), seed=0))
    with av.open(os.fspath(source)) as container:
        packets = 0
        try:
            for packet in container.demux(container.streams.video[0]):
                packets += packet.size > 0
        except av.error.FFmpegError:
            pass
    result = snapshot(source, "video/snapshots,f_jpg,m_avg,num_1", tmp_path / "x")
    assert 1 <= result.decode_errors <= packets, (result.decode_errors, packets)
