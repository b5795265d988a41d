from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_info

from ambientgen.runtime import own_threads, release, resident_bytes


def test_blas_runs_one_thread_inside_and_its_own_number_after():
    np.ones((64, 64)) @ np.ones((64, 64))  # BLAS loaded
    before = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    with own_threads():
        assert all(pool["num_threads"] == 1 for pool in threadpool_info() if pool["user_api"] == "blas")
    assert [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"] == before


def test_release_frees_cycles_and_keeps_what_is_in_use():
    import gc
    import weakref

    class Node:
        pass

    gc.disable()  # only release() may collect
    try:
        node = Node()
        node.self = node
        gone = weakref.ref(node)
        kept = np.arange(1_000_000, dtype=np.float64)
        del node
        assert gone() is not None
        release()
        assert gone() is None and kept[-1] == 999_999.0
    finally:
        gc.enable()


def test_steady_memory_fixes_the_mmap_threshold_once(monkeypatch):
    from ambientgen import runtime

    calls = []

    class FakeLibc:
        def mallopt(self, option, value):
            calls.append((option, value))

    monkeypatch.setattr(runtime, "_libc", lambda: FakeLibc())
    runtime.steady_memory.cache_clear()
    try:
        runtime.steady_memory()
        runtime.steady_memory()
    finally:
        runtime.steady_memory.cache_clear()
    assert calls == [(-3, 1 << 24), (-1, 1 << 25)]  # M_MMAP_THRESHOLD 16 MB, M_TRIM_THRESHOLD 32 MB, once



def test_resident_bytes_follows_what_this_process_touches():
    import sys

    if not sys.platform.startswith("linux"):
        assert resident_bytes() is None
        return
    before = resident_bytes()
    block = np.ones(64 * 2**20 // 8)  # 64 MB, every page touched
    after = resident_bytes()
    assert before > 10 * 2**20 and after - before > 48 * 2**20
    del block
