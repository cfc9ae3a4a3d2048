"""The Script tab's save callbacks on a real page: a refused shot keeps the form usable and puts
each sentence by its field (marked), and nothing is saved."""

from __future__ import annotations

import gradio as gr
import pytest

from studio.services import add_character, open_project, stale_forms
from studio.ui.choices import NEW
from studio.ui.field_messages import PROBLEM_CLASS, PROBLEM_MARK


def callback(demo: gr.Blocks, name: str):
    """(function, output components) of the page's callback called `name`."""
    found = [f for f in demo.fns.values() if getattr(f.fn, "__name__", None) == name]
    assert len(found) == 1, name
    return found[0].fn, found[0].outputs


def as_update(value) -> object:
    """A returned component as the update it stands for (the arguments it was built with)."""
    return dict(value.constructor_args) if isinstance(value, gr.components.Component) else value


def by_id(outputs, updates) -> dict:
    return {
        component.elem_id: as_update(update)
        for component, update in zip(outputs, updates, strict=True)
        if component.elem_id
    }


def component(demo: gr.Blocks, elem_id: str):
    return next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == elem_id)


def save_shot(demo, view, shot_id=NEW, loaded=None, **changes):
    """Press "Save shot" with the form showing `changes` (a new shot unless `shot_id`)."""
    fn, outputs = callback(demo, "save_shot_form")
    scene = view.scenes[0]
    values = {
        "plot": "Mara looks out.",
        "characters": ["Mara"],
        "size": "medium",
        "angle": "eye-level",
        "motion": "static",
        "duration": 3.0,
        "notes": "",
        "dialogue": [],
        **changes,
    }
    updates = fn(
        {"id": view.project.id, "stamp": 1},
        scene.scene.id,
        shot_id,
        values["plot"],
        values["characters"],
        values["size"],
        values["angle"],
        values["motion"],
        values["duration"],
        values["notes"],
        values["dialogue"],
        loaded,
        request=None,
    )
    return by_id(outputs, updates)


def shots_of(studio, view) -> list[str]:
    again = studio.call(open_project, owner=studio.owner_of(None), project_id=view.project.id)
    return [s.shot.plot for s in again.shots]


def test_a_zero_duration_reaches_the_callback_instead_of_breaking_the_form(page):
    demo, _, _ = page
    duration = component(demo, "shot-duration")
    # Gradio refuses values under a component's `minimum` before any callback runs (and turns
    # every output into an error pill), so the field has none; the script model judges it.
    assert duration.minimum is None
    assert duration.preprocess(0) == 0 and duration.preprocess(0.05) == 0.05


@pytest.mark.parametrize("value", [0, -2, None])
def test_a_bad_duration_is_shown_by_the_duration_field_and_nothing_is_saved(page, value):
    demo, studio, view = page
    before = shots_of(studio, view)
    shown = save_shot(demo, view, duration=value)
    assert shown["shot-duration"]["info"].startswith(PROBLEM_MARK)
    assert "duration" in shown["shot-duration"]["info"] or "number" in shown["shot-duration"]["info"]
    assert shown["shot-duration"]["elem_classes"] == [PROBLEM_CLASS]
    # the other fields keep their values (plain updates) and are not marked
    assert "value" not in shown["shot-plot"] and shown["shot-plot"]["elem_classes"] == []
    assert shots_of(studio, view) == before


def test_an_empty_plot_and_seven_characters_are_marked_at_their_fields(page):
    demo, studio, view = page
    for name in ["Ann", "Ben", "Cy", "Dot", "Eve"]:
        studio.call(
            add_character, owner=studio.owner_of(None), project_id=view.project.id, name=name, description=""
        )
    shown = save_shot(demo, view, plot="", characters=["Mara", "Tom", "Ann", "Ben", "Cy", "Dot", "Eve"])
    assert "the plot is empty" in shown["shot-plot"]["info"]
    assert "7 characters are in this shot" in shown["shot-characters"]["info"]
    assert shown["shot-plot"]["elem_classes"] == shown["shot-characters"]["elem_classes"] == [PROBLEM_CLASS]


def test_a_line_spoken_by_someone_outside_the_cast_is_refused(page):
    demo, studio, view = page
    before = shots_of(studio, view)
    shown = save_shot(demo, view, dialogue=[["Mara", "Who is there?", ""], ["Stranger", "Only me.", ""]])
    assert shown["shot-dialogue"]["elem_classes"] == [PROBLEM_CLASS]
    assert shots_of(studio, view) == before


def test_a_refused_save_says_so_in_a_warning_toast(page, monkeypatch):
    demo, _, view = page
    said = []
    monkeypatch.setattr("studio.ui.field_messages.warn", said.append)
    save_shot(demo, view, plot="")
    assert said == ["The shot was not saved: fix the field marked ⚠, then save again."]


def test_a_good_shot_is_saved_and_the_marks_are_cleared(page):
    demo, studio, view = page
    shown = save_shot(demo, view, plot="Mara waves.", duration=0.05)  # the script model's rule: > 0 s
    assert "Mara waves." in shots_of(studio, view)
    assert shown["shot-plot"]["elem_classes"] == [] and shown["shot-duration"]["elem_classes"] == []


def test_a_deleted_shot_can_be_brought_back_with_the_undo_button(page):
    demo, studio, view = page
    before = shots_of(studio, view)
    ref = {"id": view.project.id, "stamp": 1}
    delete, outputs = callback(demo, "delete_shot_now")
    shown = by_id(outputs, delete(ref, view.scenes[0].scene.id, view.shots[1].shot.id, request=None))
    assert shots_of(studio, view) == [before[0], before[2]]
    assert shown["undo-script"]["visible"] is True
    assert shown["undo-script"]["value"].startswith(
        "Undo: delete shot 2 of scene 1 (Tom knocks at the door.)"
    )
    undo, outputs = callback(demo, "undo_script_delete")
    shown = by_id(outputs, undo(ref, view.scenes[0].scene.id, None, request=None))
    assert shots_of(studio, view) == before
    assert shown["undo-script"] == {"visible": False}


def test_a_stale_form_in_a_second_tab_does_not_overwrite_the_first_tabs_save(page, monkeypatch):
    demo, studio, view = page
    said = []
    monkeypatch.setattr("studio.ui.field_messages.warn", said.append)
    tom = view.shots[1].shot
    # both tabs loaded the shot as it was
    opened = stale_forms.shot_fingerprint(tom)
    form = {
        "plot": tom.plot,
        "characters": list(tom.characters),
        "size": tom.size,
        "angle": tom.angle,
        "motion": tom.motion,
        "duration": tom.duration,
        "notes": tom.notes,
        "dialogue": [[d["character"], d["text"], d.get("parenthetical", "")] for d in tom.dialogue],
    }
    # tab 1 saves a new duration and notes
    save_shot(
        demo, view, shot_id=tom.id, loaded=opened, **{**form, "duration": 6.0, "notes": "hold on the door"}
    )
    # tab 2, still showing the old values, saves a new plot
    save_shot(demo, view, shot_id=tom.id, loaded=opened, **{**form, "plot": "Tom hammers at the door."})
    again = studio.call(open_project, owner=studio.owner_of(None), project_id=view.project.id).shots[1].shot
    assert (again.plot, again.duration, again.notes) == (tom.plot, 6.0, "hold on the door")
    shown = page_status(demo, view, tom, opened, form)
    assert "was changed in another tab or window after you opened it" in shown
    assert said[-1] == "The shot was not saved: fix the field marked ⚠, then save again."


def page_status(demo, view, tom, opened, form) -> str:
    fn, outputs = callback(demo, "save_shot_form")
    updates = fn(
        {"id": view.project.id, "stamp": 1},
        view.scenes[0].scene.id,
        tom.id,
        "Another plot.",
        form["characters"],
        form["size"],
        form["angle"],
        form["motion"],
        form["duration"],
        form["notes"],
        form["dialogue"],
        opened,
        request=None,
    )
    status = next(
        u for c, u in zip(outputs, updates, strict=True) if isinstance(u, str) and "another tab" in u
    )
    return status
