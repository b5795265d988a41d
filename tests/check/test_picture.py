"""The check picture's set-up: matplotlib loaded once per process, whoever asks first."""

from __future__ import annotations

import threading
import time

from ambientgen.check import picture


def test_matplotlib_is_loaded_once_and_a_second_caller_waits_for_it(monkeypatch):
    calls = []

    def slow_load():
        calls.append(threading.current_thread().name)
        time.sleep(0.2)

    monkeypatch.setattr(picture, "_LOADED", [])
    monkeypatch.setattr(picture, "_load", slow_load)
    done = []
    threads = [threading.Thread(target=lambda: (picture.load(), done.append(time.perf_counter()))) for _ in range(3)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1  # loaded once
    assert all(t - started >= 0.19 for t in done)  # nobody went on before it was loaded


def test_the_real_load_leaves_matplotlib_drawing_offscreen():
    import matplotlib

    picture.load()
    assert matplotlib.get_backend().lower() == "agg" and picture._LOADED
