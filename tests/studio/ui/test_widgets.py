"""What the tabs show for the rows of a project: gallery items, labels, captions, field messages.

These helpers hold the little logic the tabs have; the callbacks around them only call
services (the browser test drives them end to end).
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from PIL import Image

from studio.config import StudioSettings
from studio.context import open_studio
from studio.db import JobStatus
from studio.jobs import JobEvent
from studio.services import (
    GENERAL,
    KeyframeMade,
    ModelCache,
    add_keyframe_version,
    create_project,
    generation_job,
    list_project_page,
    list_projects,
    lock_shot,
    new_project_from_script,
    open_project,
    plan_generation,
)
from studio.services.face_analysis import WHOLE_IMAGE
from studio.ui.cast_tab import photo_caption, photo_items
from studio.ui.choices import NEW, character_choices, scene_choices, shot_choices, shot_label
from studio.ui.feedback import markdown_text
from studio.ui.field_messages import PROBLEM_MARK, field_infos, general_problems
from studio.ui.jobs import cancel_jobs, job_status, start_job
from studio.ui.projects_tab import current_project_markdown, page_text, project_gallery
from studio.ui.script_tab import overview_rows
from studio.ui.settings_tab import bundle_note
from studio.ui.storyboard_tab import PANEL_HINT, shot_panel, storyboard_items, with_keyframe
from tests.studio.factories import OWNER
from tests.studio.fake_pipeline import CountingLoader


@pytest.fixture
def studio(tmp_path):
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    studio = open_studio(StudioSettings(data_dir=tmp_path / "data", bundle_path=bundle))
    studio.models = ModelCache(default_bundle=bundle, storyboard_loader=CountingLoader())
    yield studio
    studio.close()


@pytest.fixture
def view(studio, sample_script, sample_folder):
    report = studio.call(new_project_from_script, owner=OWNER, script=sample_script, photo_root=sample_folder)
    shot = studio.call(open_project, owner=OWNER, project_id=report.project.id).shots[0]
    studio.call(
        add_keyframe_version, owner=OWNER, shot_id=shot.shot.id, image=Image.new("RGB", (56, 32)), seed=11
    )
    studio.call(lock_shot, owner=OWNER, shot_id=shot.shot.id)
    return studio.call(open_project, owner=OWNER, project_id=report.project.id)


def test_storyboard_items_show_every_shot_in_story_order(view):
    items, ids = storyboard_items(view)
    assert ids == [s.shot.id for s in view.shots]
    first, second = items[0], items[1]
    # a locked shot's caption starts with the lock mark, visible on the thumbnail
    assert first == (
        str(view.shots[0].keyframe_path),
        "🔒 1 · Mara climbs the spiral stairs. · seed 11 · locked",
    )
    assert isinstance(second[0], Image.Image)  # a card, since shot 2 has no keyframe yet
    assert second[1] == "2 · Tom knocks at the door."
    assert storyboard_items(None) == ([], [])


def test_a_new_keyframe_replaces_its_shot_only(view, tmp_path):
    items, ids = storyboard_items(view)
    made = KeyframeMade(
        shot_id=ids[1], frame_index=1, number=2, version_id=9, path=tmp_path / "k.png", seed=5
    )
    updated = with_keyframe(items, ids, made, "Tom knocks at the door.")
    assert updated[1] == (str(tmp_path / "k.png"), "2 · Tom knocks at the door. · seed 5")
    assert updated[0] == items[0] and updated[2] == items[2]
    gone = KeyframeMade(shot_id=999, frame_index=5, number=6, version_id=10, path=tmp_path / "x.png", seed=1)
    assert with_keyframe(items, ids, gone, "") == items


def test_shot_panel_escapes_the_plot(view):
    assert shot_panel(view, None) == PANEL_HINT
    text = shot_panel(view, view.shots[0].shot.id)
    assert text.startswith("**Shot 1** — Mara climbs the spiral stairs\\.")
    assert "Current keyframe: seed 11 · 🔒 locked" in text


def test_the_shot_panel_shows_the_dialogue_and_notes(view):
    text = shot_panel(view, view.shots[1].shot.id)
    assert "**TOM** (shouting): Is anyone there?" in text
    assert "*Notes:* rain on lens" in text


def test_labels_for_dropdowns(view):
    assert shot_label(view.shots[0]) == "1 · Mara climbs the spiral stairs. 🔒"
    assert scene_choices(view, new="+ New scene") == [
        ("Scene 1: EXT. LIGHTHOUSE - NIGHT", view.scenes[0].scene.id),
        ("Scene 2: INT. LAMP ROOM - NIGHT", view.scenes[1].scene.id),
        ("+ New scene", NEW),
    ]
    assert [label for label, _ in shot_choices(view, view.scenes[1].scene.id)] == [
        "3 · Mara and Tom look at the sea."
    ]
    assert [label for label, _ in character_choices(view)] == ["Mara (2 photos)", "Tom (1 photo)"]
    assert shot_choices(None, new="+ New shot") == [("+ New shot", NEW)]


def test_overview_and_photos(view):
    rows = overview_rows(view)
    assert rows[0] == [1, 1, "Mara climbs the spiral stairs.", "Mara", 4.0, "yes"]
    assert rows[2][:4] == [3, 2, "Mara and Tom look at the sea.", "Mara, Tom"]
    items = photo_items(view.cast[0])
    assert [caption for _, caption in items] == ["Photo 1", "Photo 2"]
    assert all(Path(path).is_file() for path, _ in items)


def test_project_list_and_header(studio, view):
    studio.call(create_project, owner=OWNER, name="Empty <i>one</i>")
    summaries = studio.call(list_projects, owner=OWNER)
    items = project_gallery(summaries)
    assert items[0][1] == "Empty <i>one</i> · 0 shots" and isinstance(items[0][0], Image.Image)
    assert items[1] == (str(view.shots[0].keyframe_path), "The Lighthouse · 3 shots")
    header = current_project_markdown(view)
    assert header.startswith("### The Lighthouse\nA keeper and a stranger weather a storm\\.")
    assert header.endswith("2 scenes · 3 shots · 2 characters")
    assert "No project is open" in current_project_markdown(None)


def test_field_messages_go_next_to_their_field():
    problems = {
        "plot": "A shot needs a plot.",
        GENERAL: "Scene 2: the <b> heading is empty.",
        "dialogue": "x",
    }
    updates = field_infos(problems, ("plot", "duration"), {"duration": "Seconds on screen."})
    assert updates[0]["info"] == PROBLEM_MARK + "A shot needs a plot."
    assert updates[1]["info"] == "Seconds on screen."
    rest = general_problems(problems, ("plot", "duration"))
    assert rest == "⚠ Scene 2: the &lt;b&gt; heading is empty\\.\n⚠ x"


def test_job_status_lines():
    def event(status, progress=0.5, message="Keyframe 1 of 2 done (shot *1*)."):
        return JobEvent(job_id=1, status=JobStatus(status), progress=progress, message=message)

    assert (
        job_status(event("running"), "Generation")
        == "**Generation: 50%** — Keyframe 1 of 2 done \\(shot \\*1\\*\\)\\."
    )
    assert job_status(event("done", 1.0, "Done."), "Generation") == "**Generation: done.**"
    assert job_status(event("cancelled", 0.5, "Cancelled."), "Clips") == "**Clips: cancelled** — Cancelled\\."


def test_bundle_note_says_which_bundle_or_what_is_wrong(studio, tmp_path):
    shown = markdown_text(str(tmp_path / "bundle"))
    assert bundle_note(studio.models, None) == f"Generation uses the bundle in {shown}"
    assert bundle_note(studio.models, str(tmp_path / "nope")).startswith("⚠ The model bundle folder")


def test_cancel_jobs_stops_only_the_kinds_asked_for(studio, view):
    plan = studio.call(plan_generation, owner=OWNER, project_id=view.project.id)
    work = generation_job(plan, media=studio.media, models=studio.models)
    events = start_job(
        studio, owner=OWNER, project_id=view.project.id, kind=plan.kind, model=plan.model_key, work=work
    )
    first = next(events)  # the job is running now
    assert cancel_jobs(studio, owner=OWNER, project_id=view.project.id, kinds=["render-clips"]) == 0
    assert cancel_jobs(studio, owner=OWNER, project_id=view.project.id, kinds=[plan.kind]) == 1
    rest = list(events)
    assert first.status == JobStatus.RUNNING and rest[-1].status == JobStatus.CANCELLED


def test_a_photo_without_a_face_says_so_in_its_caption_as_in_its_toast():
    def photo(detector, crop):
        return SimpleNamespace(photo=SimpleNamespace(detector=detector), crop=crop, path=Path("p.png"))

    character = SimpleNamespace(
        photos=[
            photo(WHOLE_IMAGE, Path("c1.png")),
            photo("HaarFaceDetector", Path("c2.png")),
            photo(None, None),
        ]
    )
    assert photo_items(character) == [
        ("c1.png", "Photo 1 · no face found, the whole photo is used"),
        ("c2.png", "Photo 2 · face found (HaarFaceDetector)"),
        ("p.png", "Photo 3"),
    ]
    assert "face found (" not in photo_caption(1, WHOLE_IMAGE, True)


def test_the_project_list_shows_one_page_and_says_where_it_is(studio):
    for i in range(30):
        studio.call(create_project, owner=OWNER, name=f"P{i}")
    first = studio.call(list_project_page, owner=OWNER, page=0)
    assert page_text(first) == "Projects 1–24 of 30"
    assert page_text(studio.call(list_project_page, owner=OWNER, page=1)) == "Projects 25–30 of 30"
    assert page_text(studio.call(list_project_page, owner="nobody", page=0)) == "No projects yet."
    assert len(project_gallery(first.summaries)) == 24
