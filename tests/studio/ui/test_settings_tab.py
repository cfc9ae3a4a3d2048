"""Settings: the bundle is chosen among the bundles the operator offers (the default and the
bundle folders of --bundles roots), never typed as a server path."""

from __future__ import annotations

import pytest

from studio.config import StudioSettings
from studio.services import create_project, get_project
from studio.ui.app import build_demo
from studio.ui.handle import StudioHandle
from studio.ui.settings_tab import DEFAULT


@pytest.fixture
def page(tmp_path):
    default, root = tmp_path / "bundle", tmp_path / "bundles"
    default.mkdir()
    (root / "paper").mkdir(parents=True)
    (root / "paper" / "manifest.json").write_text("{}")
    handle = StudioHandle(
        StudioSettings(data_dir=tmp_path / "data", bundle_path=default, bundle_roots=(root,))
    )
    demo = build_demo(handle)
    studio = handle.get()
    project = studio.call(create_project, owner=studio.owner_of(None), name="Harbour")
    yield demo, studio, project, root / "paper"
    handle.close()


def callback(demo, name):
    [found] = [f for f in demo.fns.values() if getattr(f.fn, "__name__", None) == name]
    return found.fn


def test_the_bundle_dropdown_lists_the_offered_bundles(page):
    demo, _, project, paper = page
    refresh = [
        f.fn
        for f in demo.fns.values()
        if getattr(f.fn, "__name__", None) == "refresh"
        and any(getattr(o, "elem_id", None) == "bundle-choice" for o in f.outputs)
    ][0]
    dropdown = refresh({"id": project.id, "stamp": 1}, request=None)[0]
    assert [value for _, value in dropdown.constructor_args["choices"]] == [DEFAULT, str(paper.resolve())]


def test_an_offered_bundle_is_saved_and_a_server_path_is_refused(page, monkeypatch):
    demo, studio, project, paper = page
    monkeypatch.setattr("studio.ui.field_messages.warn", lambda text: None)
    save = callback(demo, "save_settings")
    ref = {"id": project.id, "stamp": 1}
    save(ref, str(paper.resolve()), None, None, None, "per-shot", 0, request=None)
    owner = studio.owner_of(None)
    assert studio.call(get_project, owner=owner, project_id=project.id).settings.bundle_path == str(
        paper.resolve()
    )
    shown = save(ref, "/etc", None, None, None, "per-shot", 0, request=None)
    assert "is not one of the bundles this studio offers" in shown[0]["info"]
    assert studio.call(get_project, owner=owner, project_id=project.id).settings.bundle_path == str(
        paper.resolve()
    )
    # a negative seed is a sentence by the seed field, not a broken form
    shown = save(ref, DEFAULT, None, None, None, "per-shot", -3, request=None)
    assert "the seed must be a whole number of 0 or more" in shown[5]["info"]
