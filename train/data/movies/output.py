"""Stage 6, output: `datasets` Parquet shards of keyframes, scripts and face banks, then the token cache.

Per video (the `export` stage) one row is written to `row.parquet`; a worker then joins its
videos' rows into its shard, and `merge` joins the shards:

    OUT/shards/movies-<i>-of-<n>.parquet     rows of worker i's finished videos (FEATURES below)
    OUT/shards/report-<i>-of-<n>.json        what happened to each of worker i's videos
    OUT/token_cache/shard-<i>-of-<n>/        worker i's stage-2 token cache (with --tokenizer)
    OUT/merged/movies.parquet                every shard's rows (after `merge`)
    OUT/merged/token_cache/                  one token cache over every shard (after `merge`)

Workers share nothing but the input list: worker i of n takes every n-th video (in video-id
order), so shards never overlap and can be computed on different machines.

The token cache is `train.common.token_cache`'s, computed exactly as `train.stage2_ar` computes it
for a toy-cinema dataset: keyframes through the frozen stage-1 tokenizer (and mirrored for
the flip augmentation), description sentences through the bundle's sentence encoder, and
each character's face bank through the bundle's face encoder (the bank crops play the part
of cast photos: stage 2 draws its face-embedding randomisation from them). Give the merged
folder to `python -m train.stage2_ar --data OUT/merged/token_cache`.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.files import atomic_output, write_json_atomically
from core.script import Script
from train.common.token_cache import CACHE_FORMAT, INDEX_FILE, TokenCache, build_token_cache
from train.data.movies.characters import Casting
from train.data.movies.keyframes import KeyframeSet
from train.data.movies.people import PeopleSet

logger = logging.getLogger(__name__)

ROW_FILE = "row.parquet"
MERGED_DIR = "merged"
MERGED_FILE = "movies.parquet"


def features():
    """The columns of a shard (datasets.Features)."""
    from datasets import Features, Image, List, Value

    return Features(
        {
            "video_id": Value("string"),
            "source": Value("string"),  # the video file
            "title": Value("string"),
            "fps": Value("float32"),
            "script": Value("string"),  # core.script canonical JSON, one shot per keyframe
            "keyframes": List(Image()),  # PNG, in script shot order
            "keyframe_frames": List(Value("int32")),  # video frame of each keyframe
            "keyframe_times": List(Value("float32")),  # seconds
            "cuts": List(Value("bool")),  # a cut precedes this keyframe
            # Per keyframe, JSON: [{"box", "face", "character"}] (keyframe pixels; character name or null).
            "people": Value("string"),
            "face_embedder": Value("string"),  # what made the face-bank embeddings
            "face_bank": List(
                {
                    "character": Value("string"),
                    "keyframe": Value("int32"),
                    "box": List(Value("float32")),  # face box, keyframe pixels
                    "file": Value("string"),  # the name the script's photos use
                    "image": Image(),
                    "embedding": List(Value("float32")),
                }
            ),
        }
    )


def shard_name(kind: str, worker: int, workers: int, suffix: str = "") -> str:
    return f"{kind}-{worker:05d}-of-{workers:05d}{suffix}"


def video_row(
    *,
    video_id: str,
    source: Path,
    script: Script,
    keyframes: KeyframeSet,
    keyframe_dir: Path,
    people: PeopleSet,
    people_dir: Path,
    casting: Casting,
    names: list[str],
    face_embedder: str,
) -> dict[str, Any]:
    """The shard row of one finished video."""
    annotated = [
        [
            {
                "box": person["box"],
                "face": person["face"],
                "character": (
                    names[casting.labels[person["face_index"]]]
                    if person["face_index"] is not None and casting.labels[person["face_index"]] >= 0
                    else None
                ),
            }
            for person in frame
        ]
        for frame in people.keyframes
    ]
    bank = []
    for k, character in enumerate(casting.characters):
        for f in character.bank:
            face = people.faces[f]
            bank.append(
                {
                    "character": names[k],
                    "keyframe": face["keyframe"],
                    "box": face["box"],
                    "file": f"people/{face['crop']}",
                    "image": {"bytes": (people_dir / face["crop"]).read_bytes(), "path": face["crop"]},
                    "embedding": people.embeddings[f].tolist(),
                }
            )
    return {
        "video_id": video_id,
        "source": str(source),
        "title": script.title,
        "fps": keyframes.fps,
        "script": script.model_dump_json(),
        "keyframes": [
            {"bytes": (keyframe_dir / k.file).read_bytes(), "path": k.file} for k in keyframes.keyframes
        ],
        "keyframe_frames": [k.frame for k in keyframes.keyframes],
        "keyframe_times": [k.time for k in keyframes.keyframes],
        "cuts": [k.cut for k in keyframes.keyframes],
        "people": json.dumps(annotated),
        "face_embedder": face_embedder,
        "face_bank": bank,
    }


def write_row(folder: Path, row: dict[str, Any]) -> None:
    from datasets import Dataset

    Dataset.from_list([row], features=features()).to_parquet(str(folder / ROW_FILE))


def _read_parquet(paths: Sequence[Path], cache: Path):
    from datasets import Dataset

    return Dataset.from_parquet(
        [str(p) for p in paths], features=features(), keep_in_memory=True, cache_dir=str(cache)
    )


def write_parquet(paths: Sequence[Path], target: Path, cache: Path) -> int:
    """Join the Parquet files `paths` into `target` (atomically); returns the number of rows."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if paths:
        dataset = _read_parquet(paths, cache)
        rows = dataset.num_rows
    else:
        from datasets import Dataset

        dataset = Dataset.from_list([], features=features())
        rows = 0
    with atomic_output(target) as tmp:
        dataset.to_parquet(str(tmp))
    return rows


@dataclass(frozen=True)
class WorkedMovie:
    """A finished video as `train.common.token_cache` reads a movie (its MovieSource protocol)."""

    movie_id: str
    script: Script
    frame_paths: list[Path]
    cast_photos: dict[str, list[Path]]
    ground_truth: list[dict]


def worked_movie(
    video_id: str, script: Script, keyframes: KeyframeSet, keyframe_dir: Path, people_dir: Path
) -> WorkedMovie:
    return WorkedMovie(
        movie_id=video_id,
        script=script,
        frame_paths=[keyframe_dir / k.file for k in keyframes.keyframes],
        # photos are "people/crops/NNNNNN.png"; the face bank is the character's cast photos
        cast_photos={
            c.name: [people_dir / Path(p).relative_to("people") for p in c.photos] for c in script.cast
        },
        # The bank already holds the keyframe faces, so no ground-truth boxes are cut again.
        ground_truth=[],
    )


@dataclass(frozen=True)
class TokenCacheConfig:
    tokenizer: str  # stage-1 keyframe tokenizer folder (BUNDLE/tokenizer)
    face_embedder: str = "clip"  # the bundle's face embedder: "clip" (the tokenizer's CLIP) or "insightface"
    insightface_root: str | None = None


def build_shard_token_cache(root: Path, movies: list[WorkedMovie], config: TokenCacheConfig) -> TokenCache:
    """Encode the shard's movies with the frozen tokenizer and the bundle's sentence and face encoders."""
    from core.encoders.descriptions import MiniLMDescriptionEncoder
    from core.encoders.faces import make_face_encoder
    from core.tokenizer.keyframe_tokenizer import KeyframeTokenizer

    tokenizer = KeyframeTokenizer.from_pretrained(config.tokenizer)
    sentences = MiniLMDescriptionEncoder()
    faces = make_face_encoder(
        config.face_embedder, clip=tokenizer.clip, insightface_root=config.insightface_root
    )
    # The same fingerprint train.stage2_ar writes, so its --data accepts this cache.
    fingerprint = {
        "tokenizer": str(Path(config.tokenizer).resolve()),
        "sentence_encoder": f"minilm:{sentences.folder}",
        "face_embedder": config.face_embedder,
    }
    return build_token_cache(
        root,
        movies,
        encode_keyframes=tokenizer.encode,
        encode_sentences=sentences.encode,
        encode_faces=faces.embed_crops,
        fingerprint=fingerprint,
        split="train",
        frame_face_crops=False,
    )


def merge_token_caches(sources: Sequence[Path], target: Path) -> TokenCache:
    """One token cache from the shards' caches (same encoders required); files are hard-linked when possible."""
    if target.exists():
        shutil.rmtree(target)
    tmp = target.with_name(f".{target.name}.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    merged: dict[str, Any] | None = None
    for source in sources:
        index = json.loads((source / INDEX_FILE).read_text())
        if index.get("format") != CACHE_FORMAT:
            raise ValueError(
                f"The token cache {source} has format {index.get('format')}; rebuild it with this code."
            )
        if merged is None:
            merged = {"format": CACHE_FORMAT, "fingerprint": index["fingerprint"], "movies": {}, "frames": {}}
        elif index["fingerprint"] != merged["fingerprint"]:
            raise ValueError(
                f"The token cache {source} was built with other encoders ({index['fingerprint']}) than the first "
                f"shard's ({merged['fingerprint']}); run every worker with the same --tokenizer and encoders."
            )
        for split, movie_ids in index["movies"].items():
            for movie_id in movie_ids:
                if movie_id in merged["frames"]:
                    raise ValueError(
                        f"The video {movie_id} is in two shards' token caches; each video belongs to one worker."
                    )
                name = f"{movie_id}.safetensors"
                try:
                    os.link(source / name, tmp / name)
                except OSError:
                    shutil.copy2(source / name, tmp / name)
                merged["movies"].setdefault(split, []).append(movie_id)
                merged["frames"][movie_id] = index["frames"][movie_id]
    if merged is None:
        raise ValueError("There are no token caches to merge; run the workers with --tokenizer first.")
    write_json_atomically(tmp / INDEX_FILE, merged)
    os.replace(tmp, target)
    return TokenCache(target)
