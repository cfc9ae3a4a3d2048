"""Files the web server holds or serves: uploads and cached copies go when they are done with,
and a studio media file is served only to the owner of its project.

Gradio keeps two kinds of files of its own in its cache folder (`gradio.utils.get_upload_folder()`):
what users upload (`<cache>/<random>/<name>`) and a copy of every file a callback shows
(`<cache>/<hash of the content>/<name>`), and serves both, and the media folder itself
(allowed_paths), at `/gradio_api/file=<path>` to anyone logged in who knows the path. So:

* `discard_upload` deletes an uploaded original once its callback is done with it: accepted
  uploads were stored as clean PNGs (or a project), refused ones (SVG, HTML, photos carrying
  GPS) must not stay on disk;
* `forget_served_copy` is a `MediaStore` removal hook: when a stored file is deleted (its
  project, shot or photo deleted), Gradio's copy of it goes too, so it cannot be fetched later;
* `OwnerOnlyFiles` (an ASGI middleware) answers 403 when a logged-in user asks for a file that
  is studio media of projects they do not own: a path in the media folder names its project;
  a cached copy is matched to media by its content, whose SHA-256 is the media file's name.
  Files that are not studio media (the page's own assets, one's own uploads) pass as before.
  Without --auth there is one local user, who owns everything.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote

import anyio
from gradio import processing_utils
from gradio import utils as gradio_utils
from sqlmodel import col, select
from starlette.requests import Request

from studio.db import Project
from studio.media.store import DOWNLOADS_DIR, MEDIA_KINDS, PROJECTS_DIR

if TYPE_CHECKING:
    from studio.ui.handle import StudioHandle

logger = logging.getLogger(__name__)

_SHA256 = re.compile(r"[0-9a-f]{64}")
FORBIDDEN = "This file belongs to a project of another user."


def gradio_cache() -> Path:
    return Path(gradio_utils.get_upload_folder()).resolve()


def discard_upload(path: str | Path | None) -> None:
    """Delete an uploaded file (and its folder when empty) if it lies in Gradio's cache."""
    if not path:
        return
    file = Path(path).resolve()
    cache = gradio_cache()
    if not file.is_relative_to(cache) or file == cache:
        return
    file.unlink(missing_ok=True)
    folder = file.parent
    if folder != cache and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()


def forget_served_copy(path: Path) -> None:
    """Delete Gradio's cached copy of the stored file `path` (about to be deleted), if any."""
    folder = gradio_cache() / processing_utils.hash_file(path)
    if folder.is_dir() and not folder.is_symlink():
        shutil.rmtree(folder)
        logger.info("removed the served copy of %s", path.name)


def _media_project_ids(media_root: Path, relative: Path) -> set[int] | None:
    """The projects a path inside the media folder belongs to; None when it is no media file."""
    parts = relative.parts
    if len(parts) >= 3 and parts[0] == PROJECTS_DIR and parts[1].isdigit():
        return {int(parts[1])}
    if len(parts) >= 2 and parts[0] == DOWNLOADS_DIR and _SHA256.fullmatch(parts[1]):
        return _projects_holding(media_root, parts[1])
    return None


def _projects_holding(media_root: Path, sha256: str) -> set[int]:
    """The projects with a media file whose content (so whose name) is `sha256`."""
    found = set()
    for kind in MEDIA_KINDS:
        for file in media_root.glob(f"{PROJECTS_DIR}/*/{kind}/{sha256}.*"):
            project = file.parent.parent.name
            if project.isdigit():
                found.add(int(project))
    return found


def _content_sha256(file: Path) -> str:
    digest = hashlib.sha256()
    with open(file, "rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def project_ids_of_file(media_root: Path, cache: Path, file: Path) -> set[int] | None:
    """The projects whose media `file` is (a path in the media folder or a cached copy);
    None when it is not studio media."""
    if file.is_relative_to(media_root):
        return _media_project_ids(media_root, file.relative_to(media_root))
    if file.is_relative_to(cache) and file.is_file():
        stem = file.stem if _SHA256.fullmatch(file.stem) else _content_sha256(file)
        return _projects_holding(media_root, stem) or None
    return None


def owners_of(handle: StudioHandle, project_ids: Iterable[int]) -> set[str]:
    studio = handle.get()
    with studio.session() as session:
        return set(session.exec(select(Project.owner).where(col(Project.id).in_(list(project_ids)))).all())


def requested_file(path: str) -> Path | None:
    """The file a `/file=` URL path asks for, or None for other URLs (and URLs of URLs)."""
    _, sep, rest = path.partition("/file=")
    if not sep:
        return None
    target = unquote(rest)
    if not target or "://" in target:
        return None
    return Path(target).resolve()


class OwnerOnlyFiles:
    """Refuses studio media of other users' projects (see the module docstring)."""

    def __init__(self, app, handle: StudioHandle):
        self.app = app
        self.handle = handle

    async def __call__(self, scope, receive, send) -> None:
        file = requested_file(scope["path"]) if scope["type"] == "http" else None
        gradio_app = scope.get("app")
        if file is None or getattr(gradio_app, "auth", None) is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        cookie_id = gradio_app.cookie_id
        token = request.cookies.get(f"access-token-{cookie_id}") or request.cookies.get(
            f"access-token-unsecure-{cookie_id}"
        )
        user = gradio_app.tokens.get(token) if token else None
        if user is not None and not await anyio.to_thread.run_sync(self._may_read, user, file):
            body = json.dumps({"detail": FORBIDDEN}).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 403,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        # Not logged in: Gradio's own login check answers.
        await self.app(scope, receive, send)

    def _may_read(self, user: str, file: Path) -> bool:
        studio = self.handle.get()
        projects = project_ids_of_file(studio.media.root, gradio_cache(), file)
        if projects is None:
            return True
        owners = owners_of(self.handle, projects)
        return studio.owner_of(user) in owners
