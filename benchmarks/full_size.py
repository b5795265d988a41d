"""The engine against the naive diffusers pipeline, at the real model size, on CPU.

    python benchmarks/full_size.py [--steps 2] [--chunks 2] [--threads 2]

Builds ``cvssp/audioldm2`` at full size (1.1 B parameters) with random weights
from its real component configs (``benchmarks/audioldm2_full_configs.json``,
copied from the project's shared models folder; compute does not depend on
weight values) and offline tokenizers. Then, in one run:

1. *Naive*: ``AudioLDM2Pipeline.__call__`` once per 10.24 s chunk, as its docs
   show it (its own defaults: DDIM, guidance 3.5, text conditioning recomputed
   every call), with ``GPT2LMHeadModel`` so its ``generate`` runs, at ``--steps``
   steps instead of 200 so it fits on two cores.
2. *Engine*: the same chunks through ``AudioLDM2Backend.render`` (DPM-Solver++,
   conditioning once per prompt, chunks batched), at the same ``--steps``.

Every forward of every component is counted and timed by hooks: UNet, VAE
decoder, vocoder, CLAP text branch, T5, GPT-2, projection. Per-step and
per-decode times are then extrapolated to the real step counts (naive 200, engine
25): per chunk = text conditioning + steps x (one guided UNet step) + VAE +
vocoder, with the engine's conditioning amortised over the chunks of a prompt.
Per finished minute of a 3-layer scene, UNet evaluations are counted from the
engine's own plan (``make_plan``: streams, pools) against naive consecutive
10.24 s chunks. Prints tables and appends them to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
CONFIGS = HERE / "audioldm2_full_configs.json"
PROMPT = "field recording of heavy rain on a tin roof"


def build_full_pipeline():
    """``cvssp/audioldm2`` at full size, random weights, offline tokenizers, GPT2LMHeadModel."""
    import torch
    from diffusers import AudioLDM2Pipeline, AutoencoderKL, DDIMScheduler
    from diffusers.pipelines.audioldm2.modeling_audioldm2 import AudioLDM2ProjectionModel, AudioLDM2UNet2DConditionModel
    from transformers import (
        ClapConfig,
        ClapFeatureExtractor,
        ClapModel,
        GPT2Config,
        GPT2LMHeadModel,
        SpeechT5HifiGan,
        SpeechT5HifiGanConfig,
        T5Config,
        T5EncoderModel,
    )

    from ambientgen.testing import (  # offline tokenizers (ids fit the real vocabularies)
        _roberta_tokenizer,
        _t5_tokenizer,
    )

    cfg = {k: v["config"] for k, v in json.loads(CONFIGS.read_text()).items() if isinstance(v, dict) and "config" in v}
    clean = lambda d: {k: v for k, v in d.items() if not k.startswith("_")}  # noqa: E731
    torch.manual_seed(0)
    unet = AudioLDM2UNet2DConditionModel.from_config(clean(cfg["unet"]))
    vae = AutoencoderKL.from_config(clean(cfg["vae"]))
    vocoder = SpeechT5HifiGan(SpeechT5HifiGanConfig(**clean(cfg["vocoder"])))
    text_encoder = ClapModel(ClapConfig(**clean(cfg["text_encoder"])))
    text_encoder_2 = T5EncoderModel(T5Config(**clean(cfg["text_encoder_2"])))
    lm_config = GPT2Config(**clean(cfg["language_model"]))
    lm_config.max_new_tokens = 8
    language_model = GPT2LMHeadModel(lm_config)
    projection = AudioLDM2ProjectionModel.from_config(clean(cfg["projection_model"]))
    scheduler = DDIMScheduler.from_config(clean(cfg["scheduler"]))
    pipe = AudioLDM2Pipeline(vae=vae, text_encoder=text_encoder, text_encoder_2=text_encoder_2,
                             projection_model=projection, language_model=language_model,
                             tokenizer=_roberta_tokenizer(), tokenizer_2=_t5_tokenizer(),
                             feature_extractor=ClapFeatureExtractor(), unet=unet, scheduler=scheduler,
                             vocoder=vocoder)
    pipe.set_progress_bar_config(disable=True)
    from ambientgen.testing import _calibrate_level

    _calibrate_level(vae, vocoder)  # random HiFi-GAN weights output ~1e-10: bring it to a level that can be mastered
    return pipe.to("cpu")


class Meter:
    """Counts and times forwards of the pipeline's components with hooks (they do not nest)."""

    def __init__(self, pipe):
        self.calls: dict[str, int] = defaultdict(int)
        self.seconds: dict[str, float] = defaultdict(float)
        self.samples: dict[str, int] = defaultdict(int)
        modules = {
            "unet": pipe.unet, "vae decoder": pipe.vae.decoder, "vocoder": pipe.vocoder,
            "CLAP text": pipe.text_encoder.text_model, "CLAP projection": pipe.text_encoder.text_projection,
            "T5": pipe.text_encoder_2, "GPT-2": pipe.language_model.transformer, "projection": pipe.projection_model,
        }
        for name, module in modules.items():
            module.register_forward_pre_hook(self._start(name))
            module.register_forward_hook(self._stop(name))
        self._t0: dict[str, float] = {}

    def _start(self, name):
        def hook(module, args):
            self._t0[name] = time.perf_counter()
            if name == "unet" and args:
                self.samples[name] += int(args[0].shape[0])
        return hook

    def _stop(self, name):
        def hook(module, args, output):
            self.seconds[name] += time.perf_counter() - self._t0.pop(name)
            self.calls[name] += 1
        return hook

    def reset(self) -> None:
        self.calls.clear()
        self.seconds.clear()
        self.samples.clear()

    def snapshot(self) -> dict:
        return {"calls": dict(self.calls), "seconds": dict(self.seconds), "samples": dict(self.samples)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=2, help="denoising steps in this run (both sides)")
    parser.add_argument("--chunks", type=int, default=2, help="10.24 s chunks rendered by each side")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    import numpy as np
    import torch

    from ambientgen.backends.audioldm2 import AudioLDM2Backend, _pipeline_class
    from ambientgen.backends.base import ChunkRequest, chunk_seed
    from ambientgen.rendering.chunk_plan import chunk_count, make_plan
    from ambientgen.scene.schema import scene_from_dict

    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    pipe = build_full_pipeline()
    build_s = time.perf_counter() - t0
    params = sum(p.numel() for m in (pipe.unet, pipe.vae, pipe.vocoder, pipe.text_encoder, pipe.text_encoder_2,
                                     pipe.language_model, pipe.projection_model) for p in m.parameters())
    meter = Meter(pipe)

    # 1. naive: one pipeline call per chunk, its defaults (DDIM, guidance 3.5), at --steps
    naive_pipe = pipe
    t0 = time.perf_counter()
    for k in range(args.chunks):
        naive_pipe(PROMPT, num_inference_steps=args.steps, audio_length_in_s=10.24,
                   generator=torch.Generator("cpu").manual_seed(k))
    naive_wall = time.perf_counter() - t0
    naive = meter.snapshot()
    meter.reset()

    # 2. engine: the same chunks, one prompt, batched, DPM-Solver++, our conditioning cache
    engine_pipe = _pipeline_class()(**pipe.components)
    backend = AudioLDM2Backend(engine_pipe, checkpoint="random full-size", device="cpu", steps=args.steps,
                               batch_size=4)
    requests = [ChunkRequest("rain", k, PROMPT, "Low quality.", chunk_seed(0, "rain", 0, k), 10.24)
                for k in range(args.chunks)]
    t0 = time.perf_counter()
    backend.render(requests)
    engine_wall = time.perf_counter() - t0
    engine = meter.snapshot()

    # 3. end to end: a 30 s looping layer through the render pipeline (latent windows, stitching, assembly, files)
    import tempfile

    from ambientgen import render

    meter.reset()
    e2e_scene = scene_from_dict({"name": "e2e", "duration": 30, "model": {"steps": args.steps},
                                 "layers": [{"name": "rain", "prompt": PROMPT}]})
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        e2e_manifest = render(e2e_scene, tmp, backend=backend, session=False, report=False, cache=False).manifest
    e2e_wall = time.perf_counter() - t0
    e2e = meter.snapshot()

    def per(snapshot, name, what="seconds"):
        return snapshot[what].get(name, 0.0)

    text_parts = ("CLAP text", "CLAP projection", "T5", "GPT-2", "projection")
    rows = []
    for label, snap, wall in (("naive pipeline", naive, naive_wall), ("engine", engine, engine_wall)):
        inside = sum(snap["seconds"].values())
        rows.append((label, wall, snap, inside))
    table1 = ["| | naive (diffusers `__call__` per chunk) | engine (`AudioLDM2Backend.render`) |", "|---|---|---|"]
    for name in ("unet", "vae decoder", "vocoder", *text_parts):
        n_calls = [per(s, name, "calls") for _, _, s, _ in rows]
        secs = [per(s, name) for _, _, s, _ in rows]
        extra = [f" ({int(per(s, name, 'samples'))} sample-evaluations)" if name == "unet" else "" for _, _, s, _ in rows]
        table1.append(f"| {name} | {n_calls[0]} calls, {secs[0]:.1f} s{extra[0]} | {n_calls[1]} calls, "
                      f"{secs[1]:.1f} s{extra[1]} |")
    table1.append(f"| wall time for {args.chunks} chunks at {args.steps} steps | {naive_wall:.1f} s | {engine_wall:.1f} s |")
    table1.append(f"| share of wall time inside model forwards | {rows[0][3] / naive_wall:.2%} | "
                  f"{rows[1][3] / engine_wall:.2%} |")

    # extrapolation to the real step counts, per 10.24 s chunk
    def unit_costs(snap, chunks, steps):
        unet_step = per(snap, "unet") / steps / chunks  # one guided step of one chunk (batched: its share)
        decode = (per(snap, "vae decoder") + per(snap, "vocoder")) / chunks
        text = sum(per(snap, n) for n in text_parts)
        return unet_step, decode, text

    n_step, n_dec, n_text = unit_costs(naive, args.chunks, args.steps)
    e_step, e_dec, e_text = unit_costs(engine, args.chunks, args.steps)
    naive_chunk = n_text / args.chunks + 200 * n_step + n_dec  # its text encoding runs on every call
    engine_chunk = 25 * e_step + e_dec  # conditioning once per prompt, amortised over a layer's chunks
    table2 = ["| per 10.24 s chunk, extrapolated | naive (200 DDIM steps) | engine (25 DPM-Solver++ steps) |",
              "|---|---|---|",
              f"| one guided UNet step | {n_step:.2f} s | {e_step:.2f} s |",
              f"| VAE + vocoder | {n_dec:.2f} s | {e_dec:.2f} s |",
              f"| text conditioning | {n_text / args.chunks:.2f} s every chunk | {e_text:.2f} s once per prompt |",
              f"| total per chunk | {naive_chunk:.0f} s | {engine_chunk:.0f} s (+ {e_text:.1f} s per prompt) |",
              f"| speed-up per chunk | | {naive_chunk / engine_chunk:.1f}x |"]

    # UNet sample-evaluations per finished minute, 3-layer scenes, from the engine's own plan
    table3 = ["| 3-layer scene | naive: chunks, UNet evaluations | engine: model calls, UNet evaluations | "
              "fewer UNet evaluations per finished minute |", "|---|---|---|---|"]
    for label, seconds in (("5 minutes", 300), ("10 minutes", 600), ("1 hour", 3600), ("8 hours", 28800)):
        scene = scene_from_dict({"name": "x", "duration": seconds, "layers": [
            {"name": "rain", "prompt": "rain"}, {"name": "wind", "prompt": "wind"},
            {"name": "thunder", "prompt": "thunder", "role": "events"}]})
        plan = make_plan(scene, max_chunk_s=10.24)
        calls = sum(len(layer.seeds) for layer in plan.layers)
        naive_chunks = 3 * int(np.ceil(seconds / 10.24))
        naive_evals = naive_chunks * 200 * 2  # 200 steps, classifier-free guidance doubles the batch
        engine_evals = calls * 25 * 2
        table3.append(f"| {label} | {naive_chunks}, {naive_evals:,} | {calls}, {engine_evals:,} | "
                      f"{naive_evals / engine_evals:.1f}x |")
    consecutive = chunk_count(duration_s=300, chunk_s=10.24, overlap_s=1.5, loop=True)
    inside = sum(e2e["seconds"].values())
    assemble_s = e2e_manifest["stats"]["assemble_s"]
    table4 = ["| `ambientgen.render`, 30 s looping layer, latent windows, full size | seconds | share |", "|---|---|---|",
              f"| wall time (plan, render, stitch, assemble, write mix + stem + manifest) | {e2e_wall:.1f} | 100 % |"]
    for name in ("unet", "vae decoder", "vocoder"):
        table4.append(f"| {name} forwards ({per(e2e, name, 'calls')}) | {per(e2e, name):.1f} | "
                      f"{per(e2e, name) / e2e_wall:.1%} |")
    text_s = sum(per(e2e, n) for n in text_parts)
    table4 += [f"| text conditioning | {text_s:.1f} | {text_s / e2e_wall:.1%} |",
               f"| all model forwards | {inside:.1f} | {inside / e2e_wall:.1%} |",
               f"| everything else (latent bookkeeping, stitching, resampling, assembly {assemble_s:.2f} s, I/O, "
               f"Python) | {e2e_wall - inside:.1f} | {(e2e_wall - inside) / e2e_wall:.1%} |"]
    text = "\n\n".join("\n".join(t) for t in (table1, table2, table3, table4))
    header = (f"Full-size `cvssp/audioldm2` architecture with random weights ({params / 1e9:.2f} B parameters, "
              f"built in {build_s:.0f} s), CPU, {args.threads} threads, {args.chunks} chunks at {args.steps} steps "
              f"each side. Text conditioning: naive {per(naive, 'T5', 'calls')} T5 calls for "
              f"{args.chunks} chunks, engine {per(engine, 'T5', 'calls')}. A 5-minute layer takes {consecutive} "
              "overlapping windows in the engine (1.5 s overlaps) against 30 naive chunks.")
    print(header + "\n\n" + text)
    stamp = f"{datetime.date.today()}, {platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}"
    with open(HERE / "RESULTS.md", "a", encoding="utf-8") as f:
        f.write(f"\n## Full size, engine vs naive pipeline ({stamp}, `python benchmarks/full_size.py "
                f"--steps {args.steps} --chunks {args.chunks} --threads {args.threads}`)\n\n{header}\n\n{text}\n")


if __name__ == "__main__":
    main()
