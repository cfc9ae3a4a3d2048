"""Benchmark of the real-movie data pipeline (paper App. B) on toy-cinema films rendered to MP4.

    python -m bench.data_pipeline [--quick] [--clip FOLDER]

Renders toy films with hard cuts, runs `train.data.movies` over them on this machine's cores
and writes bench/results/data_pipeline.json:

* `keyframes_per_second` (wall clock) and `keyframes_per_cpu_second` (this process's CPU
  time, which other jobs on the cores cannot inflate; decoding runs in an ffmpeg child
  process whose CPU is not counted): per stage (keyframes, people, characters, captions, script, export,
  token_cache) and `overall` (keyframes over the summed time of every stage), for the path
  toy films can take without trained models: ground-truth person/face boxes, the
  colour-layout face embedder, the ground-truth captioner and structurer, and a tiny random
  stage-1 tokenizer for the token cache (its speed, not its tokens, is what is measured);
* `people_haar_keyframes_per_second`: the people stage with the offline default detector
  (OpenCV's Haar cascade) instead of the recorded boxes;
* `cluster_purity`: mean purity of the character clusters over the films (every face matched
  to a cast member counts, extras included), with the recorded face boxes; also the minimum,
  the Haar-detected variant, and per film the characters found against the cast size;
* with --clip, the clustering is also measured with that CLIP folder as face embedder
  (e.g. the clip/ folder of train.stage0_representation);
* without --quick, the people stage with a tiny random Grounding DINO and the captions stage
  with a tiny random LLaVA time the model code paths (their outputs are meaningless).

Wall-clock figures depend on what else runs on the cores: `machine.load_average_1min`
records it.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from statistics import mean

RESULTS = Path(__file__).resolve().parent / "results"


def _tiny_tokenizer(folder: Path) -> Path:
    from core.encoders.open_clip_encoder import OpenClipEncoder
    from core.tokenizer.keyframe_tokenizer import KeyframeTokenizer

    clip = OpenClipEncoder.build("moviedreamer-clip-tiny", seed=0)
    KeyframeTokenizer.build(
        clip, num_tokens=2, token_dim=8, num_heads=2, blocks_before=1, blocks_after=1
    ).save_pretrained(folder)
    return folder


def _purity(out: Path, videos: list[tuple[str, Path]]) -> list[dict]:
    from train.data.movies.characters import load_characters
    from train.data.movies.ground_truth import casting_report
    from train.data.movies.keyframes import load_keyframes
    from train.data.movies.people import load_people
    from train.data.movies.toy_video import ToyGroundTruth

    films = []
    for video_id, path in videos:
        work = out / "work" / video_id
        people = load_people(work / "people")
        try:
            report = casting_report(
                ToyGroundTruth.for_video(path),
                load_keyframes(work / "keyframes"),
                people,
                load_characters(work / "characters"),
            )
        except ValueError:  # no detected face matches a recorded one (Haar finds few cartoon faces)
            report = {"purity": None, "faces": 0, "detected_faces": len(people.faces)}
        films.append(
            {"video": video_id, **{k: round(v, 4) if isinstance(v, float) else v for k, v in report.items()}}
        )
    return films


def _mean_purity(films: list[dict]) -> float | None:
    """Mean purity over the films in which some detected face matched a cast member."""
    values = [f["purity"] for f in films if f["purity"] is not None]
    return round(mean(values), 4) if values else None


def _run(out: Path, videos, config, until: str = "export") -> dict:
    from train.data.movies.pipeline import MoviePipeline

    summary = MoviePipeline(out, config).run(videos, until=until)
    if summary["failed"]:
        errors = {v: summary["videos"][v]["error"] for v in summary["failed"]}
        raise SystemExit(f"error: the benchmark films failed: {errors}")
    return summary


def measure(quick: bool, clip: str | None) -> dict:
    import datasets  # noqa: F401  imported before timing: the export stage must not pay for it

    from train.data.movies.characters import CharacterConfig
    from train.data.movies.keyframes import KeyframeConfig
    from train.data.movies.output import TokenCacheConfig
    from train.data.movies.people import PeopleConfig
    from train.data.movies.pipeline import PipelineConfig, collect_videos
    from train.data.movies.toy_video import render_toy_videos

    films, shots = (3, 10) if quick else (8, 24)
    frames_per_shot = (30, 50)  # 1-2 keyframes a shot at the paper's interval of 30 frames
    results: dict = {"quick": quick}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        started = time.perf_counter()
        paths = render_toy_videos(
            tmp / "films", films, seed=11, shots=shots, frames_per_shot=frames_per_shot, fps=30.0, max_cast=4
        )
        results["render_seconds"] = round(time.perf_counter() - started, 2)
        videos = collect_videos(paths)
        keyframes = KeyframeConfig(every=30)

        # The ground-truth path: every stage, the token cache included.
        config = PipelineConfig(
            keyframes=keyframes,
            people=PeopleConfig(detector="ground-truth"),
            token_cache=TokenCacheConfig(str(_tiny_tokenizer(tmp / "tokenizer"))),
        )
        summary = _run(tmp / "gt", videos, config)
        total_keyframes = sum(v["stages"]["keyframes"]["keyframes"] for v in summary["videos"].values())
        for clock, key in (("seconds", "keyframes_per_second"), ("cpu_seconds", "keyframes_per_cpu_second")):
            per_stage = dict(summary[key])
            per_stage["token_cache"] = summary.get(f"token_cache_{key}")
            stage_seconds = sum(s[clock] for v in summary["videos"].values() for s in v["stages"].values())
            cache_seconds = total_keyframes / per_stage["token_cache"] if per_stage["token_cache"] else 0.0
            per_stage["overall"] = round(total_keyframes / (stage_seconds + cache_seconds), 2)
            results[key] = per_stage
        results["keyframes"] = total_keyframes
        results["video_frames"] = sum(
            json.loads(p.with_name(p.stem + ".toy-cinema.json").read_text())["num_frames"] for p in paths
        )
        gt_films = _purity(tmp / "gt", videos)

        # The offline default detector: Haar faces instead of the recorded boxes.
        haar = _run(tmp / "haar", videos, PipelineConfig(keyframes=keyframes), until="characters")
        results["people_haar_keyframes_per_second"] = haar["keyframes_per_second"]["people"]
        results["people_haar_keyframes_per_cpu_second"] = haar["keyframes_per_cpu_second"]["people"]
        haar_films = _purity(tmp / "haar", videos)

        results["cluster_purity"] = round(mean(f["purity"] for f in gt_films), 4)
        results["cluster_purity_min"] = min(f["purity"] for f in gt_films)
        results["cluster_purity_haar"] = _mean_purity(haar_films)
        results["films"] = gt_films
        results["films_haar"] = haar_films
        results["cluster_settings"] = {
            "face_boxes": "ground truth (recorded beside the toy films)",
            "face_embedder": "colour-layout (training-free)",
            "threshold": CharacterConfig().threshold,
        }

        if clip:
            clip_config = PipelineConfig(
                keyframes=keyframes,
                people=PeopleConfig(detector="ground-truth", face_embedder="clip", clip=clip),
            )
            _run(tmp / "clip", videos, clip_config, until="characters")
            clip_films = _purity(tmp / "clip", videos)
            results["cluster_purity_clip"] = _mean_purity(clip_films)
            results["films_clip"] = clip_films

        if not quick:
            from train.data.movies.captions import CaptionConfig
            from train.data.movies.tiny_models import build_tiny_grounding_dino, build_tiny_vlm

            one = videos[:1]
            gdino = build_tiny_grounding_dino(tmp / "gdino")
            vlm = build_tiny_vlm(tmp / "vlm")
            model_config = PipelineConfig(
                keyframes=keyframes,
                people=PeopleConfig(detector="grounding-dino", grounding_dino=str(gdino)),
                captions=CaptionConfig(vlm=str(vlm), max_new_tokens=16),
            )
            models = _run(tmp / "models", one, model_config, until="captions")
            results["tiny_random_models_keyframes_per_second"] = {
                "people_grounding_dino": models["keyframes_per_second"]["people"],
                "captions_llava_16_tokens": models["keyframes_per_second"]["captions"],
            }
    results["settings"] = {
        "films": films,
        "shots_per_film": shots,
        "frames_per_shot": list(frames_per_shot),
        "fps": 30.0,
        "keyframe_every": 30,
        "size": [224, 128],
    }
    results["machine"] = {
        "cpu_count": os.cpu_count(),
        "torch_threads_env": os.environ.get("OMP_NUM_THREADS"),
        # Other jobs on the same cores slow every wall-clock figure above.
        "load_average_1min": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.data_pipeline", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="3 films of 10 shots, no tiny-model timings")
    parser.add_argument("--clip", help="also cluster with this CLIP folder as the face embedder")
    parser.add_argument("--out", default=str(RESULTS), help="folder for data_pipeline.json")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    started = time.perf_counter()
    results = measure(args.quick, args.clip)
    results["seconds"] = round(time.perf_counter() - started, 1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "data_pipeline.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    width = max(len(stage) for stage in results["keyframes_per_second"])
    for stage, value in results["keyframes_per_second"].items():
        cpu = results["keyframes_per_cpu_second"][stage]
        print(f"{stage:<{width}}  {value} keyframes/s  ({cpu} keyframes per CPU second)")
    print(
        f"cluster purity {results['cluster_purity']} (min {results['cluster_purity_min']}, "
        f"Haar faces {results['cluster_purity_haar']})"
    )
    print(f"wrote {out / 'data_pipeline.json'} in {results['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
