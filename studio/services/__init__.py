"""The studio's use cases, as plain functions the UI calls (and tests call without Gradio).

Conventions
-----------
* Every function takes keyword-only arguments: `session` (a sqlmodel Session), `media` (the
  `studio.media.MediaStore`) when files are involved, and `owner` (the logged-in user name;
  `studio.config.LOCAL_OWNER` without --auth). Whatever touches a project checks that
  `owner` owns it: `OwnershipError` ("This project belongs to another user.").
* A service is one transaction: it commits on success; on error it rolls back and deletes
  the files it wrote. Files are written atomically before their rows and deleted after
  them (see studio.media.store).
* Problems the user can fix raise `studio.errors.StudioError` (or a subclass) whose
  `str()` is the sentence to show and whose `.problems` lists details (e.g. each problem
  of an imported script). Form edits do not raise: they return an `EditResult` whose
  `.problems` maps form fields to sentences (`GENERAL` = "" for the rest).
* Return values are Public models or frozen view dataclasses holding absolute media paths:
  nothing needs a session after the call.

With a `StudioContext` (studio.context.open_studio) a UI callback is one line:

    studio.call(services.create_project, owner=user, name=name)          # session + media filled in
    studio.call(services.edit_shot, owner=user, shot_id=sid, plot=plot, duration=d)

API
---
Projects (projects.py, project_view.py)
    create_project(session, owner, name, logline="", style="", settings=None) -> ProjectPublic
    list_projects(session, media, owner) -> [ProjectSummary]       newest first, thumbnail = first keyframe
    list_project_page(session, media, owner, page=0, per_page=24) -> ProjectPage   one page of that list
    open_project(session, media, owner, project_id) -> ProjectView  cast, scenes/shots with current keyframes, references
    get_project(session, owner, project_id) -> ProjectPublic
    rename_project(session, owner, project_id, name) -> ProjectPublic
    update_project_details(session, owner, project_id, logline=None, style=None) -> EditResult[ProjectPublic]
    update_project_settings(session, owner, project_id, **settings) -> EditResult[ProjectPublic]
    duplicate_project(session, media, owner, project_id, name=None) -> ProjectPublic   media copied
    delete_project(session, media, owner, project_id) -> None      rows cascade, media folder removed

Import / samples / export (script_import.py, samples.py, script_export.py)
    import_script_source(session, media, owner, path=|text=, fmt=None, filename=None,
                         project_id=None, replace=False) -> ImportReport        JSON, Fountain, MovieBench
    import_script(session, media, owner, project_id, script, photo_root=None, replace=False) -> ImportReport
    new_project_from_script(session, media, owner, script, photo_root=None, settings=None, frames_dir=None)
    parse_script(source, fmt) -> Script;  guess_script_format(filename) -> fmt | None
    list_samples(samples_dir) -> [SampleInfo];  open_sample(session, media, owner, name, samples_dir) -> ImportReport
    project_to_script(session, owner, project_id) -> core.script.Script   (round-trips with import)
    validate_project(session, owner, project_id) -> [str]

Cast (cast.py)
    list_cast(session, media, owner, project_id) -> [CharacterView]
    add_character(session, owner, project_id, name, description) -> EditResult[CharacterPublic]
    edit_character(session, owner, character_id, name=None, description=None) -> EditResult   renames in shots too
    move_character(session, owner, character_id, new_index) -> [CharacterPublic]
    remove_character(session, media, owner, character_id) -> None   refused while shots name them
    add_face_photo(session, media, owner, character_id, upload, filename=None) -> UploadResult[FacePhotoPublic]
    remove_face_photo(session, media, owner, photo_id) -> None
    set_face_analysis(session, media, owner, photo_id, crop, embedding, detector) -> FacePhotoPublic
    (description: a list of sentences, or a text with one sentence per line)

Cast library (cast_library.py) — per owner, across projects
    save_to_library(session, media, owner, character_id) -> LibraryEntry   replaces an entry of that name
    list_cast_library(session, media, owner) -> [LibraryEntry]
    add_from_library(session, media, owner, entry_id, project_id) -> CharacterPublic   photos copied
    remove_from_library(session, media, owner, entry_id) -> name

Script editing (script_edit.py) — positions are 0-based and stay dense
    add_scene(session, owner, project_id, heading, time_of_day="day", elements=(), style=None, index=None)
    edit_scene(session, owner, scene_id, heading=, time_of_day=, elements=, style=) -> EditResult[ScenePublic]
    move_scene(session, owner, scene_id, new_index) -> [ScenePublic]
    delete_scene(session, media, owner, scene_id) -> None           refused while a shot is locked
    add_shot(session, owner, scene_id, plot, index=None, **fields) -> EditResult[ShotPublic]
    edit_shot(session, owner, shot_id, plot=, characters=, size=, angle=, motion=, duration=, dialogue=, notes=)
    move_shot(session, owner, shot_id, new_index, scene_id=None) -> [ShotPublic]   also across scenes
    move_shot_in_story(session, owner, shot_id, step=-1|+1) -> [ShotPublic]   one place, across scene ends
    delete_shot(session, media, owner, shot_id) -> None             refused while locked
    (dialogue: dicts or table rows [character, text, parenthetical])
    delete_scene / delete_shot / remove_character / remove_face_photo return a DeletionView:
    last_deletion(session, owner, project_id, kinds) -> DeletionView | None;
    undo_deletion(session, owner, deletion_id) -> DeletionView    puts it all back (undo.py)

References (references.py)
    add_reference_frame(session, media, owner, project_id, upload, filename=None, caption="") -> UploadResult
    list_reference_frames(session, media, owner, project_id) -> [ReferenceView]
    remove_reference_frame(session, media, owner, reference_id) -> None

Keyframes (keyframes.py)
    add_keyframe_version(session, media, owner, shot_id, image, seed, params=None, bundle_id=None,
                         make_current=True, tokens=None) -> KeyframeVersionPublic   tokens (L, d) -> .npy
    load_keyframe_tokens(media, tokens_path) -> (L, d) float32 | None
    list_keyframe_versions(session, media, owner, shot_id) -> [KeyframeVersionView]
    restore_keyframe_version(session, owner, keyframe_id) -> ShotPublic
    lock_shot / unlock_shot / set_shot_locked(session, owner, shot_id[, locked]) -> ShotPublic
    choose_seed(settings, shot_number, rng=None) -> int
    upload_keyframe(session_factory, media, models, owner, shot_id, upload, filename=None)
        -> UploadResult[KeyframeVersionPublic]   the artist's panel: tokenized, stored, shot locked

Exports and renders (storyboard_pdf.py, keyframe_zip.py, script_export.py, renders.py)
    export_storyboard_pdf(session, media, owner, project_id, font_path=None) -> RenderPublic
    export_keyframe_zip(session, media, owner, project_id) -> RenderPublic   frames/ + cast/ + script.json
    export_script_json(session, media, owner, project_id) -> RenderPublic
    add_render(session, media, owner, project_id, kind, source, params=None, shot_id=None) -> RenderPublic
    list_renders(session, owner, project_id, kind=None) -> [RenderPublic];  delete_render(...)
    (a render's file: media.resolve(render.media_path))
    render_download(session, media, owner, render_id) -> Path   the file named after the project (downloads.py)

Generation (generation.py, model_cache.py, face_analysis.py) — plan now, then run as a job
    plan_generation(session, media, models, owner, project_id, scope="storyboard"|"scene"|"shot",
                    scene_id=None, shot_id=None, seed_mode="policy"|"new"|"fixed", seed=None) -> GenerationPlan
    generation_job(plan, media=, models=) -> job function; previews KeyframeMade, each version stored at once
    analyse_face_photo(session_factory, media, models, owner, photo_id) -> FaceAnalysis   crop + embedding
    ModelCache (StudioContext.models): pipelines loaded once per bundle; bundle_path(), video_folder()

Video (clips.py, animatic.py)
    plan_clips(session, media, models, owner, project_id, shot_ids, num_inference_steps=12, connect_next=True,
               max_segments=4, seed_mode="policy", seed=None) -> ClipPlan;  clip_job(plan, media=, models=)
    plan_animatic(session, media, owner, project_id, use_clips=True, transition=, captions=, title_card=)
        -> AnimaticPlan;  animatic_job(plan, media=)   MP4 + GIF as two "animatic" renders
    latest_animatic(session, media, owner, project_id) -> AnimaticView | None
    list_clips(session, media, owner, project_id) -> [ClipView]
    clip_frames(session, media, owner, project_id, render_id, count=12) -> [ClipFrame]  (a strip to look at)

Long jobs live in studio.jobs (JobRunner, JobUpdate, recover_stale_jobs); start-up wiring in
studio.context (open_studio).
"""

from studio.services.animatic import AnimaticPlan, AnimaticView, animatic_job, latest_animatic, plan_animatic
from studio.services.bundle_info import bundle_notice
from studio.services.cast import (
    add_character,
    add_face_photo,
    edit_character,
    face_embedding,
    list_cast,
    move_character,
    remove_character,
    remove_face_photo,
    set_face_analysis,
)
from studio.services.cast_library import (
    LibraryEntry,
    add_from_library,
    list_cast_library,
    remove_from_library,
    save_to_library,
)
from studio.services.clips import (
    ClipFrame,
    ClipMade,
    ClipPlan,
    ClipView,
    clip_frames,
    clip_job,
    list_clips,
    plan_clips,
)
from studio.services.downloads import export_filename, render_download
from studio.services.face_analysis import FaceAnalysis, analyse_face_photo
from studio.services.generation import (
    SEED_MODES,
    GenerationPlan,
    KeyframeMade,
    generation_job,
    plan_generation,
)
from studio.services.keyframe_upload import upload_keyframe
from studio.services.keyframe_zip import build_keyframe_zip, export_keyframe_zip
from studio.services.keyframes import (
    KeyframeVersionView,
    add_keyframe_version,
    choose_seed,
    list_keyframe_versions,
    load_keyframe_tokens,
    lock_shot,
    restore_keyframe_version,
    set_shot_locked,
    unlock_shot,
)
from studio.services.model_cache import ModelCache
from studio.services.project_view import (
    CharacterView,
    PhotoView,
    ProjectView,
    ReferenceView,
    SceneView,
    ShotView,
    open_project,
)
from studio.services.projects import (
    ProjectPage,
    ProjectSummary,
    create_project,
    delete_project,
    duplicate_project,
    get_project,
    list_project_page,
    list_projects,
    rename_project,
    update_project_details,
    update_project_settings,
)
from studio.services.references import add_reference_frame, list_reference_frames, remove_reference_frame
from studio.services.renders import add_render, delete_render, list_renders
from studio.services.results import GENERAL, EditResult, UploadResult
from studio.services.samples import SampleInfo, list_samples, open_sample
from studio.services.script_edit import (
    add_scene,
    add_shot,
    delete_scene,
    delete_shot,
    edit_scene,
    edit_shot,
    move_scene,
    move_shot,
    move_shot_in_story,
    validate_project,
)
from studio.services.script_export import export_script_json, project_to_script
from studio.services.script_import import (
    ImportReport,
    guess_script_format,
    import_script,
    import_script_source,
    new_project_from_script,
    parse_script,
)
from studio.services.storyboard_pdf import build_storyboard_pdf, export_storyboard_pdf
from studio.services.undo import CAST_KINDS, SCRIPT_KINDS, DeletionView, last_deletion, undo_deletion

__all__ = [
    "CAST_KINDS",
    "GENERAL",
    "SCRIPT_KINDS",
    "DeletionView",
    "SEED_MODES",
    "AnimaticPlan",
    "AnimaticView",
    "ClipMade",
    "ClipPlan",
    "ClipView",
    "FaceAnalysis",
    "GenerationPlan",
    "KeyframeMade",
    "LibraryEntry",
    "ModelCache",
    "analyse_face_photo",
    "animatic_job",
    "clip_job",
    "generation_job",
    "latest_animatic",
    "list_clips",
    "clip_frames",
    "ClipFrame",
    "load_keyframe_tokens",
    "plan_animatic",
    "plan_clips",
    "plan_generation",
    "CharacterView",
    "EditResult",
    "ImportReport",
    "KeyframeVersionView",
    "PhotoView",
    "ProjectPage",
    "ProjectSummary",
    "ProjectView",
    "ReferenceView",
    "SampleInfo",
    "SceneView",
    "ShotView",
    "UploadResult",
    "add_character",
    "add_from_library",
    "add_face_photo",
    "add_keyframe_version",
    "add_reference_frame",
    "add_render",
    "add_scene",
    "add_shot",
    "build_keyframe_zip",
    "bundle_notice",
    "build_storyboard_pdf",
    "choose_seed",
    "create_project",
    "delete_project",
    "delete_render",
    "delete_scene",
    "delete_shot",
    "duplicate_project",
    "edit_character",
    "edit_scene",
    "edit_shot",
    "export_keyframe_zip",
    "export_script_json",
    "export_filename",
    "export_storyboard_pdf",
    "face_embedding",
    "get_project",
    "guess_script_format",
    "import_script",
    "import_script_source",
    "last_deletion",
    "list_cast",
    "list_cast_library",
    "list_keyframe_versions",
    "list_project_page",
    "list_projects",
    "list_reference_frames",
    "list_renders",
    "list_samples",
    "lock_shot",
    "move_character",
    "move_scene",
    "move_shot",
    "move_shot_in_story",
    "new_project_from_script",
    "open_project",
    "open_sample",
    "parse_script",
    "project_to_script",
    "remove_character",
    "remove_face_photo",
    "remove_from_library",
    "remove_reference_frame",
    "rename_project",
    "render_download",
    "restore_keyframe_version",
    "save_to_library",
    "set_face_analysis",
    "set_shot_locked",
    "undo_deletion",
    "unlock_shot",
    "update_project_details",
    "update_project_settings",
    "upload_keyframe",
    "validate_project",
]
