"""Keeping freed memory in the process, so that large temporaries do not cost page faults.

NumPy gets every array's memory from C's malloc. glibc hands a request above its mmap threshold
(at most 32 MB) straight to the kernel with ``mmap`` and gives it back with ``munmap`` when the
array dies; the next array of that size then faults in fresh, zeroed pages. A training step
makes dozens of such temporaries (SmolLM2's logits for 4 × 256 tokens are 200 MB each), so the
same memory is returned to the kernel and faulted back in every step. On a virtual machine each
of those faults may also reach the hypervisor: measured here (2-core VM, a loop allocating and
filling two 200 MB arrays), 1.5-3.5 s of kernel time per 20 iterations, and none once the memory
stays in the process.

``keep_freed_memory()`` tells glibc to serve every request from its heap (``M_MMAP_MAX = 0``) and
not to trim the heap's free top back to the kernel (``M_TRIM_THRESHOLD``): freed arrays are then
reused in place. The cost is that the process keeps its peak memory until it exits (and a
fragmented heap can grow somewhat beyond it). It changes the whole process's allocator, so
gradkit never calls it on import: training commands (``gradkit finetune``, but not with
``--quantized``, which is chosen for memory) and the example scripts opt in. The same effect from outside Python: ``MALLOC_MMAP_MAX_=0
MALLOC_TRIM_THRESHOLD_=68719476736 python ...``.
"""
import ctypes
import ctypes.util
import sys

__all__ = ["keep_freed_memory"]

M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4     # glibc's mallopt parameters (malloc.h)
_applied = False


def keep_freed_memory():
    """Make glibc keep freed memory for reuse (see the module docstring). Returns True when the
    setting took effect, False where the C library is not glibc (macOS, Windows, musl)."""
    global _applied
    if _applied:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    # mallopt returns 1 on success; the trim threshold is an int: 2 GiB - 1 is "never" in practice
    _applied = bool(mallopt(M_MMAP_MAX, 0)) and bool(mallopt(M_TRIM_THRESHOLD, 2**31 - 1))
    return _applied
