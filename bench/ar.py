"""AR keyframe-token model: sampling speed, memory and held-out NLL.

    python -m bench.ar [--quick] [--model AR_OR_BUNDLE_FOLDER] [--cache TOKEN_CACHE] [--threads N]

Writes bench/results/ar.json with
  kps_cached_128 / kps_uncached_128   keyframes per second over a 128-frame window, with and
                                      without the KV cache (median of the runs);
  window_seconds_128                  wall seconds to sample all 128 keyframes of one window from
                                      an empty context (= 128 / kps_cached_128): the issue's "a
                                      128-frame window in under 1 s";
  seconds_per_frame_128 / _1024       mean per-frame cost (cached) of sampling a whole movie of
                                      128 and of 1,024 frames (1,024 frames slide the 128-frame
                                      window, keeping 32, ten times);
  seconds_per_frame_full_window,      where the 1,024-frame cost goes: one frame with a full
  window_slide_seconds                128-frame context, and the extra cost of the frame that
                                      starts a new window (re-pre-filling the kept frames);
  peak_rss_mb                         peak resident memory of this process;
  heldout_nll                         mean NLL per dimension of held-out movies' tokens under
                                      the model (teacher forcing, 128-frame windows), or null
                                      when no trained model and token cache are given.
The scripts are the long sample project repeated to the needed length, so identifier text,
sentences and faces have real shapes. --model takes a KeyframeAR folder or a model bundle
folder (its manifest names the AR folder); by default it is the shipped bundle
(assets/bundle), so the figures are those of the model the studio runs. `--random-weights`
times the default architecture with random weights instead (recorded in the JSON).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import resource
import statistics
import time
from pathlib import Path

import torch

from core.ar.batch import build_batch
from core.ar.model import ARConfig, KeyframeAR
from core.ar.sampler import KeyframeSampler, SamplerConfig
from core.ar.sequence import FrameSequence
from core.script import MAX_CHARACTERS_PER_SHOT, MAX_DESCRIPTIONS_PER_SHOT, Script
from core.script.inputs import IDENTIFIER_VOCABULARY, KeyframeInputs, keyframe_inputs

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
LONG_SAMPLE = ROOT / "assets" / "samples" / "long" / "script.json"
RESULTS = ROOT / "bench" / "results" / "ar.json"
WINDOW = 128


def long_frames(count: int) -> list[KeyframeInputs]:
    """`count` keyframes: the long sample's shots, repeated scene by scene as needed."""
    sample = Script.model_validate_json(LONG_SAMPLE.read_text())
    scenes = []
    while sum(len(s.shots) for s in scenes) < count:
        scenes.extend(sample.scenes)
    return keyframe_inputs(sample.model_copy(update={"scenes": scenes}))[:count]


def random_conditions(model: KeyframeAR, count: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Sentence (T, S, e) and face (T, C, f) embeddings of the right widths."""
    g = torch.Generator().manual_seed(seed)
    cfg = model.config
    sentences = torch.randn(count, MAX_DESCRIPTIONS_PER_SHOT, cfg.sentence_dim, generator=g)
    faces = torch.randn(count, MAX_CHARACTERS_PER_SHOT, cfg.face_dim, generator=g)
    return sentences, faces


def time_sampling(
    model: KeyframeAR, frames, use_cache: bool, runs: int, frame_times: list[list[float]] | None = None
) -> list[float]:
    """Wall seconds of sampling every frame, per run; `frame_times` receives each run's per-frame seconds."""
    sentences, faces = random_conditions(model, len(frames))
    sampler = KeyframeSampler(model, SamplerConfig.default(use_cache=use_cache))
    times = []
    for run in range(runs):
        stamps = [time.perf_counter()]
        sampler(
            frames,
            sentences,
            faces,
            generator=torch.Generator().manual_seed(run),
            callback=lambda progress, stamps=stamps: stamps.append(time.perf_counter()),
        )
        times.append(time.perf_counter() - stamps[0])
        if frame_times is not None:
            frame_times.append([b - a for a, b in zip(stamps, stamps[1:], strict=False)])
    return times


def cost_breakdown(frame_times: list[float], config: SamplerConfig) -> tuple[float, float]:
    """(seconds of one frame with a full window, extra seconds of a frame that starts a new window).

    frame_times: per-frame seconds of one run over a movie longer than the window. The frames
    just before the first slide see a full window; every `context - keep` frames after it one
    frame also re-pre-fills the kept frames.
    """
    window, step = config.context_frames, config.context_frames - config.keep_frames
    full = statistics.median(frame_times[window - 8 : window])
    slides = range(window, len(frame_times), step)
    regular = [frame_times[t] for t in range(window, len(frame_times)) if (t - window) % step]
    slide_extra = statistics.median(frame_times[t] for t in slides) - statistics.median(regular)
    return full, slide_extra


def load_model(folder: Path) -> tuple[KeyframeAR, str]:
    """A KeyframeAR from its own folder or from the `ar` component of a model bundle folder."""
    from core.pipeline.bundle import MANIFEST_FILE, read_manifest, resolve

    if (folder / MANIFEST_FILE).is_file():
        ar_folder = resolve(folder, read_manifest(folder).components.ar.path)
        return KeyframeAR.from_pretrained(ar_folder).eval(), f"trained model {ar_folder} (bundle {folder})"
    return KeyframeAR.from_pretrained(folder).eval(), f"trained model {folder}"


@torch.no_grad()
def heldout_nll(model: KeyframeAR, cache_folder: Path, max_movies: int) -> tuple[float, int]:
    """Mean NLL/d of held-out tokens (teacher forcing, windows of 128 frames), and windows used."""
    from train.common.token_cache import TokenCache

    cache = TokenCache(cache_folder)
    values = []
    for movie_id in cache.movie_ids("test")[:max_movies]:
        movie = cache.load(movie_id)
        frames = keyframe_inputs(movie.script)
        for start in range(0, len(frames), WINDOW):
            window = frames[start : start + WINDOW]
            sample = FrameSequence(
                frames=window,
                sentence_embeddings=movie.frame_sentence_embeddings(window, MAX_DESCRIPTIONS_PER_SHOT),
                face_embeddings=movie.frame_face_embeddings(window, MAX_CHARACTERS_PER_SHOT),
                visual_tokens=movie.tokens[start : start + WINDOW],
            )
            values.append(float(model.loss(build_batch(model, [sample])).nll_per_dim))
    if not values:
        raise ValueError(f"The token cache {cache_folder} has no held-out (test) movies.")
    return statistics.fmean(values), len(values)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.ar", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a few minutes)")
    parser.add_argument(
        "--model",
        type=Path,
        default=ROOT / "assets" / "bundle",
        help="trained KeyframeAR folder, or a model bundle folder (default: the shipped bundle)",
    )
    parser.add_argument(
        "--random-weights", action="store_true", help="time the default architecture with random weights"
    )
    parser.add_argument(
        "--cache", type=Path, default=None, help="token cache with a test split (for heldout_nll)"
    )
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    torch.set_num_threads(args.threads)

    if not args.random_weights:
        model, described = load_model(args.model)
    else:
        torch.manual_seed(0)
        model = KeyframeAR.from_config(ARConfig.default(), IDENTIFIER_VOCABULARY).eval()
        described = "default architecture, random weights (sampling cost does not depend on the weights)"
    runs = 3 if args.quick else 5

    frames_128 = long_frames(WINDOW)
    time_sampling(model, frames_128[:8], True, 1)  # warm-up: allocator, kernels
    cached = time_sampling(model, frames_128, True, runs)
    uncached = time_sampling(model, frames_128, False, 1 if args.quick else 2)
    frames_1024 = long_frames(1024)
    long_frame_times: list[list[float]] = []
    long_runs = time_sampling(model, frames_1024, True, 1 if args.quick else 2, long_frame_times)
    full_window, slide_extra = cost_breakdown(long_frame_times[0], SamplerConfig.default())

    nll, windows = None, 0
    if args.cache is not None and not args.random_weights:
        nll, windows = heldout_nll(model, args.cache, max_movies=4 if args.quick else 16)

    per_frame_128 = statistics.median(cached) / WINDOW
    per_frame_1024 = statistics.median(long_runs) / 1024
    result = {
        "kps_cached_128": round(WINDOW / statistics.median(cached), 2),
        "kps_uncached_128": round(WINDOW / statistics.median(uncached), 2),
        "cache_speedup_128": round(statistics.median(uncached) / statistics.median(cached), 2),
        "seconds_per_frame_128": round(per_frame_128, 5),
        "seconds_per_frame_1024": round(per_frame_1024, 5),
        "ratio_1024_to_128": round(per_frame_1024 / per_frame_128, 3),
        "window_seconds_128": round(statistics.median(cached), 3),
        "seconds_per_frame_full_window": round(full_window, 5),
        "window_slide_seconds": round(slide_extra, 4),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "heldout_nll": None if nll is None else round(nll, 4),
        "heldout_windows": windows,
        "heldout_note": None
        if nll is not None
        else "no trained model and token cache given (--model, --cache); the default AR is not trained yet",
        "model": described,
        "runs_cached_seconds": [round(t, 3) for t in cached],
        "runs_uncached_seconds": [round(t, 3) for t in uncached],
        "runs_1024_seconds": [round(t, 3) for t in long_runs],
        "torch_threads": torch.get_num_threads(),
        "load_average_at_end": round(os.getloadavg()[0], 2),
        "quick": args.quick,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
