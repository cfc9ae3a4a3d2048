"""Studio settings: where data lives, who may log in, how large uploads may be, which bundle.

Every setting comes from a command-line flag first, then an environment variable, then a
default, so `scripts/studio.sh --data-dir DIR` and `STUDIO_DATA_DIR=DIR scripts/studio.sh`
both work and a test can build settings from an explicit argv and environ without touching
the process environment.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from studio.errors import StudioError
from studio.media.upload import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, UploadLimits

logger = logging.getLogger(__name__)

DEFAULT_DATA_DIR = Path("studio_data")
# A Hugging Face Space with persistent storage has it mounted here; everything else of a
# Space's disk is lost when it restarts. Spaces set SPACE_ID in the environment.
SPACE_PERSISTENT_ROOT = Path("/data")
SPACE_DATA_DIR = "studio_data"
DEFAULT_MAX_UPLOAD_MB = DEFAULT_MAX_BYTES / (1024 * 1024)
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
DATABASE_FILE = "studio.sqlite3"
MEDIA_DIR = "media"


@dataclass(frozen=True)
class StudioSettings:
    """Everything the studio needs to start; derived paths are properties."""

    data_dir: Path = DEFAULT_DATA_DIR
    # (user, password) pairs; empty means no login and a single local user.
    auth: tuple[tuple[str, str], ...] = ()
    max_upload_bytes: int = DEFAULT_MAX_BYTES
    max_upload_pixels: int = DEFAULT_MAX_PIXELS
    bundle_path: Path | None = None
    # Folders whose bundle subfolders projects may choose in Settings (besides the default).
    bundle_roots: tuple[Path, ...] = ()
    samples_dir: Path = field(
        default_factory=lambda: Path(__file__).resolve().parent.parent / "assets" / "samples"
    )
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    # A PostgreSQL server's URL for a shared studio server; None: the SQLite file in data_dir.
    database_url: str | None = None
    # A task queue whose worker processes run the jobs (studio.workers); None: in-process threads.
    queue_url: str | None = None

    @property
    def database_path(self) -> Path:
        return self.data_dir / DATABASE_FILE

    @property
    def database(self) -> str | Path:
        """What `studio.db.make_engine` opens: the server URL if one is set, else the file."""
        return self.database_url or self.database_path

    @property
    def media_root(self) -> Path:
        return self.data_dir / MEDIA_DIR

    @property
    def upload_limits(self) -> UploadLimits:
        return UploadLimits(max_bytes=self.max_upload_bytes, max_pixels=self.max_upload_pixels)

    @property
    def max_upload_mb(self) -> float:
        return self.max_upload_bytes / (1024 * 1024)


def default_data_dir(environ: Mapping[str, str], persistent_root: Path | None = None) -> Path:
    """Where the studio keeps its data when neither --data-dir nor STUDIO_DATA_DIR says.

    On a Hugging Face Space with persistent storage: `/data/studio_data`, so projects survive a
    restart of the Space. Anywhere else: ./studio_data.
    """
    persistent_root = SPACE_PERSISTENT_ROOT if persistent_root is None else persistent_root
    if environ.get("SPACE_ID") and persistent_root.is_dir() and os.access(persistent_root, os.W_OK):
        return persistent_root / SPACE_DATA_DIR
    if environ.get("SPACE_ID"):
        logger.warning(
            "This Space has no persistent storage (%s); projects are kept in ./%s and lost when the Space "
            "restarts. Add persistent storage in the Space's settings to keep them.",
            persistent_root,
            DEFAULT_DATA_DIR,
        )
    return DEFAULT_DATA_DIR


# The owner name used for every project when the studio runs without --auth.
LOCAL_OWNER = "local"


def parse_auth(value: str) -> tuple[tuple[str, str], ...]:
    """`user:pass` or several separated by commas -> ((user, pass), ...)."""
    pairs: list[tuple[str, str]] = []
    for item in value.split(","):
        item = item.strip()
        if not item:
            continue
        user, sep, password = item.partition(":")
        if not sep or not user.strip() or not password:
            raise StudioError(
                f"The login {item!r} is not of the form user:password; write for example "
                "--auth director:secret (several logins separated by commas)."
            )
        pairs.append((user.strip(), password))
    if not pairs:
        raise StudioError("The login setting is empty; write for example --auth director:secret.")
    return tuple(pairs)


def build_parser() -> argparse.ArgumentParser:
    """The studio's command-line flags; app.py may add its own before parsing."""
    parser = argparse.ArgumentParser(description="MovieDreamer Studio: a storyboard studio in the browser.")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="folder for the database and media (env STUDIO_DATA_DIR, default ./studio_data; "
        "/data/studio_data on a Hugging Face Space with persistent storage)",
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="a PostgreSQL server for a studio shared by several people, "
        "postgresql://user:password@host:5432/dbname (env STUDIO_DATABASE_URL; default: "
        "a SQLite file in the data folder). Media files stay in the data folder either way.",
    )
    parser.add_argument(
        "--queue-url",
        default=None,
        help="run generation and rendering jobs in worker processes (python -m studio.worker) through this "
        "queue: sqlite:///path/queue.sqlite3 (one machine) or redis://host:6379/0 (several) "
        "(env STUDIO_QUEUE_URL; default: in the studio process)",
    )
    parser.add_argument(
        "--auth", default=None, help="require a login, user:password[,user2:password2] (env STUDIO_AUTH)"
    )
    parser.add_argument(
        "--max-upload-mb",
        type=float,
        default=None,
        help=f"largest accepted upload in MB (env STUDIO_MAX_UPLOAD_MB, default {DEFAULT_MAX_UPLOAD_MB:g})",
    )
    parser.add_argument(
        "--bundle",
        type=Path,
        default=None,
        help="model bundle folder (env STUDIO_BUNDLE, default: the embedded bundle)",
    )
    parser.add_argument(
        "--bundles",
        type=Path,
        action="append",
        default=None,
        metavar="DIR",
        help="a folder of model bundles (one per subfolder) that projects may choose in Settings; "
        f"repeatable (env STUDIO_BUNDLES, folders separated by {os.pathsep!r})",
    )
    parser.add_argument(
        "--samples-dir",
        type=Path,
        default=None,
        help="folder of sample projects (env STUDIO_SAMPLES_DIR, default assets/samples)",
    )
    parser.add_argument(
        "--host", default=None, help=f"address to listen on (env STUDIO_HOST, default {DEFAULT_HOST})"
    )
    parser.add_argument(
        "--port", type=int, default=None, help=f"port (env STUDIO_PORT, default {DEFAULT_PORT})"
    )
    return parser


def settings_from_namespace(
    args: argparse.Namespace, environ: Mapping[str, str] | None = None
) -> StudioSettings:
    """Combine parsed flags with the environment (flags win) into settings."""
    env = os.environ if environ is None else environ
    defaults = StudioSettings()

    data_dir = args.data_dir or (
        Path(env["STUDIO_DATA_DIR"]) if env.get("STUDIO_DATA_DIR") else default_data_dir(env)
    )
    auth_text = args.auth if args.auth is not None else env.get("STUDIO_AUTH")
    auth = parse_auth(auth_text) if auth_text else ()

    max_mb = args.max_upload_mb
    if max_mb is None and env.get("STUDIO_MAX_UPLOAD_MB"):
        try:
            max_mb = float(env["STUDIO_MAX_UPLOAD_MB"])
        except ValueError as error:
            raise StudioError(
                f"STUDIO_MAX_UPLOAD_MB is {env['STUDIO_MAX_UPLOAD_MB']!r}, not a number; set it to e.g. 20."
            ) from error
    if max_mb is None:
        max_mb = DEFAULT_MAX_UPLOAD_MB
    if not max_mb > 0:
        raise StudioError(f"The upload limit is {max_mb:g} MB; it must be more than 0 MB.")

    bundle = args.bundle or (Path(env["STUDIO_BUNDLE"]) if env.get("STUDIO_BUNDLE") else None)
    if args.bundles:
        roots = tuple(args.bundles)
    else:
        roots = tuple(Path(part) for part in env.get("STUDIO_BUNDLES", "").split(os.pathsep) if part.strip())
    for root in roots:
        if not root.is_dir():
            raise StudioError(
                f"The bundles folder {root} does not exist; give --bundles an existing folder of "
                "model bundles."
            )
    samples = args.samples_dir or (
        Path(env["STUDIO_SAMPLES_DIR"]) if env.get("STUDIO_SAMPLES_DIR") else defaults.samples_dir
    )
    host = args.host or env.get("STUDIO_HOST") or DEFAULT_HOST
    port_text = args.port if args.port is not None else env.get("STUDIO_PORT")
    try:
        port = int(port_text) if port_text is not None else DEFAULT_PORT
    except ValueError as error:
        raise StudioError(f"STUDIO_PORT is {port_text!r}, not a port number; set it to e.g. 7860.") from error

    database_url = args.database_url or env.get("STUDIO_DATABASE_URL") or None
    if database_url:
        from studio.db.engine import postgres_url

        postgres_url(database_url)  # a sentence now rather than a stack trace at the first query

    queue_url = args.queue_url or env.get("STUDIO_QUEUE_URL") or None
    if queue_url:
        from studio.workers import queue_backend

        queue_backend(queue_url)  # a sentence now for a URL the workers cannot use

    return StudioSettings(
        data_dir=data_dir,
        database_url=database_url,
        queue_url=queue_url,
        auth=auth,
        max_upload_bytes=int(max_mb * 1024 * 1024),
        bundle_path=bundle,
        bundle_roots=roots,
        samples_dir=samples,
        host=host,
        port=port,
    )


def load_settings(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
) -> StudioSettings:
    """Parse `argv` (default sys.argv[1:]) and the environment into settings."""
    args = build_parser().parse_args(argv)
    return settings_from_namespace(args, environ)
