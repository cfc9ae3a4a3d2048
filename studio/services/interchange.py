"""Interchange with screenwriting and editing tools, as studio use cases.

* `parse_screenplay_upload`: an uploaded .fdx / .fountain / MovieBench .json as a Script;
* `preview_resync` / `resync_project`: a revised draft into an existing project, keeping the
  shots that still match (`core.interchange.resync`) with their keyframe versions, locks and
  seeds, adding the new ones and deleting the removed ones only once the user confirmed
  (undoably, like a delete in the Script tab);
* `export_interchange`: the project as FDX, Fountain, OTIO, EDL, FCP XML, CSV, SRT or WebVTT,
  timed like the animatic (with the scratch voice track's timing when the project uses it),
  offered as a download.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session

from core.interchange.formats import EXPORT_FORMATS, export_text, load_screenplay
from core.interchange.resync import kept_characters, match_drafts
from core.interchange.timing import DEFAULT_FPS, DEFAULT_LEAD_IN, story_timing
from core.script import Script, ScriptError
from core.script import Shot as ScriptShot
from studio.db import Character, KeyframeVersion, Scene, Shot
from studio.db import cast as cast_db
from studio.db import project as project_db
from studio.db import storyboard as storyboard_db
from studio.db.positions import renumber
from studio.errors import StudioError
from studio.media import MediaStore
from studio.ownership import require_project
from studio.services.downloads import safe_file_stem
from studio.services.script_export import project_to_script
from studio.services.undo import forget_old_deletions, record_scene, record_shot

logger = logging.getLogger(__name__)

# What a download is called after the project's name ("The Lighthouse - timeline.edl").
EXPORT_NAMES = {
    "fdx": "screenplay",
    "fountain": "screenplay",
    "otio": "timeline",
    "edl": "timeline",
    "fcpxml": "timeline",
    "csv": "shot list",
    "srt": "subtitles",
    "vtt": "subtitles",
}


def parse_screenplay_upload(path: str | Path, *, title: str | None = None) -> Script:
    """The script in an uploaded screenplay file; StudioError sentences for what is wrong."""
    try:
        return load_screenplay(path, title=title)
    except ScriptError as error:
        raise StudioError(
            "The screenplay could not be imported; fix it and upload it again.",
            [str(problem) for problem in error.problems],
        ) from None


# -- re-sync --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResyncPreview:
    kept: int
    changed: tuple[str, ...]  # "shot 4 -> 5: new plot" descriptions
    added: tuple[str, ...]
    removed: tuple[str, ...]  # shots of the project the new draft no longer has
    removed_locked: tuple[str, ...]
    new_characters: tuple[str, ...]


def _label(number: int, shot: object) -> str:
    return f"shot {number} ({shot.plot})"


def preview_resync(*, session: Session, owner: str, project_id: int, script: Script) -> ResyncPreview:
    """What `resync_project` would do with `script` (nothing is changed)."""
    old = project_to_script(session=session, owner=owner, project_id=project_id)
    rows = storyboard_db.list_project_shots(session=session, project_id=project_id)
    match = match_drafts(old, script)
    new_shots = [shot for _, _, shot in script.shots()]
    known = {c.name.casefold() for c in old.cast}
    return ResyncPreview(
        kept=len(match.kept),
        changed=tuple(f"shot {i + 1} -> {j + 1} ({new_shots[j].plot})" for i, j in match.changed),
        added=tuple(_label(j + 1, new_shots[j]) for j in match.added),
        removed=tuple(_label(i + 1, rows[i][1]) for i in match.removed),
        removed_locked=tuple(_label(i + 1, rows[i][1]) for i in match.removed if rows[i][1].locked),
        new_characters=tuple(c.name for c in script.cast if c.name.casefold() not in known),
    )


def resync_project(
    *,
    session: Session,
    media: MediaStore,
    owner: str,
    project_id: int,
    script: Script,
    confirm_removal: bool = False,
) -> ResyncPreview:
    """Bring the project's scenes and shots in line with the new draft `script`.

    Kept shots keep their rows (so their keyframe versions, current keyframe, lock and seeds),
    their camera, duration and notes, and take the new draft's plot, characters (plus silent
    ones the plot still names) and dialogue;
    new shots are added; shots the draft no longer has are
    deleted only with `confirm_removal` (undoable from the Script tab), otherwise a
    StudioError lists them. New cast members are added; existing ones keep their photos and
    descriptions.
    """
    preview = preview_resync(session=session, owner=owner, project_id=project_id, script=script)
    if preview.removed and not confirm_removal:
        raise StudioError(
            f"The new draft no longer has {len(preview.removed)} shot(s) of this project; confirm that they "
            "should be deleted (you can undo it in the Script tab), or keep the old draft.",
            list(preview.removed),
        )
    if preview.removed_locked:
        raise StudioError(
            "Some shots the new draft no longer has are locked; unlock them first if they should go.",
            list(preview.removed_locked),
        )
    project = require_project(session, project_id, owner)
    old = project_to_script(session=session, owner=owner, project_id=project_id)
    match = match_drafts(old, script)
    rows = storyboard_db.list_project_shots(session=session, project_id=project.id)
    old_of_new = {j: i for i, j in match.kept}
    old_shots = [shot for _, _, shot in old.shots()]
    # Add the new cast members after the existing ones.
    characters = cast_db.list_characters(session=session, project_id=project.id)
    known = {c.name.casefold() for c in characters}
    for member in script.cast:
        if member.name.casefold() not in known:
            session.add(
                Character(
                    project_id=project.id,
                    position=len(characters),
                    name=member.name,
                    description=list(member.description),
                )
            )
            characters.append(member)
            known.add(member.name.casefold())
    old_scenes = storyboard_db.list_scenes(session=session, project_id=project.id)
    used: set[int] = set()
    scenes: list[Scene] = []
    index = 0
    for scene_in in script.scenes:
        # the scene row of the first kept shot of this scene carries on, if no earlier scene took it
        carried = next(
            (
                rows[old_of_new[j]][0]
                for j in range(index, index + len(scene_in.shots))
                if j in old_of_new and rows[old_of_new[j]][0].id not in used
            ),
            None,
        )
        scene = carried or Scene(project_id=project.id, heading=scene_in.heading)
        scene.heading = scene_in.heading
        scene.time_of_day = scene_in.time_of_day.value
        if scene_in.elements or not scene.elements:
            scene.elements = list(scene_in.elements)
        if scene_in.style:
            scene.style = scene_in.style
        session.add(scene)
        session.flush()
        used.add(scene.id)
        scenes.append(scene)
        shots: list[Shot] = []
        for shot_in in scene_in.shots:
            fields = shot_in.model_dump(mode="json")
            if index in old_of_new:
                # a kept shot takes what the screenplay says; its camera, duration and notes are
                # the storyboard's, unless the draft sets a camera direction
                row = rows[old_of_new[index]][1]
                old_shot = old_shots[old_of_new[index]]
                row.plot, row.dialogue = fields["plot"], fields["dialogue"]
                row.characters = kept_characters(old_shot, shot_in)
                for key in ("size", "angle", "motion"):
                    if (
                        key in shot_in.model_fields_set
                        and fields[key] != ScriptShot.model_fields[key].default
                    ):
                        setattr(row, key, fields[key])
            else:
                row = Shot(scene_id=scene.id, **fields)
            row.scene_id = scene.id
            row.position = len(shots)
            session.add(row)
            shots.append(row)
            index += 1
        session.flush()
    # What the draft no longer has goes undoably: an old scene left with only removed shots as a
    # whole (one Undo brings it back with them), other removed shots one by one.
    for scene in old_scenes:
        if scene.id in used:
            continue
        if storyboard_db.list_shots(session=session, scene_id=scene.id):
            record_scene(session, scene)
        session.delete(scene)
    session.flush()
    for i in match.removed:
        shot, scene = rows[i][1], rows[i][0]
        if scene.id in used:
            record_shot(session, shot, scene)
            session.delete(shot)
    session.flush()
    for scene in scenes:
        renumber(session, storyboard_db.list_shots(session=session, scene_id=scene.id))
    renumber(session, scenes)
    project_db.touch_project(session=session, project=project)
    session.commit()
    session.expire_all()
    forget_old_deletions(session, media, project.id)
    logger.info(
        "project %s re-synced: %d kept, %d added, %d removed",
        project.id,
        preview.kept,
        len(preview.added),
        len(preview.removed),
    )
    return preview


# -- exports --------------------------------------------------------------------------------------


def export_interchange(
    *,
    session: Session,
    media: MediaStore,
    owner: str,
    project_id: int,
    kind: str,
) -> Path:
    """The project written as `kind` (see `core.interchange.formats.EXPORT_FORMATS`), as a
    download named after the project ("The Lighthouse - timeline.edl").

    Like every download it is a file of the project's media with no row: a later export writes
    a new one and the start-up sweep removes the old ones.

    Timed formats use each shot's current keyframe as its media and the animatic's timing;
    when the project's animatic has a scratch voice track, shots are held for their lines as it holds them.
    """
    if kind not in EXPORT_FORMATS:
        raise StudioError(f"{kind!r} is not an export format; choose one of {', '.join(EXPORT_FORMATS)}.")
    project = require_project(session, project_id, owner)
    script = project_to_script(session=session, owner=owner, project_id=project.id)
    if not script.num_shots and kind not in ("fdx", "fountain"):
        raise StudioError(
            "The project has no shots yet, so there is nothing to put on a timeline; add shots first."
        )
    rows = storyboard_db.list_project_shots(session=session, project_id=project.id)
    keyframes: dict[int, Path] = {}
    for i, (_, shot) in enumerate(rows):
        version = session.get(KeyframeVersion, shot.current_keyframe_id) if shot.current_keyframe_id else None
        if version is not None:
            keyframes[i] = media.resolve(version.media_path)
    timing = story_timing(script, fps=DEFAULT_FPS, lead_in=DEFAULT_LEAD_IN)
    voiced = project.project_settings().scratch_voice
    if voiced and script.num_shots:
        from core.interchange.voiced_animatic import voiced_timing
        from studio.services.voices import project_voices

        script, timing, _ = voiced_timing(script, project_voices(session=session, project=project))
    data = export_text(script, kind, timing, keyframes).encode("utf-8")
    suffix = EXPORT_FORMATS[kind]
    stored = media.write_bytes(media.kind_dir(project.id, "renders"), data, suffix)
    what = EXPORT_NAMES.get(kind, kind)
    return media.named_copy(stored.path, f"{safe_file_stem(project.name)} - {what}{suffix}")
