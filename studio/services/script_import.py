"""Importing a script (JSON, Fountain or MovieBench) into a project.

The parsers live in core.script (`io.script_from_json`, `fountain.script_from_fountain`,
`moviebench.script_from_moviebench`); they are imported when used, so the studio starts even
without an optional importer. A `ScriptError` becomes a `StudioError` whose `problems` list
every problem with its location.

Cast photos named by the script (paths relative to `photo_root`, e.g. "cast/mara_0.png") go
through the upload validator like any upload; a photo that cannot be used is skipped with a
note instead of failing the whole import.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path, PurePosixPath
from typing import Literal

from sqlmodel import Session

from core.script import Script
from studio.db import (
    KeyframeVersion,
    Project,
    ProjectCreate,
    ProjectSettings,
    Shot,
)
from studio.db import cast as cast_db
from studio.db import project as project_db
from studio.db import storyboard as storyboard_db
from studio.db.keyframe import list_keyframe_versions
from studio.errors import MediaError, StudioError
from studio.media import MediaStore, validate_image_upload
from studio.ownership import require_project
from studio.services.backup import restore_backup
from studio.services.media_files import media_transaction, release_media
from studio.services.project_fill import ImportReport, fill_project, import_report
from studio.services.projects import clean_project_name

logger = logging.getLogger(__name__)

ScriptFormat = Literal["json", "fountain", "moviebench", "fdx"]
SCRIPT_FORMATS: tuple[ScriptFormat, ...] = ("json", "fountain", "moviebench", "fdx")
_SUFFIX_FORMATS: dict[str, ScriptFormat] = {
    ".json": "json",
    ".fountain": "fountain",
    ".spmd": "fountain",
    ".fdx": "fdx",
}
_FOUNTAIN_HEADING = re.compile(r"^\s*(?:INT|EXT|EST|INT\./EXT|I/E)[. ]", re.MULTILINE | re.IGNORECASE)
# A script of 400 keyframes is ~200 kB; anything far bigger is not a script.
MAX_SCRIPT_BYTES = 20 * 1024 * 1024


def guess_script_format(filename: str, text: str | None = None) -> ScriptFormat | None:
    """The format of a script from its content (when given) and its file name; None when
    neither tells.

    JSON text is a script unless it holds MovieBench shot annotations (a list of shots with a
    Plot and a Background Description or Characters); other text with a scene heading
    ("INT. ...", "EXT. ...") is Fountain.
    """
    by_name = _SUFFIX_FORMATS.get(PurePosixPath(filename.replace("\\", "/")).suffix.lower())
    if text is None or by_name in ("fountain", "fdx"):
        return by_name
    from core.script.moviebench import looks_like_moviebench

    try:
        data = json.loads(text)
    except RecursionError:
        return "json"  # brackets nested beyond reading: the JSON reader says so
    except ValueError:
        if by_name == "json":
            return "json"  # broken JSON: the JSON reader says where
        if "<FinalDraft" in text[:2000]:
            return "fdx"  # Final Draft XML under another name
        return "fountain" if _FOUNTAIN_HEADING.search(text) else by_name
    return "moviebench" if looks_like_moviebench(data) else "json"


def _source_text(source: str | bytes | Path) -> str:
    if isinstance(source, Path):
        if not source.is_file():
            raise StudioError(f"The script file {source.name!r} was not found; upload it again.")
        if source.stat().st_size > MAX_SCRIPT_BYTES:
            raise StudioError(
                f"The file {source.name!r} is larger than {MAX_SCRIPT_BYTES // 2**20} MB, so it is not a script; "
                "choose the script file."
            )
        source = source.read_bytes()
    if isinstance(source, bytes):
        if len(source) > MAX_SCRIPT_BYTES:
            raise StudioError(
                f"The uploaded file is larger than {MAX_SCRIPT_BYTES // 2**20} MB, so it is not a script; "
                "choose the script file."
            )
        try:
            return source.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise StudioError(
                f"The script is not UTF-8 text (byte {error.start + 1} cannot be read); save it as UTF-8 and "
                "import it again."
            ) from None
    return source


def parse_script(source: str | bytes | Path, fmt: ScriptFormat, *, title: str | None = None) -> Script:
    """Read a script in format `fmt`; a StudioError lists every problem found.

    `title` names a MovieBench import (its annotations usually carry none).
    """
    from core.script.errors import ScriptError

    if fmt not in SCRIPT_FORMATS:
        raise StudioError(
            f"{fmt!r} is not a script format the studio reads; choose JSON, Fountain, MovieBench or Final Draft."
        )
    text = _source_text(source)
    try:
        if fmt == "json":
            from core.script.io import script_from_json

            return script_from_json(text)
        if fmt == "fountain":
            from core.script.fountain import script_from_fountain

            return script_from_fountain(text)
        if fmt == "fdx":
            from core.interchange.fdx import script_from_fdx

            return script_from_fdx(text)
        from core.script.moviebench import script_from_moviebench

        return script_from_moviebench(text, title=title)
    except ScriptError as error:
        raise StudioError(
            "The script could not be imported; fix the problems listed and import it again.",
            [str(problem) for problem in error.problems],
        ) from None


def _clear_script(session: Session, project: Project) -> list[str]:
    """Delete the project's cast and scenes (rows); the media paths they used."""
    paths: list[str] = []
    for character in cast_db.list_characters(session=session, project_id=project.id):
        for photo in cast_db.list_face_photos(session=session, character_id=character.id):
            paths += [p for p in (photo.media_path, photo.crop_path) if p]
        session.delete(character)
    for scene in storyboard_db.list_scenes(session=session, project_id=project.id):
        for shot in storyboard_db.list_shots(session=session, scene_id=scene.id):
            for version in list_keyframe_versions(session=session, shot_id=shot.id):
                paths += [p for p in (version.media_path, version.tokens_path) if p]
        session.delete(scene)
    session.flush()
    session.expire_all()
    return paths


def import_script(
    *,
    session: Session,
    media: MediaStore,
    owner: str,
    project_id: int,
    script: Script,
    photo_root: Path | None = None,
    replace: bool = False,
) -> ImportReport:
    """Put `script` into an existing project (its name becomes the script's title).

    A project that already has a cast or scenes is only overwritten with `replace=True`; then
    its cast, scenes, shots and keyframes are replaced (references and renders are kept).
    """
    project = require_project(session, project_id, owner)
    has_content = bool(cast_db.list_characters(session=session, project_id=project.id)) or bool(
        storyboard_db.list_scenes(session=session, project_id=project.id)
    )
    if has_content and not replace:
        raise StudioError(
            f"The project {project.name!r} already has a script; import into a new project, or confirm that "
            "its cast, scenes and keyframes should be replaced."
        )
    old_paths: list[str] = []
    with media_transaction(session, media) as written:
        if has_content:
            old_paths = _clear_script(session, project)
        photos, notes, _ = fill_project(session, media, project, script, photo_root, written)
    release_media(session, media, old_paths)
    logger.info("script %r imported into project %s (%d shots)", script.title, project.id, script.num_shots)
    return import_report(project, script, photos, notes)


def new_project_from_script(
    *,
    session: Session,
    media: MediaStore,
    owner: str,
    script: Script,
    photo_root: Path | None = None,
    settings: ProjectSettings | None = None,
    frames_dir: Path | None = None,
) -> ImportReport:
    """A new project holding `script` (and, from `frames_dir`, one keyframe per shot if given).

    `frames_dir` holds `000000.png`, `000001.png`... numbered in story order (the layout of
    sample projects, exported ZIPs and the toy-cinema dataset); missing frames are fine.
    """
    with media_transaction(session, media) as written:
        project = project_db.create_project(
            session=session,
            owner=owner,
            project_in=ProjectCreate(
                name=clean_project_name(script.title), settings=settings or ProjectSettings()
            ),
        )
        photos, notes, shots = fill_project(session, media, project, script, photo_root, written)
        if frames_dir is not None:
            notes += _import_frames(session, media, project, shots, frames_dir, written)
    logger.info("project %s created from script %r", project.id, script.title)
    return import_report(project, script, photos, notes)


def _import_frames(
    session: Session,
    media: MediaStore,
    project: Project,
    shots: list[Shot],
    frames_dir: Path,
    written: list[str],
) -> list[str]:
    notes: list[str] = []
    for number, shot in enumerate(shots):
        frame = frames_dir / f"{number:06d}.png"
        if not frame.is_file():
            continue
        try:
            image = validate_image_upload(
                frame, frame.name, max_bytes=media.limits.max_bytes, max_pixels=media.limits.max_pixels
            )
        except MediaError as error:
            notes.append(f"Keyframe of shot {number + 1}: {error}")
            continue
        stored = media.write_bytes(media.kind_dir(project.id, "keyframes"), image.png, ".png")
        written.append(stored.path)
        version = KeyframeVersion(
            shot_id=shot.id,
            media_path=stored.path,
            content_hash=image.sha256,
            width=image.width,
            height=image.height,
            seed=None,
            params={"source": "imported", "file": frame.name},
        )
        session.add(version)
        session.flush()
        shot.current_keyframe_id = version.id
        session.add(shot)
    return notes


def import_script_source(
    *,
    session: Session,
    media: MediaStore,
    owner: str,
    path: str | Path | None = None,
    text: str | bytes | None = None,
    fmt: ScriptFormat | None = None,
    filename: str | None = None,
    project_id: int | None = None,
    replace: bool = False,
) -> ImportReport:
    """Parse an uploaded script file (`path`, as gr.File gives it) or pasted `text`, and import
    it into `project_id`, or into a new project when `project_id` is None.

    `fmt` defaults to what the content and the file name say (see guess_script_format). The
    script's photos cannot come with a single file, so cast photos are added afterwards (the
    report's notes say which). A .zip is a project's backup (the Export tab's ZIP) and is
    restored whole as a new project (studio.services.backup).
    """
    if (path is None) == (text is None):
        raise ValueError("give exactly one of path and text")
    name = filename or (Path(path).name if path is not None else "")
    if path is not None and name.lower().endswith(".zip"):
        if project_id is not None:
            raise StudioError(
                "A backup ZIP opens as a new project (with its photos and keyframes); choose 'a new project' and "
                "import it again."
            )
        return restore_backup(session=session, media=media, owner=owner, path=path)
    if fmt is None:
        source = _source_text(Path(path) if path is not None else text)
        fmt = guess_script_format(name, source)
        text, path = source, None
        if fmt is None:
            raise StudioError(
                "The studio cannot tell the script's format from its name; choose JSON, Fountain or MovieBench."
            )
    title = (
        PurePosixPath(name.replace("\\", "/")).stem.replace("_", " ")
        if fmt == "moviebench" and name
        else None
    )
    script = parse_script(Path(path) if path is not None else text, fmt, title=title)
    if project_id is None:
        return new_project_from_script(session=session, media=media, owner=owner, script=script)
    return import_script(
        session=session, media=media, owner=owner, project_id=project_id, script=script, replace=replace
    )
