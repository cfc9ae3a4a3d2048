"""The media store: atomic content-addressed writes, confinement to the root, the sweep."""

from __future__ import annotations

import hashlib
import os

import pytest

from studio.errors import MediaError
from studio.media import MediaStore
from studio.media.store import TEMP_PREFIX, WORK_DIR
from tests.studio.factories import media_files


def test_write_is_content_addressed_and_leaves_no_temp_files(media: MediaStore):
    data = b"frame bytes"
    stored = media.write_bytes("projects/1/keyframes", data, ".png")
    digest = hashlib.sha256(data).hexdigest()
    assert stored.path == f"projects/1/keyframes/{digest}.png"
    assert stored.sha256 == digest and stored.size == len(data)
    assert media.read_bytes(stored.path) == data
    assert media_files(media) == [stored.path]
    assert media.temp_files() == []


def test_same_content_is_one_file(media: MediaStore):
    first = media.write_bytes("projects/1/faces", b"same", ".png")
    second = media.write_bytes("projects/1/faces", b"same", ".png")
    assert first == second
    assert len(media_files(media)) == 1


def test_failed_write_leaves_nothing(media: MediaStore, monkeypatch):
    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        media.write_bytes("projects/1/keyframes", b"half", ".png")
    with pytest.raises(OSError, match="disk full"):
        media.write_file("projects/1/renders", __file__, ".py")
    assert media_files(media) == []


def test_write_file_copies_atomically(media: MediaStore, tmp_path):
    source = tmp_path / "clip.mp4"
    source.write_bytes(b"\x00" * 3_000_000)
    stored = media.write_file("projects/2/renders", source)
    assert stored.path.endswith(".mp4") and stored.size == 3_000_000
    assert media.resolve(stored.path).read_bytes() == source.read_bytes()
    assert media.temp_files() == []


@pytest.mark.parametrize(
    "path",
    [
        "../secret.png",
        "/etc/passwd",
        "projects/../../x",
        "projects\\..\\x",
        "",
        "a//b",
        "projects/1/\x00.png",
    ],
)
def test_paths_outside_the_root_are_refused(media: MediaStore, path):
    with pytest.raises(MediaError):
        media.resolve(path)


def test_symlink_out_of_the_root_is_refused(media: MediaStore, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    (media.root / "projects").mkdir()
    (media.root / "projects" / "link").symlink_to(outside)
    with pytest.raises(MediaError, match="outside"):
        media.read_bytes("projects/link/secret.txt")


def test_bad_suffix_is_refused(media: MediaStore):
    with pytest.raises(ValueError):
        media.write_bytes("projects/1/faces", b"x", "/../../evil")


def test_sweep_removes_temp_and_unreferenced_files(media: MediaStore):
    kept = media.write_bytes("projects/1/faces", b"kept", ".png")
    orphan = media.write_bytes("projects/1/faces", b"orphan", ".png")
    gone_dir = media.write_bytes("projects/9/keyframes", b"gone", ".png")
    temp = media.resolve("projects/1/faces") / f"{TEMP_PREFIX}abc.png"
    temp.write_bytes(b"half-written")

    removed = media.sweep({kept.path})
    assert set(removed) == {orphan.path, gone_dir.path, f"projects/1/faces/{temp.name}"}
    assert media_files(media) == [kept.path]
    assert not media.resolve("projects/9").exists()  # empty folders go too


def test_sweep_spares_young_files_when_asked(media: MediaStore):
    young = media.write_bytes("projects/1/faces", b"young", ".png")
    assert media.sweep(set(), min_age_seconds=3600) == []
    assert media.exists(young.path)


def test_remove_tree_never_removes_the_root(media: MediaStore):
    with pytest.raises(MediaError):
        media.remove_tree("")


def test_work_folders_live_beside_the_media_root_and_are_removed(media: MediaStore):
    with media.work_folder("animatic-") as folder:
        assert folder.parent == media.root.parent / WORK_DIR and folder.name.startswith("animatic-")
        (folder / "animatic.mp4").write_bytes(b"partial")
    assert not folder.exists()
    with pytest.raises(RuntimeError), media.work_folder("clip-") as failed:
        (failed / "clip.mp4").write_bytes(b"partial")
        raise RuntimeError("encoder crashed")
    assert not failed.exists()


def test_the_sweep_removes_work_left_by_a_dead_process_but_not_live_work(media: MediaStore):
    left = media.root.parent / WORK_DIR / "animatic-dead"
    left.mkdir(parents=True)
    (left / "animatic.mp4").write_bytes(b"x" * 1000)
    assert media.sweep(set(), min_age_seconds=3600) == []  # as recent as a live encode
    assert media.sweep(set()) == [f"{WORK_DIR}/animatic-dead"]
    assert not left.exists()
