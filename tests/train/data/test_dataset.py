import json
import shutil

import pytest

from train.data.dataset import DatasetError, ToyCinemaDataset


def test_missing_folder_says_how_to_create_it(tmp_path):
    with pytest.raises(DatasetError, match="does not exist.*toy_cinema export"):
        ToyCinemaDataset(tmp_path / "nowhere")


def test_a_file_or_an_empty_folder_is_not_a_dataset(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(DatasetError, match="is a file"):
        ToyCinemaDataset(tmp_path / "file")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="manifest.json is missing"):
        ToyCinemaDataset(tmp_path / "empty")


def test_damaged_manifests_are_reported(tmp_path, tiny_dataset):
    root = tmp_path / "copy"
    shutil.copytree(tiny_dataset, root)
    (root / "manifest.json").write_text("{not json")
    with pytest.raises(DatasetError, match="not valid JSON"):
        ToyCinemaDataset(root)
    (root / "manifest.json").write_text(json.dumps({"seed": 0, "width": 224}))
    with pytest.raises(DatasetError, match="lacks height, movies, identities"):
        ToyCinemaDataset(root)


def test_unknown_split_and_unknown_movie_are_reported(tiny_dataset):
    dataset = ToyCinemaDataset(tiny_dataset)
    with pytest.raises(DatasetError, match="unknown split 'val'"):
        dataset.movies("val")
    with pytest.raises(DatasetError, match="not listed"):
        dataset.movie("movie9999")
    with pytest.raises(DatasetError, match="not in"):
        dataset.identity("id9999")


def test_incomplete_movies_are_reported_with_the_missing_file(tmp_path, tiny_dataset):
    root = tmp_path / "copy"
    shutil.copytree(tiny_dataset, root)
    movie = root / "train" / "movie0001"
    (movie / "frames" / "000002.png").unlink()
    with pytest.raises(DatasetError, match="lacks 1 of .* keyframes.*000002.png"):
        ToyCinemaDataset(root).movies("train")
    shutil.rmtree(movie)
    with pytest.raises(DatasetError, match="movie folder .* is missing"):
        ToyCinemaDataset(root).movies("train")
    first = root / "train" / "movie0000"
    lines = (first / "ground_truth.jsonl").read_text().splitlines()
    (first / "ground_truth.jsonl").write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(DatasetError, match="records but the script has"):
        ToyCinemaDataset(root).movie("movie0000")
    (first / "script.json").write_text(json.dumps({"title": ""}))
    with pytest.raises(DatasetError, match="not a valid script"):
        ToyCinemaDataset(root).movie("movie0000")
