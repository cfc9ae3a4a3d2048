import json

import pytest

from core.files import atomic_output
from core.progress import Cancelled


def test_success_renames_into_place(tmp_path):
    target = tmp_path / "out.mp4"
    with atomic_output(target) as temporary:
        assert temporary.parent == tmp_path and temporary.suffix == ".mp4"
        temporary.write_bytes(b"data")
    assert target.read_bytes() == b"data"
    assert [p.name for p in tmp_path.iterdir()] == ["out.mp4"]


def test_failure_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "out.gif"
    target.write_bytes(b"old")
    with pytest.raises(Cancelled), atomic_output(target) as temporary:
        temporary.write_bytes(b"half")
        raise Cancelled("stop")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.gif"]


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"), atomic_output(tmp_path / "no" / "x.mp4"):
        pass


def test_json_and_bytes_are_written_whole_with_the_store_prefix_for_temporaries(tmp_path):
    from core.files import write_bytes_atomically, write_json_atomically

    write_json_atomically(tmp_path / "index.json", {"name": "Zoë", "frames": [1, 2]})
    assert json.loads((tmp_path / "index.json").read_text(encoding="utf-8")) == {
        "name": "Zoë",
        "frames": [1, 2],
    }
    assert "Zoë" in (tmp_path / "index.json").read_text(encoding="utf-8")  # not escaped
    write_bytes_atomically(tmp_path / "tokens.npy", b"abc")
    assert (tmp_path / "tokens.npy").read_bytes() == b"abc"
    seen = []
    with atomic_output(tmp_path / "x.png", temporary_prefix=".tmp-") as temporary:
        seen.append(temporary.name)
        temporary.write_bytes(b"png")
    assert seen[0].startswith(".tmp-x.") and seen[0].endswith(".png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.json", "tokens.npy", "x.png"]
    with pytest.raises(TypeError):
        write_json_atomically(tmp_path / "index.json", {"bad": object()})
    assert json.loads((tmp_path / "index.json").read_text(encoding="utf-8"))["frames"] == [1, 2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.json", "tokens.npy", "x.png"]


def test_open_rgb_reads_the_allowed_formats_and_refuses_others(tmp_path):
    from PIL import Image, UnidentifiedImageError

    from core.files import open_rgb

    Image.new("L", (4, 3), 128).save(tmp_path / "grey.png")
    image = open_rgb(tmp_path / "grey.png")
    assert image.mode == "RGB" and image.size == (4, 3)
    Image.new("RGB", (4, 3)).save(tmp_path / "photo.tga")
    with pytest.raises(UnidentifiedImageError):
        open_rgb(tmp_path / "photo.tga")
