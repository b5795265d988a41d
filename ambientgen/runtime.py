"""How the engine shares the machine: a steady heap, memory given back between a render's steps, BLAS kept
to one thread while the engine runs its own threads, and the background worker those threads are.

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
import os
from collections.abc import Iterator
from contextlib import contextmanager


@functools.lru_cache(maxsize=1)
def _libc():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim, libc.mallopt  # noqa: B018 (glibc's, or not glibc)
        return libc
    except (OSError, AttributeError, TypeError):  # not glibc (macOS, musl, Windows)
        return None


@functools.lru_cache(maxsize=1)
def steady_memory() -> None:
    """Fix glibc's mmap threshold at 16 MB (once per process: ``render``, ``check`` and the CLI call it):
    temporaries larger than that go straight back to the system when freed.

    glibc raises the threshold after each large free, so later arrays of that size come from the heap, which
    fragments; an hour-long render and check then end with tens of MB more resident memory than a 10-minute one
    although what is in use is the same. A fixed threshold keeps that steady. It was 128 KB, which sent every
    block-sized temporary through mmap and page faults: a cached 5-minute render spent 16 s of its 25 s in the
    kernel. At 16 MB block temporaries are reused from the heap (18 s, 8 s in the kernel) and whole-layer arrays
    are still returned.

    A heap's free top is kept up to 32 MB (``M_TRIM_THRESHOLD``; glibc's default, 128 KB, hands it back after
    every large free, and the next block's temporaries fault their pages in again): the cached 5-minute forest
    render spent 6.2 s in the kernel, 1.8 s after (16.0 s -> 11.2 s wall). Each thread's heap may keep that much:
    64 MB cost the cold render (two generator threads) 100 MB of peak memory, 32 MB costs 45 MB. Between layers
    and before the check :func:`release` still trims. Not glibc: nothing to do.
    """
    libc = _libc()
    if libc is not None:
        libc.mallopt(-3, 1 << 24)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, 1 << 25)  # M_TRIM_THRESHOLD


MEMORY_GOAL = 600 * 2**20  # the most a render may hold resident, whatever its length (bytes)


def resident_bytes() -> int | None:
    """This process's resident memory now (Linux: ``/proc/self/statm``), or None where it cannot be read."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def release() -> None:
    """Collect young garbage and return free heap memory to the system (where the C library can).

    Only the younger generations are collected: a layer's own short-lived cycles are there, and a full collection
    (70-100 ms, over every module's objects) found nothing to free between a render's layers."""
    gc.collect(1)
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


@contextmanager
def own_threads() -> Iterator[None]:
    """BLAS (OpenBLAS, MKL) limited to one thread inside: the engine already runs a thread per core (chunk
    generation, the check's analyses), and BLAS's own threads on top of them spin for cores that are busy.
    Measured: ``check`` of a 1-hour WAV on 2 cores, 44 s with OpenBLAS's 2 threads, 33 s with one."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


class Worker:
    """One background thread running submitted calls in order (metering, encoding, writing, analysing).

    libsndfile, numpy and scipy release the GIL in their loops, so while the caller prepares block k + 1 this
    thread meters, writes or analyses block k. The queue is short (memory stays bounded: a full queue makes
    :meth:`submit` wait); the first error is raised again in the caller's thread, at the next :meth:`submit` or at
    :meth:`close`, and the calls after it are skipped.
    """

    def __init__(self, depth: int = 4, name: str = "ambientgen-worker"):
        import queue
        import threading

        self.queue: queue.Queue = queue.Queue(maxsize=depth)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True, name=name)
        self.thread.start()

    def _run(self) -> None:
        while True:
            item = self.queue.get()
            if item is None:
                return
            if self.error is None:
                try:
                    for fn, *args in item:
                        fn(*args)
                except BaseException as exc:  # handed to the caller's thread in submit/close
                    self.error = exc

    def submit(self, calls) -> None:
        """Queue ``[(fn, *args), ...]``, run in order after everything submitted before."""
        if self.error is not None:
            raise self.error
        self.queue.put(calls)

    def close(self) -> None:
        """Wait for every queued call; raise the first error one of them raised."""
        self.queue.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error
