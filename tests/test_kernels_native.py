"""The ahead-of-time build of the kernels' loops: built here, bit-identical to
Numba's JIT, and chosen only when it is current, fits the CPU and is asked for."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import kernels
from kernels import build_native, native
from tests.naive import padded, requires_jit

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def fresh_choice():
    """Every test chooses the backend again, and leaves no choice behind."""
    native.reload()
    yield
    native.reload()


@pytest.fixture(scope="session")
def built_module(tmp_path_factory):
    """The extension compiled by build_native into a fresh directory."""
    out = tmp_path_factory.mktemp("aot")
    path = build_native.build(out)
    spec = importlib.util.spec_from_file_location("built_here._native_aot", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def use(module, why=None):
    native.reload()
    native._aot = (module, why)


def inputs(seed: int):
    """Wrapper calls covering every loop with the layouts callers produce."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 256, (67, 90), np.uint8)
    u420 = rng.integers(0, 256, (34, 45), np.uint8)
    v420 = rng.integers(0, 256, (34, 45), np.uint8)
    u422 = rng.integers(0, 256, (67, 45), np.uint8)
    rgb = rng.integers(0, 256, (41, 58, 3), np.uint8)
    calls = []
    for kind in kernels.SCALE_TYPES:
        for box in [(32, 32), (200, 90), (17, 5)]:
            calls.append((kernels.render_yuv, (y, u420, v420, *box, kind), {}))
            calls.append((kernels.render_yuv, (padded(y), padded(u422), padded(u422[::-1]), *box, kind),
                          {"matrix": "bt709", "full_range": True}))
            calls.append((kernels.render, (rgb, *box, kind), {}))
            calls.append((kernels.render, (rgb[:, :, ::-1], *box, kind), {}))
        for k in (1, 2, 3):
            turned = [np.rot90(p, k) for p in (y, u420, v420)]
            calls.append((kernels.render_yuv, (*turned, 48, 27, kind), {}))
            calls.append((kernels.render, (np.rot90(rgb, k), 48, 27, kind), {}))
    for plane in (y, y.T, y[::-1, ::2], np.rot90(padded(y)), y[:3, :2], y[:1, :1]):
        calls.append((kernels.dhash, (plane,), {}))
    return calls


def run_all(calls):
    results = []
    for fn, args, kwargs in calls:
        out = fn(*args, **kwargs)
        results.append(out.copy() if isinstance(out, np.ndarray) else out)
    return results


def test_built_module_is_current(built_module):
    assert built_module.source_digest() == native.source_digest()
    assert built_module.cpu_level() == build_native.cpu_level()
    assert native._cpu_supports(built_module.cpu_level())


@requires_jit
@pytest.mark.parametrize("seed", [0, 1])
def test_aot_and_jit_give_identical_bits(built_module, seed, monkeypatch):
    calls = inputs(seed)
    use(built_module)

    def no_fallback(name):
        raise AssertionError(f"{name}: a wrapper passed arguments the signature does not take")

    monkeypatch.setattr(native, "_jit", no_fallback)
    aot = run_all(calls)
    monkeypatch.undo()
    use(None, "test")
    jit = run_all(calls)
    assert len(aot) == len(jit)
    for (fn, args, _), a, b in zip(calls, aot, jit):
        if isinstance(a, np.ndarray):
            assert a.shape == b.shape and np.array_equal(a, b), (fn.__name__, [getattr(x, "shape", x) for x in args])
        else:
            assert a == b, fn.__name__


def test_aot_output_matches_the_references(built_module):
    """Not just equal to the JIT: right (the references do not use the loops)."""
    use(built_module)
    rng = np.random.default_rng(7)
    rgb = rng.integers(0, 256, (30, 44, 3), np.uint8)
    for kind in kernels.SCALE_TYPES:
        got = kernels.render(rgb, 19, 23, kind)
        want = kernels.render_reference(rgb, 19, 23, kind)
        assert np.abs(got.astype(int) - want).max() <= 1
    luma = rng.integers(0, 256, (45, 61), np.uint8)
    assert kernels.dhash(luma) == kernels.dhash_reference(luma)


def test_unexpected_argument_types_go_to_the_jit(monkeypatch, caplog):
    seen = []
    fake = types.SimpleNamespace(area_sums=lambda *a: seen.append("aot") or "aot")
    use(fake)
    monkeypatch.setattr(native, "_jit", lambda name: (lambda *a: seen.append("jit") or "jit"))
    call = native.kernel("area_sums")
    flat = np.zeros(12, np.uint8)
    flat.flags.writeable = False
    ok = (flat, 3, 4, 4, 1, 8, 9)
    assert call(*ok) == "aot"
    assert call(flat.astype(np.int16), *ok[1:]) == "jit"  # dtype
    assert call(flat[::2], *ok[1:]) == "jit"  # not contiguous
    assert call(flat.reshape(3, 4), *ok[1:]) == "jit"  # rank
    assert call(flat, 3.0, *ok[2:]) == "jit"  # a float where int64 goes
    assert call(flat, True, *ok[2:]) == "jit"  # a bool is not an int64 here
    assert call(*ok[:-1]) == "jit"  # arity
    assert seen == ["aot"] + ["jit"] * 6
    assert [r.getMessage() for r in caplog.records] == [
        "area_sums: arguments outside its compiled signature, running it on Numba's JIT"]


@pytest.mark.parametrize(
    "spec, good, bad",
    [
        ("i8", [3, np.int64(-2), np.uint8(7)], [3.0, True, "3", None]),
        ("u8[::1]r", [np.zeros(3, np.uint8)], [np.zeros((3, 1), np.uint8), np.zeros(6, np.uint8)[::2]]),
        ("f4[:,::1]r", [np.zeros((2, 3), np.float32)], [np.zeros((2, 3)), np.zeros((3, 2), np.float32).T]),
        ("u8[:,:,:]", [np.zeros((2, 3, 3), np.uint8)[:, ::-1], np.zeros((2, 3, 3), np.uint8).transpose(1, 0, 2)],
         [np.zeros((2, 3), np.uint8)]),
    ],
)
def test_argument_checks(spec, good, bad):
    check = native._arg_check(spec)
    assert all(check(a) for a in good)
    assert not any(check(a) for a in bad)


def test_outputs_must_be_writable():
    readonly = np.zeros((2, 3, 3), np.uint8)
    readonly.flags.writeable = False
    assert not native._arg_check("u8[:,:,:]")(readonly)
    assert native._arg_check("u8[::1]r")(readonly.reshape(-1))


def _fake_aot(digest=None, level=0):
    return types.SimpleNamespace(
        source_digest=lambda: native.source_digest() if digest is None else digest,
        cpu_level=lambda: level,
    )


def test_choice(monkeypatch, caplog):
    monkeypatch.delenv("SNAPSHOTS_KERNELS", raising=False)
    monkeypatch.delenv("NUMBA_DISABLE_JIT", raising=False)
    monkeypatch.setitem(sys.modules, native.AOT_MODULE, _fake_aot())
    assert native.backend() == "aot"
    assert not caplog.records

    native.reload()
    monkeypatch.setitem(sys.modules, native.AOT_MODULE, _fake_aot(digest=12345))
    assert native.backend().startswith("jit (") and "stale" in native.backend()
    assert len(caplog.records) == 1 and caplog.records[0].levelname == "WARNING"
    assert "stale" in caplog.records[0].getMessage() and "kernels.build_native" in caplog.records[0].getMessage()

    native.reload()
    monkeypatch.setitem(sys.modules, native.AOT_MODULE, _fake_aot(level=99))
    assert "level 99" in native.backend()

    native.reload()
    monkeypatch.setenv("SNAPSHOTS_KERNELS", "aot")
    with pytest.raises(RuntimeError, match="SNAPSHOTS_KERNELS=aot, but kernels._native_aot was built for x86-64 level 99"):
        native.backend()

    native.reload()
    caplog.clear()
    monkeypatch.setitem(sys.modules, native.AOT_MODULE, _fake_aot())
    monkeypatch.setenv("SNAPSHOTS_KERNELS", "jit")
    assert native.backend() == "jit (SNAPSHOTS_KERNELS=jit)"
    assert not caplog.records  # asked for: nothing to warn about

    native.reload()
    monkeypatch.setenv("SNAPSHOTS_KERNELS", "aot")
    assert native.backend() == "aot"

    native.reload()
    monkeypatch.setenv("SNAPSHOTS_KERNELS", "auto")
    monkeypatch.setenv("NUMBA_DISABLE_JIT", "1")
    assert native.backend() == "jit (NUMBA_DISABLE_JIT is set)"

    native.reload()
    monkeypatch.setenv("SNAPSHOTS_KERNELS", "fast")
    with pytest.raises(ValueError, match="SNAPSHOTS_KERNELS must be auto, aot or jit, got 'fast'"):
        native.backend()


def test_missing_extension_is_reported(monkeypatch, caplog):
    monkeypatch.delenv("SNAPSHOTS_KERNELS", raising=False)
    monkeypatch.delenv("NUMBA_DISABLE_JIT", raising=False)
    monkeypatch.setitem(sys.modules, native.AOT_MODULE, None)  # import fails
    assert "is not built" in native.backend()
    assert "is not built" in caplog.records[0].getMessage()


def test_cpu_levels_name_real_numpy_features():
    known = native.cpu_features()
    for level, names in native.CPU_LEVEL_FEATURES.items():
        assert set(names) & set(known) or not names, level
    assert native._cpu_supports(0)
    assert not native._cpu_supports(1)


def test_installed_extension_is_used(monkeypatch):
    """An install (``pip install -e .``) compiles the loops; this run uses them."""
    monkeypatch.delenv("SNAPSHOTS_KERNELS", raising=False)
    monkeypatch.delenv("NUMBA_DISABLE_JIT", raising=False)
    assert native.backend() == "aot", (
        f"{native.backend()}: run `pip install -e .` (needs a C compiler) or `python -m kernels.build_native`"
    )


def test_a_cli_job_on_the_compiled_loops_never_imports_numba(tmp_path, sample):
    code = (
        "import sys\n"
        "from engine.cli import main\n"
        "status = main([sys.argv[1], 'video/snapshots,f_jpg,num_2,w_64,h_64,scaletype_fill', '-o', sys.argv[2]])\n"
        "from kernels import native\n"
        "assert status == 0, status\n"
        "assert native.backend() == 'aot', native.backend()\n"
        "assert 'numba' not in sys.modules, 'numba was imported'\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_DISABLE_JIT", "SNAPSHOTS_KERNELS")}
    subprocess.run([sys.executable, "-c", code, str(sample("h264_bframes.mp4")), str(tmp_path / "out")],
                   cwd=REPO, env=env, check=True)


# --- issue #16: installs without a C compiler ------------------------------------------


def _project_copy(tmp_path: Path) -> Path:
    """The files setup.py builds from, without any compiled module."""
    import shutil

    copy = tmp_path / "project"
    copy.mkdir()
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy(REPO / name, copy / name)
    ignore = shutil.ignore_patterns("__pycache__", "_native_aot*", "*.nbi", "*.nbc")
    for package in ("kernels", "engine"):
        shutil.copytree(REPO / package, copy / package, ignore=ignore)
    return copy


@pytest.mark.parametrize("inplace", [True, False], ids=["editable (build_ext --inplace)", "regular (build_ext)"])
def test_build_without_a_c_compiler_falls_back_to_the_jit(tmp_path, inplace):
    """``pip install -e .`` runs build_ext in place and then copied a module that
    was never built ("can't copy … doesn't exist"); both installs must succeed."""
    project = _project_copy(tmp_path)
    env = {**os.environ, "CC": str(tmp_path / "no-such-compiler"), "CXX": str(tmp_path / "no-such-compiler")}
    command = [sys.executable, "setup.py", "build_ext", *(["--inplace"] if inplace else [])]
    done = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "kernels._native_aot not built, the kernels will use Numba's JIT" in done.stderr
    assert not list(project.rglob("_native_aot*"))
    # What was built runs, on the JIT, and says why.
    probe = (
        "import sys\n"
        "# Not the module of the checkout the test environment is installed from.\n"
        "sys.meta_path[:] = [f for f in sys.meta_path if not getattr(f, '__module__', '').startswith('__editable__')]\n"
        "from kernels import native\n"
        "print(native.backend())\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_DISABLE_JIT", "SNAPSHOTS_KERNELS")}
    env["PYTHONPATH"] = str(project)
    ran = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert ran.stdout.strip().startswith("jit (kernels._native_aot is not built"), ran.stderr
