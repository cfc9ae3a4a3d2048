"""Files the web server holds: uploads go once handled, cached copies go with their media, and
under --auth a user cannot fetch another user's media by its path."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
from gradio import processing_utils
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from studio.config import StudioSettings
from studio.media import MediaStore
from studio.ui.app import build_demo, launch_options
from studio.ui.handle import StudioHandle
from studio.ui.served_files import FORBIDDEN, discard_upload, forget_served_copy, gradio_cache
from tests.studio.factories import image_bytes
from tests.studio.test_browser import _free_port

USERS = (("ann", "ann-pw"), ("bob", "bob-pw"))


def test_discard_upload_deletes_only_files_in_gradios_cache(tmp_path):
    folder = gradio_cache() / f"test-{uuid.uuid4().hex}"
    folder.mkdir(parents=True)
    upload = folder / "face.svg"
    upload.write_text("<svg/>")
    outside = tmp_path / "mine.png"
    outside.write_bytes(b"x")
    discard_upload(upload)
    discard_upload(outside)
    discard_upload(None)
    assert not upload.exists() and not folder.exists() and outside.exists()


def test_a_removed_media_file_takes_its_served_copy_with_it(tmp_path):
    media = MediaStore(tmp_path / "media")
    media.removal_hooks.append(forget_served_copy)
    kept = media.write_bytes(media.kind_dir(1, "faces"), image_bytes(20, 20, (1, 2, 3)), ".png")
    stored = media.write_bytes(media.kind_dir(2, "keyframes"), image_bytes(20, 20, (9, 9, 9)), ".png")
    copies = [
        Path(processing_utils.save_file_to_cache(media.resolve(p.path), str(gradio_cache())))
        for p in (kept, stored)
    ]
    media.remove_tree(media.project_dir(2))
    assert copies[0].exists() and not copies[1].exists()
    media.remove(kept.path)
    assert not copies[0].exists()


def _paths_in(value) -> list[str]:
    """Every absolute file path in a Gradio client result (gallery items, file data...)."""
    if isinstance(value, str):
        return [value] if value.startswith("/") and Path(value).suffix else []
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list | tuple):
        return [path for item in value for path in _paths_in(item)]
    return []


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    settings = StudioSettings(
        data_dir=tmp_path_factory.mktemp("served") / "data", auth=USERS, port=_free_port()
    )
    handle = StudioHandle(settings)
    demo = build_demo(handle)
    options = launch_options(settings, environ={}, handle=handle)
    handle.get()
    demo.queue().launch(prevent_thread_lock=True, **options)
    try:
        yield demo.local_url.rstrip("/"), settings
    finally:
        demo.close()
        handle.close()


def _logged_in(url: str, user: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=60)
    assert client.post("/login", data={"username": user, "password": password}).status_code == 200
    return client


def test_media_are_served_to_their_owner_only_and_go_with_their_project(served, tmp_path):
    url, settings = served
    # download_files=False: results name the server's files, not local downloads of them.
    ann = Client(url, auth=USERS[0], verbose=False, download_files=False)
    ann.predict("Ann's film", api_name="/create_project")
    form = ann.predict(-1, "Mara", "A tall woman with short grey hair.", api_name="/save_character")
    character_id = form[0]["value"]
    photo = tmp_path / "mara.png"
    photo.write_bytes(image_bytes(64, 64, (120, 80, 60)))
    disguised = tmp_path / f"page-{uuid.uuid4().hex}.png"
    disguised.write_text("<html><script>alert(1)</script></html>")
    form = ann.predict(
        character_id, [handle_file(str(photo)), handle_file(str(disguised))], api_name="/add_photos"
    )
    # The uploads are gone from Gradio's cache, the refused one included; the photo is stored.
    assert list(gradio_cache().rglob(disguised.name)) == []
    assert list(gradio_cache().rglob("mara.png")) == []
    # A type Gradio itself refuses before any callback is deleted as well.
    svg = tmp_path / f"drawing-{uuid.uuid4().hex}.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    with pytest.raises(AppError, match="Invalid file type"):
        ann.predict(character_id, [handle_file(str(svg))], api_name="/add_photos")
    assert list(gradio_cache().rglob(svg.name)) == []
    stored = list((settings.media_root / "projects").glob("*/faces/*.png"))
    assert len(stored) == 1
    shown = [p for p in _paths_in(form) if p.endswith(".png")]
    assert shown, form

    ann_http, bob_http = _logged_in(url, *USERS[0]), _logged_in(url, *USERS[1])
    for path in (shown[0], str(stored[0])):
        assert ann_http.get(f"/gradio_api/file={path}").status_code == 200, path
        refused_response = bob_http.get(f"/gradio_api/file={path}")
        assert refused_response.status_code == 403, path
        assert refused_response.json()["detail"] == FORBIDDEN
    # What is not studio media is served as before (the page's own files).
    assert bob_http.get("/").status_code == 200

    ann.predict(api_name="/ask_delete")
    ann.predict(api_name="/delete_project")
    assert not Path(shown[0]).exists() and not stored[0].exists()
    assert ann_http.get(f"/gradio_api/file={shown[0]}").status_code in (403, 404)
