"""Biquad filtering in place, through scipy's own compiled loop (the K-weighting of every meter, DC removal).

``scipy.signal.sosfilt`` checks its arguments and copies the signal around the loop it calls; the engine filters
long signals block by block, in place, through that loop itself. Where ``scipy.signal`` is not imported yet (an
``ambientgen check``), the loop's compiled module is loaded alone: importing the package costs 0.9-1.4 s.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
import threading
from pathlib import Path

import numpy as np


def filter_in_place(sos: np.ndarray, x: np.ndarray, zi: np.ndarray) -> None:
    """Run the biquads ``sos`` over each row of ``x`` (C-contiguous ``(signals, samples)``), in place, from and into
    the states ``zi`` (``(signals, sections, 2)``, contiguous, same dtype): what ``scipy.signal.sosfilt`` computes,
    through scipy's own loop where this scipy has it (every one since 1.2), else through ``sosfilt`` itself."""
    loop = _biquad_loop()
    if loop is not None:
        loop(sos, x, zi)
        return
    from scipy.signal import sosfilt

    x[...], out = sosfilt(sos, x, axis=-1, zi=np.moveaxis(zi, 0, 1))
    zi[...] = np.moveaxis(out, 1, 0)


_LOOP_NAME = "scipy.signal._sosfilt"
_loop_lock = threading.Lock()
_loop: list = []  # [the loop or None], once found


def _biquad_loop():
    """scipy's own biquad loop, ``scipy.signal._sosfilt._sosfilt`` (the function ``sosfilt`` calls after its checks
    and copy), or None where this scipy has none.

    Where ``scipy.signal`` is not imported yet, its compiled ``_sosfilt`` module is loaded alone, from scipy's own
    folder, and registered under its own name, so that a later ``import scipy.signal`` uses this same module.
    Importing the package costs 0.9-1.4 s on a 2-core machine (it imports scipy.stats, interpolate, optimize and
    more), the largest part of ``ambientgen check``'s start, and the check needs nothing else from it. Anything
    unexpected (a scipy laid out otherwise) falls back to the ordinary import."""
    if _loop:
        return _loop[0]
    with _loop_lock:  # the meters of a render's analysis run in two threads: the module is loaded once
        if not _loop:
            module = sys.modules.get(_LOOP_NAME)
            if module is None and "scipy.signal" not in sys.modules:
                module = _load_alone(_LOOP_NAME)
            if module is None:
                try:
                    from scipy.signal import _sosfilt as module
                except ImportError:  # pragma: no cover - a scipy that moved it
                    module = None
            _loop.append(getattr(module, "_sosfilt", None))
    return _loop[0]


def _load_alone(name: str):
    """The compiled module ``name`` (in scipy) loaded without importing its package, or None if it cannot be."""
    try:
        package, _, leaf = name.rpartition(".")
        folder = Path(importlib.util.find_spec("scipy").submodule_search_locations[0], *package.split(".")[1:])
        path = next(p for p in (folder / (leaf + s) for s in importlib.machinery.EXTENSION_SUFFIXES) if p.is_file())
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(name, None)
            raise
        return module
    except Exception:  # noqa: BLE001 - whatever went wrong: the caller imports the package as usual
        return None
