"""Keep freed image buffers in the process instead of handing them back to the kernel.

Every variant allocates a few buffers of a few hundred KiB to a few MiB (the decoded source, the
warped image, lookup and noise temporaries, the encoder's copy), and frees them a millisecond
later. glibc serves such sizes with ``mmap`` or from the top of the heap, and returns them to
the kernel on ``free`` (``munmap``, or a heap trim): the next buffer of the same size then pays a
page fault for every 4 KiB page it touches. On the virtual machines augtool was measured on,
that cost more than the kernels themselves: a 512x384 gaussian noise took 1.9 ms with the
default settings and 0.9 ms with these.

So the processes that render (the in-process run and each pool worker) raise glibc's thresholds
once: allocations below ``MMAP_THRESHOLD`` come from the heap, and the heap keeps up to
``TRIM_THRESHOLD`` of free memory at its top. Larger buffers (an 8000x6000 source) are still
mapped and unmapped, so peak memory grows by at most the trim threshold. This changes no byte of
any output, only where memory comes from; on other C libraries it does nothing.
"""

from __future__ import annotations

import ctypes
import os

MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's own dynamic ceiling on 64-bit machines
TRIM_THRESHOLD = 128 * 1024 * 1024
_M_TRIM_THRESHOLD = -1  # from glibc's malloc.h
_M_MMAP_THRESHOLD = -3

_tuned: bool | None = None


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds for this process (once); whether it was done."""
    global _tuned
    if _tuned is None:
        _tuned = _mallopt()
    return _tuned


def _mallopt() -> bool:
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc"):  # type: ignore[union-attr]
            return False
        mallopt = ctypes.CDLL(None).mallopt  # the C library already loaded into this process
    except (ValueError, OSError, AttributeError):  # no such confstr name, no glibc
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    # mallopt returns 1 on success and 0 on error.
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
