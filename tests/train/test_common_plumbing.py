"""Presets, phases, the step sampler and the embedding cache of train/common."""

import pytest
import torch

from train.common.cli import stop_step
from train.common.embedding_cache import EmbeddingCache
from train.common.phases import Phase, PhaseSchedule
from train.common.presets import parse_override, require, resolve_preset
from train.common.step_sampler import StepBatchSampler, step_indices

REGISTRY = {
    "tiny": {"steps": 2, "lr": 1e-3, "path": None},
    "default": {"steps": 100, "lr": 1e-4, "path": None},
}


def test_presets_resolve_with_typed_overrides():
    cfg = resolve_preset(REGISTRY, "tiny", ["steps=5", "lr=2e-3", "path=/data/x"])
    assert cfg == {"steps": 5, "lr": 2e-3, "path": "/data/x"}
    assert REGISTRY["tiny"]["steps"] == 2  # the registry is not modified
    assert parse_override("flags=[1, 2]") == ("flags", [1, 2])
    with pytest.raises(ValueError, match="choose one of tiny, default"):
        resolve_preset(REGISTRY, "huge")
    with pytest.raises(ValueError, match="no setting 'stepz'"):
        resolve_preset(REGISTRY, "tiny", ["stepz=3"])
    with pytest.raises(ValueError, match="key=value"):
        parse_override("steps")
    with pytest.raises(ValueError, match="--set path=..."):
        require(REGISTRY["tiny"], "path", preset="paper")


def test_phases_run_in_order_with_warmup_and_cosine():
    schedule = PhaseSchedule([Phase("a", 4, 1.0, warmup=2), Phase("skipped", 0, 1.0), Phase("b", 3, 0.5)])
    assert schedule.total_steps == 7
    assert [schedule.at(s)[0].name for s in range(7)] == ["a"] * 4 + ["b"] * 3
    assert schedule.at(5) == (schedule.phases[1], 1)
    assert schedule.lr(0) == pytest.approx(0.5) and schedule.lr(1) == pytest.approx(1.0)
    assert schedule.lr(4) == pytest.approx(0.5)
    assert schedule.lr(6) < schedule.lr(5) < schedule.lr(4)
    with pytest.raises(IndexError):
        schedule.at(7)
    assert PhaseSchedule([Phase("none", 0, 1.0)]).total_steps == 0
    assert stop_step(7, None) == 7 and stop_step(7, 3) == 3 and stop_step(7, 30) == 7


def test_step_sampler_shards_cover_each_epoch_once():
    n, batch, world = 10, 2, 2
    seen = []
    for step in range(5):  # 5 steps x 4 = 20 = two epochs
        shards = [
            step_indices(n, step, batch_size=batch, seed=3, rank=r, world_size=world) for r in range(world)
        ]
        if step < 2:  # steps inside the first epoch: the two processes read different examples
            assert not set(shards[0]) & set(shards[1])
        seen.extend(i for shard in shards for i in shard)
    assert sorted(seen[:10]) == list(range(10)) and sorted(seen[10:]) == list(range(10))


def test_step_sampler_resumes_exactly():
    full = list(StepBatchSampler(7, batch_size=3, seed=1, start_step=0, end_step=6))
    resumed = list(StepBatchSampler(7, batch_size=3, seed=1, start_step=4, end_step=6))
    assert resumed == full[4:]
    assert len(full) == 6 and all(len(b) == 3 for b in full)
    other = list(StepBatchSampler(7, batch_size=3, seed=2, start_step=0, end_step=6))
    assert other != full
    with pytest.raises(ValueError, match="empty"):
        step_indices(0, 0, batch_size=2, seed=0)


def test_embedding_cache_encodes_each_key_once_and_zero_pads():
    calls = []

    def encode(keys):
        calls.append(list(keys))
        return torch.stack([torch.full((3,), float(len(k))) for k in keys])

    cache = EmbeddingCache(encode, 3)
    batch = cache.padded([["ab", "abc"], [None, "ab"], []], slots=4)
    assert batch.shape == (3, 4, 3)
    assert batch[0, 0].tolist() == [2.0] * 3 and batch[0, 1].tolist() == [3.0] * 3
    assert batch[1, 0].abs().sum() == 0 and batch[1, 1].tolist() == [2.0] * 3
    assert batch[2].abs().sum() == 0
    cache.padded([["abc", "ab"]], slots=4)
    assert calls == [["ab", "abc"]] and len(cache) == 2
    bad = EmbeddingCache(lambda keys: torch.zeros(len(keys), 5), 3)
    with pytest.raises(ValueError, match="expected"):
        bad.rows(["x"])


def test_embedding_cache_rows_saved_by_one_encoder_are_read_back_by_the_same_only(tmp_path):
    calls = []

    def encode(keys):
        calls.append(list(keys))
        return torch.stack([torch.full((3,), float(len(k))) for k in keys])

    first = EmbeddingCache(encode, 3)
    first.rows(["ab", "abc"])
    first.save(tmp_path / "rows.safetensors", "encoder-a")
    again = EmbeddingCache(encode, 3)
    assert again.load(tmp_path / "rows.safetensors", "encoder-a") == 2
    assert again.padded([["abc", "d"]], slots=2)[0].tolist() == [[3.0] * 3, [1.0] * 3]
    assert calls == [["ab", "abc"], ["d"]]  # only the new key was encoded
    other = EmbeddingCache(encode, 3)
    assert other.load(tmp_path / "rows.safetensors", "encoder-b") == 0
    assert other.load(tmp_path / "missing.safetensors", "encoder-a") == 0
