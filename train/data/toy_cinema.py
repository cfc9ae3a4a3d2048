"""Export the toy-cinema world as a dataset, or regenerate the sample projects.

    python -m train.data.toy_cinema export --out DATASET --movies 200 --seed 0 \\
        [--test-fraction 0.2] [--identities 60] [--min-shots 40 --max-shots 400] \\
        [--split train|test] [--clips [--clip-frames 12 --clip-every 4]] [--workers 2]
    python -m train.data.toy_cinema samples --out assets/samples

The dataset layout (read back by `train.data.dataset.ToyCinemaDataset`):

    DATASET/manifest.json      {"seed", "width", "height", "movies": {"train", "test"}, "identities": {"train", "test"}}
    DATASET/identities.json    {identity_id: {"name", "attributes", "description", "split"}}
    DATASET/<split>/<movie_id>/script.json          core.script Script; photos relative to the movie folder
    DATASET/<split>/<movie_id>/frames/000000.png     one 224x128 keyframe per shot, in Script.shots() order
    DATASET/<split>/<movie_id>/cast/<identity>_<k>.png  128x128 face photos
    DATASET/<split>/<movie_id>/ground_truth.jsonl   one record per keyframe
    DATASET/<split>/<movie_id>/clips/000000.npz     with --clips: "frames" uint8 (T, 128, 224, 3) from keyframe i

Splits go by movie and by identity: test movies cast only held-out identities, which never
appear in a training movie. Whether movie index i is held out depends only on (seed, i,
test fraction), never on --movies: movie i is the same movie in the same split in an
80-movie and a 200-movie export (`movie_split`). `--split test` writes the test movies alone
(what the benches need), `--split train` the training movies alone. Each movie is written to a temporary folder and renamed into
place when complete, and manifest.json is written last, so an interrupted export never
looks like a finished one.
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from core.files import write_json_atomically
from train.data.world import (
    FRAME_HEIGHT,
    FRAME_WIDTH,
    Identity,
    generate_movie,
    make_identity_pool,
    photo_path_by_name,
    render_clip,
    render_face_photo,
    render_keyframe,
    split_identities,
)
from train.data.world.movie import movie_length

logger = logging.getLogger(__name__)

# zlib level 1: about 3x faster than the default 6 on these flat cartoon frames, for files
# only ~10% larger.
PNG_COMPRESS_LEVEL = 1
# name -> (shots, cast size range, grade): a small colourful project and a long one.
SAMPLE_PROJECTS = {"short": (12, (2, 3), "natural"), "long": (120, (4, 5), "warm-film")}


@dataclass(frozen=True)
class _MovieJob:
    movie_id: str
    split: str
    seed: int
    identities: tuple[Identity, ...]
    min_shots: int
    max_shots: int
    out: str
    clips: bool
    clip_frames: int
    clip_every: int


def movie_split(index: int, test_fraction: float) -> str:
    """The split of movie `index`: test movies are spread evenly, one in every 1/fraction.

    A pure function of the index and the fraction, so the held-out set of a bigger export
    starts with that of a smaller one (movie 4 is held out in every export at 0.2).
    """
    return "test" if int((index + 1) * test_fraction) > int(index * test_fraction) else "train"


def movie_seed(seed: int, index: int) -> int:
    """A well-mixed per-movie seed, stable across Python and numpy versions."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1, dtype=np.uint32)[0])


def _export_movie(job: _MovieJob) -> tuple[str, str, int, int]:
    """Render and write one movie; returns (movie id, split, keyframes, clips)."""
    movie = generate_movie(job.seed, list(job.identities), min_shots=job.min_shots, max_shots=job.max_shots)
    final = Path(job.out) / job.split / job.movie_id
    tmp = final.with_name(f".{job.movie_id}.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    (tmp / "frames").mkdir(parents=True)
    (tmp / "cast").mkdir()
    for i, spec in enumerate(movie.frames):
        image, _boxes = render_keyframe(spec)
        image.save(tmp / "frames" / f"{i:06d}.png", compress_level=PNG_COMPRESS_LEVEL)
    for identity in movie.cast:
        for k, relative in enumerate(movie.photos[identity.identity_id]):
            render_face_photo(identity, k, job.seed).save(tmp / relative, compress_level=PNG_COMPRESS_LEVEL)
    with open(tmp / "ground_truth.jsonl", "w", encoding="utf-8") as handle:
        for record in movie.ground_truth:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    clips = 0
    if job.clips:
        (tmp / "clips").mkdir()
        for i in range(0, movie.num_frames, job.clip_every):
            motion = movie.shot_motion(i)
            frames = render_clip(movie.frames[i], motion, job.clip_frames, seed=job.seed + i)
            np.savez_compressed(
                tmp / "clips" / f"{i:06d}.npz", frames=frames, keyframe=np.int64(i), motion=np.str_(motion)
            )
            clips += 1
    (tmp / "script.json").write_text(movie.script.model_dump_json(indent=2) + "\n", encoding="utf-8")
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    return job.movie_id, job.split, movie.num_frames, clips


def _check_out(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise SystemExit(f"error: --out {out} is a file; give a folder for the dataset")
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise SystemExit(
                f"error: the folder {out} is not empty; choose a new --out or pass --overwrite to replace "
                "the dataset in it"
            )
        if not (out / "manifest.json").exists() and not (out / "train").exists():
            raise SystemExit(
                f"error: {out} is not empty and holds no toy-cinema dataset; refusing to overwrite it, "
                "choose another --out"
            )
        for name in ("train", "test"):
            if (out / name).exists():
                shutil.rmtree(out / name)
        for name in ("manifest.json", "identities.json"):
            (out / name).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)


def export(args: argparse.Namespace) -> dict:
    """Write the dataset; returns the summary that the CLI prints."""
    if args.movies < 1:
        raise SystemExit(f"error: --movies is {args.movies}; export at least 1 movie")
    if not 0.0 <= args.test_fraction < 1.0:
        raise SystemExit(f"error: --test-fraction is {args.test_fraction:g}; use a value in [0, 1), e.g. 0.2")
    if not 1 <= args.min_shots <= args.max_shots:
        raise SystemExit(
            f"error: the shot range {args.min_shots}-{args.max_shots} is empty; use 1 <= --min-shots <= --max-shots"
        )
    if args.clip_frames < 2 or args.clip_every < 1:
        raise SystemExit("error: --clip-frames must be at least 2 and --clip-every at least 1")
    out = Path(args.out)
    _check_out(out, args.overwrite)

    pool = make_identity_pool(args.seed, args.identities)
    train_ids, test_ids = split_identities(pool, args.test_fraction, args.seed)
    splits = [movie_split(index, args.test_fraction) for index in range(args.movies)]
    if args.test_fraction > 0 and args.movies >= 2 and "test" not in splits:
        # An export smaller than 1/fraction movies still gets one held-out movie (its last);
        # from 1/fraction movies on, the split of every index is fixed.
        splits[-1] = "test"
    if "test" in splits and not test_ids:
        raise SystemExit(
            f"error: {args.identities} identities leave none held out for the test movies; use more --identities"
        )
    wanted = getattr(args, "split", None)
    if wanted and wanted not in splits:
        raise SystemExit(
            f"error: the first {args.movies} movies hold no {wanted} movie at test fraction "
            f"{args.test_fraction:g}; export more --movies"
        )
    jobs = []
    for index, split in enumerate(splits):
        if wanted and split != wanted:
            continue
        jobs.append(
            _MovieJob(
                movie_id=f"movie{index:04d}",
                split=split,
                seed=movie_seed(args.seed, index),
                identities=tuple(train_ids if split == "train" else test_ids),
                min_shots=args.min_shots,
                max_shots=args.max_shots,
                out=str(out),
                clips=args.clips,
                clip_frames=args.clip_frames,
                clip_every=args.clip_every,
            )
        )
    for split in ("train", "test"):
        (out / split).mkdir(exist_ok=True)

    start = time.perf_counter()
    frames = clips = 0
    workers = max(1, min(args.workers, len(jobs)))
    # Longest movies first, so no worker is left rendering a 400-shot movie alone at the end.
    order = sorted(jobs, key=lambda j: -movie_length(j.seed, j.min_shots, j.max_shots))
    with tqdm(total=len(jobs), unit="movie", desc="toy cinema") as bar:
        if workers == 1:
            results = map(_export_movie, order)
            for _movie_id, _split, n_frames, n_clips in results:
                frames, clips = frames + n_frames, clips + n_clips
                bar.set_postfix(keyframes=frames)
                bar.update()
        else:
            # spawn, not fork: a caller may already hold torch's thread pools, which fork breaks.
            with multiprocessing.get_context("spawn").Pool(workers) as pool_:
                for _movie_id, _split, n_frames, n_clips in pool_.imap_unordered(_export_movie, order):
                    frames, clips = frames + n_frames, clips + n_clips
                    bar.set_postfix(keyframes=frames)
                    bar.update()
    seconds = time.perf_counter() - start

    identities = {i.identity_id: i.to_json("train") for i in train_ids}
    identities.update({i.identity_id: i.to_json("test") for i in test_ids})
    write_json_atomically(out / "identities.json", dict(sorted(identities.items())))
    manifest = {
        "seed": args.seed,
        "width": FRAME_WIDTH,
        "height": FRAME_HEIGHT,
        "movies": {split: [j.movie_id for j in jobs if j.split == split] for split in ("train", "test")},
        "test_fraction": args.test_fraction,
        "only_split": wanted or None,
        "identities": {
            "train": [i.identity_id for i in train_ids],
            "test": [i.identity_id for i in test_ids],
        },
    }
    write_json_atomically(out / "manifest.json", manifest)
    return {
        "out": str(out),
        "movies": len(jobs),
        "keyframes": frames,
        "clips": clips,
        "seconds": round(seconds, 2),
        "keyframes_per_second": round(frames / seconds, 1) if seconds > 0 else None,
        "workers": workers,
    }


def held_out_identities(seed: int, identities: int, test_fraction: float) -> list[Identity]:
    """The held-out identities of the dataset exported with the same seed and pool settings."""
    pool = make_identity_pool(seed, identities)
    return split_identities(pool, test_fraction, seed)[1]


def write_samples(out: Path, seed: int, identities: int, test_fraction: float, command: str) -> dict:
    """Write the short and long sample projects (held-out identities only)."""
    held_out = held_out_identities(seed, identities, test_fraction)
    if len(held_out) < 2:
        raise SystemExit(
            "error: the sample projects need at least 2 held-out identities; use more --identities"
        )
    summary = {}
    for offset, (name, (shots, (min_cast, max_cast), style)) in enumerate(SAMPLE_PROJECTS.items()):
        project = out / name
        project_seed = movie_seed(seed, 1_000_000 + offset)
        movie = generate_movie(
            project_seed,
            held_out,
            num_shots=shots,
            min_cast=min_cast,
            max_cast=max_cast,
            style=style,
            style_named=True,
            title=f"Toy Cinema Sample ({name}, {shots} shots)",
            photo_path=photo_path_by_name,
        )
        if project.exists():
            for stale in ("script.json", "README.md"):
                (project / stale).unlink(missing_ok=True)
            if (project / "cast").exists():
                shutil.rmtree(project / "cast")
        (project / "cast").mkdir(parents=True)
        for identity in movie.cast:
            for k, relative in enumerate(movie.photos[identity.identity_id]):
                render_face_photo(identity, k, project_seed).save(project / relative, optimize=True)
        (project / "script.json").write_text(movie.script.model_dump_json(indent=2) + "\n", encoding="utf-8")
        cast = ", ".join(i.name for i in movie.cast)
        (project / "README.md").write_text(
            f"# {movie.script.title}\n\n"
            f"Generated from the toy-cinema world with `{command}`.\n"
            f"The cast ({cast}) are held-out identities of the dataset exported with the same seed "
            f"({seed}), pool size ({identities}) and test fraction ({test_fraction:g}), so no model trained on that "
            "dataset has seen them.\n",
            encoding="utf-8",
        )
        summary[name] = {
            "shots": movie.num_frames,
            "cast": [i.name for i in movie.cast],
            "title": movie.script.title,
        }
    return summary


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m train.data.toy_cinema", description=__doc__.split("\n\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)

    ex = commands.add_parser(
        "export", help="write a toy-cinema dataset (train/test by movie and by identity)"
    )
    ex.add_argument("--out", required=True, help="dataset folder to create")
    ex.add_argument("--movies", type=int, default=200, help="number of movies (default 200)")
    ex.add_argument("--seed", type=int, default=0, help="world seed; the same seed gives the same dataset")
    ex.add_argument(
        "--test-fraction", type=float, default=0.2, help="share of identities and movies held out"
    )
    ex.add_argument("--identities", type=int, default=60, help="size of the identity pool (default 60)")
    ex.add_argument("--min-shots", type=int, default=40, help="fewest keyframes per movie (default 40)")
    ex.add_argument("--max-shots", type=int, default=400, help="most keyframes per movie (default 400)")
    ex.add_argument("--clips", action="store_true", help="also write motion clips for the video stage")
    ex.add_argument("--clip-frames", type=int, default=12, help="frames per clip (default 12)")
    ex.add_argument(
        "--clip-every", type=int, default=4, help="write a clip for every N-th keyframe (default 4)"
    )
    ex.add_argument(
        "--workers", type=int, default=min(2, os.cpu_count() or 1), help="processes (default: up to 2)"
    )
    ex.add_argument("--overwrite", action="store_true", help="replace a dataset already in --out")
    ex.add_argument(
        "--split",
        choices=("train", "test"),
        default=None,
        help="write only this split's movies (e.g. test: the held-out movies the benches need)",
    )

    sa = commands.add_parser("samples", help="regenerate the sample projects (held-out cast)")
    sa.add_argument("--out", default="assets/samples", help="folder for the short/ and long/ projects")
    sa.add_argument(
        "--seed", type=int, default=0, help="world seed of the dataset whose held-out cast to use"
    )
    sa.add_argument("--identities", type=int, default=60, help="pool size of that dataset (default 60)")
    sa.add_argument(
        "--test-fraction", type=float, default=0.2, help="test fraction of that dataset (default 0.2)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = _parser().parse_args(argv)
    if args.command == "export":
        summary = export(args)
    else:
        command = "python -m train.data.toy_cinema samples --out " + args.out
        if (args.seed, args.identities, args.test_fraction) != (0, 60, 0.2):
            command += (
                f" --seed {args.seed} --identities {args.identities} --test-fraction {args.test_fraction:g}"
            )
        summary = write_samples(Path(args.out), args.seed, args.identities, args.test_fraction, command)
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
