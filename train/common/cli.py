"""The command-line options every training stage shares."""

from __future__ import annotations

import argparse
from collections.abc import Mapping


def stage_parser(prog: str, description: str, presets: Mapping[str, dict]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument(
        "--preset", choices=list(presets), default="default", help="named settings (see PRESETS)"
    )
    parser.add_argument("--data", required=True, help="toy-cinema dataset folder (with manifest.json)")
    parser.add_argument("--out", required=True, help="run folder: checkpoints, logs and exported models")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one preset setting (repeatable)",
    )
    parser.add_argument(
        "--max-steps",
        type=int,
        default=None,
        help="stop (with a checkpoint) after this global step; resume later",
    )
    parser.add_argument(
        "--resume",
        default="auto",
        help="'auto' (latest checkpoint in --out), 'never', or a checkpoint folder",
    )
    parser.add_argument(
        "--mixed-precision",
        choices=["auto", "no", "fp16", "bf16"],
        default="auto",
        help="'auto': bf16 (or fp16) on GPUs, full precision on CPU",
    )
    parser.add_argument("--cpu", action="store_true", help="train on the CPU even when a GPU is present")
    parser.add_argument("--num-workers", type=int, default=0, help="data-loading worker processes")
    return parser


def stop_step(total_steps: int, max_steps: int | None) -> int:
    """The global step at which this invocation stops."""
    if max_steps is None:
        return total_steps
    if max_steps < 0:
        raise ValueError(f"--max-steps is {max_steps}; use a positive number of steps.")
    return min(total_steps, max_steps)
