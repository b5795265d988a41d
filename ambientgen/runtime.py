"""How the engine shares the machine: memory given back between a render's steps, and BLAS kept to one thread
while the engine runs its own threads.

A render allocates and frees large arrays (chunks, stitched layers, tiles) in several threads; glibc keeps much
of what is freed in its heaps (one per thread that allocated), so the process's resident size stays at its
high-water mark even when the next step needs less. :func:`release` asks Python to collect cycles and glibc to
trim every heap (``malloc_trim``): measured on a 1-hour render, the peak before the check fell by about
100 MB. Elsewhere (macOS, musl, Windows) it only collects.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
from collections.abc import Iterator
from contextlib import contextmanager


@functools.lru_cache(maxsize=1)
def _trim():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None


def release() -> None:
    """Collect garbage and return free heap memory to the system (where the C library can)."""
    gc.collect()
    trim = _trim()
    if trim is not None:
        trim(0)


@contextmanager
def own_threads() -> Iterator[None]:
    """BLAS (OpenBLAS, MKL) limited to one thread inside: the engine already runs a thread per core (chunk
    generation, the check's analyses), and BLAS's own threads on top of them spin for cores that are busy.
    Measured: ``check`` of a 1-hour WAV on 2 cores, 44 s with OpenBLAS's 2 threads, 33 s with one."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield
