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


def test_loading_soon_returns_at_once_and_a_failure_there_is_left_to_the_drawing(monkeypatch):
    started, calls = threading.Event(), []

    def slow_load():
        calls.append(1)
        started.set()
        time.sleep(0.2)
        if len(calls) == 1:
            raise RuntimeError("no fonts")  # said by the drawing's own load, not by the thread

    monkeypatch.setattr(picture, "_LOADED", [])
    monkeypatch.setattr(picture, "_load", slow_load)
    t = time.perf_counter()
    picture.load_soon()
    assert time.perf_counter() - t < 0.1 and started.wait(2)
    picture.load()  # waits for the first try, which failed, and tries again
    assert len(calls) == 2 and picture._LOADED
    picture.load_soon()  # loaded: nothing more
    assert len(calls) == 2


def test_the_spectrogram_gathered_from_streamed_blocks_is_the_files_to_the_bit(tmp_path):
    import numpy as np
    import soundfile as sf

    from ambientgen.check.reading import channel_mean

    rng = np.random.default_rng(2)
    sr, n = 48_000, 48_000 * 7 + 123
    x = (rng.standard_normal((n, 2)) * 0.1).astype(np.float32)
    sf.write(tmp_path / "x.wav", x, sr, subtype="PCM_24")
    read, _ = sf.read(tmp_path / "x.wav", dtype="float32", always_2d=True)
    streamed, at = picture.StreamedSpectrogram(n, sr), 0
    for size in [1000, 50_000, 7, 300_000] * 10:  # blocks of any size, in order
        block = np.ascontiguousarray(read[at : at + size].T)
        streamed.add(channel_mean(block), at)
        at += block.shape[1]
    whole = picture._spectrogram(tmp_path / "x.wav")
    got = streamed.result()
    assert len(got[1]) == 1200 and all(np.array_equal(a, b) for a, b in zip(got, whole))
    short = picture.StreamedSpectrogram(n, sr)
    short.add(channel_mean(np.ascontiguousarray(read[: n // 2].T)), 0)
    assert short.result() is None  # not the whole file: the picture reads it instead
