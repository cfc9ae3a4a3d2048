"""Benchmark of shots-to-video: anchor drift, render speed and animatic export time.

    python -m bench.video --quick [--model assets/bundle/video] [--clip runs/stage0/clip]

* Drift (paper 3.5): on held-out toy-cinema shots (test identities, rendered in memory; one
  shot from each of 8 movies with --quick, 16 without, or --shots N), each keyframe is
  extended to 4x the model's native length (4 chained segments), once with the anchor
  (every segment attends to the ORIGINAL keyframe's embedding) and once without (each
  segment embeds its own start frame). drift = 1 - mean cosine similarity between the
  CLIP embedding of every generated frame and that of the keyframe. CLIP is `--clip` (an
  open_clip folder, e.g. the bundle's) when given, else the model's own anchor tower.
  drift_floor_vae is the same measure for the keyframe after the model's VAE (encode, decode):
  the floor no generated clip can go below. drift_margin = drift_no_anchor - drift_anchor with
  its 95% bootstrap interval over shots, anchor_better_shots, and the drift of each segment
  (segment 1 is identical with and without the anchor; the anchor acts from segment 2 on).
  drift_margin_floor_correlation: Pearson correlation over shots of the VAE floor with the
  margin (negative: the anchor helps on shots the VAE reproduces and hurts on those it cannot).
* seconds_per_video_second: wall time of the anchored 4x render divided by the seconds of
  video it yields (frames / the model's fps), torch on 2 threads.
* animatic_seconds_120_shots: MP4 + GIF export of the 120-shot sample script
  (assets/samples/long/script.json) with its frames/ when present, else synthetic 224x128
  keyframes; the median of several runs.

Writes bench/results/video.json and prints a table. Without a trained video model the drift
figures are recorded as null with the reason and the training command, and the speed is
measured on the default architecture with untrained weights.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "assets" / "samples" / "long"
# The shipped bundle's video model: the figures are those of what the studio runs.
DEFAULT_MODELS = (ROOT / "assets" / "bundle" / "video",)
TRAIN_COMMAND = (
    "python -m train.stage4_video --preset default --data DATASET --init runs/stage0 --out runs/stage4"
)

logger = logging.getLogger("bench.video")


# -- animatic --------------------------------------------------------------------------


def _synthetic_keyframe(index: int, size=(224, 128)) -> np.ndarray:
    """A 224x128 frame with a gradient sky, ground and a figure-like block (compresses like a render)."""
    width, height = size
    rng = np.random.default_rng(index)
    y, x = np.mgrid[0:height, 0:width]
    top, bottom = rng.integers(40, 220, 3), rng.integers(20, 160, 3)
    mix = (y / height)[..., None]
    image = top * (1 - mix) + bottom * mix
    horizon = int(height * rng.uniform(0.5, 0.7))
    image[horizon:] = rng.integers(30, 120, 3)
    x0 = int(rng.integers(20, width - 50))
    image[horizon - 50 : horizon + 10, x0 : x0 + 24] = rng.integers(80, 255, 3)
    image += 6 * np.sin(x / 7.0)[..., None]
    return np.clip(image, 0, 255).astype(np.uint8)


def bench_animatic(runs: int) -> dict:
    from PIL import Image

    from core.script import Script
    from core.video.animatic import AnimaticSettings, render_animatic

    script = Script.model_validate_json((SAMPLE / "script.json").read_text())
    frames_dir = SAMPLE / "frames"
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        keyframes = {}
        synthetic = False
        for i in range(script.num_shots):
            shipped = frames_dir / f"{i:06d}.png"
            if shipped.is_file():
                keyframes[i] = shipped
            else:
                synthetic = True
                keyframes[i] = tmp / f"{i:06d}.png"
                Image.fromarray(_synthetic_keyframe(i)).save(keyframes[i])
        times, result = [], None
        settings = AnimaticSettings()
        for _ in range(runs):
            start = time.perf_counter()
            result = render_animatic(
                script, keyframes, tmp / "animatic.mp4", gif_path=tmp / "animatic.gif", settings=settings
            )
            times.append(time.perf_counter() - start)
        mp4_bytes = (tmp / "animatic.mp4").stat().st_size
        gif_bytes = (tmp / "animatic.gif").stat().st_size
    return {
        "animatic_seconds_120_shots": round(statistics.median(times), 3),
        "animatic_runs_seconds": [round(t, 3) for t in times],
        "animatic_shots": script.num_shots,
        "animatic_video_seconds": round(result.duration, 3),
        "animatic_frames": result.num_frames,
        "animatic_fps": result.fps,
        "animatic_size": list(result.size),
        "animatic_mp4_bytes": mp4_bytes,
        "animatic_gif_bytes": gif_bytes,
        "animatic_keyframes": "synthetic 224x128" if synthetic else "assets/samples/long/frames",
    }


# -- drift -----------------------------------------------------------------------------


def held_out_keyframes(count: int, seed: int = 0) -> list[np.ndarray]:
    """`count` keyframes cast only with held-out (test) identities, one from each of `count`
    movies (movie seeds seed + 1000 + i), at a shot index drawn from the movie's own length:
    shots of one movie share places, cast, time of day and style, so one shot per movie
    samples the world instead of one movie's look."""
    from train.data.world import generate_movie, make_identity_pool, render_keyframe, split_identities

    pool = make_identity_pool(seed=seed, n=60)
    _, test_ids = split_identities(pool, 0.2, seed=seed)
    keyframes = []
    for i in range(count):
        movie = generate_movie(seed=seed + 1000 + i, identities=test_ids, num_shots=8)
        shot = int(np.random.default_rng([seed, i]).integers(len(movie.frames)))
        keyframes.append(np.asarray(render_keyframe(movie.frames[shot])[0]))
    return keyframes


def _embedder(pipe, clip_folder: Path | None):
    import torch

    from core.video.image_embedder import OpenClipImageEmbedder, embed_images

    if clip_folder is not None:
        from core.encoders.open_clip_encoder import OpenClipEncoder

        clip = OpenClipEncoder.from_pretrained(clip_folder).freeze()
        tower = OpenClipImageEmbedder(clip.model, clip.image_size, clip.mean, clip.std)
        name = f"open_clip {clip_folder}"
    else:
        tower, name = pipe.image_encoder, "the model's own anchor tower"

    def embed(frames: np.ndarray) -> torch.Tensor:  # (N, H, W, 3) in [0, 1]
        pixels = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float()
        with torch.no_grad():
            e = embed_images(
                tower, pixels, getattr(pipe, "feature_extractor", None) if clip_folder is None else None
            )
        return torch.nn.functional.normalize(e, dim=-1)

    return embed, name


def vae_round_trip(vae, frame: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 -> (1, H, W, 3) in [0, 1] after the VAE's encode (mode) and decode."""
    import torch

    from core.video.conditioning import vae_round_trip as round_trip

    pixels = torch.from_numpy(np.array(frame)).permute(2, 0, 1)[None].float() / 127.5 - 1.0  # a writable copy
    with torch.no_grad():
        decoded = round_trip(vae, pixels.to(vae.device))  # (1, 3, H, W)
    return ((decoded.float() + 1.0) / 2.0).clamp(0, 1).permute(0, 2, 3, 1).cpu().numpy()


def bench_drift(
    model: Path, clip_folder: Path | None, shots: int, steps: int, threads: int, anchor_guidance: float = 1.0
) -> dict:
    import torch

    from bench.metrics import bootstrap_mean_interval
    from core.video.loading import load_video_pipeline

    torch.set_num_threads(threads)
    pipe = load_video_pipeline(model)
    config_file = model / "video_config.json"
    config = json.loads(config_file.read_text()) if config_file.is_file() else {}
    num_frames = config.get("num_frames", pipe.unet.config.num_frames)
    fps = config.get("fps", 7)
    height = config.get("height")
    width = config.get("width")
    embed, encoder_name = _embedder(pipe, clip_folder)

    drifts = {True: [], False: []}
    by_segment = {True: [], False: []}  # per shot: the drift of each segment's frames
    floors = []
    render_seconds, video_seconds = 0.0, 0.0
    for i, keyframe in enumerate(held_out_keyframes(shots)):
        key = embed(keyframe[None].astype(np.float32) / 255.0)
        floors.append(float(1.0 - (embed(vae_round_trip(pipe.vae, keyframe)) @ key.T).squeeze()))
        for anchor in (True, False):
            start = time.perf_counter()
            frames = pipe(
                keyframe,
                height=height,
                width=width,
                num_frames=num_frames,
                num_segments=4,
                anchor=anchor,
                num_inference_steps=steps,
                anchor_guidance_scale=anchor_guidance,
                fps=fps,
                generator=torch.Generator().manual_seed(i),
            ).frames[0]  # (N, H, W, 3)
            elapsed = time.perf_counter() - start
            if anchor:
                render_seconds += elapsed
                video_seconds += len(frames) / fps
            similarity = (embed(frames) @ key.T).squeeze(1)  # (N,)
            drifts[anchor].append(float(1.0 - similarity.mean()))
            # segment 0 holds frames [0, T); segment s > 0 the T - 1 frames after the shared one
            bounds = [0, num_frames] + [num_frames + s * (num_frames - 1) for s in range(1, 4)]
            by_segment[anchor].append(
                [float(1.0 - similarity[a:b].mean()) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
            )
        logger.info("shot %d: drift with anchor %.4f, without %.4f", i, drifts[True][-1], drifts[False][-1])
    margins = np.array(drifts[False]) - np.array(drifts[True])  # > 0: the anchor drifts less
    interval = bootstrap_mean_interval(margins)
    # does the anchor help where the VAE can show the keyframe and hurt where it cannot?
    floor_correlation = (
        float(np.corrcoef(floors, margins)[0, 1])
        if len(floors) > 2 and np.std(floors) > 0 and np.std(margins) > 0
        else None
    )
    return {
        "drift_anchor": round(float(np.mean(drifts[True])), 4),
        "drift_no_anchor": round(float(np.mean(drifts[False])), 4),
        "drift_per_shot_anchor": [round(d, 4) for d in drifts[True]],
        "drift_per_shot_no_anchor": [round(d, 4) for d in drifts[False]],
        # drift_no_anchor - drift_anchor, its 95% bootstrap interval over shots, and how many
        # shots drift less with the anchor
        "drift_margin": round(float(margins.mean()), 4),
        "drift_margin_interval_95": [round(v, 4) for v in interval] if interval else None,
        "anchor_better_shots": int((margins > 0).sum()),
        # mean over shots of each segment's drift: segment 1 is the same with and without
        "drift_per_segment_anchor": [round(float(v), 4) for v in np.mean(by_segment[True], axis=0)],
        "drift_per_segment_no_anchor": [round(float(v), 4) for v in np.mean(by_segment[False], axis=0)],
        # the drift of the keyframe itself after the model's VAE: what no clip can go below
        "drift_floor_vae": round(float(np.mean(floors)), 4),
        "drift_per_shot_floor_vae": [round(d, 4) for d in floors],
        # Pearson correlation over shots of the VAE floor with the margin (null under 3 shots)
        "drift_margin_floor_correlation": None if floor_correlation is None else round(floor_correlation, 4),
        "seconds_per_video_second": round(render_seconds / video_seconds, 3),
        "drift_shots": shots,
        "drift_sample": f"one shot from each of {shots} held-out movies",
        "drift_segments": 4,
        "frames_per_segment": num_frames,
        "inference_steps": steps,
        "drift_encoder": encoder_name,
        # what the UNet attends to: the pooled embedding only, or it and the patch tokens
        "anchor_tokens": bool(pipe.config.get("anchor_tokens", False)),
        "anchor_guidance_scale": anchor_guidance,
        "video_model": str(model),
        "torch_threads": torch.get_num_threads(),
    }


def bench_untrained_speed(steps: int, threads: int) -> dict:
    """Render speed of the default architecture with untrained weights (speed does not depend on them)."""
    import torch

    from core.video.config import build_random_pipeline, preset

    torch.set_num_threads(threads)
    config = preset("default")
    pipe = build_random_pipeline(config)
    keyframe = held_out_keyframes(1)[0]
    start = time.perf_counter()
    frames = pipe(
        keyframe,
        num_segments=4,
        num_inference_steps=steps,
        fps=config.fps,
        generator=torch.Generator().manual_seed(0),
    ).frames[0]
    elapsed = time.perf_counter() - start
    return {
        "seconds_per_video_second": round(elapsed / (len(frames) / config.fps), 3),
        "speed_model": "default architecture with untrained weights (trained weights cost the same)",
        "frames_per_segment": config.num_frames,
        "inference_steps": steps,
        "torch_threads": torch.get_num_threads(),
    }


# -- main ------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.video", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="8 held-out shots and 3 animatic runs (under 10 minutes)"
    )
    parser.add_argument(
        "--shots", type=int, default=None, help="held-out shots (movies) for drift (default 8 quick, 16 full)"
    )
    parser.add_argument(
        "--model",
        type=Path,
        default=None,
        help="video model folder (default: the shipped bundle's, assets/bundle/video)",
    )
    parser.add_argument("--clip", type=Path, default=None, help="open_clip folder for measuring drift")
    parser.add_argument("--steps", type=int, default=20, help="denoising steps per segment")
    parser.add_argument(
        "--anchor-guidance",
        type=float,
        default=1.0,
        help="anchor guidance scale for both renders (1.0 = off)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=2,
        help="torch threads (2 = the target machine; use 1 when other jobs load the cores, where two "
        "OpenMP threads were measured 20x slower)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "video.json")
    args = parser.parse_args(argv)
    if args.shots is not None and args.shots < 1:
        parser.error(f"--shots is {args.shots}; measure drift on at least one held-out shot.")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    results: dict = {
        "quick": args.quick,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "load_average_at_start": round(os.getloadavg()[0], 2),
    }
    results |= bench_animatic(runs=3 if args.quick else 5)

    model = args.model or next((m for m in DEFAULT_MODELS if (m / "model_index.json").is_file()), None)
    if model is None or not (model / "model_index.json").is_file():
        reason = f"no trained video model at {args.model or ' or '.join(map(str, DEFAULT_MODELS))}; train it with: {TRAIN_COMMAND}"
        logger.warning(reason)
        results |= {"drift_anchor": None, "drift_no_anchor": None, "video_model": reason}
        results |= bench_untrained_speed(args.steps, args.threads)
    else:
        results |= bench_drift(
            model,
            args.clip,
            shots=args.shots or (8 if args.quick else 16),
            steps=args.steps,
            threads=args.threads,
            anchor_guidance=args.anchor_guidance,
        )

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    width = max(len(k) for k in results)
    for key, value in results.items():
        if not isinstance(value, list):
            print(f"{key:<{width}}  {value}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
