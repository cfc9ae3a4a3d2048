import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.script import script_from_json
from train.common.token_cache import TokenCache
from train.data.movies import pipeline as movies
from train.data.movies.keyframes import KeyframeConfig
from train.data.movies.output import TokenCacheConfig
from train.data.movies.people import PeopleConfig

from .conftest import EVERY

REPO = Path(__file__).resolve().parents[4]
TOY_ARGS = ["--every", str(EVERY), "--detector", "ground-truth"]


@pytest.fixture(scope="module")
def sharded_run(toy_videos, broken_video, tiny_tokenizer, tmp_path_factory):
    """Two workers over three toy films and a broken file, each with its token cache, then merged."""
    out = tmp_path_factory.mktemp("sharded")
    config = movies.PipelineConfig(
        keyframes=KeyframeConfig(every=EVERY),
        people=PeopleConfig(detector="ground-truth"),
        token_cache=TokenCacheConfig(str(tiny_tokenizer)),
    )
    videos = movies.collect_videos([toy_videos[0].parent, broken_video])
    pipeline = movies.MoviePipeline(out, config)
    summaries = [pipeline.run(videos, worker=w, workers=2) for w in (0, 1)]
    return out, videos, summaries, movies.merge(out)


def test_workers_split_the_videos_and_a_broken_one_does_not_stop_the_others(sharded_run):
    out, videos, summaries, merged = sharded_run
    assert [v for v, _ in videos] == ["broken", "toy_000", "toy_001", "toy_002"]
    shares = [set(s["videos"]) for s in summaries]
    assert shares[0].isdisjoint(shares[1]) and shares[0] | shares[1] == {v for v, _ in videos}
    broken = next(s["videos"]["broken"] for s in summaries if "broken" in s["videos"])
    assert broken["status"] == "failed" and broken["failed_stage"] == "keyframes"
    assert "could not be decoded" in broken["error"] and "leave it out of the input" in broken["error"]
    assert json.loads((out / "work" / "broken" / "error.json").read_text())["stage"] == "keyframes"
    assert merged["rows"] == 3 and merged["failed"] == ["broken"]
    for summary in summaries:
        assert (out / "shards" / Path(summary["shard"]).name).is_file()
        assert summary["keyframes_per_second"]["keyframes"] > 0


def test_merged_shards_hold_keyframes_scripts_and_face_banks(sharded_run):
    from datasets import Dataset

    out, _, _, merged = sharded_run
    rows = Dataset.from_parquet(merged["merged"], cache_dir=str(out / ".hf_cache"))
    assert sorted(rows["video_id"]) == ["toy_000", "toy_001", "toy_002"]
    for row in rows:
        script = script_from_json(row["script"])
        assert script.num_shots == len(row["keyframes"]) == len(row["cuts"]) == len(json.loads(row["people"]))
        assert row["keyframes"][0].size == (224, 128)
        assert any(row["cuts"])
        bank_names = {face["character"] for face in row["face_bank"]}
        assert bank_names == {c.name for c in script.cast}
        photos = {p for c in script.cast for p in c.photos}
        assert {face["file"] for face in row["face_bank"]} == photos
        assert all(len(face["embedding"]) == 384 for face in row["face_bank"])


def test_the_merged_token_cache_is_what_stage_2_reads(sharded_run):
    out, _, summaries, merged = sharded_run
    cache = TokenCache(merged["token_cache"])
    assert sorted(cache.movie_ids("train")) == ["toy_000", "toy_001", "toy_002"]
    assert cache.widths["tokens_per_frame"] == 2 and cache.widths["token_dim"] == 8
    movie = cache.load("toy_001")
    assert movie.tokens.shape == (movie.script.num_shots, 2, 8) == movie.tokens_flipped.shape
    for name, faces in movie.faces.items():
        assert faces.shape[0] == movie.photo_counts[name] >= 1  # the face bank, one row per crop
    assert all(s["token_cache"] for s in summaries)


def test_merge_refuses_a_missing_shard(sharded_run, tmp_path):
    out, *_ = sharded_run
    (tmp_path / "shards").mkdir()
    shard = next((out / "shards").glob("movies-00000-of-00002.parquet"))
    (tmp_path / "shards" / shard.name).write_bytes(shard.read_bytes())
    with pytest.raises(SystemExit, match=r"worker\(s\) \[1\] of 2 are missing"):
        movies.merge(tmp_path)


def test_a_killed_run_continues_where_it_stopped(toy_videos, tmp_path):
    out = tmp_path / "out"
    argv = ["run", *map(str, toy_videos), "--out", str(out), *TOY_ARGS]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-m", "train.data.movies", *argv],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    first_stage = out / "work" / "toy_000" / "people" / "done.json"
    deadline = time.monotonic() + 300
    while not first_stage.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL, "the run finished before it could be killed"
    assert first_stage.exists()
    before = first_stage.stat().st_mtime_ns

    assert movies.main(argv) == 0
    report = json.loads(next((out / "shards").glob("report-*.json")).read_text())
    first = report["videos"]["toy_000"]["stages"]
    assert first["keyframes"]["reused"] and first["people"]["reused"]
    assert not report["videos"]["toy_002"]["stages"]["keyframes"]["reused"]
    assert first_stage.stat().st_mtime_ns == before
    assert report["rows"] == 3 and not list((out / "work").glob("*/.*.partial"))
    # A third run has nothing left to do.
    assert movies.main(argv) == 0
    again = json.loads(next((out / "shards").glob("report-*.json")).read_text())
    assert all(s["reused"] for v in again["videos"].values() for s in v["stages"].values())


def test_every_stage_has_a_command_line(capsys):
    # `python -m train.data.movies <stage>`: the stage modules themselves are imported by the
    # pipeline, so they hold no command that would import it back.
    for stage in ("keyframes", "people", "characters", "captions", "script"):
        with pytest.raises(SystemExit) as stop:
            movies.main([stage, "--help"])
        assert stop.value.code == 0
        out = capsys.readouterr().out
        assert "--out" in out and f"python -m train.data.movies {stage}" in out
    with pytest.raises(SystemExit):
        movies.main(["--help"])
    out = capsys.readouterr().out
    assert "merge" in out and "characters" in out
