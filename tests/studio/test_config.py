"""Settings from flags, then environment, then defaults."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from studio.config import DEFAULT_DATA_DIR, default_data_dir, load_settings, parse_auth
from studio.errors import StudioError


def test_defaults():
    settings = load_settings([], environ={})
    assert settings.data_dir == DEFAULT_DATA_DIR
    assert settings.auth == ()
    assert settings.database_path == DEFAULT_DATA_DIR / "studio.sqlite3"
    assert settings.media_root == DEFAULT_DATA_DIR / "media"
    assert settings.max_upload_bytes == 20 * 1024 * 1024
    assert settings.upload_limits.max_bytes == settings.max_upload_bytes
    assert settings.bundle_path is None


def test_environment():
    settings = load_settings(
        [],
        environ={
            "STUDIO_DATA_DIR": "/srv/studio",
            "STUDIO_AUTH": "ann:pw1,bob:pw:2",
            "STUDIO_MAX_UPLOAD_MB": "5",
            "STUDIO_BUNDLE": "/models/bundle",
            "STUDIO_PORT": "8000",
        },
    )
    assert settings.data_dir == Path("/srv/studio")
    assert settings.auth == (("ann", "pw1"), ("bob", "pw:2"))  # passwords may contain ':'
    assert settings.max_upload_bytes == 5 * 1024 * 1024
    assert settings.bundle_path == Path("/models/bundle")
    assert settings.port == 8000


def test_flags_win_over_environment():
    settings = load_settings(
        ["--data-dir", "here", "--auth", "cid:secret", "--max-upload-mb", "1.5", "--bundle", "b"],
        environ={"STUDIO_DATA_DIR": "there", "STUDIO_AUTH": "x:y", "STUDIO_MAX_UPLOAD_MB": "9"},
    )
    assert settings.data_dir == Path("here")
    assert settings.auth == (("cid", "secret"),)
    assert settings.max_upload_bytes == int(1.5 * 1024 * 1024)
    assert settings.bundle_path == Path("b")


def test_bundle_roots_from_flags_or_environment(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    assert load_settings(["--bundles", str(one), "--bundles", str(two)], environ={}).bundle_roots == (
        one,
        two,
    )
    environ = {"STUDIO_BUNDLES": f"{one}{os.pathsep}{two}"}
    assert load_settings([], environ=environ).bundle_roots == (one, two)
    with pytest.raises(StudioError, match="bundles folder .* does not exist"):
        load_settings(["--bundles", str(tmp_path / "missing")], environ={})


@pytest.mark.parametrize("value", ["nopassword", ":pw", "user:", " , "])
def test_bad_auth_is_a_sentence(value):
    with pytest.raises(StudioError, match="user:password|empty"):
        parse_auth(value)


def test_bad_upload_limit():
    with pytest.raises(StudioError, match="more than 0 MB"):
        load_settings(["--max-upload-mb", "0"], environ={})
    with pytest.raises(StudioError, match="not a number"):
        load_settings([], environ={"STUDIO_MAX_UPLOAD_MB": "lots"})


def test_a_space_with_persistent_storage_keeps_its_data_there(tmp_path):
    assert default_data_dir({"SPACE_ID": "team/studio"}, persistent_root=tmp_path) == tmp_path / "studio_data"


def test_a_space_without_persistent_storage_warns_and_uses_the_local_folder(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="studio.config"):
        assert (
            default_data_dir({"SPACE_ID": "team/studio"}, persistent_root=tmp_path / "absent")
            == DEFAULT_DATA_DIR
        )
    assert "no persistent storage" in caplog.text


def test_persistent_storage_is_used_only_on_a_space(tmp_path):
    assert default_data_dir({}, persistent_root=tmp_path) == DEFAULT_DATA_DIR


def test_an_explicit_data_folder_wins_on_a_space(monkeypatch, tmp_path):
    monkeypatch.setattr("studio.config.SPACE_PERSISTENT_ROOT", tmp_path)
    on_space = load_settings([], environ={"SPACE_ID": "team/studio"})
    assert on_space.data_dir == tmp_path / "studio_data"
    chosen = load_settings([], environ={"SPACE_ID": "team/studio", "STUDIO_DATA_DIR": "/srv/studio"})
    assert chosen.data_dir == Path("/srv/studio")


def test_a_database_server_from_flag_or_environment():
    url = "postgresql://studio:secret@dbhost:5432/studio"
    settings = load_settings([], environ={"STUDIO_DATABASE_URL": url})
    assert settings.database_url == url and settings.database == url
    other = "postgresql://studio@otherhost/studio"
    assert load_settings(["--database-url", other], environ={"STUDIO_DATABASE_URL": url}).database == other
    assert load_settings([], environ={}).database == DEFAULT_DATA_DIR / "studio.sqlite3"  # SQLite by default


@pytest.mark.parametrize(
    ("value", "sentence"),
    [
        ("mysql://u:p@host/db", "runs on SQLite"),
        ("postgresql+asyncpg://u@host/db", "through psycopg 3"),
        ("postgresql://u@host:notaport/db", "not a URL"),
    ],
)
def test_a_database_url_the_studio_cannot_use_is_a_sentence(value, sentence):
    with pytest.raises(StudioError, match=sentence):
        load_settings(["--database-url", value], environ={})
