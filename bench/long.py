"""Coherence past the context window: one long movie of the held-out cast, judged at its two ends.

    python -m bench.long [--quick] [--bundle assets/bundle] [--keyframes 1024] [--seed 0]

The AR model draws every keyframe of one toy-cinema movie (1,024 keyframes, 512 with
--quick; the cast is the 12 held-out identities, so the bundle never saw them) once per
window mode:

    reprefill   today's window: when 128 frames are in view, keep the 32 most recent and
                pre-fill them again (core.ar.sampler)
    rolling     evict the oldest frame from the KV cache instead, so every frame sees the
                127 before it (SamplerConfig.rolling)

The decoder renders the first and the last 128 keyframes and, for identity, each character's
first and last shot in which it is alone. The judge (`bench.judge`) then reads:

* place and LT (share of named characters it finds) on the first 128 and the last 128
  keyframes: a movie stays coherent when the last 128 keep >= 0.9 of the first 128;
* identity_kept_share: of the characters with two solo shots, the share whose last solo
  keyframe's judge features are closer (cosine) to their own first solo keyframe than to any
  other character's first solo keyframe.

Every mode draws from the same seeds (keyframe t from seed + t). Writes --out
(bench/results/long.json): the shipped mode's figures at the top level (`lt_first_128`,
`lt_last_128`, `place_first_128`, `place_last_128`, `identity_kept_share`, `keyframes`,
`seconds_per_keyframe`) and every mode's under `modes`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from bench.heldout import held_out_identities
from bench.judge import Judge, judge_frames, load_judge
from core.files import write_json_atomically
from core.pipeline import GenerationSettings, StoryboardPipeline, load_pipeline
from core.script.inputs import keyframe_inputs
from train.data.world.faces import render_face_photo
from train.data.world.movie import generate_movie, photo_path_by_name

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
END = 128  # keyframes judged at each end
MODES = ("reprefill", "rolling")
MOVIE_SEED = 4_242_001  # a movie no other bench renders


def make_movie(keyframes: int, seed: int, folder: Path):
    """The long movie (script, ground truth) and its cast photos written into `folder`."""
    movie = generate_movie(
        MOVIE_SEED + seed,
        held_out_identities(),
        num_shots=keyframes,
        min_cast=4,
        max_cast=5,
        style_named=True,
        title=f"A long toy-cinema movie ({keyframes} keyframes)",
        photo_path=photo_path_by_name,
    )
    (folder / "cast").mkdir(parents=True, exist_ok=True)
    photos: dict[str, list[Path]] = {}
    for identity in movie.cast:
        paths = []
        for k, relative in enumerate(movie.photos[identity.identity_id]):
            render_face_photo(identity, k, movie.seed).save(folder / relative)
            paths.append(folder / relative)
        photos[identity.name] = paths
    return movie, photos


def solo_shots(records: list[dict]) -> dict[str, tuple[int, int]]:
    """Character id -> (first, last) keyframe in which it is the only character, when it has two."""
    seen: dict[str, list[int]] = {}
    for t, record in enumerate(records):
        present = [c["identity"] for c in record.get("characters", [])]
        if len(present) == 1:
            seen.setdefault(present[0], []).append(t)
    return {who: (shots[0], shots[-1]) for who, shots in seen.items() if len(shots) >= 2}


def identity_kept_share(features: dict[int, np.ndarray], solos: dict[str, tuple[int, int]]) -> float | None:
    """Share of characters whose last solo keyframe is nearest (cosine) their own first one."""
    if len(solos) < 2:
        return None
    names = sorted(solos)
    first = np.stack([features[solos[n][0]] for n in names])
    first = first / np.linalg.norm(first, axis=1, keepdims=True).clip(1e-9)
    kept = 0
    for i, name in enumerate(names):
        last = features[solos[name][1]]
        similarity = first @ (last / max(np.linalg.norm(last), 1e-9))
        kept += int(similarity.argmax() == i)
    return kept / len(names)


def draw_tokens(
    pipeline: StoryboardPipeline, frames, sentences, faces, seed: int
) -> tuple[torch.Tensor, float]:
    """Every keyframe's tokens (T, L, d) drawn in story order, and the seconds it took."""
    settings = pipeline.defaults
    generators = {t: torch.Generator().manual_seed(seed + t) for t in range(len(frames))}
    tokens = []
    started = time.perf_counter()
    for _, drawn in pipeline.sampler.stream(
        frames,
        sentences,
        faces,
        targets=range(len(frames)),
        generators=generators,
        mixture_temperature=settings.mixture_temperature,
        scale_temperature=settings.scale_temperature,
    ):
        tokens.append(drawn)
    return torch.stack(tokens), time.perf_counter() - started


def run_mode(
    pipeline: StoryboardPipeline, movie, photos, chosen: list[int], seed: int, judge, solos, end: int = END
) -> dict:
    frames = keyframe_inputs(movie.script)
    sentences = pipeline.encode_sentences(frames)
    faces = pipeline.face_slots(frames, pipeline.encode_cast(photos))
    tokens, ar_seconds = draw_tokens(pipeline, frames, sentences, faces, seed)
    decoder_sentences = pipeline.encode_sentences([frames[t] for t in chosen], for_decoder=True)
    decoder_faces = pipeline.decoder_face_slots([frames[t] for t in chosen], photos)
    settings: GenerationSettings = pipeline.defaults
    images = []
    started = time.perf_counter()
    for start in range(0, len(chosen), pipeline.render_batch):
        part = slice(start, start + pipeline.render_batch)
        images += pipeline.render_many(
            tokens[chosen[part]],
            decoder_sentences[part],
            decoder_faces[part],
            seeds=[seed + t for t in chosen[part]],
            settings=settings,
        )
    render_seconds = time.perf_counter() - started
    scores = judge_frames(judge, images, [movie.ground_truth[t] for t in chosen])
    position = {t: i for i, t in enumerate(chosen)}
    total = len(frames)
    first = np.array([position[t] for t in range(min(end, total))])
    last = np.array([position[t] for t in range(max(0, total - end), total)])
    # judge_frames read every image already; only the solo shots' features are needed here
    solo = sorted({t for pair in solos.values() for t in pair})
    by_frame = (
        dict(zip(solo, judge.read([images[position[t]] for t in solo]).features, strict=True)) if solo else {}
    )

    def value(metric, index):
        got = scores.value(metric, index)
        return None if got is None else round(got, 4)

    ar_per_frame = ar_seconds / total
    render_per_frame = render_seconds / len(chosen)
    return {
        "lt_first_128": value("lt", first),
        "lt_last_128": value("lt", last),
        "place_first_128": value("place", first),
        "place_last_128": value("place", last),
        "identity_kept_share": identity_kept_share(by_frame, solos),
        "characters_with_two_solo_shots": len(solos),
        "keyframes": total,
        "rendered": len(chosen),
        "ar_seconds_per_keyframe": round(ar_per_frame, 4),
        "render_seconds_per_keyframe": round(render_per_frame, 4),
        "seconds_per_keyframe": round(ar_per_frame + render_per_frame, 4),
        "forward_positions": pipeline.sampler.forward_positions,
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.long", description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, default=ROOT / "assets" / "bundle", help="model bundle folder")
    parser.add_argument("--quick", action="store_true", help="a 512-keyframe movie")
    parser.add_argument("--keyframes", type=int, default=None, help="keyframes of the movie (default 1,024)")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--judge", type=Path, default=None, help="judge folder (default: shipped, cached or trained)"
    )
    parser.add_argument(
        "--end",
        type=int,
        default=END,
        help="keyframes judged at each end (the result keys say 128 whatever it is)",
    )
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "long.json")
    return parser


def main(argv: list[str] | None = None) -> dict:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(args.threads)
    keyframes = args.keyframes or (512 if args.quick else 1024)
    end = args.end
    if keyframes < 2 * end:
        raise SystemExit(f"error: the movie needs at least {2 * end} keyframes to judge two ends of {end}")
    pipeline = load_pipeline(args.bundle)
    shipped = pipeline.sampler.config
    judge = Judge.load(args.judge) if args.judge else load_judge(threads=args.threads)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-long-") as folder:
        movie, photos = make_movie(keyframes, args.seed, Path(folder))
        solos = solo_shots(movie.ground_truth)
        ends = set(range(end)) | set(range(keyframes - end, keyframes))
        chosen = sorted(ends | {t for pair in solos.values() for t in pair})
        modes = {}
        for mode in args.modes:
            pipeline.sampler.config = dataclasses.replace(shipped, rolling=mode == "rolling")
            logger.info("%s: drawing %d keyframes, rendering %d", mode, keyframes, len(chosen))
            modes[mode] = run_mode(pipeline, movie, photos, chosen, args.seed, judge, solos, end)
            logger.info("%s: %s", mode, modes[mode])
    pipeline.sampler.config = shipped
    shipped_mode = "rolling" if shipped.rolling else "reprefill"
    top = modes.get(shipped_mode) or next(iter(modes.values()))
    result = {
        **{k: top[k] for k in ("lt_first_128", "lt_last_128", "place_first_128", "place_last_128")},
        "identity_kept_share": top["identity_kept_share"],
        "keyframes": keyframes,
        "seconds_per_keyframe": top["seconds_per_keyframe"],
        "shipped_mode": shipped_mode,
        "modes": modes,
        "targets": {
            "lt last >= 0.9 x first": _ratio_holds(top["lt_last_128"], top["lt_first_128"]),
            "place last >= 0.9 x first": _ratio_holds(top["place_last_128"], top["place_first_128"]),
        },
        "judge": {"ground_truth_heldout": judge.heldout},
        "setup": {
            "command": "python -m bench.long " + " ".join(argv if argv is not None else sys.argv[1:]),
            "bundle": pipeline.bundle_id,
            "sampler": dataclasses.asdict(shipped),
            "movie_seed": MOVIE_SEED + args.seed,
            "judged_at_each_end": end,
            "cast": [c.name for c in movie.cast],
            "torch_threads": args.threads,
            "machine": platform.machine(),
        },
        "total_seconds": round(time.perf_counter() - started, 1),
    }
    write_json_atomically(args.out, result)
    print(json.dumps({k: v for k, v in result.items() if k not in ("modes", "setup", "judge")}, indent=2))
    return result


def _ratio_holds(last: float | None, first: float | None) -> bool | None:
    if last is None or first is None:
        return None
    return last >= 0.9 * first


if __name__ == "__main__":
    main()
