"""Compiler flags shared by every Numba kernel of the package.

Kept in one place so a debugging session (``boundscheck=True``) or a
precision experiment (``fastmath``) changes every kernel at once.
"""

JIT = dict(
    # Compiled machine code is reused across processes (worker pools, CLI runs)
    # instead of paying the compile cost on each start.
    cache=True,
    # Kernels are called from a thread pool that parallelises across frames;
    # releasing the GIL is what lets those threads actually run concurrently.
    nogil=True,
    # fastmath would let LLVM reorder float sums, so results could drift from
    # the NumPy references by more than the rounding the tests allow.
    fastmath=False,
    # Wrappers validate every argument before a kernel runs, so Python's
    # zero-division checks are dead weight that also blocks vectorisation.
    error_model="numpy",
)
