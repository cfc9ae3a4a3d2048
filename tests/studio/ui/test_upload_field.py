"""Uploads take uploaded files only: a file entry whose path is a URL is refused with a sentence
before Gradio looks its host up, on every upload endpoint of the launched page."""

from __future__ import annotations

import socket

import gradio as gr
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from studio.config import StudioSettings
from studio.ui.app import build_demo
from studio.ui.handle import StudioHandle
from studio.ui.upload_field import URL_REFUSED, is_url
from tests.studio.test_browser import _free_port

URL_FILE = {"path": "https://example.com/face.png", "meta": {"_type": "gradio.FileData"}}
# endpoint -> its arguments, with the URL file where the upload goes.
UPLOADS = {
    "/add_photos": (-1, [URL_FILE]),  # -1: the "new character" choice, valid before any project
    "/add": ([URL_FILE], ""),
    "/import_script": (URL_FILE, "auto", "new"),
}


@pytest.mark.parametrize(
    "path",
    [
        "https://example.com/a.png",
        "http://10.0.0.1/x",
        " HTTPS://EXAMPLE.COM/a",
        "ftp://host/a.png",
        "file:///etc/passwd",
        "data:image/png;base64,AAAA",
    ],
)
def test_urls_are_recognised(path):
    assert is_url(path)


@pytest.mark.parametrize("path", ["/tmp/gradio/abc/face.png", "C:\\Users\\me\\face.png", "face.png", None])
def test_paths_are_not_urls(path):
    assert not is_url(path)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    handle = StudioHandle(StudioSettings(data_dir=tmp_path_factory.mktemp("upload") / "data"))
    demo = build_demo(handle)
    demo.queue().launch(
        prevent_thread_lock=True, server_name="127.0.0.1", server_port=_free_port(), show_error=False
    )
    try:
        yield Client(demo.local_url, verbose=False)
    finally:
        demo.close()
        handle.close()


@pytest.fixture
def lookups(monkeypatch):
    """Host names this process tries to resolve (other than loopback)."""
    names: list[str] = []
    real = socket.getaddrinfo

    def recording(host, *args, **kwargs):
        if host not in ("127.0.0.1", "localhost", "::1", None):
            names.append(host)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", recording)
    return names


@pytest.mark.parametrize("endpoint", sorted(UPLOADS))
def test_a_url_given_as_a_file_is_refused_before_any_lookup(served, lookups, endpoint):
    with pytest.raises(AppError) as refused:
        served.predict(*UPLOADS[endpoint], api_name=endpoint)
    assert URL_REFUSED in str(refused.value)
    assert lookups == []


def test_every_upload_of_the_page_is_an_upload_field(tmp_path):
    demo = build_demo(StudioHandle(StudioSettings(data_dir=tmp_path / "data")))
    interactive_files = [
        block
        for block in demo.blocks.values()
        if isinstance(block, gr.File | gr.UploadButton | gr.Image | gr.Video)
        and block.interactive is not False
    ]
    assert len(interactive_files) >= 3  # photos, references, scripts (and any added since)
    assert all(getattr(block, "refuses_urls", False) for block in interactive_files)
