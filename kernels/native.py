"""Which machine code runs each loop: the ahead-of-time build, or Numba's JIT.

The loops of :mod:`kernels.loops` are compiled twice from the same source:

* at install time, by :mod:`kernels.build_native` (Numba's ``pycc``), into the
  extension module ``kernels._native_aot``.  Loading it costs milliseconds
  and imports no Numba, which is what keeps a one-frame CLI job fast: Numba's
  import and CPU-target start-up take 0.3 to 0.5 s.
* on first call, by Numba's JIT (``cache=True``, so once per machine), when
  the extension is absent (no C compiler at install time), stale (its loops
  were edited after it was built), built for a CPU this one is not (each logged
  once as a warning), or when ``SNAPSHOTS_KERNELS=jit`` or ``NUMBA_DISABLE_JIT=1``
  asks for it.  ``SNAPSHOTS_KERNELS=aot`` makes an unusable extension an error.

Both are compiled by the same LLVM from the same typed code without
``fastmath``, so they produce the same bits (the tests check it).

An extension function trusts its arguments' types blindly, so each call
first checks them against :data:`SIGNATURES`; anything else (which the
wrappers never pass) goes to the JIT instead of reading memory it should not.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import logging
from pathlib import Path
from typing import Callable

import numpy as np

__all__ = ["SIGNATURES", "AOT_MODULE", "backend", "kernel", "reload", "source_digest"]

#: Kernel name -> (module of kernels.loops, function, return type, argument types).
#: Types: ``i8`` an int64 scalar; ``<dtype>[<axes>]`` an array, C-contiguous when
#: the last axis is ``::1``, any strides otherwise; a trailing ``r`` marks an
#: array the loop only reads (it may then be read-only).
SIGNATURES: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "area_sums": ("difference_hash", "area_sums", "i8[:,::1]", (
        "u8[::1]r", "i8", "i8", "i8", "i8", "i8", "i8",
    )),
    "resample_rgb": ("resample", "resample_rgb", "void", (
        "u8[::1]r", "i8", "i8", "i8", "u8[:,:,:]",
        "i8[::1]r", "i8[::1]r", "f4[:,::1]r", "i8[::1]r", "i8[::1]r", "f4[:,::1]r",
    )),
    "render_yuv_planes": ("yuv", "render_yuv_planes", "void", (
        # luma: flat bytes, strides, vertical taps, horizontal taps, span
        "u8[::1]r", "i8", "i8", "i8[::1]r", "i8[::1]r", "f4[:,::1]r",
        "i8[::1]r", "f4[:,::1]r", "i8", "i8",
        # chroma: two planes' bytes and strides, shared taps, span
        "u8[::1]r", "i8", "i8", "u8[::1]r", "i8", "i8",
        "i8[::1]r", "i8[::1]r", "f4[:,::1]r", "i8[::1]r", "f4[:,::1]r", "i8", "i8",
        # colour coefficients, output bytes, base offset and strides
        "f4[::1]r", "u8[::1]", "i8", "i8", "i8",
    )),
}

AOT_MODULE = "kernels._native_aot"
_LOOP_FILES = ("loops/__init__.py", "loops/difference_hash.py", "loops/resample.py", "loops/yuv.py", "_config.py")
_DTYPES = {"u8": np.dtype(np.uint8), "i8": np.dtype(np.int64), "f4": np.dtype(np.float32)}
#: numpy CPU feature names an x86-64 microarchitecture level needs (names a
#: given numpy does not report are not checked).
CPU_LEVEL_FEATURES = {
    0: (),
    2: ("SSE3", "SSSE3", "SSE41", "SSE42", "POPCNT", "CX16", "LAHF"),
    3: ("SSE3", "SSSE3", "SSE41", "SSE42", "POPCNT", "CX16", "LAHF",
        "AVX", "AVX2", "FMA3", "F16C", "BMI", "BMI2", "LZCNT", "MOVBE"),
}


def source_digest() -> int:
    """63-bit digest of everything the compiled loops are built from."""
    here = Path(__file__).parent
    digest = hashlib.sha256(repr(sorted(SIGNATURES.items())).encode())
    for name in _LOOP_FILES:
        digest.update(name.encode() + b"\0" + (here / name).read_bytes())
    return int.from_bytes(digest.digest()[:8], "big") >> 1


def cpu_features() -> dict[str, bool]:
    """This CPU's features as numpy's dispatcher detected them."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__
    except ImportError:  # numpy 1.x
        from numpy.core._multiarray_umath import __cpu_features__
    return dict(__cpu_features__)


def _cpu_supports(level: int) -> bool:
    if level not in CPU_LEVEL_FEATURES:
        return False
    features = cpu_features()
    return all(features.get(name, True) for name in CPU_LEVEL_FEATURES[level])


def _load_aot():
    """(extension module, None) or (None, why it cannot be used)."""
    from engine import settings  # not at import: the install-time build has no engine dependencies

    choice = settings.kernels()
    if choice == "jit":
        return None, "SNAPSHOTS_KERNELS=jit"
    if settings.numba_jit_disabled():
        return None, "NUMBA_DISABLE_JIT is set"
    why = _unusable_reason()
    if why is None:
        return importlib.import_module(AOT_MODULE), None
    if choice == "aot":
        raise RuntimeError(f"SNAPSHOTS_KERNELS=aot, but {why}; {_REBUILD}")
    # Not asked for: say so once, where an operator will see it.
    logging.getLogger(__name__).warning("%s; the kernels run on Numba's JIT (about 0.5 s more "
                                        "to start each process); %s", why, _REBUILD)
    return None, why


_REBUILD = "rebuild with `python -m kernels.build_native` or reinstall (needs a C compiler)"


def _unusable_reason() -> str | None:
    """Why the extension cannot be used here, or None."""
    try:
        module = importlib.import_module(AOT_MODULE)
    except ImportError as exc:
        return f"{AOT_MODULE} is not built ({exc})"
    if module.source_digest() != source_digest():
        return f"{AOT_MODULE} is stale: kernels/loops changed after it was built"
    if not _cpu_supports(module.cpu_level()):
        return f"{AOT_MODULE} was built for x86-64 level {module.cpu_level()}, beyond this CPU"
    return None


_aot: tuple[object, str | None] | None = None


def _aot_state():
    global _aot
    if _aot is None:
        _aot = _load_aot()
    return _aot


def reload() -> None:
    """Choose again on the next call (after a rebuild, or a change of SNAPSHOTS_KERNELS)."""
    global _aot
    _aot = None
    kernel.cache_clear()


def backend() -> str:
    """``"aot"``, or ``"jit"`` followed by why the extension is not used."""
    module, why = _aot_state()
    return "aot" if module is not None else f"jit ({why})"


def _jit(name: str) -> Callable:
    module, function, _, _ = SIGNATURES[name]
    return getattr(importlib.import_module(f"kernels.loops.{module}"), function)


def _arg_check(spec: str) -> Callable[[object], bool]:
    """A predicate: does an argument have the type ``spec`` names?"""
    if spec == "i8":
        return lambda a: isinstance(a, (int, np.integer)) and not isinstance(a, bool)
    readonly = spec.endswith("r")
    dtype = _DTYPES[spec[:2]]
    axes = spec[3:spec.index("]")].split(",")
    ndim = len(axes)
    contiguous = axes[-1] == "::1"

    def check(a) -> bool:
        return (
            isinstance(a, np.ndarray) and a.dtype == dtype and a.ndim == ndim
            and a.flags.aligned
            and (not contiguous or a.flags.c_contiguous)
            and (readonly or a.flags.writeable)
        )

    return check


@functools.cache
def kernel(name: str) -> Callable:
    """The compiled loop ``name`` of :data:`SIGNATURES`, ready to call."""
    module, _ = _aot_state()
    if module is None:
        return _jit(name)
    compiled = getattr(module, name)
    checks = tuple(_arg_check(spec) for spec in SIGNATURES[name][3])
    fallback: list[Callable] = []

    def call(*args):
        if len(args) == len(checks) and all(check(a) for check, a in zip(checks, args)):
            return compiled(*args)
        if not fallback:
            logging.getLogger(__name__).warning(
                "%s: arguments outside its compiled signature, running it on Numba's JIT", name)
            fallback.append(_jit(name))
        return fallback[0](*args)

    call.__name__ = name
    call.__doc__ = f"{name} from {AOT_MODULE}, or the JIT for unexpected argument types."
    return call
