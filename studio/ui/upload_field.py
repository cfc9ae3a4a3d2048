"""The file field of every upload (face photos, reference frames, scripts): uploaded files only.

Gradio's `gr.File` accepts a file entry whose `path` is a URL and fetches it before the
callback runs (its `async_move_resource_to_block_cache` resolves the host and downloads), so
a crafted request made the server look names up and reach the network, and the user saw a
bare "Error". The studio takes files that were uploaded to it and nothing else: `UploadField`
refuses any path that names a URL scheme before a lookup, with a sentence, and otherwise
behaves exactly like `gr.File`. Files it refuses on Gradio's side (a type not accepted) are
deleted from Gradio's cache at once (see studio.ui.served_files).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import gradio as gr

from studio.ui.served_files import discard_upload

# "https://", "ftp://", "file://"... and "data:" (RFC 3986 scheme followed by a colon and, for
# every scheme but data:, two slashes). Windows drive letters ("C:\\") are not schemes.
_URL = re.compile(r"^\s*(?:[a-zA-Z][a-zA-Z0-9+.-]+://|data:)", re.ASCII)

URL_REFUSED = (
    "The studio takes uploaded files only, not links: download the file to your computer and upload it "
    "with the Upload button."
)


def is_url(path: str | Path | None) -> bool:
    return isinstance(path, str) and bool(_URL.match(path))


def UploadField(**kwargs: Any) -> gr.File:  # noqa: N802 - used like the component it builds
    """A `gr.File` that refuses URLs (see the module docstring); takes gr.File's arguments.

    The two methods are wrapped on the instance rather than in a subclass: Gradio writes a
    `.pyi` stub beside the source file of every Component subclass at import, which would fail
    on a read-only install and litter the package.
    """
    field = gr.File(**kwargs)
    move_async, move = field.async_move_resource_to_block_cache, field.move_resource_to_block_cache

    async def async_move_resource_to_block_cache(url_or_file_path: str | Path | None) -> str | None:
        if is_url(url_or_file_path):
            raise gr.Error(URL_REFUSED, print_exception=False)
        return await move_async(url_or_file_path)

    def move_resource_to_block_cache(url_or_file_path: str | Path | None) -> str | None:
        if is_url(url_or_file_path):
            raise gr.Error(URL_REFUSED, print_exception=False)
        return move(url_or_file_path)

    preprocess = field.preprocess

    def preprocess_or_discard(payload: Any) -> Any:
        # Gradio refuses a batch with a file of another type (an .svg) here, before any
        # callback; the uploaded files would otherwise stay in its cache.
        try:
            return preprocess(payload)
        except Exception:
            files = getattr(payload, "root", None) or [payload]
            for file in files:
                discard_upload(getattr(file, "path", None))
            raise

    field.async_move_resource_to_block_cache = async_move_resource_to_block_cache
    field.move_resource_to_block_cache = move_resource_to_block_cache
    field.preprocess = preprocess_or_discard
    field.refuses_urls = True
    return field
