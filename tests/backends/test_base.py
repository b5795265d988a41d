"""The batching loop every model backend shares (:meth:`Backend.render_in_batches`)."""

from __future__ import annotations

import numpy as np
import pytest

from ambientgen.backends.base import Backend, BackendSpec, ChunkRequest, NoSettings
from ambientgen.errors import BackendError


class Counting(Backend):
    spec = BackendSpec(name="counting", summary="test", sample_rate=100, channels=1, max_window_s=5.0,
                       settings=NoSettings, factory=lambda s, d: Counting())
    batch_size = 2

    def __init__(self):
        super().__init__()
        self.batches = []

    def render(self, requests, *, on_progress=None):
        return self.render_in_batches(requests, key=lambda r: (r.prompt, r.duration_s), render_batch=self._batch,
                                      on_progress=on_progress)

    def _batch(self, batch, prompt, duration_s):
        self.batches.append((prompt, [r.index for r in batch]))
        return [np.full((1, round(duration_s * 100)), r.seed, dtype=np.float32) for r in batch]


def _req(layer, index, prompt, seed, duration_s=1.0):
    return ChunkRequest(layer=layer, index=index, prompt=prompt, negative_prompt="", seed=seed, duration_s=duration_s)


def test_groups_by_key_batches_by_size_and_returns_in_request_order():
    be = Counting()
    reqs = [_req("a", 0, "rain", 10), _req("b", 0, "wind", 20), _req("a", 1, "rain", 11), _req("a", 2, "rain", 12)]
    done = []
    out = be.render(reqs, on_progress=done.append)
    assert [int(x[0, 0]) for x in out] == [10, 20, 11, 12]
    assert be.batches == [("rain", [0, 1]), ("rain", [2]), ("wind", [0])]  # one conditioning per group
    assert done == [2, 1, 1] and sum(done) == len(reqs)
    assert be.stats.model_calls == 4 and be.stats.per_layer == {"a": 3, "b": 1}


def test_refuses_a_chunk_longer_than_the_window_before_rendering_anything():
    be = Counting()
    with pytest.raises(BackendError, match="chunk of 6 s exceeds the backend's 5.0 s"):
        be.render([_req("a", 0, "rain", 1), _req("a", 1, "rain", 2, duration_s=6.0)])
    assert be.batches == []
