"""A tiny AudioLDM2 with random weights, built offline, for tests and examples.

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


def _roberta_tokenizer(model_max_length: int = 77):
    """A byte-level BPE tokenizer with RoBERTa's special tokens and a tiny vocabulary."""
    from transformers import RobertaTokenizer

    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    # GPT-2 byte-level alphabet: printable ASCII maps to itself, space maps to "Ġ".
    chars = list(string.ascii_letters + string.digits + string.punctuation) + ["Ġ"]
    vocab = {tok: i for i, tok in enumerate(specials + chars)}
    merges = []
    for word in sorted(set(_WORDS)):
        # merge "Ġ" + each word's first letter, then grow the word left to right
        piece = "Ġ" + word[0]
        if piece not in vocab:
            vocab[piece] = len(vocab)
            merges.append(("Ġ", word[0]))
        for ch in word[1:]:
            merged = piece + ch
            if merged not in vocab:
                vocab[merged] = len(vocab)
                merges.append((piece, ch))
            piece = merged
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


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m ambientgen.testing", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    tiny = sub.add_parser("tiny-audioldm2", help="write a tiny random-weight AudioLDM2 checkpoint")
    tiny.add_argument("path")
    tiny.add_argument("--language-model", choices=LANGUAGE_MODELS, default="GPT2Model")
    tiny.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out = save_tiny_audioldm2(args.path, language_model=args.language_model, seed=args.seed)
    print(f"wrote tiny AudioLDM2 ({args.language_model}) to {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
