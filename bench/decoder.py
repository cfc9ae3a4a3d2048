"""Keyframe tokenizer + ID-preserving decoder: reconstruction quality, identity and speed.

    python -m bench.decoder [--quick] [--bundle assets/bundle] [--data DATASET] [--threads 2]

Held-out keyframes (held-out movies cast with held-out identities: rendered on demand and
cached by `bench.heldout`, or the `test` split of an exported dataset given with --data) are tokenized by the bundle's tokenizer and decoded back by its decoder in two
modes, with the same noise seed per frame so only the conditioning differs:

* `tokens`  visual tokens only (descriptions and faces absent);
* `id`      tokens + the frame's description sentences (exactly as
            `core.script.inputs.keyframe_inputs` builds them) + the cast-photo face
            embeddings of the characters in the shot (paper 3.4, App. C).

Both go through `StoryboardPipeline.render` and its sentence / cast encoders, the path the
studio uses. Writes bench/results/decoder.json with

  seconds_per_keyframe              median wall seconds of one `id` decode (the storyboard's
                                    render: the bundle's default guidance or --guidance, default size) after a
                                    warm-up, at --steps (default: the bundle's) steps on --threads threads;
  seconds_per_keyframe_no_guidance  the same with guidance off (one UNet pass per step);
  seconds_per_keyframe_in_batches   median wall seconds per keyframe when `render_batch` keyframes
                                    are rendered together, as the storyboard renders them;
  clip_cosine_tokens / _id          mean CLIP image cosine, input vs reconstruction, with the
                                    bundle tokenizer's CLIP tower;
  face_similarity_tokens / _id      mean cosine between the bundle face encoder's embeddings
                                    of the same ground-truth face box cut from the input and
                                    from the reconstruction (boxes of >= --min-face pixels);
  targets_met                       seconds_per_keyframe <= 1.0, face_similarity_id >
                                    face_similarity_tokens;

and a side-by-side PNG (input | tokens only | tokens + text + faces) next to the JSON.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

logger = logging.getLogger("bench.decoder")

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "decoder.json"
SHEET_NAME = "decoder_side_by_side.png"
EXPORT_COMMAND = "python -m train.data.toy_cinema export --out {out} --movies 200 --seed 0"
TARGET_SECONDS_PER_KEYFRAME = 1.0  # issue 20: at the bundle's default steps and guidance
# The smallest face box stage 0 trains the face tower on (train.common.toy_samples min_face):
# smaller boxes are a few pixels of skin and hair that no embedding can judge.
MIN_FACE = 24


@dataclass(frozen=True)
class HeldOutFrame:
    """One held-out keyframe with everything both decoding modes need."""

    movie_id: str
    frame_index: int
    image: Image.Image
    sentences: torch.Tensor  # (S, e)
    faces: torch.Tensor  # (C, f)
    face_boxes: tuple[tuple[int, int, int, int], ...]  # ground truth, >= min_face pixels


def cosine(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Row-wise cosine similarity of (B, E) and (B, E) -> (B,)."""
    return torch.nn.functional.cosine_similarity(a.float(), b.float(), dim=-1)


def _big_faces(row: dict, min_face: int) -> tuple[tuple[int, int, int, int], ...]:
    boxes = []
    for character in row.get("characters", []):
        x0, y0, x1, y1 = (int(v) for v in character["face_box"])
        if min(x1 - x0, y1 - y0) >= min_face:
            boxes.append((x0, y0, x1, y1))
    return tuple(boxes)


def select_frames(movies, count: int, min_face: int, seed: int) -> list[tuple[object, int]]:
    """`count` (movie, frame index) pairs spread over the held-out movies.

    Frames showing a face of at least `min_face` pixels come first (they feed both metrics),
    taken round-robin over the movies at random positions; other frames fill up if needed.
    """
    rng = np.random.default_rng(seed)
    with_face, without = [], []
    for movie in movies:
        order = rng.permutation(len(movie.ground_truth))
        with_face.append([(movie, int(i)) for i in order if _big_faces(movie.ground_truth[i], min_face)])
        without.append([(movie, int(i)) for i in order if not _big_faces(movie.ground_truth[i], min_face)])
    chosen = []
    for queues in (with_face, without):
        while len(chosen) < count and any(queues):
            for queue in queues:
                if queue and len(chosen) < count:
                    chosen.append(queue.pop(0))
    return chosen


def open_test_movies(data: Path | None, count: int = 8):
    """The held-out movies (rendered on demand, or from --data), or SystemExit saying what is wrong."""
    from bench.heldout import held_out_movies
    from train.data.dataset import DatasetError

    try:
        movies = held_out_movies(count, data)
    except DatasetError as error:
        raise SystemExit(
            f"error: {error}. Leave out --data to let the benchmark render the held-out movies itself, or "
            f"export them with `{EXPORT_COMMAND.format(out='DIR')} --split test`."
        ) from None
    if not movies:
        raise SystemExit(
            f"error: the dataset {data} has no held-out (test) movies; export it with a test fraction "
            f"above 0, e.g. `{EXPORT_COMMAND.format(out=data)} --test-fraction 0.2`."
        )
    return movies


def load_storyboard(bundle: Path):
    """The storyboard pipeline of a bundle, or SystemExit saying what is missing."""
    from core.pipeline import BundleError, load_pipeline

    try:
        return load_pipeline(bundle)
    except BundleError as error:
        raise SystemExit(
            f"error: {error} The benchmark needs a trained model bundle; pass --bundle DIR."
        ) from None


def prepare_frames(storyboard, movies, count: int, min_face: int, seed: int) -> list[HeldOutFrame]:
    """Load the chosen keyframes and encode their sentences and cast faces through the bundle."""
    from core.script.inputs import keyframe_inputs

    frames = []
    cast_cache: dict[str, dict[str, torch.Tensor]] = {}
    for movie, t in select_frames(movies, count, min_face, seed):
        inputs = keyframe_inputs(movie.script)[t]
        if movie.movie_id not in cast_cache:
            cast_cache[movie.movie_id] = storyboard.encode_cast(movie.cast_photos, for_decoder=True)
        sentences = storyboard.encode_sentences([inputs], for_decoder=True)[0]  # (S, e)
        faces = storyboard.face_slots([inputs], cast_cache[movie.movie_id], for_decoder=True)[0]  # (C, f)
        frames.append(
            HeldOutFrame(
                movie_id=movie.movie_id,
                frame_index=t,
                image=movie.load_frame(t),
                sentences=sentences,
                faces=faces,
                face_boxes=_big_faces(movie.ground_truth[t], min_face),
            )
        )
    return frames


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def to_input_size(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """The reconstruction at the input's (W, H), so ground-truth boxes address the same pixels."""
    return image if image.size == size else image.resize(size, Image.Resampling.BICUBIC)


@torch.no_grad()
def clip_cosines(clip, inputs: list[Image.Image], outputs: list[Image.Image]) -> list[float]:
    a = clip.embed_images(clip.to_pixels(inputs))
    b = clip.embed_images(clip.to_pixels(outputs))
    return cosine(a, b).tolist()


@torch.no_grad()
def face_similarities(faces, frames: list[HeldOutFrame], outputs: list[Image.Image]) -> list[float]:
    """Cosine of the face embeddings of each ground-truth box, input crop vs reconstruction crop."""
    truth, made = [], []
    for frame, output in zip(frames, outputs, strict=True):
        for box in frame.face_boxes:
            truth.append(frame.image.crop(box))
            made.append(output.crop(box))
    if not truth:
        return []
    return cosine(faces.embed_crops(truth), faces.embed_crops(made)).tolist()


def side_by_side(frames: list[HeldOutFrame], tokens_only, with_id, rows: int) -> Image.Image:
    """A sheet: one row per frame, columns input | tokens only | tokens + text + faces."""
    labels = ("input", "tokens only", "tokens + text + faces")
    width, height = frames[0].image.size
    header, gap = 14, 2
    count = min(rows, len(frames))
    sheet = Image.new("RGB", (3 * width + 2 * gap, header + count * (height + gap) - gap), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for c, label in enumerate(labels):
        draw.text((c * (width + gap) + 3, 1), label, fill=(0, 0, 0))
    for r in range(count):
        y = header + r * (height + gap)
        for c, image in enumerate((frames[r].image, tokens_only[r], with_id[r])):
            sheet.paste(image, (c * (width + gap), y))
    return sheet


def _mean(values: list[float]) -> float | None:
    return round(statistics.fmean(values), 4) if values else None


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.decoder", description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, default=ROOT / "assets" / "bundle", help="model bundle")
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        help="exported toy-cinema dataset (default: render the held-out movies)",
    )
    parser.add_argument("--quick", action="store_true", help="fewer frames (under 10 minutes on 2 cores)")
    parser.add_argument("--frames", type=int, default=None, help="held-out frames (default 96, quick 24)")
    parser.add_argument(
        "--steps", type=int, default=None, help="diffusion steps per keyframe (default: the bundle's)"
    )
    parser.add_argument(
        "--guidance", type=float, default=None, help="classifier-free guidance (default: the bundle's)"
    )
    parser.add_argument(
        "--face-guidance", type=float, default=None, help="identity guidance (default: the bundle's; 1 = off)"
    )
    parser.add_argument("--min-face", type=int, default=MIN_FACE, help="smallest face box side scored")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--seed", type=int, default=0, help="frame choice and diffusion noise")
    parser.add_argument("--out", type=Path, default=RESULTS, help="result JSON")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    count = args.frames if args.frames is not None else (24 if args.quick else 96)
    if count < 1 or (args.steps is not None and args.steps < 1):
        raise SystemExit("error: --frames and --steps must be at least 1.")
    torch.set_num_threads(args.threads)

    movies = open_test_movies(args.data, min(8, count))  # frames spread over up to 8 movies
    storyboard = load_storyboard(args.bundle)
    bundle = storyboard.bundle
    settings = storyboard.defaults
    if args.steps is not None:
        settings = replace(settings, num_inference_steps=args.steps)
    if args.guidance is not None:
        settings = replace(settings, guidance_scale=args.guidance)
    if args.face_guidance is not None:
        settings = replace(settings, face_guidance_scale=args.face_guidance)
    no_guidance = replace(settings, guidance_scale=1.0, face_guidance_scale=1.0)
    frames = prepare_frames(storyboard, movies, count, args.min_face, args.seed)
    logger.info("Decoding %d held-out frames from %d test movies", len(frames), len(movies))

    tokens, tokenize_seconds = timed(bundle.tokenizer.encode, [f.image for f in frames])  # (B, L, d)
    absent_sentences = torch.zeros_like(frames[0].sentences)
    absent_faces = torch.zeros_like(frames[0].faces)
    # Warm-up: allocator, kernels, scheduler tables; not timed.
    storyboard.render(tokens[0], frames[0].sentences, frames[0].faces, seed=args.seed, settings=settings)

    tokens_only, with_id, id_seconds, tokens_seconds = [], [], [], []
    for i, frame in enumerate(frames):
        seed = args.seed + i
        image, seconds = timed(
            storyboard.render, tokens[i], absent_sentences, absent_faces, seed=seed, settings=settings
        )
        tokens_only.append(to_input_size(image, frame.image.size))
        tokens_seconds.append(seconds)
        image, seconds = timed(
            storyboard.render, tokens[i], frame.sentences, frame.faces, seed=seed, settings=settings
        )
        with_id.append(to_input_size(image, frame.image.size))
        id_seconds.append(seconds)
    unguided_seconds = [
        timed(storyboard.render, tokens[i], f.sentences, f.faces, seed=args.seed + i, settings=no_guidance)[1]
        for i, f in enumerate(frames[: min(len(frames), 4 if args.quick else 8)])
    ]
    # As the storyboard renders: `render_batch` keyframes at a time (StoryboardPipeline.render_many).
    batch = storyboard.render_batch
    batched_seconds = []
    for start in range(0, len(frames), batch):
        part = frames[start : start + batch]
        seconds = timed(
            storyboard.render_many,
            tokens[start : start + batch],
            torch.stack([f.sentences for f in part]),
            torch.stack([f.faces for f in part]),
            seeds=[args.seed + start + k for k in range(len(part))],
            settings=settings,
        )[1]
        batched_seconds.append(seconds / len(part))

    clip = bundle.tokenizer.clip
    inputs = [f.image for f in frames]
    clip_tokens = clip_cosines(clip, inputs, tokens_only)
    clip_id = clip_cosines(clip, inputs, with_id)
    face_tokens = face_similarities(bundle.faces, frames, tokens_only)
    face_id = face_similarities(bundle.faces, frames, with_id)

    seconds_per_keyframe = statistics.median(id_seconds)
    decoded_height, decoded_width = bundle.decoder.image_size
    result = {
        "seconds_per_keyframe": round(seconds_per_keyframe, 4),
        "seconds_per_keyframe_no_guidance": round(statistics.median(unguided_seconds), 4),
        "seconds_per_keyframe_in_batches": round(statistics.median(batched_seconds), 4),
        "render_batch": batch,
        "seconds_per_keyframe_tokens_only": round(statistics.median(tokens_seconds), 4),
        "seconds_tokenize_per_keyframe": round(tokenize_seconds / len(frames), 4),
        "clip_cosine_tokens": _mean(clip_tokens),
        "clip_cosine_id": _mean(clip_id),
        "face_similarity_tokens": _mean(face_tokens),
        "face_similarity_id": _mean(face_id),
        "frames": len(frames),
        "faces": len(face_id),
        "test_movies": len({f.movie_id for f in frames}),
        "timed_frames": len(id_seconds),
        "timed_frames_no_guidance": len(unguided_seconds),
        "num_inference_steps": settings.num_inference_steps,
        "guidance_scale": settings.guidance_scale,
        "face_guidance_scale": settings.face_guidance_scale,
        "decoded_size": [decoded_width, decoded_height],
        "input_size": list(frames[0].image.size),
        "min_face": args.min_face,
        "targets_met": {
            "seconds_per_keyframe<=1.0": seconds_per_keyframe <= TARGET_SECONDS_PER_KEYFRAME,
            "face_similarity_id>face_similarity_tokens": bool(face_id)
            and _mean(face_id) > _mean(face_tokens),
        },
        "bundle": {
            "name": bundle.manifest.name,
            "folder": str(args.bundle),
            "description": bundle.manifest.description,
        },
        "data": str(args.data) if args.data else "held-out movies rendered by bench.heldout",
        "quick": args.quick,
        "torch_threads": torch.get_num_threads(),
        "load_average_at_end": round(os.getloadavg()[0], 2),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
    }
    if not face_id:
        result["face_note"] = (
            f"no ground-truth face box of at least {args.min_face} pixels in the chosen frames"
        )

    args.out.parent.mkdir(parents=True, exist_ok=True)
    sheet = args.out.parent / SHEET_NAME
    side_by_side(frames, tokens_only, with_id, rows=6).save(sheet)
    result["side_by_side"] = str(sheet)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
