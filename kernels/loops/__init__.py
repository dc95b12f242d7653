"""The Numba loops of the kernels: typed, allocation-light, no argument checks.

Only :mod:`kernels.native` (which picks the ahead-of-time or the JIT build of
each) and :mod:`kernels.build_native` import these modules; the public
wrappers validate arguments and prepare strides and taps before calling them.
Importing any of them imports Numba.
"""
