"""The Storyboard tab's shot panel: the clicked keyframe shown large, the shot moved earlier or
later from the storyboard."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from studio.services import add_keyframe_version, open_project


@pytest.fixture
def page(page):
    """The sample project's page with a keyframe version on shot 1 (the shared page, then one version)."""
    demo, studio, view = page
    owner = studio.owner_of(None)
    studio.call(
        add_keyframe_version,
        owner=owner,
        shot_id=view.shots[0].shot.id,
        image=np.full((32, 56, 3), 90, np.uint8),
        seed=4,
    )
    return demo, studio, studio.call(open_project, owner=owner, project_id=view.project.id)


def fns(demo, name):
    return [f for f in demo.fns.values() if getattr(f.fn, "__name__", None) == name]


def by_id(found, updates):
    return {
        c.elem_id: (dict(u.constructor_args) if hasattr(u, "constructor_args") else u)
        for c, u in zip(found.outputs, updates, strict=True)
        if c.elem_id
    }


def test_clicking_a_keyframe_shows_it_large(page):
    demo, _, view = page
    [choose] = fns(demo, "choose_shot")
    ref = {"id": view.project.id, "stamp": 1}
    shown = by_id(
        choose, choose.fn(ref, [s.shot.id for s in view.shots], SimpleNamespace(index=0), request=None)
    )
    assert shown["shot-large"] == {"value": str(view.shots[0].keyframe_path), "visible": True}
    shown = by_id(
        choose, choose.fn(ref, [s.shot.id for s in view.shots], SimpleNamespace(index=1), request=None)
    )
    assert shown["shot-large"]["visible"] is False  # no keyframe yet


def test_a_shot_moves_later_from_the_storyboard(page):
    demo, studio, view = page
    earlier, later = fns(demo, "move_in_story")
    ref = {"id": view.project.id, "stamp": 1}
    later.fn(ref, view.shots[0].shot.id, request=None)
    again = studio.call(open_project, owner=studio.owner_of(None), project_id=view.project.id)
    assert [s.shot.plot for s in again.shots][:2] == [
        "Tom knocks at the door.",
        "Mara climbs the spiral stairs.",
    ]
    earlier.fn(ref, view.shots[0].shot.id, request=None)
    again = studio.call(open_project, owner=studio.owner_of(None), project_id=view.project.id)
    assert [s.shot.plot for s in again.shots][:2] == [
        "Mara climbs the spiral stairs.",
        "Tom knocks at the door.",
    ]


def test_seed_fields_leave_their_rule_to_the_studio(page):
    demo, _, _ = page
    seeds = [b for b in demo.blocks.values() if type(b).__name__ == "Number" and b.label == "Seed"]
    assert len(seeds) == 3  # storyboard, regenerate, settings
    for field in seeds:
        # no Gradio minimum: a negative seed reaches check_seed, whose sentence is shown
        assert field.minimum is None and field.preprocess(-1) == -1
