"""LoRA and gradient checkpointing of the AR backbone: tiny models on CPU through stage 2."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from accelerate.utils import set_seed
from safetensors.torch import load_file

from core.ar import ARConfig, KeyframeAR, KeyframeSampler, SamplerConfig, build_batch
from core.script import MAX_CHARACTERS_PER_SHOT, MAX_DESCRIPTIONS_PER_SHOT
from core.script.inputs import IDENTIFIER_VOCABULARY, keyframe_inputs
from tests.core.ar.synthetic import TinyEncoders, write_movie
from train.common.lora import apply_lora, enable_gradient_checkpointing, has_lora, merge_lora
from train.common.presets import resolve_preset
from train.stage2_ar import ADAPTER_DIR, PRESETS, EpisodeSampler, build_model, main, prepare_memory_savers

LORA = ["--set", "lora_rank=4", "--set", "lora_alpha=8", "--set", "gradient_checkpointing=true"]


@pytest.fixture()
def cache(tmp_path):
    movies = [write_movie(tmp_path / "data", f"movie{i}", num_shots=9, seed=i) for i in range(2)]
    return TinyEncoders(ARConfig.tiny()).build_cache(tmp_path / "cache", movies)


def _tiny_model(seed: int = 0) -> KeyframeAR:
    torch.manual_seed(seed)
    return KeyframeAR.from_config(ARConfig.tiny(), IDENTIFIER_VOCABULARY).train()


def test_lora_trains_adapters_embeddings_projectors_and_head_only():
    model = apply_lora(_tiny_model(), rank=4, alpha=8)
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    frozen = {name for name, p in model.named_parameters() if not p.requires_grad}
    assert any("lora_A" in name for name in trainable) and any("lora_B" in name for name in trainable)
    assert any("modules_to_save" in name and "embed_tokens" in name for name in trainable)
    assert {name for name in trainable if not name.startswith("backbone.")} == {
        name for name, _ in model.named_parameters() if not name.startswith("backbone.")
    }
    # Every Llama projection's own weight is frozen: only its adapter learns.
    assert any(name.endswith("q_proj.base_layer.weight") for name in frozen)
    assert all("lora_" not in name for name in frozen)


def test_gradient_checkpointing_gives_the_same_loss_and_gradients(cache):
    samples = [
        EpisodeSampler(cache, "train", PRESETS["tiny"]).sample(np.random.default_rng(s)) for s in range(2)
    ]
    results = []
    for checkpointing in (False, True):
        model = _tiny_model()
        if checkpointing:
            enable_gradient_checkpointing(model)
        loss = model.loss(build_batch(model, samples), 0.15, torch.Generator().manual_seed(3)).total
        loss.backward()
        results.append(
            (loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None})
        )
    (plain_loss, plain_grads), (checked_loss, checked_grads) = results
    assert model.backbone.is_activation_checkpointing
    torch.testing.assert_close(checked_loss, plain_loss)
    assert checked_grads.keys() == plain_grads.keys()
    for name, grad in plain_grads.items():
        torch.testing.assert_close(checked_grads[name], grad, msg=name)


def test_a_lora_run_saves_resumes_and_merges(tmp_path, cache):
    common = ["--data", str(cache.root), "--preset", "tiny", "--cpu", *LORA]
    main([*common, "--out", str(tmp_path / "split"), "--max-steps", "1"])
    main([*common, "--out", str(tmp_path / "split")])
    main([*common, "--out", str(tmp_path / "straight")])
    steps = [json.loads(line)["step"] for line in (tmp_path / "split" / "log.jsonl").read_text().splitlines()]
    assert steps == [1, 2]

    # The adapter alone, in peft's layout, and it learned something (B starts at zero).
    adapter = tmp_path / "split" / ADAPTER_DIR
    assert json.loads((adapter / "adapter_config.json").read_text())["r"] == 4
    weights = load_file(adapter / "adapter_model.safetensors")
    assert any("lora_B" in name and weights[name].abs().max() > 0 for name in weights)

    # The exported model is a plain KeyframeAR with the adapters merged, and resuming after
    # step 1 ends where the uninterrupted run ends.
    resumed = KeyframeAR.from_pretrained(tmp_path / "split" / "model")
    straight = KeyframeAR.from_pretrained(tmp_path / "straight" / "model")
    assert not has_lora(resumed)
    assert not any("lora" in name for name in resumed.state_dict())
    straight_state = straight.state_dict()
    for name, value in resumed.state_dict().items():
        torch.testing.assert_close(value, straight_state[name], msg=name)


def test_the_merged_model_samples_the_same_tokens_as_the_unmerged_one(tmp_path, cache):
    main(["--data", str(cache.root), "--preset", "tiny", "--cpu", *LORA, "--out", str(tmp_path / "run")])
    # The unmerged model: the run's fresh model with adapters, loaded from its last checkpoint.
    config = resolve_preset(PRESETS, "tiny", [LORA[i + 1] for i in range(0, len(LORA), 2)])
    set_seed(int(config["seed"]))
    unmerged = prepare_memory_savers(build_model(config, cache.widths), config)
    (checkpoint,) = (tmp_path / "run" / "checkpoints" / "step_00000002").glob("model*.safetensors")
    state = {name.removeprefix("model."): value for name, value in load_file(checkpoint).items()}
    unmerged.load_state_dict(state)
    assert has_lora(unmerged.eval())
    merged = KeyframeAR.from_pretrained(tmp_path / "run" / "model")

    movie = cache.load(cache.movie_ids("train")[0])
    frames = keyframe_inputs(movie.script)
    inputs = (
        frames,
        movie.frame_sentence_embeddings(frames, MAX_DESCRIPTIONS_PER_SHOT),
        movie.frame_face_embeddings(frames, MAX_CHARACTERS_PER_SHOT),
    )
    drawn = [
        KeyframeSampler(model, SamplerConfig.tiny())(*inputs, generator=torch.Generator().manual_seed(11))
        for model in (unmerged, merged)
    ]
    assert drawn[0].shape == (len(frames), 2, 8)
    torch.testing.assert_close(drawn[1], drawn[0], atol=1e-4, rtol=1e-4)
    # ...and merging in memory gives the exported weights.
    in_memory = merge_lora(unmerged).state_dict()
    for name, value in merged.state_dict().items():
        torch.testing.assert_close(in_memory[name], value, msg=name)
