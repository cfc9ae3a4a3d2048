"""End to end: the long sample project from script to keyframes, wall time and peak memory.

    python -m bench.e2e [--bundle assets/bundle] [--project assets/samples/long] [--threads 2] [--limit N]

Loads the bundle and runs `StoryboardPipeline.generate` over the sample's script (~120
shots) with its cast photos, exactly as `python -m core.generate` does: AR sampling with
the KV cache and sliding window, then the ID-preserving decoder at the bundle's default
steps and guidance. Writes bench/results/e2e.json with

  keyframes             keyframes rendered (all shots, or the first --limit);
  seconds_per_keyframe  total wall time (bundle loading + generation) / keyframes;
  load_seconds          the bundle-loading part of it;
  peak_rss_mb           the process's peak resident memory (getrusage ru_maxrss);
  threads               torch threads;
  targets_met           seconds_per_keyframe <= 1 and peak_rss_mb <= 3 GB.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import resource
import sys
import time
from pathlib import Path

import torch

logger = logging.getLogger("bench.e2e")

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "e2e.json"
LONG_SAMPLE = ROOT / "assets" / "samples" / "long"
TARGET_SECONDS_PER_KEYFRAME = 1.0
TARGET_PEAK_RSS_MB = 3 * 1024


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kibibytes, macOS bytes.
    return peak / (2**20 if sys.platform == "darwin" else 1024)


def load_project(folder: Path):
    """The sample's script and its cast photos (name -> paths), or SystemExit with the reason."""
    from core.script.errors import ScriptError
    from core.script.io import load_script

    path = folder / "script.json"
    if not path.is_file():
        raise SystemExit(
            f"error: {folder} holds no script.json; pass --project with a sample project folder, or "
            "regenerate the samples with `python -m train.data.toy_cinema samples --out assets/samples`."
        )
    try:
        script = load_script(path)
    except ScriptError as error:
        raise SystemExit(f"error: the script {path} is not valid: {error}") from None
    photos = {c.name: [folder / p for p in c.photos] for c in script.cast}
    missing = [str(p) for paths in photos.values() for p in paths if not p.is_file()]
    if missing:
        raise SystemExit(
            f"error: these cast photos of {path} do not exist: {', '.join(missing)}; regenerate the "
            "samples or fix the paths (they are relative to the script's folder)."
        )
    return script, photos


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.e2e", description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, default=ROOT / "assets" / "bundle", help="model bundle")
    parser.add_argument("--project", type=Path, default=LONG_SAMPLE, help="sample project folder")
    parser.add_argument("--limit", type=int, default=None, help="render only the first N shots")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--seed", type=int, default=0, help="base seed; shot t uses seed + t")
    parser.add_argument("--out", type=Path, default=RESULTS, help="result JSON")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.limit is not None and args.limit < 1:
        raise SystemExit(f"error: --limit is {args.limit}; render at least 1 shot.")
    torch.set_num_threads(args.threads)

    from core.pipeline import BundleError, load_pipeline

    script, photos = load_project(args.project)
    shots = script.num_shots if args.limit is None else min(args.limit, script.num_shots)

    start = time.perf_counter()
    try:
        pipeline = load_pipeline(args.bundle)
    except BundleError as error:
        raise SystemExit(f"error: {error} The benchmark needs a model bundle; pass --bundle DIR.") from None
    load_seconds = time.perf_counter() - start
    settings = pipeline.defaults

    keyframes = 0
    for _result in pipeline.generate(
        script,
        cast_photos=photos,
        targets=range(shots),
        seeds={t: args.seed + t for t in range(shots)},
        settings=settings,
    ):
        keyframes += 1
        if keyframes % 10 == 0:
            logger.info("%d of %d keyframes, %.1f s", keyframes, shots, time.perf_counter() - start)
    total = time.perf_counter() - start

    seconds_per_keyframe = total / keyframes
    peak = peak_rss_mb()
    result = {
        "keyframes": keyframes,
        "seconds_per_keyframe": round(seconds_per_keyframe, 4),
        "load_seconds": round(load_seconds, 3),
        "generate_seconds": round(total - load_seconds, 3),
        "generate_seconds_per_keyframe": round((total - load_seconds) / keyframes, 4),
        "total_seconds": round(total, 3),
        "peak_rss_mb": round(peak, 1),
        "threads": torch.get_num_threads(),
        "targets_met": {
            "seconds_per_keyframe<=1": seconds_per_keyframe <= TARGET_SECONDS_PER_KEYFRAME,
            "peak_rss_mb<=3072": peak <= TARGET_PEAK_RSS_MB,
        },
        "script_shots": script.num_shots,
        "num_inference_steps": settings.num_inference_steps,
        "guidance_scale": settings.guidance_scale,
        "face_guidance_scale": settings.face_guidance_scale,
        "bundle": {
            "name": pipeline.bundle.manifest.name,
            "folder": str(args.bundle),
            "description": pipeline.bundle.manifest.description,
        },
        "project": str(args.project),
        "load_average_at_end": round(os.getloadavg()[0], 2),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
