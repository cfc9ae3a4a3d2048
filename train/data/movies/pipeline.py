"""The real-movie data pipeline (paper App. B): films in, training data out, resumable and sharded.

    python -m train.data.movies run FILMS... --out OUT [--worker I --workers N] [options]
    python -m train.data.movies merge --out OUT
    python -m train.data.movies keyframes FILMS... --out OUT      # the pipeline up to one stage
    (likewise people, characters, captions, script)

Stages, each cached per video under OUT/work/<video_id>/<stage>/ (see `work.py`):

    keyframes   decode, mark cuts, keep a keyframe every N frames, crop to 7:4   keyframes.py
    people      up to 5 people per keyframe, face crops and embeddings         people.py
    characters  cluster faces into characters with face banks                  characters.py
    captions    VLM captions of keyframes and characters                       captions.py
    script      LLM structuring into a validated core.script Script            structuring.py
    export      the video's row of the Parquet shard                           output.py

A video that fails (unreadable file, no VLM configured, no valid LLM answer...) is reported
with a sentence saying what to do, in the log, in OUT/work/<video_id>/error.json and in the
shard report; the other videos go on. Killing a run loses at most the stage in progress:
the next run with the same arguments reuses every finished stage.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from core.files import write_json_atomically
from train.data.movies.captions import CaptionConfig, CaptionModels, load_captions, write_captions
from train.data.movies.characters import CharacterConfig, find_characters, load_characters, write_characters
from train.data.movies.errors import VideoError
from train.data.movies.keyframes import KeyframeConfig, extract_keyframes, load_keyframes, open_keyframe
from train.data.movies.output import (
    MERGED_DIR,
    MERGED_FILE,
    ROW_FILE,
    TokenCacheConfig,
    build_shard_token_cache,
    merge_token_caches,
    shard_name,
    video_row,
    worked_movie,
    write_parquet,
    write_row,
)
from train.data.movies.people import (
    DETECTORS,
    EMBEDDERS,
    PeopleConfig,
    PeopleModels,
    find_people,
    load_people,
)
from train.data.movies.structuring import (
    ATTEMPTS_FILE,
    SCRIPT_FILE,
    LlmStructurer,
    StructuringConfig,
    StructuringModels,
    structure_script,
    write_script,
)
from train.data.movies.toy_video import ToyGroundTruth
from train.data.movies.work import VideoWork, fingerprint, read_json, video_id_for

logger = logging.getLogger(__name__)

STAGES = ("keyframes", "people", "characters", "captions", "script", "export")
VIDEO_SUFFIXES = (".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v", ".mpg", ".mpeg")
WORK_DIR = "work"
SHARDS_DIR = "shards"
TOKEN_CACHE_DIR = "token_cache"
ROW_FORMAT = 1  # bump when the export row changes


@dataclass(frozen=True)
class PipelineConfig:
    keyframes: KeyframeConfig = field(default_factory=KeyframeConfig)
    people: PeopleConfig = field(default_factory=PeopleConfig)
    characters: CharacterConfig = field(default_factory=CharacterConfig)
    captions: CaptionConfig = field(default_factory=CaptionConfig)
    structuring: StructuringConfig = field(default_factory=StructuringConfig)
    token_cache: TokenCacheConfig | None = None  # the stage-2 token cache is built only with a tokenizer


@dataclass
class VideoReport:
    video_id: str
    source: str
    status: str = "pending"  # "done", "failed" or, with --until, "stopped"
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)
    error: str | None = None
    failed_stage: str | None = None


def collect_videos(inputs: Sequence[str | Path]) -> list[tuple[str, Path]]:
    """(video id, path) of every input file and every video file in the input folders, by id."""
    found: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found.extend(
                sorted(p for p in path.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file())
            )
        elif path.exists():
            found.append(path)
        else:
            raise SystemExit(f"error: {path} does not exist; give video files or folders that hold them.")
    by_id: dict[str, Path] = {}
    for path in found:
        video_id = video_id_for(path)
        if video_id in by_id and by_id[video_id].resolve() != path.resolve():
            raise SystemExit(
                f"error: {by_id[video_id]} and {path} would both be video {video_id!r}; rename one of them so "
                "every video has its own name."
            )
        by_id[video_id] = path
    if not by_id:
        raise SystemExit(
            "error: no video files were found in the inputs; give .mp4/.mkv/.mov/... files or folders."
        )
    return sorted(by_id.items())


def worker_share(videos: list[tuple[str, Path]], worker: int, workers: int) -> list[tuple[str, Path]]:
    """The videos worker `worker` of `workers` processes: every n-th one in id order."""
    if workers < 1 or not 0 <= worker < workers:
        raise SystemExit(
            f"error: --worker {worker} --workers {workers} is not a worker; use 0 <= --worker < --workers."
        )
    return videos[worker::workers]


class MoviePipeline:
    """Runs the stages over videos; models are loaded once per run, on first use."""

    def __init__(self, out: str | Path, config: PipelineConfig = PipelineConfig()):
        self.out = Path(out)
        self.config = config
        _check_folders(config)
        self.people_models = PeopleModels(config.people)
        self.caption_models = CaptionModels(config.captions)
        self.structuring_models = StructuringModels(config.structuring)

    # -- per video ------------------------------------------------------------------------

    def _fingerprints(self, work: VideoWork, truth: ToyGroundTruth | None) -> dict[str, str]:
        c = self.config
        truth_file = None
        if truth is not None:
            stat = truth.path.stat()
            truth_file = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
        prints: dict[str, str] = {}
        prints["keyframes"] = fingerprint("keyframes", work.source_fingerprint(), asdict(c.keyframes))
        prints["people"] = fingerprint("people", prints["keyframes"], asdict(c.people), truth_file)
        prints["characters"] = fingerprint("characters", prints["people"], asdict(c.characters))
        prints["captions"] = fingerprint("captions", prints["characters"], asdict(c.captions), truth_file)
        prints["script"] = fingerprint("script", prints["captions"], asdict(c.structuring), truth_file)
        prints["export"] = fingerprint("export", prints["script"], ROW_FORMAT)
        return prints

    def process(self, video_id: str, path: Path, until: str = "export") -> VideoReport:
        """Run (or reuse) every stage of one video up to `until`; failures end up in the report."""
        report = VideoReport(video_id, str(path))
        work = VideoWork(self.out / WORK_DIR, video_id, path)
        stage = STAGES[0]
        try:
            if not path.is_file():
                raise VideoError(f"The video {path} does not exist any more; check the path.")
            truth = ToyGroundTruth.for_video(path)
            prints = self._fingerprints(work, truth)
            for stage in STAGES[: STAGES.index(until) + 1]:
                record = work.finished(stage, prints[stage])
                if record is None:
                    with work.computing(stage, prints[stage]) as output:
                        output.keyframes = self._compute(stage, work, truth, output.folder)
                    record = output.record
                report.stages[stage] = {
                    "seconds": record.seconds,
                    "cpu_seconds": record.cpu_seconds,
                    "keyframes": record.keyframes,
                    "reused": record.reused,
                }
        except VideoError as error:
            report.status, report.error, report.failed_stage = "failed", str(error), stage
            logger.error("%s failed at the %s stage: %s", video_id, stage, error)
            work.record_error(stage, str(error))
            return report
        except Exception as error:  # a bug or an unexpected library failure: keep going, but loudly
            logger.exception("%s failed at the %s stage with an unexpected error", video_id, stage)
            report.status, report.failed_stage = "failed", stage
            report.error = (
                f"The {stage} stage failed unexpectedly ({type(error).__name__}: {error}); this is likely a bug, "
                "the traceback is in the log."
            )
            work.record_error(stage, report.error)
            return report
        work.clear_error()
        report.status = "done" if until == STAGES[-1] else "stopped"
        return report

    def _compute(self, stage: str, work: VideoWork, truth: ToyGroundTruth | None, folder: Path) -> int:
        """Compute `stage` of one video into `folder`; returns how many keyframes it handled."""
        c = self.config
        keyframe_dir = work.stage_dir("keyframes")
        if stage == "keyframes":
            return len(extract_keyframes(work.source, folder, c.keyframes).keyframes)
        keyframes = load_keyframes(keyframe_dir)
        count = len(keyframes.keyframes)
        if stage == "people":
            detector = self.people_models.detector(truth, keyframes, work.source)
            find_people(folder, keyframes, keyframe_dir, detector, self.people_models.embedder, c.people)
            return count
        people = load_people(work.stage_dir("people"))
        if stage == "characters":
            write_characters(folder, find_characters(people, c.characters))
            return count
        casting = load_characters(work.stage_dir("characters"))
        if stage == "captions":
            captioner = self.caption_models.captioner(work.source, truth, keyframes, people)
            images = [open_keyframe(keyframe_dir, k) for k in keyframes.keyframes]
            crops = [
                _open(work.stage_dir("people") / people.faces[ch.representative]["crop"])
                for ch in casting.characters
            ]
            write_captions(
                folder,
                captioner.name,
                captioner.caption_keyframes(images, keyframes.keyframes),
                captioner.caption_characters(casting.characters, crops),
            )
            return count
        captions = load_captions(work.stage_dir("captions"))
        if stage == "script":
            structurer = self.structuring_models.structurer(work.source, truth, keyframes)
            if isinstance(structurer, LlmStructurer):
                cast = list(dict.fromkeys(ch.name for ch in captions["characters"]))
                structurer.start(work.source.name, cast, work.root / ATTEMPTS_FILE)
            script = structure_script(
                title=truth.title if truth is not None else work.source.stem,
                style=truth.style if truth is not None else "",
                keyframes=keyframes,
                people=people,
                casting=casting,
                captions=captions,
                structurer=structurer,
            )
            write_script(folder, script)
            return count
        if stage == "export":
            from core.script import load_script

            script = load_script(work.stage_dir("script") / SCRIPT_FILE)
            row = video_row(
                video_id=work.video_id,
                source=work.source,
                script=script,
                keyframes=keyframes,
                keyframe_dir=keyframe_dir,
                people=people,
                people_dir=work.stage_dir("people"),
                casting=casting,
                names=[ch.name for ch in captions["characters"]],
                face_embedder=c.people.face_embedder,
            )
            write_row(folder, row)
            return count
        raise ValueError(f"Unknown stage {stage!r}; the stages are {', '.join(STAGES)}.")

    # -- a worker's share -----------------------------------------------------------------

    def run(
        self, videos: list[tuple[str, Path]], *, worker: int = 0, workers: int = 1, until: str = "export"
    ) -> dict[str, Any]:
        """Process this worker's share of `videos`; with until="export" also write its shard."""
        if until not in STAGES:
            raise ValueError(f"Unknown stage {until!r}; the stages are {', '.join(STAGES)}.")
        share = worker_share(videos, worker, workers)
        reports: list[VideoReport] = []
        started = time.perf_counter()
        with tqdm(share, desc=f"films (worker {worker}/{workers})", unit="film") as bar:
            for video_id, path in bar:
                bar.set_postfix(video=video_id)
                reports.append(self.process(video_id, path, until))
        summary: dict[str, Any] = {
            "worker": worker,
            "workers": workers,
            "until": until,
            "seconds": round(time.perf_counter() - started, 3),
            "videos": {r.video_id: asdict(r) for r in reports},
            "keyframes_per_second": keyframes_per_second(reports),
            "keyframes_per_cpu_second": keyframes_per_second(reports, clock="cpu_seconds"),
            "failed": [r.video_id for r in reports if r.status == "failed"],
        }
        if until == "export":
            summary.update(self._write_shard(reports, worker, workers))
            write_json_atomically(
                self.out / SHARDS_DIR / shard_name("report", worker, workers, ".json"), summary
            )
        return summary

    def _write_shard(self, reports: list[VideoReport], worker: int, workers: int) -> dict[str, Any]:
        done = [r for r in reports if r.status == "done"]
        rows = [self.out / WORK_DIR / r.video_id / "export" / ROW_FILE for r in done]
        shard = self.out / SHARDS_DIR / shard_name("movies", worker, workers, ".parquet")
        count = write_parquet(rows, shard, self.out / ".hf_cache")
        result: dict[str, Any] = {"shard": str(shard), "rows": count, "token_cache": None}
        if self.config.token_cache is not None and done:
            from core.script import load_script

            movies = []
            for r in done:
                work = self.out / WORK_DIR / r.video_id
                movies.append(
                    worked_movie(
                        r.video_id,
                        load_script(work / "script" / SCRIPT_FILE),
                        load_keyframes(work / "keyframes"),
                        work / "keyframes",
                        work / "people",
                    )
                )
            root = self.out / TOKEN_CACHE_DIR / shard_name("shard", worker, workers)
            started, started_cpu = time.perf_counter(), time.process_time()
            build_shard_token_cache(root, movies, self.config.token_cache)
            seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - started_cpu
            frames = sum(len(m.frame_paths) for m in movies)
            result["token_cache"] = str(root)
            result["token_cache_keyframes_per_second"] = round(frames / seconds, 2) if seconds > 0 else None
            result["token_cache_keyframes_per_cpu_second"] = (
                round(frames / cpu_seconds, 2) if cpu_seconds > 0 else None
            )
        return result


def keyframes_per_second(reports: Sequence[VideoReport], clock: str = "seconds") -> dict[str, float | None]:
    """Keyframes per second (wall clock, or clock="cpu_seconds") of each stage this run computed."""
    out: dict[str, float | None] = {}
    for stage in STAGES:
        runs = [r.stages[stage] for r in reports if stage in r.stages and not r.stages[stage]["reused"]]
        seconds = sum(s[clock] for s in runs)
        out[stage] = round(sum(s["keyframes"] for s in runs) / seconds, 2) if runs and seconds > 0 else None
    return out


def merge(out: str | Path) -> dict[str, Any]:
    """Join every worker's shard (and token cache) under OUT/merged/."""
    out = Path(out)
    shards = sorted((out / SHARDS_DIR).glob("movies-*-of-*.parquet"))
    if not shards:
        raise SystemExit(
            f"error: {out / SHARDS_DIR} holds no shards; run the workers (`run --out {out}`) first."
        )
    counts = {int(p.stem.rsplit("-of-", 1)[1]) for p in shards}
    if len(counts) != 1:
        raise SystemExit(
            f"error: {out / SHARDS_DIR} mixes shards of runs with different --workers ({sorted(counts)}); "
            "delete the stale ones."
        )
    workers = counts.pop()
    present = {int(p.stem.split("-")[1]) for p in shards}
    missing = sorted(set(range(workers)) - present)
    if missing:
        raise SystemExit(
            f"error: the shards of worker(s) {missing} of {workers} are missing; run them "
            f"(`run ... --worker I --workers {workers}`) before merging."
        )
    reports = [
        read_json(out / SHARDS_DIR / shard_name("report", w, workers, ".json")) for w in range(workers)
    ]
    ids = [v for r in reports for v, video in r["videos"].items() if video["status"] == "done"]
    duplicates = sorted({v for v in ids if ids.count(v) > 1})
    if duplicates:
        raise SystemExit(
            f"error: the videos {duplicates} are in more than one shard; rerun the workers with one input list."
        )
    target = out / MERGED_DIR / MERGED_FILE
    rows = write_parquet(shards, target, out / ".hf_cache")
    summary: dict[str, Any] = {
        "merged": str(target),
        "rows": rows,
        "failed": sorted(v for r in reports for v in r["failed"]),
        "token_cache": None,
    }
    caches = [Path(r["token_cache"]) for r in reports if r.get("token_cache")]
    if caches:
        cache = merge_token_caches(caches, out / MERGED_DIR / TOKEN_CACHE_DIR)
        summary["token_cache"] = str(cache.root)
        summary["token_cache_movies"] = len(cache.movie_ids("train"))
    return summary


def _open(path: Path):
    from PIL import Image

    with Image.open(path) as image:
        return image.convert("RGB")


def _check_folders(config: PipelineConfig) -> None:
    """Refuse at once, before any video, a model folder that does not exist."""
    folders = {
        "--vlm": config.captions.vlm,
        "--llm": config.structuring.llm,
        "--grounding-dino": config.people.grounding_dino,
        "--clip": config.people.clip,
        "--insightface-root": config.people.insightface_root,
        "--tokenizer": config.token_cache.tokenizer if config.token_cache else None,
    }
    for option, folder in folders.items():
        if folder and not Path(folder).is_dir():
            raise SystemExit(f"error: {option} {folder} is not a folder; give the local folder of the model.")


# -- command line ----------------------------------------------------------------------------


def _run_parser(prog: str, stage: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description=(
            __doc__.split("\n\n")[0]
            if stage is None
            else f"The real-movie data pipeline up to the {stage} stage."
        ),
    )
    parser.add_argument("videos", nargs="+", help="video files, or folders searched for them")
    parser.add_argument("--out", required=True, help="output folder (work/, shards/, token_cache/, merged/)")
    parser.add_argument("--worker", type=int, default=0, help="this worker's number, 0 <= I < N (default 0)")
    parser.add_argument(
        "--workers", type=int, default=1, help="number of workers sharing the videos (default 1)"
    )
    if stage is None:
        parser.add_argument(
            "--until", choices=STAGES, default="export", help="last stage to run (default export)"
        )
    k = parser.add_argument_group("keyframes")
    k.add_argument("--every", type=int, default=30, help="a keyframe every N frames of a shot (default 30)")
    k.add_argument("--width", type=int, default=224, help="keyframe width (default 224, the bundle's)")
    k.add_argument("--height", type=int, default=128, help="keyframe height (default 128; 7:4 with 224)")
    k.add_argument("--cut-ratio", type=float, default=KeyframeConfig.cut_ratio, help="cut detector ratio")
    k.add_argument("--duplicate-threshold", type=float, default=KeyframeConfig.duplicate_threshold)
    p = parser.add_argument_group("people and faces")
    p.add_argument(
        "--detector", choices=DETECTORS, default="haar", help="people/face detector (default haar)"
    )
    p.add_argument("--grounding-dino", help="local Grounding DINO folder (transformers)")
    p.add_argument("--insightface-root", help="folder holding insightface models (detector and/or embedder)")
    p.add_argument(
        "--face-embedder", choices=EMBEDDERS, default="colour-layout", help="face embedder for clustering"
    )
    p.add_argument("--clip", help="open_clip folder of the bundle's CLIP (for --face-embedder clip)")
    p.add_argument("--max-people", type=int, default=5, help="people kept per keyframe (default 5)")
    p.add_argument(
        "--min-face", type=int, default=16, help="smallest face side to identify, pixels (default 16)"
    )
    c = parser.add_argument_group("characters")
    c.add_argument(
        "--cluster-threshold", type=float, default=CharacterConfig.threshold, help="cosine distance cut"
    )
    c.add_argument("--min-character-faces", type=int, default=2, help="faces a character needs (default 2)")
    m = parser.add_argument_group("captions and script")
    m.add_argument("--vlm", help="local transformers image-text-to-text folder for captions")
    m.add_argument("--llm", help="local transformers text-generation folder for structuring")
    m.add_argument("--llm-attempts", type=int, default=3, help="answers asked per keyframe (default 3)")
    m.add_argument("--max-new-tokens", type=int, default=256, help="LLM answer length (default 256)")
    t = parser.add_argument_group("token cache")
    t.add_argument(
        "--tokenizer", help="stage-1 tokenizer folder; builds the stage-2 token cache of the shard"
    )
    t.add_argument("--token-face-embedder", choices=("clip", "insightface"), default="clip")
    return parser


def config_from_args(args: argparse.Namespace) -> PipelineConfig:
    return PipelineConfig(
        keyframes=KeyframeConfig(
            every=args.every,
            width=args.width,
            height=args.height,
            cut_ratio=args.cut_ratio,
            duplicate_threshold=args.duplicate_threshold,
        ),
        people=PeopleConfig(
            detector=args.detector,
            grounding_dino=args.grounding_dino,
            insightface_root=args.insightface_root,
            face_embedder=args.face_embedder,
            clip=args.clip,
            max_people=args.max_people,
            min_face=args.min_face,
        ),
        characters=replace(
            CharacterConfig(), threshold=args.cluster_threshold, min_faces=args.min_character_faces
        ),
        captions=CaptionConfig(vlm=args.vlm),
        structuring=StructuringConfig(
            llm=args.llm, max_attempts=args.llm_attempts, max_new_tokens=args.max_new_tokens
        ),
        token_cache=(
            TokenCacheConfig(args.tokenizer, args.token_face_embedder, args.insightface_root)
            if args.tokenizer
            else None
        ),
    )


def _run(args: argparse.Namespace, until: str) -> int:
    videos = collect_videos(args.videos)
    pipeline = MoviePipeline(args.out, config_from_args(args))
    summary = pipeline.run(videos, worker=args.worker, workers=args.workers, until=until)
    print(json.dumps({k: v for k, v in summary.items() if k != "videos"}, indent=2))
    for video_id in summary["failed"]:
        print(f"{video_id}: {summary['videos'][video_id]['error']}", file=sys.stderr)
    return 1 if summary["failed"] else 0


def stage_main(stage: str, argv: Sequence[str] | None = None) -> int:
    """`python -m train.data.movies <stage> ...`: the pipeline up to that stage.

    The stage modules have no command of their own: they are imported by this pipeline, so a
    command in them would import the pipeline back.
    """
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = _run_parser(f"python -m train.data.movies {stage}", stage).parse_args(argv)
    return _run(args, stage)


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="python -m train.data.movies", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "run",
        add_help=False,
        help="run the stages over this worker's share of the videos and write its shard",
    )
    for stage in STAGES[:-1]:
        commands.add_parser(stage, add_help=False, help=f"run the stages up to {stage} (options as for run)")
    merge_parser = commands.add_parser("merge", help="join every worker's shard and token cache")
    merge_parser.add_argument("--out", required=True, help="the --out folder the workers wrote to")
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in STAGES[:-1]:
        return stage_main(argv[0], argv[1:])
    if argv and argv[0] == "run":
        args = _run_parser("python -m train.data.movies run", None).parse_args(argv[1:])
        return _run(args, args.until)
    args = parser.parse_args(argv)
    print(json.dumps(merge(args.out), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
