"""Benchmark of the toy-cinema world: render speed, export time and a labelled contact sheet.

    python -m bench.world [--quick]

Writes bench/results/world.json (key `frames_per_second`: keyframes rendered per second
on one core, full pipeline from frame spec to graded image, backdrop drawing included
because a fresh process starts with empty caches) and bench/results/world_contact_sheet.png
(characters x shot sizes, places x times of day, weather, camera angles, styles, actions,
cast photos), then prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image, ImageDraw, ImageFont

from train.data import toy_cinema
from train.data.world import (
    ACTIONS,
    CAMERA_ANGLES,
    EXPRESSIONS,
    PLACES,
    SHOT_SIZES,
    STYLES,
    TIMES_OF_DAY,
    WEATHERS,
    CharacterSpec,
    FrameSpec,
    generate_movie,
    make_identity_pool,
    render_clip,
    render_face_photo,
    render_keyframe,
    split_identities,
)
from train.data.world.movie import PLACE_VARIANTS

RESULTS = Path(__file__).resolve().parent / "results"
_GAP = 4
_LABEL_W = 112
_CELL = (224, 128)


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow built without FreeType only has the fixed bitmap font
        return ImageFont.load_default()


class _Sheet:
    """Stacks labelled grids of images vertically into one contact sheet."""

    def __init__(self, columns: int):
        self.width = _LABEL_W + columns * (_CELL[0] + _GAP)
        self.blocks: list[Image.Image] = []
        self.title_font, self.label_font = _font(16), _font(12)

    def grid(self, title: str, column_labels: list[str], rows: list[tuple[str, list[Image.Image]]]) -> None:
        cell_w = max(im.width for _, ims in rows for im in ims)
        cell_h = max(im.height for _, ims in rows for im in ims)
        header = 24 + (16 if column_labels else 0)
        height = header + len(rows) * (cell_h + _GAP) + 6
        block = Image.new("RGB", (self.width, height), (24, 24, 28))
        draw = ImageDraw.Draw(block)
        draw.text((8, 4), title, fill=(255, 255, 255), font=self.title_font)
        for c, label in enumerate(column_labels):
            draw.text(
                (_LABEL_W + c * (cell_w + _GAP) + 4, 24), label, fill=(200, 200, 210), font=self.label_font
            )
        for r, (label, images) in enumerate(rows):
            y = header + r * (cell_h + _GAP)
            draw.text((8, y + cell_h // 2 - 7), label, fill=(200, 200, 210), font=self.label_font)
            for c, image in enumerate(images):
                block.paste(image, (_LABEL_W + c * (cell_w + _GAP), y))
        self.blocks.append(block)

    def image(self) -> Image.Image:
        sheet = Image.new("RGB", (self.width, sum(b.height for b in self.blocks)), (24, 24, 28))
        y = 0
        for block in self.blocks:
            sheet.paste(block, (0, y))
            y += block.height
        return sheet


def contact_sheet(seed: int = 0) -> Image.Image:
    """The labelled overview of the world that a reviewer looks at."""
    pool = make_identity_pool(seed, 60)
    _, held_out = split_identities(pool, 0.2, seed)
    cast = held_out[:6]
    sheet = _Sheet(columns=7)

    def frame(**kw) -> Image.Image:
        base = dict(
            place="park",
            time_of_day="day",
            weather="clear",
            style="natural",
            shot_size="wide",
            camera_angle="eye-level",
        )
        base.update(kw)
        return render_keyframe(FrameSpec(**base))[0]

    rows = []
    for i, identity in enumerate(cast):
        one = (
            CharacterSpec(
                identity, 0.5, 0.0, "talk" if i % 2 else "stand", EXPRESSIONS[i % len(EXPRESSIONS)], 0.3
            ),
        )
        rows.append((identity.name, [frame(shot_size=size, characters=one) for size in SHOT_SIZES]))
    sheet.grid("Characters x shot sizes (held-out cast, park, day)", list(SHOT_SIZES), rows)

    pair = (
        CharacterSpec(cast[0], 0.32, 0.1, "talk", "happy", 0.5),
        CharacterSpec(cast[1], 0.68, 0.3, "point", "surprised", -0.5),
    )
    rows = [(key, [frame(place=key, time_of_day=t, characters=pair) for t in TIMES_OF_DAY]) for key in PLACES]
    sheet.grid("Places x times of day (wide shot)", list(TIMES_OF_DAY), rows)
    variants = [
        (key, [frame(place=key, variant=v, characters=pair) for v in range(PLACE_VARIANTS)])
        for key in ("beach", "office", "desert", "living-room")
    ]
    sheet.grid(
        "Per-movie looks of a place (variants 0-2: layout and surface tint; no script names them)",
        [f"variant {v}" for v in range(PLACE_VARIANTS)],
        variants,
    )

    full_pair = (
        CharacterSpec(cast[2], 0.33, 0.0, "raise-arms", "happy", 0.4),
        CharacterSpec(cast[3], 0.67, 0.2, "stand", "neutral", -0.4),
    )
    sheet.grid(
        "Weather (street, full shot) and camera angles (harbour, wide)",
        [],
        [
            (
                "weather",
                [frame(place="street", weather=w, shot_size="full", characters=full_pair) for w in WEATHERS],
            ),
            ("angle", [frame(place="harbour", camera_angle=a, characters=pair) for a in CAMERA_ANGLES]),
        ],
    )
    sheet.grid(
        "Styles (per-movie grade; beach, full shot)",
        list(STYLES),
        [("style", [frame(place="beach", style=s, shot_size="full", characters=full_pair) for s in STYLES])],
    )
    acting = [
        frame(
            place="living-room",
            shot_size="full",
            characters=(CharacterSpec(cast[4], 0.5, 0.0, a, EXPRESSIONS[k % 5], 0.4, 0.25),),
        )
        for k, a in enumerate(ACTIONS)
    ]
    faces = [
        frame(
            place="office",
            shot_size="close-up",
            characters=(CharacterSpec(cast[5], 0.5, 0.0, "stand", e, 0.2),),
        )
        for e in EXPRESSIONS
    ]
    sheet.grid("Actions (full) and expressions (close-up)", [], [("action", acting), ("expression", faces)])

    photos = [(identity.name, [render_face_photo(identity, k, seed) for k in range(5)]) for identity in cast]
    sheet.grid("Cast photos (128x128 face crops)", [f"photo {k}" for k in range(5)], photos)
    return sheet.image()


def measure(quick: bool, seed: int = 0) -> dict:
    pool = make_identity_pool(seed, 60)
    train_ids, _ = split_identities(pool, 0.2, seed)
    n_movies, shots = (3, 80) if quick else (6, None)

    start = time.perf_counter()
    movies = [generate_movie(toy_cinema.movie_seed(seed, i), train_ids, shots) for i in range(n_movies)]
    generate_seconds = time.perf_counter() - start
    frames = [f for m in movies for f in m.frames]

    # Wall time is what a user waits for; CPU time of this process is what the renderer
    # costs, and stays meaningful when other jobs share the cores.
    start, cpu_start = time.perf_counter(), time.process_time()
    for spec in frames:
        render_keyframe(spec)
    render_seconds = time.perf_counter() - start
    render_cpu_seconds = time.process_time() - cpu_start

    start = time.perf_counter()
    photos = 0
    for movie in movies:
        for identity in movie.cast:
            for k in range(3):
                render_face_photo(identity, k, movie.seed)
                photos += 1
    photo_seconds = time.perf_counter() - start

    clip_frames = 12
    clip_count = 6 if quick else 24
    start = time.perf_counter()
    for i in range(clip_count):
        movie = movies[i % len(movies)]
        k = (i * 7) % movie.num_frames
        render_clip(movie.frames[k], movie.shot_motion(k), clip_frames, seed=i)
    clip_seconds = time.perf_counter() - start

    export_movies, export_args = (4, ["--min-shots", "40", "--max-shots", "80"]) if quick else (20, [])
    with tempfile.TemporaryDirectory() as tmp:
        argv = [
            "export",
            "--out",
            tmp,
            "--movies",
            str(export_movies),
            "--seed",
            str(seed),
            "--workers",
            "2",
            "--overwrite",
            *export_args,
        ]
        args = toy_cinema._parser().parse_args(argv)
        export = toy_cinema.export(args)
    export.pop("out")  # a deleted temporary folder

    return {
        "frames_per_second": round(len(frames) / render_seconds, 1),
        "frames_per_cpu_second": round(len(frames) / render_cpu_seconds, 1),
        "keyframes_rendered": len(frames),
        "render_seconds": round(render_seconds, 2),
        "movie_generation_keyframes_per_second": round(len(frames) / generate_seconds, 1),
        "face_photos_per_second": round(photos / photo_seconds, 1),
        "clip_frames_per_second": round(clip_count * clip_frames / clip_seconds, 1),
        "export": export,
        "quick": quick,
        "machine": {
            "cpu_count": os.cpu_count(),
            # Other jobs on the same cores slow every wall-clock figure above.
            "load_average_1min": round(os.getloadavg()[0], 2),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
    }


def _unnamed(sentences: list[str], name: str) -> str:
    return " ".join(sentences).replace(name, "The person")


def identification_rates(movies: int = 40, seed: int = 0) -> dict:
    """How often a character is picked out of its movie's cast by text alone, and by face photos.

    For every cast member of `movies` held-out movies (movie seeds `seed`..): the query is
    what a viewer sees of it - its identikit sentences (text) or its first cast photo
    (faces). Text picks the cast member whose *script description* has the closest MiniLM
    embedding; faces pick the one whose other photos have the closest colour-layout
    descriptor. A description names only 2-3 traits, so two cast members often match it
    equally well, while the photos show everything.
    """
    # Deferred: the MiniLM encoder and the face descriptor are only needed for this measure.
    from core.encoders.descriptions import MiniLMDescriptionEncoder
    from core.encoders.faces import FaceBox
    from train.data.movies.face_layout import ColourLayoutFaceEmbedder
    from train.data.world.faces import render_face_photo_with_box

    text = MiniLMDescriptionEncoder()
    faces = ColourLayoutFaceEmbedder()

    def face(identity, k, movie_seed) -> torch.Tensor:
        photo, box = render_face_photo_with_box(identity, k, movie_seed)
        return faces.embed_faces(photo, [FaceBox(*box)])[0]

    _, held_out = split_identities(make_identity_pool(seed, 60), 0.2, seed)
    text_hits = face_hits = trials = 0
    for m in range(movies):
        movie = generate_movie(seed + m, held_out, num_shots=8, min_cast=3, max_cast=5)
        cast = movie.cast
        # Names are removed: a viewer sees traits, and a name would match its own sentence.
        descriptions = text.encode([_unnamed(i.description, i.name) for i in cast])  # (C, e)
        views = text.encode([_unnamed(i.identikit, i.name) for i in cast])  # (C, e)
        text_choice = (views @ descriptions.T).argmax(dim=1)
        references = torch.stack([(face(i, 1, movie.seed) + face(i, 2, movie.seed)) / 2 for i in cast])
        queries = torch.stack([face(i, 0, movie.seed) for i in cast])
        face_choice = (queries @ references.T).argmax(dim=1)
        truth = torch.arange(len(cast))
        text_hits += int((text_choice == truth).sum())
        face_hits += int((face_choice == truth).sum())
        trials += len(cast)
    return {
        "movies": movies,
        "characters": trials,
        "text_rate": round(text_hits / trials, 4),
        "face_rate": round(face_hits / trials, 4),
        "what": "share of cast members picked out of their movie's cast: by MiniLM cosine of what a viewer "
        "sees (identikit) to the script's descriptions, or by colour-layout cosine of a cast photo to the "
        "other photos",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.world", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="fewer movies and a 4-movie export (about a minute)"
    )
    parser.add_argument("--out", default=str(RESULTS), help="folder for world.json and the contact sheet")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    results = measure(args.quick)
    results["identification"] = identification_rates(10 if args.quick else 40)
    sheet_path = out / "world_contact_sheet.png"
    contact_sheet().save(sheet_path, optimize=True)
    results["contact_sheet"] = str(sheet_path)
    (out / "world.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")

    export = results["export"]
    rows = [
        ("keyframes/s (1 core, cold caches)", results["frames_per_second"]),
        ("keyframes per CPU second", results["frames_per_cpu_second"]),
        ("movie generation keyframes/s", results["movie_generation_keyframes_per_second"]),
        ("face photos/s", results["face_photos_per_second"]),
        ("clip frames/s", results["clip_frames_per_second"]),
        ("cast member identified by text alone", results["identification"]["text_rate"]),
        ("cast member identified by face photos", results["identification"]["face_rate"]),
        (
            f"export: {export['movies']} movies, {export['keyframes']} keyframes, {export['workers']} workers (s)",
            export["seconds"],
        ),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print(f"wrote {out / 'world.json'} and {sheet_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
