"""AudioLDM2 backend on diffusers components.

The checkpoint is loaded with ``AudioLDM2Pipeline.from_pretrained`` (hub id or
local directory, honouring the Hugging Face cache and ``HF_HUB_OFFLINE``); the
render loop is our own so that

- text conditioning (CLAP, Flan-T5, projection, GPT-2) runs once per distinct
  (prompt, negative prompt) per backend instance, however many chunks use it;
- chunks of a layer are denoised in batches with one seeded ``torch.Generator``
  per chunk (results do not depend on the batch a chunk lands in);
- the 8-token GPT-2 "language of audio" loop works with both ``GPT2Model`` (what
  the hub checkpoints declare) and ``GPT2LMHeadModel`` under transformers 5,
  where diffusers' own loop fails (diffusers issue #12630).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from pydantic import Field

from ..errors import BackendError
from .base import Backend, BackendSettings, BackendSpec, ChunkRequest, ProgressCallback
from .checkpoints import (
    checkpoint_fingerprint,
    checkpoint_location,
    load_diffusers_pipeline,
    load_on_device,
    resolve_device,
)

__all__ = ["AudioLDM2Backend", "AudioLDM2Settings", "checkpoint_location", "generate_language_model", "load_pipeline",
           "resolve_device"]

COMPONENTS = (
    "feature_extractor",
    "language_model",
    "projection_model",
    "scheduler",
    "text_encoder",
    "text_encoder_2",
    "tokenizer",
    "tokenizer_2",
    "unet",
    "vae",
    "vocoder",
)
DEFAULT_CHECKPOINT = "cvssp/audioldm2"


def generate_language_model(language_model, inputs_embeds, attention_mask=None, max_new_tokens: int = 8):
    """Autoregressively generate ``max_new_tokens`` GPT-2 hidden states (the AudioLDM2 "language of audio").

    Each step feeds the last hidden state back as the next input embedding,
    using the KV cache. Works for ``GPT2Model`` and ``GPT2LMHeadModel`` (its
    ``transformer``; the LM head is never needed), with transformers 4 (the
    cache is ``past_key_values``) and 5 (it is ``cache``).
    """
    import inspect

    import torch

    base = getattr(language_model, "transformer", language_model)
    cache_arg = "cache" if "cache" in inspect.signature(base.forward).parameters else "past_key_values"
    step_input, mask, cache = inputs_embeds, attention_mask, None
    generated = []
    for _ in range(max_new_tokens):
        out = base(inputs_embeds=step_input, attention_mask=mask, use_cache=True, **{cache_arg: cache})
        cache = out[cache_arg]
        step_input = out.last_hidden_state[:, -1:, :]
        generated.append(step_input)
        if mask is not None:
            mask = torch.cat([mask, mask.new_ones((mask.shape[0], 1))], dim=1)
    return torch.cat(generated, dim=1)


def _pipeline_class():
    from diffusers import AudioLDM2Pipeline

    class _Pipeline(AudioLDM2Pipeline):
        """diffusers' pipeline with the language-model loop replaced by ours."""

        def generate_language_model(self, inputs_embeds=None, max_new_tokens=8, **model_kwargs):
            n = max_new_tokens or getattr(self.language_model.config, "max_new_tokens", 8)
            return generate_language_model(
                self.language_model, inputs_embeds, model_kwargs.get("attention_mask"), max_new_tokens=n
            )

    return _Pipeline


def load_pipeline(checkpoint: str, *, dtype, revision: str | None = None):
    """Load an AudioLDM2 pipeline by hub id or local path, with one clear error on failure."""
    return load_diffusers_pipeline(_pipeline_class(), checkpoint, model="AudioLDM2", pipeline_class="AudioLDM2Pipeline",
                                   components=COMPONENTS, dtype=dtype, revision=revision)


class AudioLDM2Settings(BackendSettings):
    """AudioLDM2's keys in a scene's ``model:`` section."""

    checkpoint: str = Field(DEFAULT_CHECKPOINT, min_length=1)
    steps: int = Field(25, ge=1, le=1000)
    guidance: float = Field(3.0, ge=0.0, le=30.0)
    scheduler: Literal["dpmsolver++", "ddim", "unipc"] = "dpmsolver++"
    batch_size: int = Field(4, ge=1, le=64)


class AudioLDM2Backend(Backend):
    """Renders chunk requests with an AudioLDM2 checkpoint: mono, 16 kHz, 10.24 s windows."""

    def __init__(
        self,
        pipeline,
        *,
        checkpoint: str,
        device: str = "cpu",
        steps: int = 25,
        guidance: float = 3.0,
        scheduler: str = "dpmsolver++",
        batch_size: int = 4,
    ):
        import torch

        super().__init__()
        self.pipe = pipeline
        self.checkpoint = checkpoint
        self.device = device
        self.steps = steps
        self.guidance = guidance
        self.scheduler_name = scheduler
        self.batch_size = batch_size
        self.dtype = next(pipeline.unet.parameters()).dtype
        rate = int(pipeline.vocoder.config.sampling_rate)
        if rate != self.spec.sample_rate:
            raise BackendError(f"model.checkpoint: '{checkpoint}' renders at {rate} Hz; AudioLDM2 is {self.spec.sample_rate} Hz")
        hop = int(np.prod(pipeline.vocoder.config.upsample_rates))
        self.hop_length = hop
        self.vae_scale = 2 ** (len(pipeline.vae.config.block_out_channels) - 1)
        self.unet_multiple = 2 ** (len(pipeline.unet.config.block_out_channels) - 1)
        self._conditioning: dict[tuple[str, str], tuple[Any, Any, Any]] = {}
        self._torch = torch

    @classmethod
    def load(cls, checkpoint: str, *, device: str = "auto", revision: str | None = None, **settings) -> AudioLDM2Backend:
        pipe, device = load_on_device(load_pipeline, checkpoint, device=device, revision=revision)
        return cls(pipe, checkpoint=checkpoint, device=device, **settings)

    @classmethod
    def from_settings(cls, settings: AudioLDM2Settings, device: str) -> AudioLDM2Backend:
        """Load the checkpoint ``settings`` names with its steps, guidance, scheduler and batch size."""
        return cls.load(settings.checkpoint, device=device, steps=settings.steps, guidance=settings.guidance,
                        scheduler=settings.scheduler, batch_size=settings.batch_size)

    def identity(self) -> dict[str, Any]:
        """Everything about this backend that changes its audio (the render cache's key)."""
        from .._version import __version__

        return {"name": self.name, "checkpoint": self.checkpoint, "revision": checkpoint_fingerprint(self.pipe),
                "steps": self.steps, "guidance": self.guidance, "scheduler": self.scheduler_name,
                "device": str(self.device).split(":")[0], "dtype": str(self.dtype), "ambientgen": __version__}

    def describe(self) -> dict[str, Any]:
        import diffusers
        import torch
        import transformers

        return {
            "backend": self.name,
            "checkpoint": self.checkpoint,
            "device": self.device,
            "dtype": str(self.dtype).removeprefix("torch."),
            "steps": self.steps,
            "guidance": self.guidance,
            "scheduler": self.scheduler_name,
            "batch_size": self.batch_size,
            "language_model": type(self.pipe.language_model).__name__,
            "sample_rate": self.sample_rate,
            "channels": self.channels,
            "versions": {"diffusers": diffusers.__version__, "transformers": transformers.__version__,
                         "torch": torch.__version__},
        }

    # -- conditioning -------------------------------------------------------------------------
    def conditioning(self, prompt: str, negative_prompt: str):
        """(T5 embeds, T5 mask, GPT-2 embeds), each [uncond; cond] with batch 2, computed once per pair."""
        key = (prompt, negative_prompt)
        if key not in self._conditioning:
            with self._torch.inference_mode():
                self._conditioning[key] = self.pipe.encode_prompt(
                    prompt,
                    self.device,
                    1,
                    self.guidance > 1.0,
                    negative_prompt=negative_prompt or None,
                    max_new_tokens=8,
                )
            self.stats.text_encodes += 1
        return self._conditioning[key]

    def _make_scheduler(self):
        from diffusers import DDIMScheduler, DPMSolverMultistepScheduler, UniPCMultistepScheduler

        cls = {"dpmsolver++": DPMSolverMultistepScheduler, "ddim": DDIMScheduler,
               "unipc": UniPCMultistepScheduler}[self.scheduler_name]
        extra = {"algorithm_type": "dpmsolver++"} if self.scheduler_name == "dpmsolver++" else {}
        return cls.from_config(self.pipe.scheduler.config, **extra)

    def latent_frames(self, duration_s: float) -> int:
        """Latent frames for a duration, rounded up so the VAE and UNet divide them."""
        frames = math.ceil(duration_s * self.sample_rate / self.hop_length / self.vae_scale)
        return self.unet_multiple * math.ceil(frames / self.unet_multiple)

    # -- rendering ----------------------------------------------------------------------------
    def render(
        self, requests: Sequence[ChunkRequest], *, on_progress: ProgressCallback | None = None
    ) -> list[np.ndarray]:
        return self.render_in_batches(requests, key=lambda r: (r.prompt, r.negative_prompt, r.duration_s),
                                      render_batch=self._render_batch, on_progress=on_progress)

    def _render_batch(self, batch: list[ChunkRequest], prompt: str, negative: str, duration_s: float):
        torch = self._torch
        cfg = self.guidance > 1.0
        t5, t5_mask, gpt = self.conditioning(prompt, negative)
        frames = self.latent_frames(duration_s)
        shape = (1, self.pipe.unet.config.in_channels, frames, self.pipe.vocoder.config.model_in_dim // self.vae_scale)
        noise = [torch.randn(shape, generator=torch.Generator("cpu").manual_seed(r.seed)) for r in batch]
        scheduler = self._make_scheduler()
        scheduler.set_timesteps(self.steps, device=self.device)
        latents = torch.cat(noise).to(self.device, self.dtype) * scheduler.init_noise_sigma
        with torch.inference_mode():
            for t in scheduler.timesteps:
                pred = self._guided_eps(scheduler.scale_model_input(latents, t), t, t5, t5_mask, gpt, cfg)
                latents = scheduler.step(pred, t, latents).prev_sample
            audio = self.decode(latents)
        length = round(duration_s * self.sample_rate)
        return [a[None, :length] for a in audio]

    # -- one long latent per layer (MultiDiffusion along time) --------------------------------------
    def render_stream(self, *, layer: str, prompt: str, negative_prompt: str, seeds: Sequence[int],
                      duration_s: float, window_s: float, overlap_s: float, loop: bool,
                      on_progress: ProgressCallback | None = None) -> tuple[np.ndarray, list[float]]:
        """A whole layer from one latent: mono float32 of ``ceil(duration_s * 25)`` latent frames, and seam times.

        See :mod:`ambientgen.backends.latent`. Returns (audio, seam times in s).
        """
        from .latent import averaged_prediction, block_generators, plan_windows, ramp_weights, timeline_noise

        torch = self._torch
        rate = self.sample_rate / self.hop_length / self.vae_scale  # latent frames per second (25)
        length = math.ceil(duration_s * rate - 1e-9)
        size = self.latent_frames(window_s)
        overlap = max(1, round(overlap_s * rate))
        windows = plan_windows(length, size=size, overlap=overlap, multiple=self.unet_multiple, loop=loop)
        total = max(length, windows.size)  # a short non-looping layer is padded to one window, then cropped
        channels = self.pipe.unet.config.in_channels
        bins = self.pipe.vocoder.config.model_in_dim // self.vae_scale
        # initial noise: block k of the timeline comes from chunk seed k (independent of batching)
        noise = timeline_noise(block_generators(total, seeds), (1, channels, total, bins))
        if total != windows.length:
            windows = plan_windows(total, size=windows.size, overlap=overlap, multiple=self.unet_multiple, loop=False)
        weights = torch.as_tensor(ramp_weights(windows.size, min(overlap, windows.size // 2)), device=self.device)
        cfg = self.guidance > 1.0
        t5, t5_mask, gpt = self.conditioning(prompt, negative_prompt)
        scheduler = self._make_scheduler()
        scheduler.set_timesteps(self.steps, device=self.device)
        latents = noise.to(self.device, self.dtype) * scheduler.init_noise_sigma
        index = [torch.as_tensor(windows.indices(k), device=self.device) for k in range(len(windows.starts))]
        with torch.inference_mode():
            for t in scheduler.timesteps:
                eps = averaged_prediction(
                    latents, index, weights, axis=2, batch_size=self.batch_size,
                    predict=lambda views: self._guided_eps(scheduler.scale_model_input(views, t), t, t5, t5_mask,
                                                           gpt, cfg)).to(self.dtype)  # noqa: B023 (used at once)
                latents = scheduler.step(eps, t, latents).prev_sample
                if on_progress:
                    on_progress(1)
            self.stats.count(layer, len(index))
            audio = self.decode_stream(latents, loop=loop)
        samples = round(length / rate * self.sample_rate)
        seams = [f / rate for f in windows.seams if f < length]
        return audio[None, :samples], seams

    def _guided_eps(self, views, t, t5, t5_mask, gpt, cfg):
        """Classifier-free-guided noise prediction for a batch of latent windows."""
        torch = self._torch
        n = views.shape[0]

        def expand(x):  # [uncond; cond] (batch 2) -> n uncond then n cond
            if not cfg:
                return x[-1:].expand(n, *x.shape[1:])
            return torch.cat([x[:1].expand(n, *x.shape[1:]), x[1:2].expand(n, *x.shape[1:])])

        model_in = torch.cat([views] * 2) if cfg else views
        pred = self.pipe.unet(model_in, t, encoder_hidden_states=expand(gpt), encoder_hidden_states_1=expand(t5),
                              encoder_attention_mask_1=expand(t5_mask), return_dict=False)[0]
        self.stats.unet_evals += 1
        if cfg:
            uncond, cond = pred.chunk(2)
            pred = uncond + self.guidance * (cond - uncond)
        return pred

    def decode_stream(self, latents, *, loop: bool, core: int = 256, context: int = 32) -> np.ndarray:
        """A long latent ``[1, C, L, F]`` -> mono waveform: VAE and vocoder in windows with (wrapped) context."""
        from .latent import decode_in_windows

        torch = self._torch
        scale = self.pipe.vae.config.scaling_factor
        with torch.inference_mode():
            mel = decode_in_windows(lambda z: self.pipe.vae.decode(z / scale).sample, latents, core=core,
                                    context=context, loop=loop, scale=self.vae_scale)
            wave = decode_in_windows(lambda m: self.pipe.vocoder(m), mel.squeeze(1), core=core * self.vae_scale,
                                     context=context * self.vae_scale, loop=loop, scale=self.hop_length)
        self.stats.decode_calls += 1
        return wave[0].float().cpu().numpy().astype(np.float32)

    def decode(self, latents) -> np.ndarray:
        """Latents [B, 8, T, 16] -> float32 waveforms [B, samples] (VAE, then HiFi-GAN vocoder).

        On a GPU the batch is decoded at once; on a CPU one item at a time, which
        is faster there (measured at full size: 5.8 s per chunk one by one against
        7.7 s batched by 4; the vocoder's activations outgrow the caches).
        """
        torch = self._torch
        step = latents.shape[0] if str(self.device).startswith("cuda") else 1
        waves = []
        with torch.inference_mode():
            for b in range(0, latents.shape[0], step):
                mel = self.pipe.vae.decode(latents[b : b + step] / self.pipe.vae.config.scaling_factor).sample
                waves.append(self.pipe.mel_spectrogram_to_waveform(mel).float().cpu())
        self.stats.decode_calls += 1
        return torch.cat(waves).numpy().astype(np.float32)


SPEC = BackendSpec(
    name="audioldm2",
    summary="AudioLDM2 (Hugging Face diffusers): text to audio, 16 kHz mono, one long latent per layer",
    sample_rate=16000,
    channels=1,
    max_window_s=10.24,
    settings=AudioLDM2Settings,
    factory=AudioLDM2Backend.from_settings,
    latent_stream=True,
    licence="CC-BY-NC-SA-4.0 (weights: non-commercial use only)",
    download_bytes=4_500_000_000,
    cpu_s_per_audio_min=275.0,  # benchmarks/RESULTS.md: ~40 s per 10.24 s chunk on 2 cores, 8.74 s hop
    default_checkpoint=DEFAULT_CHECKPOINT,
    pipeline_class="AudioLDM2Pipeline",
)
AudioLDM2Backend.spec = SPEC
