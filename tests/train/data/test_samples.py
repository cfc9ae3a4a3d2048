"""The sample projects in assets/samples: valid scripts, held-out cast, reproducible."""

from pathlib import Path

import pytest
from PIL import Image

from core.script import Script
from train.data import toy_cinema

SAMPLES = Path(__file__).resolve().parents[3] / "assets" / "samples"


@pytest.mark.parametrize("name,shots", [("short", 12), ("long", 120)])
def test_sample_projects_validate_and_cast_only_held_out_identities(name, shots):
    project = SAMPLES / name
    script = Script.model_validate_json((project / "script.json").read_text(encoding="utf-8"))
    assert script.num_shots == shots
    assert (project / "README.md").read_text().count("python -m train.data.toy_cinema samples") == 1
    held_out = {i.name: i for i in toy_cinema.held_out_identities(seed=0, identities=60, test_fraction=0.2)}
    for character in script.cast:
        identity = held_out[character.name]  # KeyError means a training identity leaked in
        assert character.description == identity.description
        assert 2 <= len(character.photos) <= 3
        for photo in character.photos:
            assert photo.startswith("cast/") and not Path(photo).is_absolute()
            with Image.open(project / photo) as image:
                assert (image.mode, image.size) == ("RGB", (128, 128))
    for _, _, shot in script.shots():
        assert set(shot.characters) <= {c.name for c in script.cast}


def test_samples_are_small():
    total = sum(p.stat().st_size for p in SAMPLES.rglob("*") if p.is_file())
    assert total < 2_000_000


def test_samples_command_regenerates_them_byte_for_byte(tmp_path):
    assert toy_cinema.main(["samples", "--out", str(tmp_path)]) == 0
    for name in ("short", "long"):
        written = sorted(p.relative_to(tmp_path / name) for p in (tmp_path / name).rglob("*") if p.is_file())
        shipped = sorted(p.relative_to(SAMPLES / name) for p in (SAMPLES / name).rglob("*") if p.is_file())
        assert written == shipped
        for relative in written:
            ours = (tmp_path / name / relative).read_bytes()
            if relative.name == "README.md":
                # The README quotes the command, including the --out it was given.
                ours = ours.replace(str(tmp_path).encode(), b"assets/samples")
            assert ours == (SAMPLES / name / relative).read_bytes(), relative
