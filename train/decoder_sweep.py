"""Tune a trained keyframe decoder's sampling on the judge: guidance scales x denoising steps.

    python -m train.decoder_sweep --run runs/decoder --data TEST_DATASET --guidance 1 2 3 5 --steps 20 12 \
        --face-guidance 1 2

Renders held-out keyframes of `--data` (a `--split test` export) with the run's exported
decoder (RUN/decoder, RUN/tokenizer, as train.stage13_cached_decoder writes them) from their
ground-truth tokens and script sentences ("reconstruction") and from the script alone ("t2i"),
for every (guidance, steps) pair, the same keyframes and seed each time. Each row (judge
scores, latent L1, seconds per keyframe) is appended to RUN/sweep.jsonl and printed; the
grids go to RUN/sweep/. Use the figures to choose the bundle's default guidance and steps.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from types import SimpleNamespace

import torch

from core.decoder.pipeline import KeyframeDecoderPipeline
from core.tokenizer.keyframe_tokenizer import KeyframeTokenizer
from train.common.embedding_cache import EmbeddingCache
from train.stage13_cached_decoder import JUDGE_DIR, HeldOut, build_encoders, evaluate

logger = logging.getLogger(__name__)


def sweep(
    run: Path,
    data: str,
    guidances: list[float],
    steps: list[int],
    frames: int = 32,
    seed: int = 1234,
    judge_dir: str | None = None,
    face_guidances: list[float] | None = None,
) -> list[dict]:
    for name in ("decoder", "tokenizer", "config.json"):
        if not (run / name).exists():
            raise FileNotFoundError(
                f"{run / name} does not exist; give the --out folder of a train.stage13_cached_decoder run "
                "that has exported its models (it does at every evaluation)."
            )
    cfg = json.loads((run / "config.json").read_text())
    pipeline = KeyframeDecoderPipeline.from_pretrained(run / "decoder")
    tokenizer = KeyframeTokenizer.from_pretrained(run / "tokenizer")
    clip = tokenizer.clip
    sentences, faces, _, _ = build_encoders(cfg, clip, pipeline.vae)
    ccfg = pipeline.conditioner.config
    sentence_cache = EmbeddingCache(sentences.encode, ccfg.description_dim)
    face_cache = EmbeddingCache(lambda refs: faces.embed_crops([r.open() for r in refs]), ccfg.face_dim)
    held = HeldOut(data, frames, tuple(cfg["image_size"]))
    parts = SimpleNamespace(
        unet=pipeline.unet,
        conditioner=pipeline.conditioner,
        scheduler=pipeline.scheduler,
        compressor=tokenizer.compressor.eval(),
    )
    JUDGE_DIR[0] = judge_dir
    step = None
    log = run / "log.jsonl"
    if log.is_file():
        lines = [json.loads(x) for x in log.read_text().splitlines() if x.strip()]
        step = max((int(r.get("step", 0)) for r in lines), default=None)
    rows = []
    for n in steps:
        out = run / "sweep" / f"steps_{n}"
        out.mkdir(parents=True, exist_ok=True)
        settings = cfg | {
            "sample_steps": n,
            "eval_guidance": guidances,
            "eval_face_guidance": face_guidances or [1.0],
            "eval_t2i": True,
            "eval_seed": seed,
        }
        with torch.no_grad():
            for row in evaluate(
                step or 0, parts, pipeline.vae, clip, held, sentence_cache, face_cache, settings, out
            ):
                if row["row"] == "t2i":  # evaluate renders t2i once, at the largest guidance
                    row["note"] = "t2i at the largest guidance of the sweep"
                rows.append(row | {"sweep_steps": n, "checkpoint_step": step})
    with open(run / "sweep.jsonl", "a") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m train.decoder_sweep",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--run", required=True, help="a train.stage13_cached_decoder --out folder")
    parser.add_argument("--data", required=True, help="a toy-cinema export with a test split")
    parser.add_argument("--guidance", type=float, nargs="+", default=[1.0, 2.0, 3.0, 5.0])
    parser.add_argument("--steps", type=int, nargs="+", default=[20])
    parser.add_argument(
        "--face-guidance", type=float, nargs="+", default=[1.0], help="identity guidance scales (1 = off)"
    )
    parser.add_argument("--frames", type=int, default=32, help="held-out keyframes per setting")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--judge", default=None, help="judge folder (default: bench.judge's)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    torch.set_num_threads(args.threads)
    try:
        rows = sweep(
            Path(args.run),
            args.data,
            args.guidance,
            args.steps,
            args.frames,
            args.seed,
            args.judge,
            face_guidances=args.face_guidance,
        )
    except FileNotFoundError as error:
        parser.exit(2, f"error: {error}\n")
    for row in rows:
        judged = row.get("judge", {})
        scores = " ".join(
            f"{k} {judged[k]:.2f}" for k in ("place", "time", "style", "shot_size", "lt") if k in judged
        )
        print(
            f"{row['row']:<15} guidance {row['guidance']:<4g} face {row['face_guidance']:<4g} "
            f"steps {row['sweep_steps']:<3} "
            f"{scores} latent_l1 {row['latent_l1']:.3f} s/kf {row['seconds_per_keyframe']:.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
