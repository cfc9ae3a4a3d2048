"""Command line storyboard generation, for people who don't want the UI.

    python -m core.generate SCRIPT.json --out DIR [--refs DIR] [--seed N] [--bundle DIR]

Writes one PNG per shot (frames/000000.png ...), the visual tokens of every keyframe
(tokens.npy, (T, L, d)) and keyframes.json recording the seed and parameters of each image,
so any keyframe can be reproduced exactly. Cast photos are the script's Character.photos,
relative to the script's folder. Files are written atomically: an interrupted run leaves
only complete images.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import sys
from pathlib import Path

import numpy as np

from core.files import write_bytes_atomically

logger = logging.getLogger(__name__)

DEFAULT_BUNDLE = Path(__file__).resolve().parents[1] / "assets" / "bundle"
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp"}


def shot_seed(base: int, frame_index: int) -> int:
    """The seed of the shot at 0-based `frame_index` in a run with base seed `base`.

    One numbering for the command line and the studio (its per-shot seed policy), so a
    storyboard made with seed N in either is the same storyboard.
    """
    return base + frame_index


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m core.generate",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("script", type=Path, help="script JSON (core.script format)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--refs", type=Path, default=None, help="folder of few-shot reference frames")
    parser.add_argument("--seed", type=int, default=0, help="base seed; shot t uses seed + t")
    parser.add_argument("--bundle", type=Path, default=DEFAULT_BUNDLE, help="model bundle folder")
    parser.add_argument("--steps", type=int, default=None, help="diffusion steps (bundle default)")
    parser.add_argument("--guidance", type=float, default=None, help="guidance scale (bundle default)")
    parser.add_argument(
        "--face-guidance",
        type=float,
        default=None,
        help="identity guidance from the cast photos, 1 = off (bundle default)",
    )
    parser.add_argument("--no-faces", action="store_true", help="ignore cast photos (ablation)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from dataclasses import replace

    from tqdm import tqdm

    from core.pipeline import BundleError, load_pipeline
    from core.script.errors import ScriptError
    from core.script.io import load_script

    try:
        script = load_script(args.script)
    except (ScriptError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    root = args.script.parent
    photos = {c.name: [root / p for p in c.photos] for c in script.cast}
    missing = [str(p) for paths in photos.values() for p in paths if not p.is_file()]
    if missing:
        print(
            f"error: these cast photos do not exist: {', '.join(missing)}; fix the paths in the script "
            "(they are relative to the script's folder).",
            file=sys.stderr,
        )
        return 2
    references = []
    if args.refs is not None:
        if not args.refs.is_dir():
            print(f"error: the reference folder {args.refs} does not exist.", file=sys.stderr)
            return 2
        references = sorted(p for p in args.refs.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    try:
        pipeline = load_pipeline(args.bundle)
    except BundleError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    settings = pipeline.defaults
    if args.steps is not None:
        settings = replace(settings, num_inference_steps=args.steps)
    if args.guidance is not None:
        settings = replace(settings, guidance_scale=args.guidance)
    if args.face_guidance is not None:
        settings = replace(settings, face_guidance_scale=args.face_guidance)
    if args.no_faces:
        settings = replace(settings, use_faces=False)

    frames_dir = args.out / "frames"
    frames_dir.mkdir(parents=True, exist_ok=True)
    seeds = {t: shot_seed(args.seed, t) for t in range(script.num_shots)}
    records, tokens = [], []
    bar = tqdm(total=script.num_shots, desc="keyframes", unit="shot")
    for result in pipeline.generate(
        script, cast_photos=photos, references=references, seeds=seeds, settings=settings
    ):
        path = frames_dir / f"{result.frame_index:06d}.png"
        buffer = io.BytesIO()
        result.image.save(buffer, format="PNG")
        write_bytes_atomically(path, buffer.getvalue())
        tokens.append(result.tokens)
        records.append(
            {
                "frame": result.frame_index,
                "scene": result.scene_index + 1,
                "shot": result.shot_index + 1,
                "image": str(path.relative_to(args.out)),
                "seed": result.seed,
                "params": result.params,
            }
        )
        bar.update(1)
    bar.close()
    buffer = io.BytesIO()
    np.save(buffer, np.stack(tokens))
    write_bytes_atomically(args.out / "tokens.npy", buffer.getvalue())
    write_bytes_atomically(args.out / "keyframes.json", json.dumps(records, indent=2).encode())
    print(f"Wrote {len(records)} keyframes to {frames_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
