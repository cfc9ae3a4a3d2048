import json

import numpy as np
import pytest
from PIL import Image

from core.script import Script
from train.data import toy_cinema
from train.data.dataset import ToyCinemaDataset
from train.data.world import make_identity_pool, split_identities

GROUND_TRUTH_KEYS = {
    "frame", "scene", "shot", "place", "time_of_day", "weather", "style", "style_named", "variant",
    "shot_size", "camera_angle", "plot", "characters",
}  # fmt: skip
CHARACTER_KEYS = {"name", "identity", "box", "face_box", "action", "expression"}


def test_export_writes_exactly_the_dataset_format(tiny_dataset):
    manifest = json.loads((tiny_dataset / "manifest.json").read_text())
    assert set(manifest) == {"seed", "width", "height", "movies", "identities", "test_fraction", "only_split"}
    assert (manifest["seed"], manifest["width"], manifest["height"]) == (5, 224, 128)
    assert manifest["movies"] == {"train": ["movie0000", "movie0001"], "test": ["movie0002"]}
    train_ids, test_ids = split_identities(make_identity_pool(5, 8), 0.25, 5)
    assert manifest["identities"] == {
        "train": [i.identity_id for i in train_ids],
        "test": [i.identity_id for i in test_ids],
    }
    identities = json.loads((tiny_dataset / "identities.json").read_text())
    assert set(identities) == {i.identity_id for i in train_ids + test_ids}
    for identity_id, entry in identities.items():
        assert set(entry) == {"name", "attributes", "description", "described_attributes", "split"}
        assert entry["split"] == ("test" if identity_id in manifest["identities"]["test"] else "train")

    for split, movie_ids in manifest["movies"].items():
        allowed = set(manifest["identities"][split])
        for movie_id in movie_ids:
            folder = tiny_dataset / split / movie_id
            assert {p.name for p in folder.iterdir()} == {
                "script.json",
                "frames",
                "cast",
                "ground_truth.jsonl",
                "clips",
            }
            script = Script.model_validate_json((folder / "script.json").read_text())
            frames = sorted((folder / "frames").iterdir())
            assert [p.name for p in frames] == [f"{i:06d}.png" for i in range(script.num_shots)]
            assert 4 <= script.num_shots <= 6
            for path in frames:
                with Image.open(path) as image:
                    assert (image.format, image.mode, image.size) == ("PNG", "RGB", (224, 128))
            records = [json.loads(line) for line in (folder / "ground_truth.jsonl").read_text().splitlines()]
            assert len(records) == script.num_shots
            used = set()
            for record, (_s, _k, shot) in zip(records, script.shots(), strict=True):
                assert set(record) == GROUND_TRUTH_KEYS
                assert [c["name"] for c in record["characters"]] == shot.characters
                for character in record["characters"]:
                    assert set(character) == CHARACTER_KEYS
                    used.add(character["identity"])
            # Split by identity: a movie casts only identities of its own split.
            cast_ids = {p.stem.rsplit("_", 1)[0] for p in (folder / "cast").iterdir()}
            assert used <= cast_ids <= allowed
            for character in script.cast:
                assert character.photos and all(p.startswith("cast/id") for p in character.photos)
                for photo in character.photos:
                    with Image.open(folder / photo) as image:
                        assert (image.mode, image.size) == ("RGB", (128, 128))
            clips = sorted((folder / "clips").iterdir())
            assert [p.name for p in clips] == [f"{i:06d}.npz" for i in range(0, script.num_shots, 2)]
            with np.load(clips[0]) as data:
                assert data["frames"].shape == (3, 128, 224, 3) and data["frames"].dtype == np.uint8
                assert np.array_equal(data["frames"][0], np.asarray(Image.open(frames[0])))


def test_reader_reads_back_what_the_export_wrote(tiny_dataset):
    dataset = ToyCinemaDataset(tiny_dataset)
    assert dataset.size == (224, 128) and dataset.seed == 5
    for split in ("train", "test"):
        records = dataset.movies(split)
        assert [r.movie_id for r in records] == dataset.movie_ids(split)
        for record in records:
            assert record.root == tiny_dataset / split / record.movie_id
            assert len(record.frame_paths) == record.script.num_shots == len(record.ground_truth)
            assert record.load_frame(0).size == (224, 128)
            assert set(record.cast_photos) == {c.name for c in record.script.cast}
            assert all(
                len(paths) == 3 and all(p.is_file() for p in paths) for paths in record.cast_photos.values()
            )
            assert [record.clip_keyframe(p) for p in record.clip_paths] == list(
                range(0, record.script.num_shots, 2)
            )
            assert record.load_clip(record.clip_paths[-1]).shape == (3, 128, 224, 3)
    test_ids = set(dataset.identity_ids("test"))
    for record in dataset.movies("test"):
        assert {c["identity"] for t in record.ground_truth for c in t["characters"]} <= test_ids
    identity = dataset.identity(dataset.identity_ids("test")[0])
    assert identity.name == dataset.identities()[identity.identity_id]["name"]


def test_export_is_deterministic_across_runs_and_worker_counts(tiny_dataset, tmp_path):
    out = tmp_path / "again"
    argv = [
        "export", "--out", str(out), "--movies", "3", "--seed", "5", "--identities", "8",
        "--test-fraction", "0.25", "--min-shots", "4", "--max-shots", "6", "--workers", "2",
    ]  # fmt: skip
    assert toy_cinema.main(argv) == 0
    for name in (
        "manifest.json",
        "identities.json",
        "test/movie0002/script.json",
        "train/movie0001/ground_truth.jsonl",
    ):
        assert (out / name).read_bytes() == (tiny_dataset / name).read_bytes(), name
    for name in ("train/movie0000/frames/000003.png", "test/movie0002/cast"):
        a, b = out / name, tiny_dataset / name
        paths = sorted(a.iterdir()) if a.is_dir() else [a]
        for path in paths:
            assert path.read_bytes() == (b / path.name if a.is_dir() else b).read_bytes()


def test_export_refuses_a_non_empty_folder_unless_told_to_overwrite(tmp_path):
    out = tmp_path / "data"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    argv = [
        "export",
        "--out",
        str(out),
        "--movies",
        "1",
        "--min-shots",
        "2",
        "--max-shots",
        "2",
        "--workers",
        "1",
    ]
    with pytest.raises(SystemExit, match="not empty"):
        toy_cinema.main(argv)
    with pytest.raises(SystemExit, match="no toy-cinema dataset"):
        toy_cinema.main([*argv, "--overwrite"])
    assert (out / "notes.txt").read_text() == "mine"

    fresh = tmp_path / "fresh"
    argv = [
        "export",
        "--out",
        str(fresh),
        "--movies",
        "2",
        "--identities",
        "4",
        "--min-shots",
        "2",
        "--max-shots",
        "3",
        "--workers",
        "1",
    ]
    assert toy_cinema.main(argv) == 0
    assert toy_cinema.main([*argv, "--overwrite", "--movies", "1", "--test-fraction", "0"]) == 0
    manifest = json.loads((fresh / "manifest.json").read_text())
    assert manifest["movies"] == {"train": ["movie0000"], "test": []}
    assert sorted(p.name for p in (fresh / "train").iterdir()) == ["movie0000"]


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--movies", "0"], "at least 1 movie"),
        (["--test-fraction", "1"], "test-fraction"),
        (["--min-shots", "9", "--max-shots", "3"], "shot range"),
        (["--clip-frames", "1"], "clip-frames"),
    ],
)
def test_export_explains_bad_arguments(tmp_path, extra, message):
    with pytest.raises(SystemExit, match=message):
        toy_cinema.main(["export", "--out", str(tmp_path / "x"), *extra])


def test_cli_help_lists_both_commands(capsys):
    with pytest.raises(SystemExit) as exit_info:
        toy_cinema.main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "export" in out and "samples" in out


def test_held_out_movies_do_not_move_with_the_export_size():
    """Movie i's split depends on i and the fraction only: 80 and 200 movies agree on their prefix."""
    small = [toy_cinema.movie_split(i, 0.2) for i in range(80)]
    big = [toy_cinema.movie_split(i, 0.2) for i in range(200)]
    assert big[:80] == small
    assert small.count("test") == 16 and big.count("test") == 40
    assert [i for i in range(20) if small[i] == "test"] == [4, 9, 14, 19]


def test_export_split_test_writes_the_held_out_movies_alone(tmp_path):
    out = tmp_path / "heldout"
    argv = [
        "export", "--out", str(out), "--movies", "10", "--seed", "5", "--identities", "8",
        "--test-fraction", "0.2", "--min-shots", "4", "--max-shots", "5", "--workers", "1", "--split", "test",
    ]  # fmt: skip
    assert toy_cinema.main(argv) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["movies"] == {"train": [], "test": ["movie0004", "movie0009"]}
    assert manifest["only_split"] == "test"
    assert not (out / "train").exists() or not any((out / "train").iterdir())
    dataset = ToyCinemaDataset(out)
    assert [m.movie_id for m in dataset.movies("test")] == ["movie0004", "movie0009"]
    # The same movie as in a full export of the same seed.
    full = tmp_path / "full"
    assert toy_cinema.main([a if a != str(out) else str(full) for a in argv[:-2]]) == 0
    for movie_id in ("movie0004", "movie0009"):
        assert (out / "test" / movie_id / "script.json").read_text() == (
            full / "test" / movie_id / "script.json"
        ).read_text()
