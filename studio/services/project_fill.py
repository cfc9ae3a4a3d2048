"""Filling a new or emptied project from a validated Script: its cast (photos through the upload
validator), scenes and shots, and the report of what went in. Script import and backup
restore both fill projects this way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from sqlmodel import Session

from core.script import Script
from studio.db import Character, Project, ProjectPublic, Scene, Shot
from studio.db import cast as cast_db
from studio.db import project as project_db
from studio.errors import MediaError
from studio.media import MediaStore, validate_image_upload
from studio.services.projects import clean_project_name


@dataclass(frozen=True)
class ImportReport:
    """The project a script went into, what it now holds, and notes for the user."""

    project: ProjectPublic
    num_characters: int
    num_scenes: int
    num_shots: int
    num_photos: int
    notes: tuple[str, ...]


def _photo_file(photo_root: Path, relative: str) -> Path:
    """The photo `relative` inside `photo_root`, refusing paths that leave it."""
    pure = PurePosixPath(relative.replace("\\", "/"))
    if pure.is_absolute() or ".." in pure.parts or not pure.parts:
        raise MediaError(f"The photo path {relative!r} points outside the script's folder; it was skipped.")
    root = photo_root.resolve()
    path = (root / pure).resolve()
    if not path.is_relative_to(root):
        raise MediaError(f"The photo path {relative!r} points outside the script's folder; it was skipped.")
    if not path.is_file():
        raise MediaError(f"The photo {relative!r} was not found next to the script; it was skipped.")
    return path


def fill_project(
    session: Session,
    media: MediaStore,
    project: Project,
    script: Script,
    photo_root: Path | None,
    written: list[str],
) -> tuple[int, list[str], list[Shot]]:
    """Insert the script's cast (with photos), scenes and shots; (photos stored, notes, shots)."""
    notes: list[str] = []
    photos = 0
    # The script model limits a title to a project name's length: refused there, never cut here.
    project.name = clean_project_name(script.title)
    project.logline = script.logline
    project.style = script.style
    for position, member in enumerate(script.cast):
        character = Character(
            project_id=project.id, position=position, name=member.name, description=list(member.description)
        )
        session.add(character)
        session.flush()
        seen: set[str] = set()
        for relative in member.photos:
            if photo_root is None:
                notes.append(
                    f"{member.name}'s photo {relative!r} was not imported because the script came without its "
                    "folder; add the photo in the cast panel."
                )
                continue
            try:
                image = validate_image_upload(
                    _photo_file(photo_root, relative),
                    relative,
                    max_bytes=media.limits.max_bytes,
                    max_pixels=media.limits.max_pixels,
                )
            except MediaError as error:
                notes.append(f"{member.name}: {error}")
                continue
            if image.sha256 in seen:
                notes.append(
                    f"{member.name}'s photo {relative!r} is the same image as an earlier one; it was kept once."
                )
                continue
            seen.add(image.sha256)
            stored = media.write_bytes(media.kind_dir(project.id, "faces"), image.png, ".png")
            written.append(stored.path)
            cast_db.create_face_photo(
                session=session,
                character_id=character.id,
                media_path=stored.path,
                content_hash=image.sha256,
                original_name=image.original_name,
                width=image.width,
                height=image.height,
            )
            notes.extend(image.notes)
            photos += 1
    shots: list[Shot] = []
    for position, scene_in in enumerate(script.scenes):
        scene = Scene(
            project_id=project.id,
            position=position,
            heading=scene_in.heading,
            time_of_day=scene_in.time_of_day.value,
            elements=list(scene_in.elements),
            style=scene_in.style,
        )
        session.add(scene)
        session.flush()
        for k, shot_in in enumerate(scene_in.shots):
            fields = shot_in.model_dump(mode="json")
            shot = Shot(scene_id=scene.id, position=k, **fields)
            session.add(shot)
            shots.append(shot)
    session.flush()
    project_db.touch_project(session=session, project=project)
    return photos, notes, shots


def import_report(project: Project, script: Script, photos: int, notes: list[str]) -> ImportReport:
    return ImportReport(
        project=ProjectPublic.of(project),
        num_characters=len(script.cast),
        num_scenes=len(script.scenes),
        num_shots=script.num_shots,
        num_photos=photos,
        notes=tuple(notes),
    )
