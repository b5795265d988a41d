"""Biquads in place through scipy's own loop: the numbers sosfilt gives, with or without that loop, and the loop
loaded without importing scipy.signal."""

from __future__ import annotations

import numpy as np

from ambientgen.audio.loudness import k_weighting_sos

SR = 48_000


def test_filter_in_place_equals_sosfilt_without_scipys_private_loop(monkeypatch):
    """The K-weighting runs scipy's own loop in place; a scipy without it gets the same from ``sosfilt``."""
    from scipy.signal import sosfilt

    import ambientgen.audio.filters as filters

    sos = k_weighting_sos(SR)
    x = np.random.default_rng(0).standard_normal((2, 5_000))
    zi0 = np.random.default_rng(1).standard_normal((2, 2, 2)) * 0.01
    expected, zf = sosfilt(sos, x, axis=-1, zi=np.moveaxis(zi0, 0, 1))
    loop = filters._biquad_loop()
    assert loop is not None  # this scipy has it
    for private in (loop, None):
        monkeypatch.setattr(filters, "_biquad_loop", lambda private=private: private)
        y, zi = x.copy(), zi0.copy()
        filters.filter_in_place(sos, y, zi)
        assert np.array_equal(y, expected) and np.array_equal(zi, np.moveaxis(zf, 1, 0))


def test_a_compiled_module_that_is_not_there_loads_as_none_and_leaves_nothing_behind():
    import sys

    import ambientgen.audio.filters as filters

    assert filters._load_alone("scipy.signal._no_such_module") is None
    assert "scipy.signal._no_such_module" not in sys.modules


def test_the_meter_loads_scipys_loop_without_scipy_signal_and_scipy_signal_still_imports_after_it(tmp_path):
    """``check`` meters through scipy's compiled biquad loop, loaded alone (importing scipy.signal costs about a
    second of its start); ``import scipy.signal`` afterwards uses that same module, and sosfilt agrees with it."""
    import subprocess
    import sys

    code = ("import sys, numpy as np\n"
            "from ambientgen.audio.filters import filter_in_place\n"
            "from ambientgen.audio.loudness import LoudnessMeter, k_weighting_sos\n"
            "x = np.random.default_rng(0).standard_normal((2, 48_000))\n"
            "m = LoudnessMeter(48_000, 2)\n"
            "m.add(x)\n"
            "assert 'scipy.signal' not in sys.modules, 'scipy.signal was imported'\n"
            "loop = sys.modules['scipy.signal._sosfilt']\n"
            "import scipy.signal\n"
            "assert sys.modules['scipy.signal._sosfilt'] is loop\n"
            "sos = k_weighting_sos(48_000)\n"
            "y, zi = x.copy(), np.zeros((2, 2, 2))\n"
            "filter_in_place(sos, y, zi)\n"
            "assert np.array_equal(y, scipy.signal.sosfilt(sos, x, axis=-1))\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
