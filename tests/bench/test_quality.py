"""bench.quality end to end on a tiny random bundle and a tiny exported toy-cinema dataset."""

import json

import pytest
from PIL import Image

from bench import quality
from tests.bench.conftest import export_toy
from train.data.dataset import ToyCinemaDataset


@pytest.fixture(scope="module")
def bundle(tiny_bundle):
    return tiny_bundle


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """4 movies of 6-8 shots, half of them held out with held-out identities."""
    return export_toy(tmp_path_factory, movies=4, min_shots=6, max_shots=8)


@pytest.fixture(scope="module")
def run(bundle, dataset, tmp_path_factory):
    folder = tmp_path_factory.mktemp("quality")
    argv = [
        "--bundle", str(bundle), "--data", str(dataset), "--quick", "--movies", "2", "--shots", "3",
        "--references", "2", "--steps", "1", "--sheet-shots", "3", "--threads", "1",
        "--out", str(folder / "quality.json"), "--docs", str(folder / "docs"),
    ]  # fmt: skip
    return quality.main(argv), folder


def test_writes_every_row_and_column_with_values_in_range(run):
    result, folder = run
    assert json.loads((folder / "quality.json").read_text()) == result
    assert list(result["rows"]) == list(quality.ROWS)
    for name, row in result["rows"].items():
        assert set(row) == set(quality.COLUMNS), name
        assert -100.0 <= row["clip"] <= 100.0
        assert row["st"] is None or -1.0 <= row["st"] <= 1.0
        assert row["lt"] is not None and 0.0 <= row["lt"] <= 1.0
        assert row["fd"] >= 0.0
        assert row["seconds_per_keyframe"] > 0.0
    assert result["setup"]["keyframes_per_row"] == 6 and result["setup"]["movies"] == [
        "movie0002",
        "movie0003",
    ]
    assert all(d["keyframes"] == 6 for d in result["details"].values())


def test_reports_margins_style_agreement_recogniser_sanity_and_targets(run):
    result, _ = run
    rows = result["rows"]
    assert set(result["margins"]) == set(quality.ROWS) - {"full"}
    assert result["margins"]["t2i"]["lt"] == pytest.approx(rows["full"]["lt"] - rows["t2i"]["lt"], abs=1e-3)
    for name, interval in result["lt_margin_interval_95"].items():
        if interval is not None:
            low, high = interval
            assert low <= high and low >= -1.0 and high <= 1.0, name
    style = result["few_shot_style"]
    for name in ("full", "few_shot", "ground_truth"):
        assert -1.0 <= style[name]["reference_cosine"] <= 1.0
        assert 0.0 <= style[name]["style_accuracy"] <= 1.0
    rec = result["recogniser"]
    assert rec["characters"] >= 1 and rec["training_frames"] >= 2
    assert 0.0 <= rec["heldout"]["recall"] <= 1.0 and rec["heldout"]["samples"] == 6
    # The ground-truth LT is the recogniser's held-out recall on the same frames.
    assert result["ground_truth"]["lt"] == rec["heldout"]["recall"]
    assert len(result["targets"]) == 6
    assert all(value in (True, False, None) for value in result["targets"].values())


def test_recogniser_never_sees_the_evaluated_or_generated_frames(dataset):
    records = ToyCinemaDataset(dataset).movies("test")
    tasks = quality.plan_movies(records, movies=2, shots=3, references=2)
    training = quality.recogniser_frames(records, tasks, limit=1000, seed=0)
    evaluated = {(t.record.movie_id, s) for t in tasks for s in t.shots}
    assert evaluated and not evaluated & {(r.movie_id, i) for r, i in training}
    assert len(training) == sum(r.script.num_shots for r in records) - len(evaluated)
    for task in tasks:
        assert task.shots == [0, 1, 2]
        assert len(task.references) == 2 and min(task.references) >= 3
        assert task.script.num_shots == 3


def test_writes_the_markdown_table_and_a_labelled_contact_sheet(run):
    result, folder = run
    text = (folder / "docs" / "quality.md").read_text()
    for name in quality.ROWS:
        assert f"| `{name}` |" in text
    assert "quality_contact_sheet.png" in text and "## Few-shot style agreement" in text
    with Image.open(folder / "docs" / "quality_contact_sheet.png") as sheet:
        # ground truth + 6 rows, 3 shots each.
        assert sheet.size == (
            quality._LABEL_W + 3 * (quality._CELL[0] + quality._GAP),
            quality._HEADER_H + 7 * (quality._CELL[1] + quality._GAP),
        )


def test_missing_dataset_or_bundle_is_explained(bundle, dataset, tmp_path):
    with pytest.raises(SystemExit, match="python -m train.data.toy_cinema export --out"):
        quality.main(
            ["--bundle", str(bundle), "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "q.json")]
        )
    with pytest.raises(SystemExit, match="--bundle"):
        quality.main(
            [
                "--bundle",
                str(tmp_path / "nobundle"),
                "--data",
                str(dataset),
                "--out",
                str(tmp_path / "q.json"),
            ]
        )
