"""TrainingRun: checkpoints that carry the step, pruning, resume, logs."""

import json

import pytest
import torch

from train.common.run import TrainingRun, resolve_mixed_precision, step_generator


def _train(out, steps, resume="auto", keep=2):
    run = TrainingRun(out, {"seed": 0}, stage="test", cpu=True)
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    model, optimizer = run.accelerator.prepare(model, optimizer)
    start = run.resume(resume)
    for step in range(start, steps):
        g = run.generator(step)
        loss = model(torch.randn(4, 3, generator=g)).pow(2).mean()
        optimizer.zero_grad()
        run.accelerator.backward(loss)
        optimizer.step()
        run.counter.step = step + 1
        run.log_step(step + 1, "train", 0.1, {"loss": loss})
        run.save_checkpoint(keep=keep, models=(model,))
    return run, run.accelerator.unwrap_model(model)


def test_resume_continues_the_step_count_and_matches_an_uninterrupted_run(tmp_path):
    run, _ = _train(tmp_path / "a", 2)
    assert [p.name for p in run.checkpoints()] == ["step_00000001", "step_00000002"]
    run, resumed = _train(tmp_path / "a", 4)
    assert run.step == 4
    assert [p.name for p in run.checkpoints()] == ["step_00000003", "step_00000004"]  # keep=2
    steps = [json.loads(line)["step"] for line in (tmp_path / "a" / "log.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4]
    _, straight = _train(tmp_path / "b", 4)
    assert torch.equal(resumed.weight, straight.weight)
    assert json.loads((tmp_path / "a" / "config.json").read_text())["stage"] == "test"


def test_resume_never_and_missing_folders(tmp_path):
    _train(tmp_path, 1)
    run, _ = _train(tmp_path, 1, resume="never")
    assert run.step == 1  # trained again from 0 for one step
    with pytest.raises(FileNotFoundError, match="does not exist"):
        TrainingRun(tmp_path, {}, stage="test", cpu=True).resume(str(tmp_path / "nope"))


def test_step_generators_differ_by_step_and_rank_and_repeat():
    a = torch.rand(3, generator=step_generator(0, 5, 0))
    assert torch.equal(a, torch.rand(3, generator=step_generator(0, 5, 0)))
    assert not torch.equal(a, torch.rand(3, generator=step_generator(0, 6, 0)))
    assert not torch.equal(a, torch.rand(3, generator=step_generator(0, 5, 1)))
    assert resolve_mixed_precision("auto", cpu=True) == "no"
    assert resolve_mixed_precision("bf16", cpu=True) == "bf16"
