"""A point of a stage-0 VAE run's learning curve on held-out keyframes (issue 20).

Reads the VAE of a checkpoint (`RUN/checkpoints/step_N`, the accelerate state stage 0 saves)
or of an exported folder (`RUN/vae`), round-trips held-out keyframes through it (posterior
mode, decode) and appends one JSON row to RUN/vae_curve.jsonl: the step, the mean L1 in
[-1, 1] pixels and, when a judge exists for this world (`bench.judge`), the judge's
accuracies on the round trip and on the ground truth itself.

    python -m train.vae_curve --run runs/vae8 --data TEST_DATASET [--checkpoint latest|all|PATH] [--frames 64]
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import torch
from diffusers import AutoencoderKL
from safetensors.torch import load_file

from core.decoder.architectures import build_vae
from train.common.run import CHECKPOINT_DIR, STEP_PREFIX
from train.stage13_cached_decoder import JUDGE_DIR, HeldOut, vae_round_trip_row

logger = logging.getLogger(__name__)

VAE_PREFIX = "vae."  # stage 0 wraps the VAE in VaeLoss: its weights are "vae.*" in the checkpoint


def vae_of_checkpoint(run: Path, checkpoint: Path) -> AutoencoderKL:
    """The VAE in a stage-0 checkpoint, built with the run's own settings."""
    cfg = json.loads((run / "config.json").read_text())
    if cfg.get("vae_pretrained"):
        source = Path(cfg["vae_pretrained"])
        source = source / "vae" if (source / "vae" / "config.json").is_file() else source
        vae = AutoencoderKL.from_pretrained(source, local_files_only=True)
    else:
        vae = build_vae(cfg["vae_preset"])
    for name in sorted(checkpoint.glob("model*.safetensors")):
        state = load_file(str(name))
        if any(k.startswith(VAE_PREFIX) for k in state):
            vae.load_state_dict(
                {k[len(VAE_PREFIX) :]: v for k, v in state.items() if k.startswith(VAE_PREFIX)}
            )
            return vae.eval()
    raise FileNotFoundError(f"{checkpoint} holds no VAE weights (no 'vae.*' tensors in model*.safetensors).")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.vae_curve", description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", required=True, help="stage 0 run folder")
    parser.add_argument("--data", required=True, help="dataset with held-out ('test') movies")
    parser.add_argument(
        "--checkpoint",
        default="latest",
        help="'latest', 'all' (those not yet on the curve), 'export' or a folder",
    )
    parser.add_argument("--frames", type=int, default=64, help="held-out keyframes, spread over the movies")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--judge", default=None, help="a bench.judge folder (default: bench.judge's own)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    torch.set_num_threads(args.threads)
    JUDGE_DIR[0] = args.judge
    run = Path(args.run)
    curve = run / "vae_curve.jsonl"
    done = set()
    if curve.is_file():
        done = {json.loads(line).get("checkpoint") for line in curve.read_text().splitlines()}
    checkpoints = sorted((run / CHECKPOINT_DIR).glob(f"{STEP_PREFIX}*[0-9]"))
    if args.checkpoint == "latest":
        targets = checkpoints[-1:]
    elif args.checkpoint == "all":
        targets = [c for c in checkpoints if str(c) not in done]
    elif args.checkpoint == "export":
        targets = [run / "vae"]
    else:
        targets = [Path(args.checkpoint)]
    if not targets:
        logger.info("nothing to evaluate in %s", run)
        return 0
    image_size = tuple(json.loads((run / "config.json").read_text())["image_size"])
    held = HeldOut(args.data, args.frames, image_size)
    for target in targets:
        if target.name.startswith(STEP_PREFIX):
            vae, step = vae_of_checkpoint(run, target), int(target.name[len(STEP_PREFIX) :])
        else:
            vae, step = AutoencoderKL.from_pretrained(target, local_files_only=True).eval(), None
        row = {"step": step, "checkpoint": str(target)} | vae_round_trip_row(vae, held)
        with open(curve, "a") as f:
            f.write(json.dumps(row) + "\n")
        logger.info("%s", json.dumps(row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
