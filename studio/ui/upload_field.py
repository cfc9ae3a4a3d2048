"""The file field of every upload (face photos, reference frames, scripts): uploaded files only.

Gradio's `gr.File` accepts a file entry whose `path` is a URL and fetches it before the
callback runs (its `async_move_resource_to_block_cache` resolves the host and downloads), so
a crafted request made the server look names up and reach the network, and the user saw a
bare "Error". The studio takes files that were uploaded to it and nothing else: `UploadField`
refuses any path that names a URL scheme before a lookup, with a sentence, and otherwise
behaves exactly like `gr.File`.
"""

from __future__ import annotations

import re
from pathlib import Path

import gradio as gr

# "https://", "ftp://", "file://"... and "data:" (RFC 3986 scheme followed by a colon and, for
# every scheme but data:, two slashes). Windows drive letters ("C:\\") are not schemes.
_URL = re.compile(r"^\s*(?:[a-zA-Z][a-zA-Z0-9+.-]+://|data:)", re.ASCII)

URL_REFUSED = (
    "The studio takes uploaded files only, not links: download the file to your computer and upload it "
    "with the Upload button."
)


def is_url(path: str | Path | None) -> bool:
    return isinstance(path, str) and bool(_URL.match(path))


class UploadField(gr.File):
    """A `gr.File` that refuses URLs (see the module docstring)."""

    async def async_move_resource_to_block_cache(self, url_or_file_path: str | Path | None) -> str | None:
        if is_url(url_or_file_path):
            raise gr.Error(URL_REFUSED, print_exception=False)
        return await super().async_move_resource_to_block_cache(url_or_file_path)

    def move_resource_to_block_cache(self, url_or_file_path: str | Path | None) -> str | None:
        if is_url(url_or_file_path):
            raise gr.Error(URL_REFUSED, print_exception=False)
        return super().move_resource_to_block_cache(url_or_file_path)
