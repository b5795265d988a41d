"""Stable Audio 3 backend on diffusers components: 44.1 kHz stereo, long windows, a few steps, practical on a CPU.

The checkpoint is a diffusers ``StableAudio3Pipeline`` folder (hub id through
the Hugging Face cache, or a local folder; :mod:`~ambientgen.backends.checkpoints`).
Stability publishes the weights in their original layout (``model_config.json``
+ ``model.safetensors``, gated); diffusers' conversion script turns them into the
folder this backend loads, and loading the original layout says so in one line.

The render loop is our own, over the pipeline's components:

- text conditioning (T5Gemma) runs once per prompt per backend instance; the
  duration embedding (a few hundred multiply-adds) once per window length;
- every window starts from its own seeded generator, which also draws its
  ping-pong re-noise at every step, so a chunk does not depend on the batch it
  lands in (and one window equals ``StableAudio3Pipeline`` with that generator);
- sampling follows the pipeline exactly: the log-SNR sigma schedule, the DiT's
  velocity, ``x0 = x - sigma v`` and re-noising to the next sigma (``pingpong``,
  the distilled checkpoints) or an Euler step (``euler``, the base checkpoint);
- a long layer is one latent (``[1, 256, L]``, about 10.77 frames per second)
  made seamless in one of two ways, chosen with ``join``:
  ``multidiffusion`` averages the velocity of overlapping windows at every step
  (wrapped round for loops; the windowed code is shared with AudioLDM2 in
  :mod:`~ambientgen.backends.latent`), ``inpaint`` renders windows in turn, each
  conditioned through the DiT's inpainting input on the frames already made
  (its head on the previous window's tail; a loop's last window on both the
  previous tail and the first window's head, a bridge across end -> start);
- decoding (the SAME decoder, a transformer with a sliding-window band) runs in
  windows with context wider than its receptive field, wrapped for loops.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from pydantic import Field, model_validator

from ..errors import BackendError
from .base import Backend, BackendSettings, BackendSpec, ChunkRequest, ProgressCallback
from .checkpoints import checkpoint_fingerprint, load_diffusers_pipeline, load_on_device

COMPONENTS = ("duration_embedder", "scheduler", "text_encoder", "tokenizer", "transformer", "vae")
DEFAULT_CHECKPOINT = "stabilityai/stable-audio-3-small-sfx"
LOGSNR_MIN, LOGSNR_MAX = -6.2, 2.0  # the pipeline's defaults (the reference sampler's)
CONVERT_HINT = ("convert it with diffusers' scripts/convert_stable_audio_3_to_diffusers.py --checkpoint_path "
                "<this> --text_encoder_repo google/t5gemma-b-b-ul2 --output_dir DIR, then pass --checkpoint DIR")


class StableAudio3Settings(BackendSettings):
    """Stable Audio 3's keys in a scene's ``model:`` section.

    ``steps``: denoising steps (default: 8 for the distilled checkpoints, 100 for
    a base one, from its scheduler); ``sampler``: ``auto`` (the checkpoint's),
    ``pingpong`` or ``euler``; ``window_s``: the window length a layer is
    rendered in (the small models reach about 120 s); ``window_overlap_s``: how
    much consecutive windows share (the scene's ``chunk_s`` and ``overlap_s``
    win where the scene sets them); ``join``: how the windows of one layer join,
    ``multidiffusion`` or ``inpaint`` (see the module docstring).
    """

    checkpoint: str = Field(DEFAULT_CHECKPOINT, min_length=1)
    steps: int | None = Field(None, ge=1, le=1000)
    sampler: Literal["auto", "pingpong", "euler"] = "auto"
    window_s: float = Field(60.0, ge=4.0, le=380.0)
    window_overlap_s: float = Field(6.0, ge=0.5, le=60.0)
    join: Literal["multidiffusion", "inpaint"] = "multidiffusion"
    batch_size: int = Field(2, ge=1, le=64)

    @model_validator(mode="after")
    def _windows_advance(self) -> StableAudio3Settings:
        if self.window_overlap_s >= self.window_s:
            raise ValueError(f"window_overlap_s must be less than window_s ({self.window_s:g} s) so that windows "
                             f"advance, got {self.window_overlap_s:g}")
        return self


def _pipeline_class():
    from diffusers import StableAudio3Pipeline

    return StableAudio3Pipeline


def load_pipeline(checkpoint: str, *, dtype, revision: str | None = None):
    """Load a Stable Audio 3 pipeline by hub id or local folder, with one clear error on failure."""
    return load_diffusers_pipeline(_pipeline_class(), checkpoint, model="Stable Audio 3",
                                   pipeline_class="StableAudio3Pipeline", components=COMPONENTS, dtype=dtype,
                                   revision=revision, convert_hint=CONVERT_HINT)


class StableAudio3Backend(Backend):
    """Renders chunk requests and whole layers with a Stable Audio 3 checkpoint: stereo, 44.1 kHz."""

    def __init__(self, pipeline, *, checkpoint: str, device: str = "cpu", steps: int | None = None,
                 sampler: str = "auto", window_s: float = 60.0, overlap_s: float = 6.0,
                 continuity: str = "multidiffusion", batch_size: int = 2):
        import torch

        super().__init__()
        self.pipe = pipeline
        self.checkpoint = checkpoint
        self.device = device
        stochastic = bool(getattr(pipeline.scheduler.config, "stochastic_sampling", False))
        self.sampler = sampler if sampler != "auto" else ("pingpong" if stochastic else "euler")
        self.steps = steps or (8 if stochastic else 100)
        self.window_s = window_s
        self.overlap_s = overlap_s
        self.continuity = continuity
        self.batch_size = batch_size
        self.dtype = next(pipeline.transformer.parameters()).dtype
        vae = pipeline.vae
        rate = int(vae.config.sampling_rate)
        if rate != self.spec.sample_rate or int(vae.config.audio_channels) != 2:
            raise BackendError(f"model.checkpoint: '{checkpoint}' renders {vae.config.audio_channels} channel(s) at "
                               f"{rate} Hz; Stable Audio 3 is stereo at {self.spec.sample_rate} Hz")
        self.hop = int(vae.downsampling_ratio)
        self.latent_dim = int(vae.config.latent_dim)
        # the SAME decoder's receptive field in latent frames: each band-attention layer sees +-sliding_window
        self.decode_context = 2 + int(vae.config.sliding_window) * int(sum(vae.config.encoder_transformer_depths))
        self._text: dict[str, tuple[Any, Any]] = {}
        self._duration: dict[float, Any] = {}
        self._torch = torch

    @classmethod
    def load(cls, checkpoint: str, *, device: str = "auto", revision: str | None = None, **settings
             ) -> StableAudio3Backend:
        pipe, device = load_on_device(load_pipeline, checkpoint, device=device, revision=revision)
        return cls(pipe, checkpoint=checkpoint, device=device, **settings)

    @classmethod
    def from_settings(cls, settings: StableAudio3Settings, device: str) -> StableAudio3Backend:
        """Load the checkpoint ``settings`` names with its steps, sampler, windows and batch size."""
        return cls.load(settings.checkpoint, device=device, steps=settings.steps, sampler=settings.sampler,
                        window_s=settings.window_s, overlap_s=settings.window_overlap_s,
                        continuity=settings.join, batch_size=settings.batch_size)

    @property
    def frame_rate(self) -> float:
        """Latent frames per second (44100 / 4096 = 10.77)."""
        return self.sample_rate / self.hop

    @property
    def preferred_window(self) -> tuple[float, float]:
        return self.window_s, self.overlap_s

    def identity(self) -> dict[str, Any]:
        from .._version import __version__

        return {"name": self.name, "checkpoint": self.checkpoint, "revision": checkpoint_fingerprint(self.pipe),
                "steps": self.steps, "sampler": self.sampler, "continuity": self.continuity,
                "device": str(self.device).split(":")[0], "dtype": str(self.dtype), "ambientgen": __version__}

    def describe(self) -> dict[str, Any]:
        import diffusers
        import torch
        import transformers

        return {"backend": self.name, "checkpoint": self.checkpoint, "device": self.device,
                "dtype": str(self.dtype).removeprefix("torch."), "steps": self.steps, "sampler": self.sampler,
                "window_s": self.window_s, "overlap_s": self.overlap_s, "continuity": self.continuity,
                "batch_size": self.batch_size, "sample_rate": self.sample_rate, "channels": self.channels,
                "versions": {"diffusers": diffusers.__version__, "transformers": transformers.__version__,
                             "torch": torch.__version__}}

    # -- conditioning ---------------------------------------------------------------------------
    def text(self, prompt: str):
        """(T5Gemma embeddings, mask) of a prompt, computed once per prompt."""
        if prompt not in self._text:
            with self._torch.inference_mode():
                self._text[prompt] = self.pipe.encode_prompt(prompt, self.device, 1)
            self.stats.text_encodes += 1
        return self._text[prompt]

    def conditioning(self, prompt: str, duration_s: float):
        """(cross-attention context, its mask, global embedding) for one window of ``duration_s``, batch 1."""
        embeds, mask = self.text(prompt)
        key = round(float(duration_s), 6)
        if key not in self._duration:
            with self._torch.inference_mode():
                self._duration[key] = self.pipe.encode_duration(key, self.device, 1, 1)
        glob = self._duration[key]
        context, context_mask = self.pipe.prepare_cross_attention(embeds, mask, glob)
        return context, context_mask, glob

    def sigmas(self):
        """(model timesteps, sigmas with the terminal 0): the pipeline's log-SNR schedule through the scheduler."""
        from diffusers.pipelines.stable_audio_3.pipeline_stable_audio_3 import logsnr_sigma_schedule

        scheduler = self.pipe.scheduler
        scheduler.set_timesteps(sigmas=logsnr_sigma_schedule(self.steps, LOGSNR_MIN, LOGSNR_MAX), device=self.device)
        return scheduler.timesteps, scheduler.sigmas.to(self.device, self._torch.float32)

    def velocity(self, views, t, cond, local=None):
        """The DiT's velocity for a batch of latent windows (same prompt and window length)."""
        context, mask, glob = cond
        n = views.shape[0]
        out = self.pipe.transformer(views, t.expand(n), encoder_hidden_states=context.expand(n, -1, -1),
                                    global_hidden_states=glob.expand(n, -1), encoder_attention_mask=mask.expand(n, -1),
                                    local_add_cond=local, return_dict=False)[0]
        self.stats.unet_evals += 1
        return out

    def step(self, latents, velocity, sigma, next_sigma, noise):
        """One sampler step: ping-pong (``x0 = x - sigma v``, re-noised to ``next_sigma``) or Euler."""
        latents = latents.float()
        velocity = velocity.float()
        if self.sampler == "pingpong":
            x0 = latents - sigma * velocity
            return ((1.0 - next_sigma) * x0 + next_sigma * noise.float()).to(self.dtype)
        return (latents + (next_sigma - sigma) * velocity).to(self.dtype)

    def frames(self, duration_s: float) -> int:
        """Latent frames of a window (the pipeline's rounding up)."""
        return math.ceil(duration_s * self.sample_rate / self.hop - 1e-9)

    # -- chunks ---------------------------------------------------------------------------------
    def render(self, requests: Sequence[ChunkRequest], *, on_progress: ProgressCallback | None = None
               ) -> list[np.ndarray]:
        return self.render_in_batches(requests, key=lambda r: (r.prompt, r.duration_s),
                                      render_batch=self._render_batch, on_progress=on_progress)

    def _render_batch(self, batch: list[ChunkRequest], prompt: str, duration_s: float) -> list[np.ndarray]:
        torch = self._torch
        cond = self.conditioning(prompt, duration_s)
        length = self.frames(duration_s)
        shape = (1, self.latent_dim, length)
        gens = [torch.Generator("cpu").manual_seed(r.seed) for r in batch]
        latents = torch.cat([torch.randn(shape, generator=g) for g in gens]).to(self.device, self.dtype)
        timesteps, sigmas = self.sigmas()
        with torch.inference_mode():
            for i, t in enumerate(timesteps):
                v = self.velocity(latents, t, cond)
                noise = torch.cat([torch.randn(shape, generator=g) for g in gens]).to(self.device)
                latents = self.step(latents, v, sigmas[i], sigmas[i + 1], noise)
            samples = round(duration_s * self.sample_rate)
            return [self.decode(latents[b : b + 1], loop=False)[:, :samples] for b in range(len(batch))]

    # -- one long latent per layer ----------------------------------------------------------------
    def render_stream(self, *, layer: str, prompt: str, negative_prompt: str, seeds: Sequence[int],
                      duration_s: float, window_s: float, overlap_s: float, loop: bool,
                      on_progress: ProgressCallback | None = None) -> tuple[np.ndarray, list[float]]:
        """A whole layer from one latent: ``(2, samples)`` float32 and the seam times in seconds.

        ``negative_prompt`` is not used: the distilled models have guidance built in.
        """
        from .latent import plan_windows

        torch = self._torch
        rate = self.frame_rate
        length = math.ceil(duration_s * rate - 1e-9)
        size = self.frames(window_s)
        overlap = max(1, round(overlap_s * rate))
        windows = plan_windows(length, size=size, overlap=overlap, multiple=1, loop=loop)
        total = max(length, windows.size)  # a short non-looping layer is padded to one window, then cropped
        if total != windows.length:
            windows = plan_windows(total, size=windows.size, overlap=overlap, multiple=1, loop=False)
        window_len_s = windows.size / rate
        cond = self.conditioning(prompt, window_len_s)
        run = self._multidiffusion if self.continuity == "multidiffusion" else self._inpaint
        with torch.inference_mode():
            latents = run(windows, seeds, cond, overlap, on_progress)
            self.stats.count(layer, len(windows.starts))
            audio = self.decode(latents, loop=loop)
        samples = round(length / rate * self.sample_rate)
        seams = [f / rate for f in windows.seams if f < length]
        return audio[:, :samples], seams

    def _multidiffusion(self, windows, seeds, cond, overlap, on_progress):
        """Overlapping windows denoised together; their velocities averaged where they overlap, at every step."""
        from .latent import averaged_prediction, block_generators, ramp_weights, timeline_noise

        torch = self._torch
        total = windows.length
        blocks = block_generators(total, seeds)
        shape = (1, self.latent_dim, total)
        latents = timeline_noise(blocks, shape).to(self.device, self.dtype)
        weights = torch.as_tensor(ramp_weights(windows.size, min(overlap, windows.size // 2)), device=self.device)
        index = [torch.as_tensor(windows.indices(k), device=self.device) for k in range(len(windows.starts))]
        timesteps, sigmas = self.sigmas()
        for i, t in enumerate(timesteps):
            v = averaged_prediction(latents, index, weights, axis=2, batch_size=self.batch_size,
                                    predict=lambda views: self.velocity(views, t, cond))  # noqa: B023
            latents = self.step(latents, v, sigmas[i], sigmas[i + 1], timeline_noise(blocks, shape).to(self.device))
            if on_progress:
                on_progress(1)
        return latents

    def _inpaint(self, windows, seeds, cond, overlap, on_progress):
        """Windows in turn, each conditioned (the DiT's inpainting input) on the frames already made.

        The frames a window shares with earlier ones are blended from the old to
        the new over the shared span (a latent crossfade), so the joins are
        smooth whatever the model does with its conditioning.
        """
        torch = self._torch
        total = windows.length
        made = torch.zeros((1, self.latent_dim, total), device=self.device, dtype=self.dtype)
        known = torch.zeros(total, dtype=torch.bool)
        timesteps, sigmas = self.sigmas()
        count = len(windows.starts)
        for k in range(count):
            idx = torch.as_tensor(windows.indices(k))
            gen = torch.Generator("cpu").manual_seed(seeds[k % len(seeds)])
            shape = (1, self.latent_dim, windows.size)
            mask = known[idx].to(self.device, self.dtype)[None, None, :]
            local = torch.cat([mask, made[:, :, idx] * mask], dim=1)
            x = torch.randn(shape, generator=gen).to(self.device, self.dtype)
            for i, t in enumerate(timesteps):
                v = self.velocity(x, t, cond, local=local)
                x = self.step(x, v, sigmas[i], sigmas[i + 1], torch.randn(shape, generator=gen).to(self.device))
            made[:, :, idx] = self._blend(made[:, :, idx], x, known[idx])
            known[idx] = True
            if on_progress:
                on_progress(len(timesteps) / count)
        return made

    def _blend_weights(self, known):
        """Per frame of a window, the weight of the frames made before: a ramp across each known run, from 1 at
        the window's edge to 0 where the run meets the new frames (0 wherever nothing was known)."""
        torch = self._torch
        k = known.cpu().numpy().astype(bool)
        w = torch.zeros(len(k))
        edges = np.flatnonzero(np.diff(np.concatenate([[0], k.astype(np.int8), [0]])))
        for a, b in zip(edges[::2], edges[1::2]):
            ramp = torch.linspace(1.0, 0.0, int(b - a) + 2)[1:-1]
            w[a:b] = ramp if a == 0 else ramp.flip(0)
        return w

    def _blend(self, old, new, known):
        """The window's frames: made-before frames faded into the new ones across each known run."""
        w = self._blend_weights(known).to(self.device, self._torch.float32)[None, None, :]
        return (old.float() * w + new.float() * (1 - w)).to(self.dtype)

    # -- decoding -------------------------------------------------------------------------------
    def decode(self, latents, *, loop: bool, core: int = 64) -> np.ndarray:
        """Latents ``[1, 256, L]`` -> ``(2, L * 4096)`` float32 in [-1, 1]: the SAME decoder in windows with
        (wrapped) context wider than its receptive field, so no window edge is heard."""
        from .latent import decode_in_windows

        torch = self._torch
        with torch.inference_mode():
            wave = decode_in_windows(lambda z: self.pipe.vae.decode(z).sample, latents, core=core,
                                     context=self.decode_context, loop=loop, scale=self.hop, axis=2, out_axis=2,
                                     pad_edges=False)
        self.stats.decode_calls += 1
        return wave[0].clamp(-1.0, 1.0).float().cpu().numpy().astype(np.float32)


SPEC = BackendSpec(
    name="stable-audio-3",
    summary="Stable Audio 3 (Hugging Face diffusers): text to audio, 44.1 kHz stereo, windows up to 120 s",
    sample_rate=44100,
    channels=2,
    max_window_s=120.0,
    settings=StableAudio3Settings,
    factory=StableAudio3Backend.from_settings,
    latent_stream=True,
    licence="Stability AI Community (free under USD 1M revenue) + Gemma terms",
    download_bytes=3_500_000_000,
    cpu_s_per_audio_min=None,
    default_checkpoint=DEFAULT_CHECKPOINT,
    pipeline_class="StableAudio3Pipeline",
)
StableAudio3Backend.spec = SPEC
