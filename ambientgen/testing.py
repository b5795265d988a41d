"""Tiny random-weight AudioLDM2 and Stable Audio 3 checkpoints, built offline, for tests and examples.

It uses the real component classes (diffusers ``AudioLDM2UNet2DConditionModel``,
``AutoencoderKL``, transformers ``ClapModel``, ``T5EncoderModel``, ``GPT2Model``,
``SpeechT5HifiGan``) with the real audio geometry of ``cvssp/audioldm2``:
16 kHz, 64 mel bins, hop 160 (vocoder upsample rates 5·4·2·2·2), a VAE that
downsamples by 4 into 8 latent channels (25 latent frames per second), and the
real scheduler configuration. Only widths and depths are shrunk. Tokenizers are
built from a small vocabulary written here, so nothing is fetched from the hub.

The saved directory is loaded by ``AudioLDM2Pipeline.from_pretrained`` exactly
like a downloaded checkpoint::

    python -m ambientgen.testing tiny-audioldm2 models/tiny
    ambientgen render scenes/forest.yaml --checkpoint models/tiny

The tiny Stable Audio 3 (``tiny-stable-audio-3``) likewise uses diffusers'
``AutoencoderSAME`` (44.1 kHz stereo, patch 256 x stride 16 = 4096 samples per
latent frame, 256 latent channels), ``StableAudio3DiTModel``,
``StableAudio3DurationEmbedder``, a ``T5GemmaEncoderModel`` and a Gemma BPE
tokenizer built from a small vocabulary, and the flow-matching Euler scheduler
with ping-pong re-noising; it is loaded by ``StableAudio3Pipeline.from_pretrained``.
"""

from __future__ import annotations

import string
import sys
from pathlib import Path

# The real cvssp/audioldm2 scheduler (scheduler/scheduler_config.json).
AUDIOLDM2_SCHEDULER_CONFIG = {
    "beta_end": 0.0195,
    "beta_schedule": "scaled_linear",
    "beta_start": 0.0015,
    "clip_sample": False,
    "num_train_timesteps": 1000,
    "prediction_type": "epsilon",
    "set_alpha_to_one": False,
    "steps_offset": 1,
    "timestep_spacing": "leading",
}
VAE_SCALING_FACTOR = 0.4110932946205139
LANGUAGE_MODELS = ("GPT2Model", "GPT2LMHeadModel")

_WORDS = (
    "field recording of rain on a tin roof with distant thunder and crickets wind in the trees "
    "forest birds birdsong stream river water waves ocean beach night fire campfire crackling "
    "heavy light gentle soft loud low quality noise ambience ambient summer insects cicadas "
    "frogs owl leaves window city traffic cafe crowd murmur storm rumble"
).split()


def _bpe_vocabulary(specials: list[str], space: str) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """A BPE vocabulary and merges for the tiny word list: specials, printable ASCII, ``space`` (the
    tokenizer's word-start mark), then ``space`` + each word's first letter, grown left to right."""
    chars = list(string.ascii_letters + string.digits + string.punctuation) + [space]
    vocab = {tok: i for i, tok in enumerate(specials + chars)}
    merges = []
    for word in sorted(set(_WORDS)):
        piece = space + word[0]
        if piece not in vocab:
            vocab[piece] = len(vocab)
            merges.append((space, word[0]))
        for ch in word[1:]:
            merged = piece + ch
            if merged not in vocab:
                vocab[merged] = len(vocab)
                merges.append((piece, ch))
            piece = merged
    return vocab, merges


def _roberta_tokenizer(model_max_length: int = 77):
    """A byte-level BPE tokenizer with RoBERTa's special tokens and a tiny vocabulary."""
    from transformers import RobertaTokenizer

    # GPT-2 byte-level alphabet: printable ASCII maps to itself, space maps to "Ġ".
    vocab, merges = _bpe_vocabulary(["<s>", "<pad>", "</s>", "<unk>", "<mask>"], "Ġ")
    return RobertaTokenizer(vocab=vocab, merges=merges, model_max_length=model_max_length)


def _t5_tokenizer(model_max_length: int = 128):
    """A unigram (SentencePiece-style) tokenizer with T5's special tokens."""
    from transformers import T5Tokenizer

    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    pieces += [("▁" + w, -2.0) for w in sorted(set(_WORDS))]
    pieces += [(c, -8.0) for c in string.ascii_letters + string.digits + string.punctuation]
    pieces += [("▁", -4.0)]
    return T5Tokenizer(vocab=pieces, extra_ids=0, model_max_length=model_max_length)


def build_tiny_audioldm2(*, language_model: str = "GPT2Model", seed: int = 0):
    """Build a tiny random-weight ``AudioLDM2Pipeline`` (nothing is downloaded)."""
    import torch
    from diffusers import AudioLDM2Pipeline, AutoencoderKL, DDIMScheduler
    from diffusers.pipelines.audioldm2.modeling_audioldm2 import (
        AudioLDM2ProjectionModel,
        AudioLDM2UNet2DConditionModel,
    )
    from transformers import (
        ClapAudioConfig,
        ClapConfig,
        ClapFeatureExtractor,
        ClapModel,
        ClapTextConfig,
        GPT2Config,
        GPT2LMHeadModel,
        GPT2Model,
        SpeechT5HifiGan,
        SpeechT5HifiGanConfig,
        T5Config,
        T5EncoderModel,
    )

    if language_model not in LANGUAGE_MODELS:
        raise ValueError(f"language_model must be one of {LANGUAGE_MODELS}, got {language_model!r}")

    tokenizer = _roberta_tokenizer()
    tokenizer_2 = _t5_tokenizer()
    clap_dim, t5_dim, gpt_dim = 16, 32, 16

    torch.manual_seed(seed)
    # Four levels like the real UNet (so latents are multiples of 8 frames, as there), with attention only at
    # the lowest resolution: a 10.24 s window is 32 x 2 tokens there instead of 128 x 8 one level up, which is
    # what makes a tiny-model render take seconds rather than minutes.
    unet = AudioLDM2UNet2DConditionModel(
        block_out_channels=(8, 16, 16, 32),
        layers_per_block=1,
        norm_num_groups=8,
        sample_size=32,
        in_channels=8,
        out_channels=8,
        attention_head_dim=8,
        down_block_types=("DownBlock2D", "DownBlock2D", "DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D", "UpBlock2D", "UpBlock2D"),
        cross_attention_dim=([None, gpt_dim, t5_dim],) * 4,
    )
    vae = AutoencoderKL(
        block_out_channels=[8, 16, 16],
        in_channels=1,
        out_channels=1,
        norm_num_groups=8,
        layers_per_block=1,
        down_block_types=["DownEncoderBlock2D"] * 3,
        up_block_types=["UpDecoderBlock2D"] * 3,
        latent_channels=8,
        scaling_factor=VAE_SCALING_FACTOR,
        mid_block_add_attention=False,  # its attention would run over every latent frame x bin (4,096 per window)
    )
    text_config = ClapTextConfig(
        bos_token_id=0,
        eos_token_id=2,
        pad_token_id=1,
        hidden_size=16,
        intermediate_size=37,
        num_attention_heads=2,
        num_hidden_layers=2,
        vocab_size=len(tokenizer),
        max_position_embeddings=tokenizer.model_max_length + 2,
        projection_dim=clap_dim,
    )
    audio_config = ClapAudioConfig(
        spec_size=64,
        window_size=4,
        num_mel_bins=64,
        intermediate_size=37,
        depths=[2, 2],
        num_attention_heads=[2, 2],
        num_hidden_layers=2,
        hidden_size=192,
        projection_dim=clap_dim,
        patch_size=2,
        patch_stride=2,
        patch_embed_input_channels=4,
    )
    text_encoder = ClapModel(
        ClapConfig(text_config=text_config.to_dict(), audio_config=audio_config.to_dict(), projection_dim=clap_dim)
    )
    text_encoder_2 = T5EncoderModel(
        T5Config(vocab_size=len(tokenizer_2), d_model=t5_dim, d_ff=37, d_kv=8, num_heads=2, num_layers=2)
    )
    gpt_config = GPT2Config(
        n_embd=gpt_dim, n_head=2, n_layer=2, vocab_size=64, n_positions=160, bos_token_id=0, eos_token_id=0
    )
    gpt_config.max_new_tokens = 8
    lm_class = GPT2Model if language_model == "GPT2Model" else GPT2LMHeadModel
    lm = lm_class(gpt_config)
    projection_model = AudioLDM2ProjectionModel(
        text_encoder_dim=clap_dim, text_encoder_1_dim=t5_dim, langauge_model_dim=gpt_dim
    )
    vocoder = SpeechT5HifiGan(
        SpeechT5HifiGanConfig(
            model_in_dim=64,
            sampling_rate=16000,
            upsample_initial_channel=32,
            upsample_rates=[5, 4, 2, 2, 2],
            upsample_kernel_sizes=[10, 8, 4, 4, 4],
            resblock_kernel_sizes=[3],
            resblock_dilation_sizes=[[1, 3]],
            normalize_before=False,
        )
    )
    _calibrate_level(vae, vocoder)
    scheduler = DDIMScheduler(**AUDIOLDM2_SCHEDULER_CONFIG)
    return AudioLDM2Pipeline(
        vae=vae,
        text_encoder=text_encoder,
        text_encoder_2=text_encoder_2,
        projection_model=projection_model,
        language_model=lm,
        tokenizer=tokenizer,
        tokenizer_2=tokenizer_2,
        feature_extractor=ClapFeatureExtractor(),
        unet=unet,
        scheduler=scheduler,
        vocoder=vocoder,
    )


def _calibrate_level(vae, vocoder, target_rms: float = 0.1) -> None:
    """Scale the vocoder's last layer so decoded random latents come out at a natural level.

    Random HiFi-GAN weights output ~1e-10 (the product of five small upsampling
    stages), far below any loudness gate; real checkpoints output ordinary levels.
    """
    import torch

    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        latents = torch.randn(1, vae.config.latent_channels, 64, 16, generator=gen)
        mel = vae.decode(latents / vae.config.scaling_factor).sample.squeeze(1)
        for _ in range(4):  # leaky-ReLU stages are nearly homogeneous: a few rescales converge
            rms = float(vocoder(mel).pow(2).mean().sqrt())
            scale = target_rms / max(rms, 1e-30)
            vocoder.conv_post.weight.mul_(scale)
            vocoder.conv_post.bias.mul_(scale)


def save_tiny_audioldm2(path: str | Path, *, language_model: str = "GPT2Model", seed: int = 0) -> Path:
    """Write a tiny AudioLDM2 checkpoint directory loadable with ``from_pretrained``."""
    from transformers.utils import logging as transformers_logging

    path = Path(path)
    pipe = build_tiny_audioldm2(language_model=language_model, seed=seed)
    transformers_logging.disable_progress_bar()  # no "Writing model shards" bars for a 7 MB model
    pipe.save_pretrained(path)
    return path


def install_in_hub_cache(checkpoint: str | Path, repo_id: str, cache_dir: str | Path,
                         revision: str = "0" * 40) -> Path:
    """Lay a checkpoint folder out as the Hugging Face cache holds a downloaded repository
    (``models--OWNER--NAME/snapshots/REVISION`` and ``refs/main``), so loading by hub id finds it offline."""
    import shutil

    repo = Path(cache_dir) / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / revision
    shutil.copytree(checkpoint, snapshot, dirs_exist_ok=True)
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(revision)
    return snapshot


def _gemma_tokenizer():
    """A Gemma-style BPE tokenizer (``GemmaTokenizerFast``) with a tiny vocabulary, built offline."""
    from transformers import GemmaTokenizerFast

    vocab, merges = _bpe_vocabulary(["<pad>", "<eos>", "<bos>", "<unk>", "<mask>"], "▁")
    return GemmaTokenizerFast(vocab=vocab, merges=merges, model_max_length=256)


def rerandomise_zero_parameters(module, *, seed: int) -> list[str]:
    """Give every weight matrix that random initialisation leaves at zero random values; returns their names.

    The Stable Audio 3 models zero-initialise their residual output layers (the
    DiT's pre/post convolutions and inpainting projections, the autoencoder's
    attention and feed-forward outputs): with random weights the output would
    then ignore the latents, the prompt and the seed. Trained weights are never zero, so this makes the tiny
    model behave like a real one in what matters to tests: different inputs give
    different audio.
    """
    import torch

    gen = torch.Generator().manual_seed(seed)
    changed = []
    with torch.no_grad():
        for name, param in module.named_parameters():
            if param.dim() >= 2 and float(param.abs().max()) == 0.0:  # zero biases stay zero
                param.copy_(torch.randn(param.shape, generator=gen) / max(param.shape[1], 1) ** 0.5)
                changed.append(name)
    return changed


def build_tiny_stable_audio3(*, seed: int = 0):
    """Build a tiny random-weight ``StableAudio3Pipeline`` with the real audio geometry (nothing is downloaded)."""
    import torch
    from diffusers import AutoencoderSAME, FlowMatchEulerDiscreteScheduler, StableAudio3DiTModel, StableAudio3Pipeline
    from diffusers.pipelines.stable_audio_3.modeling_stable_audio_3 import StableAudio3DurationEmbedder
    from transformers import T5GemmaConfig, T5GemmaEncoderModel
    from transformers.models.t5gemma.configuration_t5gemma import T5GemmaModuleConfig

    tokenizer = _gemma_tokenizer()
    text_dim = 32
    torch.manual_seed(seed)
    module = T5GemmaModuleConfig(vocab_size=len(tokenizer), hidden_size=text_dim, intermediate_size=64,
                                 num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1, head_dim=16,
                                 max_position_embeddings=256)
    text_encoder = T5GemmaEncoderModel(T5GemmaConfig(encoder=module.to_dict(), decoder=module.to_dict(),
                                                     is_encoder_decoder=False, vocab_size=len(tokenizer)))
    # SAME-S geometry (stereo, patch 256, one stride-16 level, 256 latent channels), narrow and two layers deep;
    # plain attention (differential attention over zero output tokens cancels to nothing in a random decoder)
    vae = AutoencoderSAME(audio_channels=2, patch_size=256, encoder_channels=32, encoder_c_mults=(4,),
                          encoder_strides=(16,), encoder_transformer_depths=(2,), latent_dim=256, dim_heads=32,
                          sampling_rate=44100, use_differential_attention=False)
    transformer = StableAudio3DiTModel(io_channels=256, embed_dim=32, depth=2, num_heads=2, cond_token_dim=text_dim,
                                       global_cond_dim=text_dim, local_add_cond_dim=257, timestep_features_dim=16,
                                       num_memory_tokens=4)
    duration_embedder = StableAudio3DurationEmbedder(output_dim=text_dim, fourier_dim=16)
    rerandomise_zero_parameters(transformer, seed=seed + 1)
    rerandomise_zero_parameters(vae, seed=seed + 2)
    # t in [0, 1] as the DiT expects (sigma x num_train_timesteps); 8 ping-pong steps like the distilled models
    scheduler = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1, stochastic_sampling=True)
    _calibrate_same_level(vae)
    return StableAudio3Pipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
                                duration_embedder=duration_embedder, transformer=transformer, scheduler=scheduler)


def _calibrate_same_level(vae, target_rms: float = 0.1) -> None:
    """Make the random decoder follow its latents, then scale it so decoded random latents come out at a natural level.

    In a random SAME decoder whatever is computed from its learned output tokens
    and biases alone is the same in every 4096-sample segment, and outweighs what
    the latents contribute (two different latents decoded to signals correlated
    at 0.99). With the output tokens and the decoder's biases at zero, each output
    token is what attention brings from the latent frames around it (correlation
    about 0.4 between unrelated latents, the rest being the decoder's fixed patch
    basis). A trained decoder needs none of this.
    """
    import torch

    gen = torch.Generator().manual_seed(0)
    last = vae.decoder.blocks[-1].mapping
    with torch.no_grad():
        for name, param in vae.decoder.named_parameters():
            if name.endswith(".bias") or name.endswith("new_tokens"):
                param.zero_()
        for _ in range(3):
            rms = float(vae.decode(torch.randn(1, vae.config.latent_dim, 16, generator=gen)).sample.pow(2).mean().sqrt())
            scale = target_rms / max(rms, 1e-30)
            last.weight_g.mul_(scale)  # diffusers builds it with torch.nn.utils.weight_norm (weight_g, weight_v)
            if last.bias is not None:
                last.bias.mul_(scale)


def save_tiny_stable_audio3(path: str | Path, *, seed: int = 0) -> Path:
    """Write a tiny Stable Audio 3 checkpoint directory loadable with ``StableAudio3Pipeline.from_pretrained``."""
    from transformers.utils import logging as transformers_logging

    path = Path(path)
    pipe = build_tiny_stable_audio3(seed=seed)
    transformers_logging.disable_progress_bar()
    pipe.save_pretrained(path)
    return path


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m ambientgen.testing", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    tiny = sub.add_parser("tiny-audioldm2", help="write a tiny random-weight AudioLDM2 checkpoint")
    tiny.add_argument("path")
    tiny.add_argument("--language-model", choices=LANGUAGE_MODELS, default="GPT2Model")
    tiny.add_argument("--seed", type=int, default=0)
    sa3 = sub.add_parser("tiny-stable-audio-3", help="write a tiny random-weight Stable Audio 3 checkpoint")
    sa3.add_argument("path")
    sa3.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.command == "tiny-stable-audio-3":
        out = save_tiny_stable_audio3(args.path, seed=args.seed)
        print(f"wrote tiny Stable Audio 3 to {out}", file=sys.stderr)
        return 0
    out = save_tiny_audioldm2(args.path, language_model=args.language_model, seed=args.seed)
    print(f"wrote tiny AudioLDM2 ({args.language_model}) to {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
