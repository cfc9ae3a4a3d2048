"""Script editing: scenes and shots added, changed, reordered and deleted.

Every change is validated as part of the whole script by core.script before it is saved;
problems come back per form field in an `EditResult` (nothing raised, nothing saved).
Positions stay dense (0..n-1) after every insert, move and delete. The saved values are the
ones core.script normalised (outer spaces stripped, enums as their strings).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlmodel import Session

from core.script import Scene as ScriptScene
from core.script import Shot as ScriptShot
from studio.db import ScenePublic, ShotPublic
from studio.db import project as project_db
from studio.db import storyboard as storyboard_db
from studio.db.positions import move, renumber
from studio.errors import StudioError
from studio.media import MediaStore
from studio.ownership import require_project, require_scene, require_shot
from studio.services.results import GENERAL, EditResult
from studio.services.script_export import project_script_data
from studio.services.stale_forms import scene_fingerprint, shot_fingerprint, stale_problem
from studio.services.undo import DeletionView, forget_old_deletions, record_scene, record_shot
from studio.services.validation import field_problems, script_problems

SCENE_FIELDS = ("heading", "time_of_day", "elements", "style")
SHOT_FIELDS = ("plot", "characters", "size", "angle", "motion", "duration", "dialogue", "notes")


def dialogue_from_input(dialogue: Any) -> Any:
    """Dialogue as a list of {"character", "text", "parenthetical"} dicts.

    Accepts such dicts, or rows (character, text[, parenthetical]) as a table widget gives
    them; rows whose cells are all empty are skipped. Anything else is passed on unchanged so
    that core.script reports what is wrong with it.
    """
    if dialogue is None or isinstance(dialogue, str | Mapping):
        return dialogue
    lines = []
    for row in dialogue:
        if isinstance(row, Mapping):
            lines.append(dict(row))
            continue
        if isinstance(row, Sequence) and not isinstance(row, str):
            cells = ["" if cell is None else str(cell) for cell in row]
            if not any(cell.strip() for cell in cells):
                continue
            line = {"character": cells[0] if cells else "", "text": cells[1] if len(cells) > 1 else ""}
            if len(cells) > 2 and cells[2].strip():
                line["parenthetical"] = cells[2]
            lines.append(line)
            continue
        lines.append(row)
    return lines


def _lines_from_input(value: Any) -> Any:
    """A list of sentences: a text gives one sentence per non-empty line."""
    if isinstance(value, str):
        return [line.strip() for line in value.splitlines() if line.strip()]
    return value


def _scene_candidate(current: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(changes) - set(SCENE_FIELDS))
    if unknown:
        raise ValueError(f"unknown scene fields {unknown}")
    candidate = dict(current)
    for key, value in changes.items():
        if value is None and key != "style":
            continue
        candidate[key] = _lines_from_input(value) if key == "elements" else value
    if isinstance(candidate.get("style"), str) and not candidate["style"].strip():
        candidate["style"] = None
    return candidate


def _shot_candidate(current: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(changes) - set(SHOT_FIELDS))
    if unknown:
        raise ValueError(f"unknown shot fields {unknown}")
    candidate = dict(current)
    for key, value in changes.items():
        if value is None:
            continue
        candidate[key] = dialogue_from_input(value) if key == "dialogue" else value
    return candidate


# -- scenes -------------------------------------------------------------------------------


def add_scene(
    *,
    session: Session,
    owner: str,
    project_id: int,
    heading: str,
    time_of_day: str = "day",
    elements: str | Sequence[str] = (),
    style: str | None = None,
    index: int | None = None,
) -> EditResult[ScenePublic]:
    """A new scene (without shots) at the end, or at 0-based `index`."""
    project = require_project(session, project_id, owner)
    data = project_script_data(session=session, project=project)
    count = len(data["scenes"])
    if index is not None and not 0 <= index <= count:
        raise StudioError(f"The script has {count} scenes; a new scene can go at position 1 to {count + 1}.")
    position = count if index is None else index
    candidate = _scene_candidate(
        {"shots": []},
        {
            "heading": heading,
            "time_of_day": time_of_day,
            "elements": elements,
            "style": style,
        },
    )
    data["scenes"].insert(position, candidate)
    problems = field_problems(data, ("scenes", position))
    if problems:
        return EditResult(problems=problems)
    clean = ScriptScene.model_validate(candidate).model_dump(mode="json", exclude={"shots"})
    scene = storyboard_db.create_scene(
        session=session,
        project_id=project.id,
        scene_in=storyboard_db.SceneCreate(**clean),
        index=index,
    )
    project_db.touch_project(session=session, project=project)
    session.commit()
    return EditResult(value=ScenePublic.model_validate(scene))


def edit_scene(
    *, session: Session, owner: str, scene_id: int, expected: str | None = None, **changes: Any
) -> EditResult[ScenePublic]:
    """Change fields of a scene (heading, time_of_day, elements, style); None keeps a field
    (except style, where None or "" means "use the script's style"). `expected`: the scene's
    fingerprint when the form was loaded (studio.services.stale_forms); a stale form saves nothing."""
    scene, project = require_scene(session, scene_id, owner)
    stale = stale_problem("scene", expected, scene_fingerprint(scene))
    if stale:
        return EditResult(problems={GENERAL: stale})
    data = project_script_data(session=session, project=project)
    candidate = _scene_candidate(data["scenes"][scene.position], changes)
    data["scenes"][scene.position] = candidate
    problems = field_problems(data, ("scenes", scene.position))
    if problems:
        return EditResult(problems=problems)
    clean = ScriptScene.model_validate(candidate).model_dump(mode="json", exclude={"shots"})
    scene.sqlmodel_update(clean)
    session.add(scene)
    project_db.touch_project(session=session, project=project)
    session.commit()
    return EditResult(value=ScenePublic.model_validate(scene))


def move_scene(*, session: Session, owner: str, scene_id: int, new_index: int) -> list[ScenePublic]:
    """Put the scene at 0-based `new_index`; the others close up around it."""
    scene, project = require_scene(session, scene_id, owner)
    siblings = storyboard_db.list_scenes(session=session, project_id=project.id)
    if not 0 <= new_index < len(siblings):
        raise StudioError(
            f"The script has {len(siblings)} scenes; choose a position from 1 to {len(siblings)}."
        )
    ordered = move(session, siblings, scene.id, new_index)
    project_db.touch_project(session=session, project=project)
    session.commit()
    return [ScenePublic.model_validate(row) for row in ordered]


def delete_scene(*, session: Session, media: MediaStore, owner: str, scene_id: int) -> DeletionView:
    """Delete a scene with its shots and their keyframes, undoably (studio.services.undo);
    refused while one of its shots is locked."""
    scene, project = require_scene(session, scene_id, owner)
    shots = storyboard_db.list_shots(session=session, scene_id=scene.id)
    locked = [shot.position + 1 for shot in shots if shot.locked]
    if locked:
        raise StudioError(
            f"Scene {scene.position + 1} has locked shots ({', '.join(map(str, locked))}); unlock them first "
            "if you really want to delete the scene."
        )
    deletion = record_scene(session, scene)
    storyboard_db.delete_scene(session=session, scene=scene)
    project_db.touch_project(session=session, project=project)
    session.commit()
    session.expire_all()
    forget_old_deletions(session, media, project.id)
    return DeletionView(id=deletion.id, kind=deletion.kind, label=deletion.label)


# -- shots --------------------------------------------------------------------------------


def add_shot(
    *, session: Session, owner: str, scene_id: int, plot: str, index: int | None = None, **fields: Any
) -> EditResult[ShotPublic]:
    """A new shot at the end of the scene, or at 0-based `index`; `fields` as in edit_shot."""
    scene, project = require_scene(session, scene_id, owner)
    data = project_script_data(session=session, project=project)
    shots = data["scenes"][scene.position]["shots"]
    if index is not None and not 0 <= index <= len(shots):
        raise StudioError(
            f"Scene {scene.position + 1} has {len(shots)} shots; a new shot can go at position 1 to {len(shots) + 1}."
        )
    position = len(shots) if index is None else index
    defaults = ScriptShot.model_construct(plot="").model_dump(mode="json")
    candidate = _shot_candidate(defaults, {"plot": plot, **fields})
    shots.insert(position, candidate)
    problems = field_problems(data, ("scenes", scene.position, "shots", position))
    if problems:
        return EditResult(problems=problems)
    clean = ScriptShot.model_validate(candidate).model_dump(mode="json")
    shot = storyboard_db.create_shot(
        session=session,
        scene_id=scene.id,
        shot_in=storyboard_db.ShotCreate(**clean),
        index=index,
    )
    project_db.touch_project(session=session, project=project)
    session.commit()
    return EditResult(value=ShotPublic.model_validate(shot))


def edit_shot(
    *, session: Session, owner: str, shot_id: int, expected: str | None = None, **changes: Any
) -> EditResult[ShotPublic]:
    """Change fields of a shot: plot, characters, size, angle, motion, duration, dialogue, notes.

    None keeps a field. `dialogue` takes dicts or table rows (see dialogue_from_input).
    `expected`: the shot's fingerprint when the form was loaded (studio.services.stale_forms);
    when the shot changed since, nothing is saved and the problem says so.
    """
    shot, scene, project = require_shot(session, shot_id, owner)
    stale = stale_problem("shot", expected, shot_fingerprint(shot))
    if stale:
        return EditResult(problems={GENERAL: stale})
    data = project_script_data(session=session, project=project)
    shots = data["scenes"][scene.position]["shots"]
    candidate = _shot_candidate(shots[shot.position], changes)
    shots[shot.position] = candidate
    problems = field_problems(data, ("scenes", scene.position, "shots", shot.position))
    if problems:
        return EditResult(problems=problems)
    clean = ScriptShot.model_validate(candidate).model_dump(mode="json")
    shot.sqlmodel_update(clean)
    session.add(shot)
    project_db.touch_project(session=session, project=project)
    session.commit()
    return EditResult(value=ShotPublic.model_validate(shot))


def move_shot(
    *, session: Session, owner: str, shot_id: int, new_index: int, scene_id: int | None = None
) -> list[ShotPublic]:
    """Put the shot at 0-based `new_index` of its scene, or of another scene of the project.

    Returns the shots of the target scene in their new order.
    """
    shot, scene, project = require_shot(session, shot_id, owner)
    target = scene
    if scene_id is not None and scene_id != scene.id:
        target, target_project = require_scene(session, scene_id, owner)
        if target_project.id != project.id:
            raise StudioError(
                "That scene belongs to another project; a shot can only move within its project."
            )
    if target.id == scene.id:
        siblings = storyboard_db.list_shots(session=session, scene_id=scene.id)
        if not 0 <= new_index < len(siblings):
            raise StudioError(
                f"Scene {scene.position + 1} has {len(siblings)} shots; choose a position from 1 to {len(siblings)}."
            )
        ordered = move(session, siblings, shot.id, new_index)
    else:
        destination = storyboard_db.list_shots(session=session, scene_id=target.id)
        if not 0 <= new_index <= len(destination):
            raise StudioError(
                f"Scene {target.position + 1} has {len(destination)} shots; choose a position from 1 to "
                f"{len(destination) + 1}."
            )
        shot.scene_id = target.id
        session.add(shot)
        renumber(
            session,
            [s for s in storyboard_db.list_shots(session=session, scene_id=scene.id) if s.id != shot.id],
        )
        ordered = [s for s in destination if s.id != shot.id]
        ordered.insert(new_index, shot)
        renumber(session, ordered)
    project_db.touch_project(session=session, project=project)
    session.commit()
    return [ShotPublic.model_validate(row) for row in ordered]


def move_shot_in_story(*, session: Session, owner: str, shot_id: int, step: int) -> list[ShotPublic]:
    """Move the shot one place earlier (`step` -1) or later (+1) in story order: within its
    scene, or across the scene boundary to the end of the previous / start of the next scene.

    Returns the shots of the scene the shot is in afterwards.
    """
    if step not in (-1, 1):
        raise ValueError("step must be -1 or +1")
    shot, scene, project = require_shot(session, shot_id, owner)
    siblings = storyboard_db.list_shots(session=session, scene_id=scene.id)
    target = shot.position + step
    if 0 <= target < len(siblings):
        return move_shot(session=session, owner=owner, shot_id=shot_id, new_index=target)
    scenes = storyboard_db.list_scenes(session=session, project_id=project.id)
    neighbour = scene.position + step
    if not 0 <= neighbour < len(scenes):
        where, way = ("first", "earlier") if step < 0 else ("last", "later")
        raise StudioError(f"This is the {where} shot of the storyboard, so it cannot move {way}.")
    other = scenes[neighbour]
    index = len(storyboard_db.list_shots(session=session, scene_id=other.id)) if step < 0 else 0
    return move_shot(session=session, owner=owner, shot_id=shot_id, new_index=index, scene_id=other.id)


def delete_shot(*, session: Session, media: MediaStore, owner: str, shot_id: int) -> DeletionView:
    """Delete a shot and its keyframe versions, undoably (studio.services.undo); refused while
    it is locked."""
    shot, scene, project = require_shot(session, shot_id, owner)
    if shot.locked:
        raise StudioError(
            f"Shot {shot.position + 1} of scene {scene.position + 1} is locked; unlock it first if you really "
            "want to delete it."
        )
    deletion = record_shot(session, shot, scene)
    storyboard_db.delete_shot(session=session, shot=shot)
    project_db.touch_project(session=session, project=project)
    session.commit()
    session.expire_all()
    forget_old_deletions(session, media, project.id)
    return DeletionView(id=deletion.id, kind=deletion.kind, label=deletion.label)


def validate_project(*, session: Session, owner: str, project_id: int) -> list[str]:
    """Every problem of the project's script as "where: what to do" sentences ([] when valid)."""
    project = require_project(session, project_id, owner)
    data = project_script_data(session=session, project=project)
    return [f"{where}: {message}" if where else message for _, where, message in script_problems(data)]
