"""Media files on disk beside the database: atomic, content-addressed, confined to one root.

Layout under the media root (one per data dir):

    projects/<project_id>/<kind>/<sha256>.<ext>     kind: faces, crops, keyframes, references, renders
    downloads/<sha256>/<name>                       an export under its human name (named_copy)

and beside the media root (outside it, so Gradio never serves it):

    work/<prefix><random>/                          a job's intermediate files (work_folder)

Rules that keep the files and the rows consistent through crashes:

* a file is written to a temp file in its final folder, fsynced, then `os.replace`d to its
  content-hash name (and the folder fsynced), so a name either holds the whole file or does
  not exist; the caller inserts the row only after the write returned;
* rows are deleted before their files, so a row never points at a missing file; a crash in
  between leaves an unreferenced file, which `sweep` removes at the next start-up;
* the same content in the same folder is one file (the name is its hash), so a file is
  deleted only when no row references it any more;
* files a job makes on its way (an MP4 being encoded) live in a work folder under the data
  folder, never in the system's temp folder: a process killed mid-encode leaves its partial
  file there, and the start-up sweep deletes every work folder.

Paths handed to and returned by the store are relative POSIX strings ("projects/3/faces/ab...png");
`resolve` refuses anything that would leave the root.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from core.files import atomic_output
from studio.errors import MediaError
from studio.media.upload import UploadLimits

logger = logging.getLogger(__name__)

TEMP_PREFIX = ".tmp-"
PROJECTS_DIR = "projects"
# Exports under their human names (see named_copy); derived, swept at start-up.
DOWNLOADS_DIR = "downloads"
MEDIA_KINDS = ("faces", "crops", "keyframes", "references", "renders")
# Jobs' intermediate files, beside the media root (see work_folder).
WORK_DIR = "work"
_COPY_CHUNK = 1024 * 1024
_SUFFIX = re.compile(r"\.[a-z0-9]{1,8}")


@dataclass(frozen=True)
class StoredFile:
    """A file now in the store: where (relative), its sha256 and size."""

    path: str
    sha256: str
    size: int


def _fsync_dir(directory: Path) -> None:
    """Make a rename in `directory` durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class MediaStore:
    """The media files of one data dir, and the upload limits that apply to them."""

    def __init__(
        self, root: str | Path, limits: UploadLimits | None = None, work_root: str | Path | None = None
    ):
        self.limits = limits or UploadLimits()
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.work_root = Path(work_root).resolve() if work_root is not None else self.root.parent / WORK_DIR
        # Called with each stored file's absolute path just before it is deleted, so copies
        # made elsewhere (the web server's cache) can go with it.
        self.removal_hooks: list[Callable[[Path], None]] = []

    # -- paths --------------------------------------------------------------------------

    @staticmethod
    def project_dir(project_id: int) -> str:
        return f"{PROJECTS_DIR}/{int(project_id)}"

    @classmethod
    def kind_dir(cls, project_id: int, kind: str) -> str:
        if kind not in MEDIA_KINDS:
            raise ValueError(f"unknown media kind {kind!r}; expected one of {MEDIA_KINDS}")
        return f"{cls.project_dir(project_id)}/{kind}"

    def resolve(self, relative: str) -> Path:
        """The absolute path of a stored relative path, refusing anything outside the root."""
        if not relative or not isinstance(relative, str):
            raise MediaError("A media path is empty; the file it named cannot be found.")
        pure = PurePosixPath(relative)
        # Stored paths are always canonical ("a/b.png"); anything else ("a//b", "./a", "a/../b")
        # was not made by the store and is refused rather than interpreted.
        if (
            pure.is_absolute()
            or "\\" in relative
            or "\x00" in relative
            or ".." in pure.parts
            or str(pure) != relative
            or relative == "."
        ):
            raise MediaError(
                f"The media path {relative!r} points outside the studio's media folder; it was refused."
            )
        path = (self.root / pure).resolve()
        if not path.is_relative_to(self.root):
            # A symlink inside the root pointing out of it.
            raise MediaError(
                f"The media path {relative!r} points outside the studio's media folder; it was refused."
            )
        return path

    def exists(self, relative: str) -> bool:
        return self.resolve(relative).is_file()

    def read_bytes(self, relative: str) -> bytes:
        path = self.resolve(relative)
        try:
            return path.read_bytes()
        except FileNotFoundError as error:
            raise MediaError(
                f"The media file {relative!r} is missing from the data folder; regenerate or upload it again."
            ) from error

    # -- writing ------------------------------------------------------------------------

    def write_bytes(self, directory: str, data: bytes, suffix: str) -> StoredFile:
        """Store `data` as `<directory>/<sha256><suffix>` atomically (idempotent)."""
        self._check_suffix(suffix)
        digest = hashlib.sha256(data).hexdigest()
        target_dir = self._ensure_dir(directory)
        final = target_dir / f"{digest}{suffix}"
        if not final.exists():
            with atomic_output(final, temporary_prefix=TEMP_PREFIX) as temp:
                temp.write_bytes(data)
        return StoredFile(path=f"{directory}/{final.name}", sha256=digest, size=len(data))

    def write_file(self, directory: str, source: str | Path, suffix: str | None = None) -> StoredFile:
        """Copy the file `source` (e.g. a finished video) into the store atomically."""
        source = Path(source)
        suffix = source.suffix.lower() if suffix is None else suffix
        self._check_suffix(suffix)
        target_dir = self._ensure_dir(directory)
        temp = target_dir / f"{TEMP_PREFIX}{uuid.uuid4().hex}{suffix}"
        digest = hashlib.sha256()
        size = 0
        try:
            with open(source, "rb") as reader, open(temp, "xb") as writer:
                while chunk := reader.read(_COPY_CHUNK):
                    digest.update(chunk)
                    writer.write(chunk)
                    size += len(chunk)
                writer.flush()
                os.fsync(writer.fileno())
            final = target_dir / f"{digest.hexdigest()}{suffix}"
            if final.exists():
                temp.unlink()
            else:
                os.replace(temp, final)
        finally:
            temp.unlink(missing_ok=True)
        _fsync_dir(target_dir)
        return StoredFile(path=f"{directory}/{final.name}", sha256=digest.hexdigest(), size=size)

    def named_copy(self, relative: str, filename: str) -> Path:
        """The stored file under a human name, for a download: `downloads/<sha256>/<filename>`.

        A hard link where the file system allows (no second copy on disk), else a copy written
        atomically. No row references it, so the start-up sweep removes it again; the stored
        file itself is untouched.
        """
        source = self.resolve(relative)
        if not source.is_file():
            raise MediaError(f"The media file {relative!r} is missing from the data folder; export it again.")
        if not filename or "/" in filename or "\\" in filename or filename.startswith((".", TEMP_PREFIX)):
            raise ValueError(f"a download name must be a plain file name, got {filename!r}")
        folder = self._ensure_dir(f"{DOWNLOADS_DIR}/{PurePosixPath(relative).stem}")
        target = folder / filename
        if target.is_file() and target.stat().st_size == source.stat().st_size:
            return target
        temp = folder / f"{TEMP_PREFIX}{uuid.uuid4().hex}"
        try:
            try:
                os.link(source, temp)
            except OSError:
                shutil.copyfile(source, temp)
            os.replace(temp, target)
        finally:
            temp.unlink(missing_ok=True)
        return target

    def copy(self, relative: str, directory: str) -> StoredFile:
        """Copy a stored file into another folder of the store (same name: same content)."""
        return self.write_file(directory, self.resolve(relative), PurePosixPath(relative).suffix)

    @staticmethod
    def _check_suffix(suffix: str) -> None:
        if not _SUFFIX.fullmatch(suffix):
            raise ValueError(f"file suffix {suffix!r} is not of the form .png")

    def _ensure_dir(self, directory: str) -> Path:
        path = self.resolve(directory)
        path.mkdir(parents=True, exist_ok=True)
        return path

    @contextmanager
    def work_folder(self, prefix: str) -> Iterator[Path]:
        """A new private folder for a job's intermediate files, deleted with its content on exit
        (and by the next start-up's sweep when the process dies inside the block)."""
        self.work_root.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix=prefix, dir=self.work_root))
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    # -- deleting -----------------------------------------------------------------------

    def _before_removal(self, path: Path) -> None:
        for hook in self.removal_hooks:
            try:
                hook(path)
            except OSError as error:
                # A copy that cannot be deleted must not keep the stored file (or a row) alive.
                logger.warning("could not remove the copies of %s: %s", path, error)

    def remove(self, relative: str) -> bool:
        """Delete one stored file; False if it was already gone."""
        path = self.resolve(relative)
        if path.is_file():
            self._before_removal(path)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        return True

    def remove_tree(self, directory: str) -> None:
        """Delete a folder of the store and everything in it."""
        path = self.resolve(directory)
        if path == self.root:
            raise ValueError("refusing to delete the whole media root")
        if self.removal_hooks and path.is_dir():
            for file in sorted(path.rglob("*")):
                if file.is_file() and not file.is_symlink():
                    self._before_removal(file)
        shutil.rmtree(path, ignore_errors=True)

    # -- inspection and clean-up --------------------------------------------------------

    def iter_files(self) -> Iterator[str]:
        """Every stored file (not temp files), as relative paths."""
        for path in sorted(self.root.rglob("*")):
            if path.is_file() and not path.name.startswith(TEMP_PREFIX):
                yield path.relative_to(self.root).as_posix()

    def temp_files(self) -> list[Path]:
        return sorted(path for path in self.root.rglob(f"{TEMP_PREFIX}*") if path.is_file())

    def sweep(self, referenced: set[str], *, min_age_seconds: float = 0.0) -> list[str]:
        """Delete temp files and files no row references that are older than `min_age_seconds`.

        Run at start-up (before any job writes) with the default age; a live studio should pass
        an age longer than any write takes, so a file written a moment before its row is kept.
        """
        now = time.time()
        removed: list[str] = []
        for temp in self.temp_files():
            if now - temp.stat().st_mtime >= min_age_seconds:
                temp.unlink(missing_ok=True)
                removed.append(temp.relative_to(self.root).as_posix())
        for relative in list(self.iter_files()):
            if relative in referenced:
                continue
            path = self.root / relative
            if now - path.stat().st_mtime >= min_age_seconds:
                self._before_removal(path)
                path.unlink(missing_ok=True)
                removed.append(relative)
        self._remove_empty_dirs()
        removed += self._sweep_work(now, min_age_seconds)
        if removed:
            logger.info("media sweep removed %d unreferenced file(s) or work folder(s)", len(removed))
        return removed

    def _sweep_work(self, now: float, min_age_seconds: float) -> list[str]:
        """Delete work folders nothing has written to for `min_age_seconds` (all of them at start-up)."""
        if not self.work_root.is_dir():
            return []
        removed = []
        for folder in sorted(self.work_root.iterdir()):
            entries = [folder, *folder.rglob("*")] if folder.is_dir() else [folder]
            newest = max((entry.lstat().st_mtime for entry in entries), default=0.0)
            if now - newest < min_age_seconds:
                continue
            if folder.is_dir() and not folder.is_symlink():
                shutil.rmtree(folder, ignore_errors=True)
            else:
                folder.unlink(missing_ok=True)
            removed.append(f"{WORK_DIR}/{folder.name}")
        return removed

    def _remove_empty_dirs(self) -> None:
        for path in sorted(self.root.rglob("*"), key=lambda p: len(p.parts), reverse=True):
            if path.is_dir() and not any(path.iterdir()):
                path.rmdir()
