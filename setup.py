"""Build hook: compile the kernels' loops ahead of time (see kernels/build_native.py).

Everything else about the package is declared in pyproject.toml.  The compiled
module is an optimisation, not a requirement: where it cannot be built (no C
compiler, no Python headers, an unsupported platform) the install still
succeeds, regular or editable (``pip install -e .``), and the kernels run on
Numba's JIT, which only starts slower; the ``snapshots`` command then says so
once per process (``snapshots: warning: kernels._native_aot is not built …``).
"""

import os
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

    # A module that was not built is not an output: the editable install
    # (build_ext --inplace) must not copy it, nor a wheel list it.
    def copy_extensions_to_source(self):
        built, self.extensions = self.extensions, [ext for ext in self.extensions if self._built(ext)]
        try:
            super().copy_extensions_to_source()
        finally:
            self.extensions = built

    def get_outputs(self):
        return [path for path in super().get_outputs() if os.path.exists(path)]

    def get_output_mapping(self):
        return {built: inplace for built, inplace in super().get_output_mapping().items() if os.path.exists(built)}

    def _built(self, ext):
        build_py = self.get_finalized_command("build_py")
        return os.path.exists(self._get_inplace_equivalent(build_py, ext)[1])


setup(
    ext_modules=[Extension(AOT_MODULE, sources=[], optional=True)],
    cmdclass={"build_ext": BuildNativeKernels},
)
