"""numba's `noalias` flag and its switch-off of reference counting, internal options, for kernels whose array
arguments never overlap and which allocate nothing.

With `noalias` LLVM knows that no two array arguments share memory, so it drops the run-time overlap checks
before each short lane loop and keeps values in registers across stores (the lane kernels run about 1.2-1.3x
faster; docs/throughput.md). The one-net steps of the models that allocate nothing and Table 1's test use it too. numba has the flag (core.compiler.Flags.options["noalias"]) but no decorator option for
it; `fast_jit` adds the option to the CPU target if this numba has the flag in the form we tested, and is a
plain `njit` otherwise (NOALIAS says which). The flag changes no arithmetic: only which loads LLVM may
reorder, and a kernel compiled with it gives the same numbers as without (tests/test_lanes.py compares both).
A caller must never pass the same memory twice (views of one array, or one array as two arguments).

`_nrt=False` (the same versions only) compiles without numba's reference counts: every array a kernel takes out
of a NamedTuple otherwise costs an atomic increment and decrement per call (about 50 per lane tick, 100 per
learning lane, 26 per call of the 1997 step). The caller keeps every array alive; a kernel that allocates an array does not compile.
"""

from __future__ import annotations

import numba
from numba import njit

TESTED = ((0, 60), (0, 69))  # numba versions (major, minor) whose Flags.noalias we rely on: [first, last]


def _enable() -> bool:
    try:
        version = tuple(int(p) for p in numba.__version__.split(".")[:2])
        if not TESTED[0] <= version <= TESTED[1]:
            return False
        from numba.core import compiler, cpu, options

        option = getattr(compiler.Flags, "options", {}).get("noalias")
        if option is None or option.type is not bool:
            return False
        if not hasattr(cpu.CPUTargetOptions, "_nrt"):
            return False
        if not hasattr(cpu.CPUTargetOptions, "noalias"):
            cpu.CPUTargetOptions.noalias = options._mapping("noalias")
        return True
    except Exception:  # any other numba: the portable path
        return False


NOALIAS = _enable()


def fast_jit(**options):
    """njit(noalias=True, _nrt=False, **options) where this numba supports it, else njit(**options)."""
    return njit(noalias=True, _nrt=False, **options) if NOALIAS else njit(**options)
