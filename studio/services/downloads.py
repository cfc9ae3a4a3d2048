"""Exports offered for download under the project's name, not the stored file's hash.

Stored renders are content-addressed (`<sha256>.pdf`); a download is a named copy of one
(`MediaStore.named_copy`), called e.g. "The Lighthouse - storyboard.pdf".
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path, PurePosixPath

from sqlmodel import Session

from studio.db import Render, RenderKind
from studio.media import MediaStore
from studio.ownership import require_render

# What each kind of export is called after the project's name.
EXPORT_NAMES = {
    RenderKind.PDF: "storyboard",
    RenderKind.ZIP: "backup",
    RenderKind.JSON: "script",
    RenderKind.ANIMATIC: "animatic",
    RenderKind.CLIP: "clip",
}
MAX_NAME_CHARS = 80
# Characters that are unsafe or awkward in file names on common systems.
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')


def safe_file_stem(name: str, fallback: str = "project") -> str:
    """`name` usable as a file name on Windows, macOS and Linux (letters of any script kept)."""
    text = unicodedata.normalize("NFC", name)
    text = _UNSAFE.sub(" ", text)
    text = " ".join(text.split()).strip(" .")
    return text[:MAX_NAME_CHARS].rstrip(" .") or fallback


def export_filename(project_name: str, kind: RenderKind | str, suffix: str) -> str:
    """E.g. ("The Lighthouse", "pdf", ".pdf") -> "The Lighthouse - storyboard.pdf"."""
    what = EXPORT_NAMES.get(RenderKind(kind), RenderKind(kind).value)
    return f"{safe_file_stem(project_name)} - {what}{suffix}"


def render_download(*, session: Session, media: MediaStore, owner: str, render_id: int) -> Path:
    """The render's file under the project's name (see the module docstring)."""
    render, project = require_render(session, render_id, owner)
    return named_download(media, render, project.name)


def named_download(media: MediaStore, render: Render, project_name: str) -> Path:
    suffix = PurePosixPath(render.media_path).suffix
    return media.named_copy(render.media_path, export_filename(project_name, render.kind, suffix))
