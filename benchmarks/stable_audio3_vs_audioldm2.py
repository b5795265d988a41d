"""Stable Audio 3 (small) against AudioLDM2, both at full size with random weights, on this machine's CPU.

    python benchmarks/stable_audio3_vs_audioldm2.py [--window 60] [--threads 2]

Compute does not depend on weight values, so random weights measure what real
ones cost. AudioLDM2 is ``cvssp/audioldm2`` from its real component configs
(``benchmarks/audioldm2_full_configs.json``, see ``full_size.py``). Stable Audio 3
small is built from diffusers' classes: SAME-S (``AutoencoderSAME()``'s defaults,
which diffusers documents as SAME-S), a T5Gemma b encoder (768 wide, 12 layers,
256k vocabulary) and a DiT 1024 wide and 18 deep, which makes the checkpoint's
total the 567.6 M parameters reported for ``stable-audio-3-small-music``'s
``model.safetensors`` (the published DiT config is not reachable offline: the
width/depth split is assumed, the parameter count is not).

Measured in one run, per component with forward hooks: one text encoding, one
denoiser evaluation at each model's window (SA3: ``--window`` s; AudioLDM2: one
guided 10.24 s chunk, i.e. a batch of 2), one decode of a window. Then per
finished minute of one layer: AudioLDM2 renders 10.24 s chunks on an 8.74 s hop
at 25 steps (the engine's defaults); SA3 renders ``--window`` s windows on a
(window - 6 s) hop at 8 steps. Prints a table and appends it to
benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROMPT = "field recording of heavy rain on a tin roof"


def build_sa3_small():
    import torch
    from diffusers import AutoencoderSAME, FlowMatchEulerDiscreteScheduler, StableAudio3DiTModel, StableAudio3Pipeline
    from diffusers.pipelines.stable_audio_3.modeling_stable_audio_3 import StableAudio3DurationEmbedder
    from transformers import T5GemmaConfig, T5GemmaEncoderModel
    from transformers.models.t5gemma.configuration_t5gemma import T5GemmaModuleConfig

    from ambientgen.testing import _gemma_tokenizer

    torch.manual_seed(0)
    module = T5GemmaModuleConfig(vocab_size=256000, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                                 num_attention_heads=12, num_key_value_heads=12, head_dim=64)
    text_encoder = T5GemmaEncoderModel(T5GemmaConfig(encoder=module.to_dict(), decoder=module.to_dict(),
                                                     is_encoder_decoder=False, vocab_size=256000))
    vae = AutoencoderSAME()  # SAME-S
    transformer = StableAudio3DiTModel(embed_dim=1024, depth=18, num_heads=16)
    pipe = StableAudio3Pipeline(vae=vae, text_encoder=text_encoder, tokenizer=_gemma_tokenizer(),
                                duration_embedder=StableAudio3DurationEmbedder(),
                                transformer=transformer,
                                scheduler=FlowMatchEulerDiscreteScheduler(num_train_timesteps=1,
                                                                          stochastic_sampling=True))
    pipe.set_progress_bar_config(disable=True)
    return pipe


class Meter:
    def __init__(self, modules: dict):
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._t0: dict[str, float] = {}
        for name, module in modules.items():
            module.register_forward_pre_hook(lambda m, a, n=name: self._t0.__setitem__(n, time.perf_counter()))
            module.register_forward_hook(lambda m, a, o, n=name: self._stop(n))

    def _stop(self, name):
        self.seconds[name] += time.perf_counter() - self._t0.pop(name)
        self.calls[name] += 1

    def per_call(self, name: str) -> float:
        return self.seconds[name] / max(1, self.calls[name])


def params(*modules) -> float:
    return sum(p.numel() for m in modules for p in m.parameters()) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--window", type=float, default=60.0, help="Stable Audio 3 window (s)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    import torch
    from full_size import build_full_pipeline

    from ambientgen.backends.audioldm2 import AudioLDM2Backend, _pipeline_class
    from ambientgen.backends.base import ChunkRequest
    from ambientgen.backends.stable_audio3 import StableAudio3Backend

    torch.set_num_threads(args.threads)
    rows = []
    # -- Stable Audio 3 small
    sa3 = build_sa3_small()
    m = Meter({"text": sa3.text_encoder, "denoiser": sa3.transformer, "decoder": sa3.vae.decoder})
    backend = StableAudio3Backend(sa3, checkpoint="random full-size small", device="cpu", steps=1)
    t0 = time.perf_counter()
    backend.render([ChunkRequest("rain", 0, PROMPT, "", 1, args.window)])
    sa3_wall = time.perf_counter() - t0
    sa3_steps, sa3_hop = 8, args.window - 6.0
    sa3_cost = {"text": m.seconds["text"], "denoiser": m.per_call("denoiser") * sa3_steps,
                "decoder": m.seconds["decoder"]}
    sa3_windows_per_min = 60.0 / sa3_hop
    rows.append(("stable-audio-3 small", params(sa3.transformer, sa3.vae, sa3.text_encoder, sa3.duration_embedder),
                 args.window, sa3_steps, m.per_call("denoiser"), m.seconds["decoder"], m.seconds["text"],
                 sa3_windows_per_min * (sa3_cost["denoiser"] + sa3_cost["decoder"]),
                 3600 / sa3_hop * sa3_steps))
    del sa3, backend
    # -- AudioLDM2
    ldm = _pipeline_class()(**build_full_pipeline().components)
    m2 = Meter({"text": ldm.text_encoder_2, "clap": ldm.text_encoder.text_model, "gpt2": ldm.language_model,
                "denoiser": ldm.unet, "vae": ldm.vae.decoder, "vocoder": ldm.vocoder})
    ldm_backend = AudioLDM2Backend(ldm, checkpoint="random full-size", device="cpu", steps=1, batch_size=1)
    t0 = time.perf_counter()
    ldm_backend.render([ChunkRequest("rain", 0, PROMPT, "Low quality.", 1, 10.24)])
    ldm_wall = time.perf_counter() - t0
    ldm_steps, ldm_hop = 25, 10.24 - 1.5
    text_s = m2.seconds["text"] + m2.seconds["clap"] + m2.seconds["gpt2"]
    decode_s = m2.seconds["vae"] + m2.seconds["vocoder"]
    rows.append(("audioldm2", params(ldm.unet, ldm.vae, ldm.vocoder, ldm.text_encoder, ldm.text_encoder_2,
                                     ldm.language_model, ldm.projection_model),
                 10.24, ldm_steps, m2.per_call("denoiser"), decode_s, text_s,
                 60.0 / ldm_hop * (ldm_steps * m2.per_call("denoiser") + decode_s), 3600 / ldm_hop * ldm_steps))
    stamp = datetime.date.today().isoformat()
    lines = [f"## Stable Audio 3 small vs AudioLDM2, full size, CPU ({stamp}, {platform.machine()}, "
             f"{args.threads} threads, torch {torch.__version__}, "
             f"`python benchmarks/stable_audio3_vs_audioldm2.py --window {args.window:g} --threads {args.threads}`)",
             "",
             "| model | params (M) | window (s) | steps | one denoiser eval (s) | decode one window (s) | "
             "text encode (s) | compute per finished minute of one layer (s) | denoiser evals per finished hour |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r[0]} | {r[1]:.0f} | {r[2]:g} | {r[3]} | {r[4]:.2f} | {r[5]:.2f} | {r[6]:.2f} | "
                     f"{r[7]:.0f} | {r[8]:.0f} |")
    ratio = rows[1][7] / rows[0][7]
    lines += ["", f"AudioLDM2 / Stable Audio 3 compute per finished minute: **{ratio:.1f}x** "
              f"(AudioLDM2 output is 16 kHz mono; Stable Audio 3 is 44.1 kHz stereo). Where the time goes in SA3 per "
              f"window: denoiser {sa3_cost['denoiser']:.0f} s ({sa3_steps} steps), decoder {sa3_cost['decoder']:.0f} s, "
              f"text {sa3_cost['text']:.1f} s once per prompt. Wall of the measured runs (1 step each): SA3 "
              f"{sa3_wall:.0f} s, AudioLDM2 {ldm_wall:.0f} s. The denoiser column of AudioLDM2 is one guided "
              "evaluation (batch 2).", ""]
    text = "\n".join(lines)
    print(text)
    with open(HERE / "RESULTS.md", "a", encoding="utf-8") as f:
        f.write("\n" + text + "\n")


if __name__ == "__main__":
    main()
