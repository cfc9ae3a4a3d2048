"""A training run: accelerate setup, output folder, resume, logged losses, checkpoints.

Layout of a run folder (`--out`):
    config.json                 the resolved preset and command-line arguments
    log.jsonl                   one JSON object per logged step: step, phase, lr, losses
    train.log                   the logging output
    checkpoints/step_00000042/  accelerate state (models, optimizers, RNG, step counter)
    ...                         the stage's exported models (written by the stage)

Devices and processes come from accelerate: `python -m train.<stage>` runs on one device;
`accelerate launch --multi_gpu --num_processes N -m train.<stage> ...` runs data-parallel on N
GPUs, or on N CPU processes (gloo) when the stage also gets `--cpu` (accelerate's own `--cpu`
launcher starts a single process). A checkpoint
folder is first written as `*.tmp` and renamed when complete, so a run killed while saving
resumes from the previous checkpoint.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator
from accelerate.utils import DistributedDataParallelKwargs
from tqdm.auto import tqdm

logger = logging.getLogger(__name__)

CHECKPOINT_DIR = "checkpoints"
STEP_PREFIX = "step_"


def resolve_mixed_precision(requested: str, cpu: bool) -> str:
    """ "auto": bf16 on GPUs that have it, else fp16 on GPUs; full precision on CPU.

    Why not bf16 on CPU by default: measured on our 2-core CPU, bf16 autocast made the small
    UNet slower (42 vs 24 ms per step), and its quality would need checking first.
    """
    if requested != "auto":
        return requested
    if cpu or not torch.cuda.is_available():
        return "no"
    return "bf16" if torch.cuda.is_bf16_supported() else "fp16"


class StepCounter:
    """The global step, saved with every checkpoint."""

    def __init__(self) -> None:
        self.step = 0

    def state_dict(self) -> dict[str, int]:
        return {"step": self.step}

    def load_state_dict(self, state: Mapping[str, int]) -> None:
        self.step = int(state["step"])


def step_generator(seed: int, step: int, rank: int, device: torch.device | str = "cpu") -> torch.Generator:
    """The generator of one step on one process (noise, timesteps, condition masking).

    Derived from (seed, step, rank) instead of carried along, so a resumed run draws exactly
    what an uninterrupted one would have, and every process draws different noise.
    """
    g = torch.Generator(device=device)
    g.manual_seed(((seed * 1_000_003 + step) * 65_537 + rank) % (2**63))
    return g


def launch_command() -> str | None:
    """The shell command that started this process, when it is a `python -m train...` run
    or the installed `moviedreamer-train` command.

    Every invocation (first run and each resume) is appended to OUT/commands.txt, so a bundle
    built from the run can record exactly how it was made.
    """
    argv = list(getattr(sys, "orig_argv", []))
    env = [f"{key}={os.environ[key]}" for key in ("OMP_NUM_THREADS",) if key in os.environ]
    # A console script runs as `<python> <venv>/bin/moviedreamer-train STAGE ...`.
    if len(argv) > 1 and Path(argv[1]).name == "moviedreamer-train":
        return shlex.join([*env, "moviedreamer-train", *argv[2:]])
    if "-m" not in argv:
        return None
    module = argv[argv.index("-m") + 1 : argv.index("-m") + 2]
    if not module or not module[0].startswith("train."):
        return None
    return shlex.join([*env, "python", *argv[argv.index("-m") :]])


class TrainingRun:
    def __init__(
        self,
        out: str | Path,
        config: Mapping[str, Any],
        *,
        stage: str,
        mixed_precision: str = "auto",
        cpu: bool = False,
        find_unused_parameters: bool = False,
    ):
        self.out = Path(out)
        self.config = dict(config)
        self.stage = stage
        handlers = (
            [DistributedDataParallelKwargs(find_unused_parameters=True)] if find_unused_parameters else []
        )
        self.accelerator = Accelerator(
            mixed_precision=resolve_mixed_precision(mixed_precision, cpu), cpu=cpu, kwargs_handlers=handlers
        )
        self.counter = StepCounter()
        self.accelerator.register_for_checkpointing(self.counter)
        if self.is_main:
            self.out.mkdir(parents=True, exist_ok=True)
            self._setup_logging()
            (self.out / "config.json").write_text(
                json.dumps({"stage": stage, **self.config}, indent=2, default=str)
            )
            command = launch_command()
            if command:
                with open(self.out / "commands.txt", "a") as f:
                    f.write(command + "\n")
        self.accelerator.wait_for_everyone()

    # -- facts -----------------------------------------------------------------------

    @property
    def is_main(self) -> bool:
        return self.accelerator.is_main_process

    @property
    def device(self) -> torch.device:
        return self.accelerator.device

    @property
    def rank(self) -> int:
        return self.accelerator.process_index

    @property
    def world_size(self) -> int:
        return self.accelerator.num_processes

    @property
    def step(self) -> int:
        return self.counter.step

    def generator(self, step: int) -> torch.Generator:
        return step_generator(int(self.config.get("seed", 0)), step, self.rank, "cpu")

    # -- logging ---------------------------------------------------------------------

    def step_loader(
        self,
        dataset,
        *,
        batch_size: int,
        seed: int,
        start: int,
        end: int,
        num_workers: int = 0,
        collate_fn=None,
    ):
        """A DataLoader yielding this process's batches for global steps [start, end).

        The batches depend only on (seed, step), so a resumed run sees exactly the batches an
        uninterrupted one would have, and each rank takes its own share of every step.
        """
        from torch.utils.data import DataLoader

        from train.common.step_sampler import StepBatchSampler

        sampler = StepBatchSampler(
            len(dataset),
            batch_size=batch_size,
            seed=seed,
            start_step=start,
            end_step=end,
            rank=self.rank,
            world_size=self.world_size,
        )
        return DataLoader(dataset, batch_sampler=sampler, num_workers=num_workers, collate_fn=collate_fn)

    def _setup_logging(self) -> None:
        root = logging.getLogger()
        if not any(
            isinstance(h, logging.FileHandler) and Path(h.baseFilename) == (self.out / "train.log").resolve()
            for h in root.handlers
        ):
            handler = logging.FileHandler(self.out / "train.log")
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
            root.addHandler(handler)
        if root.level > logging.INFO or root.level == logging.NOTSET:
            root.setLevel(logging.INFO)
        if not any(type(h) is logging.StreamHandler for h in root.handlers):
            console = logging.StreamHandler(sys.stderr)
            console.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
            # Libraries that log INFO through the bare root logger (open_clip) only go to the file.
            console.addFilter(lambda record: record.name != "root" or record.levelno >= logging.WARNING)
            root.addHandler(console)

    def log_step(
        self, step: int, phase: str, lr: float, losses: Mapping[str, torch.Tensor]
    ) -> dict[str, float]:
        """Average `losses` over processes and append them to log.jsonl (main process)."""
        values = {}
        for name, value in losses.items():
            value = value.detach().float().reshape(1).to(self.device)
            values[name] = float(self.accelerator.reduce(value, reduction="mean").item())
        record = {"step": step, "phase": phase, "lr": lr, **values}
        if self.is_main:
            with open(self.out / "log.jsonl", "a") as f:
                f.write(json.dumps(record) + "\n")
            logger.info(
                "step %d %s lr %.2e %s", step, phase, lr, " ".join(f"{k} {v:.4f}" for k, v in values.items())
            )
        return values

    def progress_bar(self, start: int, total: int) -> tqdm:
        return tqdm(
            total=total,
            initial=start,
            desc=self.stage,
            unit="step",
            disable=not self.is_main,
            dynamic_ncols=True,
        )

    # -- checkpoints -----------------------------------------------------------------

    def checkpoints(self) -> list[Path]:
        folder = self.out / CHECKPOINT_DIR
        if not folder.is_dir():
            return []
        found = [
            p
            for p in folder.iterdir()
            if p.is_dir() and p.name.startswith(STEP_PREFIX) and p.name[5:].isdigit()
        ]
        return sorted(found, key=lambda p: int(p.name[len(STEP_PREFIX) :]))

    def resume(self, mode: str = "auto") -> int:
        """Load the latest complete checkpoint ("auto"), a given folder, or none ("never")."""
        if mode == "never":
            return self.step
        path = Path(mode) if mode != "auto" else (self.checkpoints()[-1] if self.checkpoints() else None)
        if path is None:
            return self.step
        if not path.is_dir():
            raise FileNotFoundError(
                f"The checkpoint {path} does not exist; give a folder under {self.out / CHECKPOINT_DIR}."
            )
        self.accelerator.load_state(str(path))
        logger.info("resumed from %s at step %d", path, self.step)
        return self.step

    def replica_checksums(self, module: torch.nn.Module) -> list[float]:
        """One checksum of `module`'s parameters per process (all equal when replicas agree)."""
        with torch.no_grad():
            total = torch.zeros((), dtype=torch.float64, device=self.device)
            for i, p in enumerate(module.parameters()):
                # Position-weighted, so swapped or shifted values also change the sum.
                total += p.detach().double().sum() * (1.0 + (i % 97) / 97.0)
        return [float(v) for v in self.accelerator.gather(total.reshape(1)).cpu()]

    def check_replicas(self, module: torch.nn.Module) -> None:
        """Refuse to go on when data-parallel replicas have drifted apart (a broken all-reduce)."""
        if self.world_size == 1:
            return
        sums = self.replica_checksums(module)
        if self.is_main:
            with open(self.out / "log.jsonl", "a") as f:
                f.write(json.dumps({"step": self.step, "replica_checksums": sums}) + "\n")
        if len(set(sums)) != 1:
            raise RuntimeError(
                f"The {self.world_size} training processes hold different weights at step {self.step} "
                f"(checksums {sums}); the gradient all-reduce is broken. Check the accelerate launch setup."
            )

    def save_checkpoint(self, keep: int = 2, *, models: tuple[torch.nn.Module, ...] = ()) -> Path:
        """Save the state at the current step; keep the newest `keep` checkpoints.

        `models` are checked for agreement across processes first (data-parallel runs).
        """
        for module in models:
            self.check_replicas(module)
        final = self.out / CHECKPOINT_DIR / f"{STEP_PREFIX}{self.step:08d}"
        tmp = final.with_name(final.name + ".tmp")
        if self.is_main and tmp.exists():
            shutil.rmtree(tmp)
        self.accelerator.wait_for_everyone()
        self.accelerator.save_state(str(tmp))
        self.accelerator.wait_for_everyone()
        if self.is_main:
            if final.exists():
                shutil.rmtree(final)
            tmp.rename(final)
            for old in self.checkpoints()[:-keep] if keep > 0 else []:
                shutil.rmtree(old)
            logger.info("saved checkpoint %s", final)
        self.accelerator.wait_for_everyone()
        return final
