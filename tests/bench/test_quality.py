"""bench.quality end to end: a tiny random bundle, a tiny judge, held-out movies rendered by the bench."""

import json

import pytest
from PIL import Image

from bench import heldout, quality


@pytest.fixture(scope="module")
def run(tiny_bundle, tiny_judge, bench_cache, tmp_path_factory):
    folder = tmp_path_factory.mktemp("quality")
    argv = [
        "--bundle", str(tiny_bundle), "--judge", str(tiny_judge), "--quick", "--movies", "2", "--shots", "3",
        "--references", "2", "--steps", "1", "--sheet-shots", "3", "--threads", "1",
        "--out", str(folder / "quality.json"), "--docs", str(folder / "docs"),
    ]  # fmt: skip
    return quality.main(argv), folder


def test_renders_the_held_out_movies_itself_and_writes_every_row(run, bench_cache):
    result, folder = run
    assert json.loads((folder / "quality.json").read_text()) == result
    assert list(result["rows"]) == list(quality.ROWS)
    # Nothing was exported beforehand: the bench rendered the canonical held-out movies 4 and 9.
    assert result["setup"]["movies"] == ["movie0004", "movie0009"]
    assert any(p.name.startswith("heldout-") for p in bench_cache.iterdir())
    assert result["setup"]["keyframes_per_row"] == 6
    for name, row in result["rows"].items():
        for key in ("place", "time", "style", "shot_size", "lt", "lt_precision", "presence_auc"):
            assert key in row, (name, key)
            assert row[key] is None or 0.0 <= row[key] <= 1.0, (name, key)
        assert set(row["intervals"]) >= {"place", "lt"}
        for bounds in row["intervals"].values():
            assert bounds is None or bounds[0] <= bounds[1]


def test_margins_conditioning_and_judge_keys_are_stable(run):
    result, _ = run
    rows, margins = result["rows"], result["margins"]
    assert set(margins) == set(quality.ROWS) - {"full"}
    assert margins["t2i"]["place"] == pytest.approx(rows["full"]["place"] - rows["t2i"]["place"], abs=1e-3)
    for name, margin in margins.items():
        for metric in ("place", "lt"):
            assert f"{metric}_interval_95" in margin, (name, metric)
    fixed = result["conditioning"]["fixed_seed"]
    assert 0.0 <= fixed["place"] <= 1.0 and "lt" in fixed
    assert set(result["judge"]["ground_truth_heldout"]) >= {
        "place", "style", "shot_size", "presence_recall", "presence_precision",
    }  # fmt: skip
    assert all(value in (True, False, None) for value in result["targets"].values())


def test_the_ground_truth_row_is_the_judge_on_the_real_frames(run, tiny_judge):
    from bench.judge import Judge, score_frames

    result, _ = run
    records = heldout.held_out_movies(2)
    frames = [r.load_frame(t) for r in records for t in range(3)]
    truth = [r.ground_truth[t] for r in records for t in range(3)]
    direct = score_frames(frames, truth, Judge.load(tiny_judge))
    for key in ("place", "style", "lt"):
        assert result["rows"]["ground_truth"][key] == pytest.approx(direct[key], abs=1e-4)


def test_writes_the_markdown_table_and_a_labelled_contact_sheet(run):
    result, folder = run
    text = (folder / "docs" / "quality.md").read_text()
    for name in quality.ROWS:
        assert f"| `{name}` |" in text
    assert "quality_contact_sheet.png" in text and "## Conditioning check" in text
    with Image.open(folder / "docs" / "quality_contact_sheet.png") as sheet:
        # ground truth, round trip, reconstruction, t2i, full, fixed seed; 3 shots each.
        assert sheet.size == (
            quality._LABEL_W + 3 * (quality._CELL[0] + quality._GAP),
            quality._HEADER_H + 6 * (quality._CELL[1] + quality._GAP),
        )


def test_hierarchical_bootstrap_resamples_whole_movies_then_frames():
    groups = ["a"] * 3 + ["b"] * 5
    draws = quality.bootstrap_draws(groups, 200, seed=0)
    for index in draws[:20]:
        assert len(index) in (6, 8, 10)  # 2 movies drawn with replacement: 3+3, 3+5 or 5+5 frames
    assert any(set(index) <= {0, 1, 2} for index in draws)  # both draws can be the same movie


def test_missing_dataset_or_bundle_is_explained(tiny_bundle, tiny_judge, tmp_path):
    with pytest.raises(SystemExit, match="--split test"):
        quality.main(
            [
                "--bundle",
                str(tiny_bundle),
                "--judge",
                str(tiny_judge),
                "--data",
                str(tmp_path / "nowhere"),
                "--out",
                str(tmp_path / "q.json"),
            ]  # fmt: skip
        )
    with pytest.raises(SystemExit, match="--bundle"):
        quality.main(
            [
                "--bundle",
                str(tmp_path / "nobundle"),
                "--judge",
                str(tiny_judge),
                "--movies",
                "1",
                "--out",
                str(tmp_path / "q.json"),
            ]  # fmt: skip
        )
