"""A project as a `core.script.Script`, and the script JSON export.

The project name is the script's title. Cast photos are named the way a sample folder (and
the toy-cinema dataset) names them, `cast/<nn>_<name>_<k>.png`, which is also where the ZIP
export puts them, so an exported ZIP opens again as a sample project.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session

from core.script import Script
from core.script.errors import problems_from_validation_error
from studio.db import Project, RenderKind, RenderPublic
from studio.db import cast as cast_db
from studio.db import storyboard as storyboard_db
from studio.errors import StudioError
from studio.media import MediaStore
from studio.ownership import require_project
from studio.services.renders import store_render


def photo_export_name(character_position: int, character_name: str, photo_position: int) -> str:
    """Where a face photo goes in an exported folder, e.g. "cast/01_mara_0.png"."""
    slug = re.sub(r"[^a-z0-9]+", "-", character_name.casefold()).strip("-") or "character"
    return f"cast/{character_position + 1:02d}_{slug}_{photo_position}.png"


def shot_data(shot: Any) -> dict[str, Any]:
    """A shot row as the dict `core.script.Shot` validates."""
    return {
        "plot": shot.plot,
        "characters": list(shot.characters),
        "size": shot.size,
        "angle": shot.angle,
        "motion": shot.motion,
        "duration": shot.duration,
        "dialogue": [dict(line) for line in shot.dialogue],
        "notes": shot.notes,
    }


def scene_data(scene: Any, shots: list[Any]) -> dict[str, Any]:
    return {
        "heading": scene.heading,
        "time_of_day": scene.time_of_day,
        "elements": list(scene.elements),
        "style": scene.style,
        "shots": [shot_data(shot) for shot in shots],
    }


def project_script_data(*, session: Session, project: Project) -> dict[str, Any]:
    """The project as script data (a dict `Script.model_validate` reads), in story order."""
    cast = []
    for character in cast_db.list_characters(session=session, project_id=project.id):
        photos = cast_db.list_face_photos(session=session, character_id=character.id)
        cast.append(
            {
                "name": character.name,
                "description": list(character.description),
                "photos": [photo_export_name(character.position, character.name, p.position) for p in photos],
            }
        )
    scenes = [
        scene_data(scene, storyboard_db.list_shots(session=session, scene_id=scene.id))
        for scene in storyboard_db.list_scenes(session=session, project_id=project.id)
    ]
    return {
        "title": project.name,
        "logline": project.logline,
        "style": project.style,
        "cast": cast,
        "scenes": scenes,
    }


def project_to_script(*, session: Session, owner: str, project_id: int) -> Script:
    """The project as a validated Script; a StudioError lists the problems if it is not valid."""
    project = require_project(session, project_id, owner)
    data = project_script_data(session=session, project=project)
    try:
        return Script.model_validate(data)
    except ValidationError as error:
        problems = [str(problem) for problem in problems_from_validation_error(error, data)]
        raise StudioError(
            "The project's script has problems; fix them in the script editor and export again.", problems
        ) from None


def script_json_text(script: Script) -> str:
    """The canonical JSON form of a script (core.script.io's when available)."""
    from core.script.io import script_to_json

    return script_to_json(script)


def export_script_json(*, session: Session, media: MediaStore, owner: str, project_id: int) -> RenderPublic:
    """Write the project's script as JSON into the media store and record it as a render."""
    script = project_to_script(session=session, owner=owner, project_id=project_id)
    data = script_json_text(script).encode("utf-8")
    return store_render(
        session=session,
        media=media,
        project_id=project_id,
        kind=RenderKind.JSON,
        data=data,
        suffix=".json",
        params={"title": script.title, "num_shots": script.num_shots},
    )
