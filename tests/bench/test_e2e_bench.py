"""bench.e2e on the long sample project with a tiny random bundle."""

from __future__ import annotations

import json

import pytest

from bench import e2e as bench_e2e


def test_limited_run_writes_keyframes_time_and_memory(tiny_bundle, tmp_path):
    out = tmp_path / "e2e.json"
    result = bench_e2e.main(
        ["--bundle", str(tiny_bundle), "--limit", "4", "--threads", "1", "--out", str(out)]
    )
    assert json.loads(out.read_text()) == result
    assert result["keyframes"] == 4 and result["script_shots"] >= 100  # the long sample
    assert result["threads"] == 1
    assert 0 < result["load_seconds"] < result["total_seconds"]
    assert result["seconds_per_keyframe"] == pytest.approx(result["total_seconds"] / 4, rel=1e-3)
    assert result["generate_seconds"] == pytest.approx(
        result["total_seconds"] - result["load_seconds"], abs=2e-3
    )
    assert 50 < result["peak_rss_mb"] < 64 * 1024
    assert result["targets_met"] == {
        "seconds_per_keyframe<=1": result["seconds_per_keyframe"] <= 1.0,
        "peak_rss_mb<=3072": result["peak_rss_mb"] <= 3072,
    }
    assert result["num_inference_steps"] == 2 and result["bundle"]["name"] == "tiny-random"


def test_limit_above_the_script_length_renders_every_shot(tiny_bundle, tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    from core.script import Script
    from core.script.io import script_to_json

    sample = Script.model_validate_json((bench_e2e.LONG_SAMPLE / "script.json").read_text())
    short = sample.model_copy(update={"scenes": sample.scenes[:1]})
    (project / "script.json").write_text(script_to_json(short))
    (project / "cast").symlink_to(bench_e2e.LONG_SAMPLE / "cast")
    result = bench_e2e.main(
        ["--bundle", str(tiny_bundle), "--project", str(project), "--limit", "1000", "--threads", "1",
         "--out", str(tmp_path / "e2e.json")]
    )  # fmt: skip
    assert result["keyframes"] == short.num_shots == result["script_shots"]


def test_missing_bundle_is_a_clear_error(tmp_path):
    with pytest.raises(SystemExit, match=r"bundle folder .* does not exist.*pass --bundle"):
        bench_e2e.main(["--bundle", str(tmp_path / "none"), "--out", str(tmp_path / "e2e.json")])


def test_missing_project_and_bad_limit_are_clear_errors(tiny_bundle, tmp_path):
    with pytest.raises(SystemExit, match=r"holds no script\.json.*--project"):
        bench_e2e.main(["--bundle", str(tiny_bundle), "--project", str(tmp_path)])
    with pytest.raises(SystemExit, match=r"--limit is 0; render at least 1 shot"):
        bench_e2e.main(["--bundle", str(tiny_bundle), "--limit", "0"])
