from __future__ import annotations

import json

import numpy as np

from ambientgen.testing import VAE_SCALING_FACTOR, main


def test_tiny_checkpoint_has_real_geometry(tiny_checkpoint):
    index = json.loads((tiny_checkpoint / "model_index.json").read_text())
    assert index["_class_name"] == "AudioLDM2Pipeline"
    assert index["language_model"] == ["transformers", "GPT2Model"]
    vocoder = json.loads((tiny_checkpoint / "vocoder" / "config.json").read_text())
    assert vocoder["sampling_rate"] == 16000 and vocoder["model_in_dim"] == 64
    assert int(np.prod(vocoder["upsample_rates"])) == 160
    vae = json.loads((tiny_checkpoint / "vae" / "config.json").read_text())
    assert len(vae["block_out_channels"]) == 3 and vae["latent_channels"] == 8  # x4 down, 8 latent channels
    assert vae["scaling_factor"] == VAE_SCALING_FACTOR
    sched = json.loads((tiny_checkpoint / "scheduler" / "scheduler_config.json").read_text())
    assert sched["beta_start"] == 0.0015 and sched["beta_end"] == 0.0195


def test_tokenizers_are_built_offline(tiny_checkpoint):
    from transformers import AutoTokenizer

    clap = AutoTokenizer.from_pretrained(tiny_checkpoint / "tokenizer", local_files_only=True)
    t5 = AutoTokenizer.from_pretrained(tiny_checkpoint / "tokenizer_2", local_files_only=True)
    ids = clap("field recording of rain").input_ids
    assert ids[0] == clap.bos_token_id and ids[-1] == clap.eos_token_id and clap.unk_token_id not in ids
    assert t5("field recording of rain").input_ids[-1] == t5.eos_token_id


def test_command_line(tmp_path):
    assert main(["tiny-audioldm2", str(tmp_path / "m"), "--language-model", "GPT2LMHeadModel"]) == 0
    index = json.loads((tmp_path / "m" / "model_index.json").read_text())
    assert index["language_model"] == ["transformers", "GPT2LMHeadModel"]
