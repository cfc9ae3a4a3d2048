"""Write a file so that it either appears complete or not at all.

The writer gets a temporary path in the destination's own folder (same file system, so the
final `os.replace` is atomic) that keeps the destination's suffix, because ffmpeg picks the
container from it. On success the file is fsynced and renamed over the destination; on any
error, including `Cancelled`, the temporary file is removed and the destination is untouched.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path


def _fsync_path(path: Path, directory: bool = False) -> None:
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        # some file systems refuse to open directories; the rename is still atomic there
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_output(destination: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to `destination`; rename it there when the block succeeds."""
    destination = Path(destination)
    folder = destination.parent
    if not folder.is_dir():
        raise FileNotFoundError(
            f"The folder {str(folder)!r} does not exist; create it before writing {destination.name!r} into it."
        )
    temporary = folder / f".{destination.stem}.{secrets.token_hex(4)}.partial{destination.suffix}"
    try:
        yield temporary
        if not temporary.exists():
            raise RuntimeError(f"Nothing was written for {str(destination)!r}; the writer produced no file.")
        _fsync_path(temporary)
        os.replace(temporary, destination)
        _fsync_path(folder, directory=True)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
