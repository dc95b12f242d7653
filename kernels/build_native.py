"""Build ``kernels._native_aot``: the loops of :mod:`kernels.loops`, compiled ahead of time.

Run by ``pip install`` (see ``setup.py``) and by hand after editing a loop::

    python -m kernels.build_native          # into kernels/, next to the sources

Needs Numba, NumPy and a C/C++ compiler with the Python headers; the module it
writes needs none of them but NumPy at run time (see :mod:`kernels.native`).

Machine code targets an x86-64 microarchitecture level, not the build host's
exact CPU, so an install copied to another x86-64 machine keeps working: level 3
(AVX2, what the kernels' vector loops use) where the build CPU has it, else
level 2, else the baseline.  :mod:`kernels.native` checks the level against the
running CPU before loading the module.
"""

from __future__ import annotations

import argparse
import contextlib
import platform
import sys
import time
import warnings
from pathlib import Path

from .native import AOT_MODULE, SIGNATURES, _cpu_supports, source_digest

__all__ = ["build", "cpu_level"]

_LLVM_CPU = {0: "", 2: "x86-64-v2", 3: "x86-64-v3"}


def cpu_level() -> int:
    """The x86-64 level to compile for on this machine (0 elsewhere)."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return 0
    return next(level for level in (3, 2, 0) if _cpu_supports(level))


def _numba_type(spec: str):
    from numba import types

    if spec == "void":
        return types.void
    if spec == "i8":
        return types.int64
    dtype = {"u8": types.uint8, "i8": types.int64, "f4": types.float32}[spec[:2]]
    axes = spec[3:spec.index("]")].split(",")
    layout = "C" if axes[-1] == "::1" else "A"
    return types.Array(dtype, len(axes), layout, readonly=spec.endswith("r"))


def _constant(value: int):
    def constant():
        return value

    return constant


@contextlib.contextmanager
def _exports_release_the_gil():
    """pycc wraps exports without releasing the GIL; the engine calls kernels from
    encoder threads, so make its compile flags ask for the release (as ``nogil``)."""
    import numba.pycc.compiler as pycc_compiler

    original = pycc_compiler.Flags

    class ReleasingFlags(original):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.release_gil = True

    pycc_compiler.Flags = ReleasingFlags
    try:
        yield
    finally:
        pycc_compiler.Flags = original


def build(output_dir: Path, *, verbose: bool = False) -> Path:
    """Compile the extension into ``output_dir``; return its path."""
    import importlib

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pycc's pending-deprecation notice
        from numba import types
        from numba.pycc import CC

    package, _, name = AOT_MODULE.rpartition(".")
    cc = CC(name, source_module=package)
    cc.output_dir = str(output_dir)
    level = cpu_level()
    cc.target_cpu = _LLVM_CPU[level]
    cc.verbose = verbose
    for export, (module, function, returns, args) in SIGNATURES.items():
        loop = getattr(importlib.import_module(f"kernels.loops.{module}"), function)
        signature = _numba_type(returns)(*(_numba_type(a) for a in args))
        cc.export(export, signature)(loop.py_func)
    cc.export("source_digest", types.int64())(_constant(source_digest()))
    cc.export("cpu_level", types.int64())(_constant(level))
    Path(output_dir).mkdir(parents=True, exist_ok=True)
    with _exports_release_the_gil():
        cc.compile()
    return Path(output_dir) / cc.output_file


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kernels.build_native", description=__doc__.split("\n")[0])
    parser.add_argument("--output-dir", type=Path, default=Path(__file__).parent,
                        help="where to write the module (default: the kernels package)")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    started = time.monotonic()
    path = build(args.output_dir, verbose=args.verbose)
    print(f"built {path} (x86-64 level {cpu_level()}) in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
