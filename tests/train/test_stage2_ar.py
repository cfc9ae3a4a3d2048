import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from core.ar import ARConfig, KeyframeAR, KeyframeSampler, SamplerConfig
from core.script.inputs import keyframe_inputs
from tests.core.ar.synthetic import TinyEncoders, write_movie
from train import stage2_ar
from train.stage2_ar import PRESETS, EpisodeSampler, main


@pytest.fixture()
def cache(tmp_path):
    movies = [write_movie(tmp_path / "data", f"movie{i}", num_shots=9, seed=i) for i in range(2)]
    encoders = TinyEncoders(ARConfig.tiny())
    encoders.build_cache(tmp_path / "cache", movies)
    return encoders.build_cache(
        tmp_path / "cache", [write_movie(tmp_path / "data", "held_out", 5, seed=9)], split="test"
    )


def _log(out):
    return [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]


def test_help_lists_the_presets(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert "stage 2" in text and "tiny" in text and "paper" in text


def test_two_steps_with_checkpoint_and_resume_continue_the_step_count(tmp_path, cache):
    common = ["--data", str(cache.root), "--preset", "tiny", "--cpu", "--set", "eval_every=1"]
    main([*common, "--out", str(tmp_path / "split"), "--max-steps", "1"])
    assert [r["step"] for r in _log(tmp_path / "split") if r["phase"] == "train"] == [1]
    main([*common, "--out", str(tmp_path / "split")])
    records = _log(tmp_path / "split")
    assert [r["step"] for r in records if r["phase"] == "train"] == [1, 2]
    assert [r["step"] for r in records if r["phase"] == "eval"] == [1, 2]
    assert all(np.isfinite(r["loss"]) and {"nll_per_dim", "l1", "l2", "lr"} <= set(r) for r in records)
    # the schedule of every stage (PhaseSchedule): cosine from 1e-3 to 10% over the 2 steps
    assert [r["lr"] for r in records if r["phase"] == "train"] == pytest.approx([5.5e-4, 1e-4])
    checkpoints = sorted(p.name for p in (tmp_path / "split" / "checkpoints").iterdir())
    assert checkpoints == ["step_00000001", "step_00000002"]

    # Resuming reproduces an uninterrupted run exactly (data, masks and dropout follow the step).
    main([*common, "--out", str(tmp_path / "straight")])
    resumed = load_file(tmp_path / "split" / "model" / "heads.safetensors")
    straight = load_file(tmp_path / "straight" / "model" / "heads.safetensors")
    for name in straight:
        torch.testing.assert_close(resumed[name], straight[name])

    model = KeyframeAR.from_pretrained(tmp_path / "split" / "model")
    assert model.config.token_dim == 8 and model.config.tokens_per_frame == 2
    config = json.loads((tmp_path / "split" / "config.json").read_text())
    assert config["stage"] == "stage2_ar" and config["preset"] == "tiny"


def test_episode_samples_apply_flip_reversal_face_randomisation_and_references(cache):
    config = {
        **PRESETS["tiny"],
        "frames_per_sample": 4,
        "num_reference_frames": 3,
        "reference_probability": 0.5,
    }
    sampler = EpisodeSampler(cache, "train", config)
    movies = {m: cache.load(m) for m in cache.movie_ids("train")}
    seen = {"flipped": 0, "original": 0, "reversed": 0, "forward": 0, "references": 0, "none": 0}
    for seed in range(40):
        sample = sampler.sample(np.random.default_rng(seed))
        movie = next(m for m in movies.values() if m.script == _script_of(sample, movies))
        frames = keyframe_inputs(movie.script)
        order = [frames.index(f) for f in sample.frames]
        assert len(order) == 4
        assert order == list(range(order[0], order[0] + 4)) or order == list(
            range(order[0], order[0] - 4, -1)
        )
        seen["forward" if order[1] > order[0] else "reversed"] += 1
        if torch.equal(sample.visual_tokens, movie.tokens[order]):
            seen["original"] += 1
            tokens = movie.tokens
        else:
            torch.testing.assert_close(sample.visual_tokens, movie.tokens_flipped[order])
            seen["flipped"] += 1
            tokens = movie.tokens_flipped
        if sample.reference_tokens is None:
            seen["none"] += 1
        else:
            seen["references"] += 1
            assert sample.reference_tokens.shape == (3, 2, 8)
            for reference in sample.reference_tokens:  # frames of the same movie, outside the sample
                index = next(i for i in range(movie.num_frames) if torch.equal(tokens[i], reference))
                assert index not in order
    assert all(count >= 5 for count in seen.values()), seen

    plain = sampler.sample(np.random.default_rng(0), augment=False)
    assert plain.reference_tokens is None
    movie = next(m for m in movies.values() if m.script == _script_of(plain, movies))
    frames = keyframe_inputs(movie.script)
    order = [frames.index(f) for f in plain.frames]
    torch.testing.assert_close(plain.visual_tokens, movie.tokens[order])
    for t, frame in enumerate(plain.frames):
        for character in frame.characters:
            torch.testing.assert_close(
                plain.face_embeddings[t, character.slot], movie.faces[character.name][0]
            )


def _script_of(sample, movies):
    for movie in movies.values():
        if all(frame in keyframe_inputs(movie.script) for frame in sample.frames):
            return movie.script
    raise AssertionError("the sample's frames come from no cached movie")


@pytest.mark.slow
def test_a_tiny_model_overfits_one_toy_movie(tmp_path):
    movie = write_movie(tmp_path / "data", "only", num_shots=8, seed=3)
    cache = TinyEncoders(ARConfig.tiny()).build_cache(tmp_path / "cache", [movie])
    settings = {
        "steps": 200,
        "batch_size": 1,
        "frames_per_sample": 8,
        "learning_rate": 3e-3,
        "warmup_steps": 20,
        "hflip": False,
        "temporal_reversal": False,
        "face_randomisation": False,
        "num_reference_frames": 0,
        "key_mask_probability": 0.0,
        "weight_decay": 0.0,
        "log_every": 1,
        "checkpoint_every": 200,
    }
    args = ["--data", str(cache.root), "--out", str(tmp_path / "run"), "--preset", "tiny", "--cpu"]
    for key, value in settings.items():
        args += ["--set", f"{key}={json.dumps(value)}"]
    bundle = main(args)
    records = _log(tmp_path / "run")
    first, last = records[0], records[-1]
    assert (first["step"], last["step"]) == (1, 200)
    assert last["l2"] < 0.1 * first["l2"], (first, last)
    assert last["l1"] < 0.15 * first["l1"], (first, last)
    assert last["nll_per_dim"] < first["nll_per_dim"] - 1.0

    # The memorised movie comes back out of the sampler, most likely component, no noise.
    model = KeyframeAR.from_pretrained(bundle)
    cached = cache.load("only")
    frames = keyframe_inputs(cached.script)
    tokens = KeyframeSampler(model, SamplerConfig())(
        frames,
        cached.frame_sentence_embeddings(frames, 15),
        cached.frame_face_embeddings(frames, 5),
        mixture_temperature=0,
        scale_temperature=0,
    )
    error = (tokens - cached.tokens).square().mean() / cached.tokens.var()
    assert error < 0.1


def test_paper_preset_needs_a_local_backbone(tmp_path, cache):
    with pytest.raises(ValueError, match="backbone"):
        main(["--data", str(cache.root), "--out", str(tmp_path / "run"), "--preset", "paper", "--cpu"])


def test_a_dataset_without_a_tokenizer_setting_is_refused(tmp_path, cache):
    (tmp_path / "dataset").mkdir()
    (tmp_path / "dataset" / "manifest.json").write_text("{}")
    with pytest.raises(ValueError, match="tokenizer"):
        main(
            ["--data", str(tmp_path / "dataset"), "--out", str(tmp_path / "run"), "--preset", "tiny", "--cpu"]
        )
    assert stage2_ar.STAGE == "stage2_ar"
