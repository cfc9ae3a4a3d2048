"""`moviedreamer-train STAGE ...`: every training stage and data tool under one installed command.

`moviedreamer-train stage2_ar --preset tiny --data D --out O` runs exactly what
`python -m train.stage2_ar --preset tiny --data D --out O` runs; the arguments after the
stage name go to that stage's `main(argv)` unchanged. `moviedreamer-train --help` lists the
stages.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Stage name -> the module whose main(argv) runs it (the `python -m` module of the README).
STAGES: dict[str, str] = {
    "toy_cinema": "train.data.toy_cinema",
    "movies": "train.data.movies.pipeline",
    "stage0_representation": "train.stage0_representation",
    "stage1_autoencoder": "train.stage1_autoencoder",
    "stage13_cached_decoder": "train.stage13_cached_decoder",
    "stage2_ar": "train.stage2_ar",
    "stage3_id_decoder": "train.stage3_id_decoder",
    "stage4_video": "train.stage4_video",
    "vae_curve": "train.vae_curve",
    "bundle": "train.bundle",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="moviedreamer-train",
        description="Run one MovieDreamer training stage or data tool; "
        "`moviedreamer-train STAGE --help` shows that stage's options.",
    )
    parser.add_argument("stage", choices=list(STAGES), help="the stage to run")
    parser.add_argument("arguments", nargs=argparse.REMAINDER, help="the stage's own arguments")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(sys.argv[1:] if argv is None else list(argv))
    result = importlib.import_module(STAGES[args.stage]).main(args.arguments)
    # Stages return an exit code, or (stage 2) the folder they wrote: only an int is a status.
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
