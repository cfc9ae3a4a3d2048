import pytest

from core.video.atomic_output import atomic_output
from core.video.cancellation import Cancelled


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
