"""Files that appear complete or not at all, and images read the one way models read them.

`atomic_output` is the one atomic writer of the tree: the writer gets a temporary path in the destination's own folder (same file system, so the
final `os.replace` is atomic) that keeps the destination's suffix, because ffmpeg picks the
container from it. On success the file is fsynced and renamed over the destination; on any
error, including `Cancelled`, the temporary file is removed and the destination is untouched.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from PIL import Image


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
def atomic_output(destination: str | os.PathLike, *, temporary_prefix: str = ".") -> Iterator[Path]:
    """Yield a temporary path next to `destination`; rename it there when the block succeeds.

    temporary_prefix: how the temporary file's name starts (a store that sweeps leftovers at
    start-up recognises its own temporary files by it).
    """
    destination = Path(destination)
    folder = destination.parent
    if not folder.is_dir():
        raise FileNotFoundError(
            f"The folder {str(folder)!r} does not exist; create it before writing {destination.name!r} into it."
        )
    temporary = (
        folder / f"{temporary_prefix}{destination.stem}.{secrets.token_hex(4)}.partial{destination.suffix}"
    )
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


def write_bytes_atomically(destination: str | os.PathLike, data: bytes) -> Path:
    """`data` as the file `destination`, complete or not at all."""
    with atomic_output(destination) as temporary:
        temporary.write_bytes(data)
    return Path(destination)


def write_json_atomically(destination: str | os.PathLike, data: Any) -> Path:
    """`data` as indented UTF-8 JSON (non-ASCII kept) in `destination`, complete or not at all."""
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return write_bytes_atomically(destination, text.encode("utf-8"))


# The image formats anything here opens: Pillow's rarely used decoders (PSD, FITS, EPS, TGA...)
# are never reached, whatever a file claims to be (ENVIRONMENT.md).
IMAGE_FORMATS = ("PNG", "JPEG", "WEBP")


def open_rgb(path: str | os.PathLike) -> Image.Image:
    """The PNG, JPEG or WEBP image at `path` as RGB, read whole (the file is closed on return)."""
    with Image.open(path, formats=IMAGE_FORMATS) as image:
        return image.convert("RGB")
