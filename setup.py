"""Build hook: compile the kernels' loops ahead of time (see kernels/build_native.py).

Everything else about the package is declared in pyproject.toml.  The compiled
module is an optimisation, not a requirement: where it cannot be built (no C
compiler, no Python headers, an unsupported platform) the install still
succeeds and the kernels run on Numba's JIT, which only starts slower.
"""

import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

AOT_MODULE = "kernels._native_aot"


class BuildNativeKernels(build_ext):
    def build_extension(self, ext):
        if ext.name != AOT_MODULE:
            return super().build_extension(ext)
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        try:
            from kernels.build_native import build

            build(Path(self.get_ext_fullpath(ext.name)).parent)
        except Exception as exc:  # noqa: BLE001 - any failure leaves the JIT in charge
            self.warn(f"{AOT_MODULE} not built, the kernels will use Numba's JIT: {exc!r}")
        finally:
            sys.path.pop(0)


setup(
    ext_modules=[Extension(AOT_MODULE, sources=[])],
    cmdclass={"build_ext": BuildNativeKernels},
)
