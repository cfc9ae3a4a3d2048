"""Each project has its address (?project=<id>): a reload, a bookmark or a second tab opens it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from studio.config import StudioSettings
from studio.errors import StudioError
from studio.services import create_project
from studio.ui.app import build_demo
from studio.ui.handle import StudioHandle
from studio.ui.project_link import PARAMETER, SET_ADDRESS, project_id_from_address


@pytest.fixture
def page(tmp_path):
    handle = StudioHandle(StudioSettings(data_dir=tmp_path / "data", bundle_path=tmp_path / "bundle"))
    demo = build_demo(handle)
    yield demo, handle.get()
    handle.close()


def callback(demo, name):
    [found] = [f for f in demo.fns.values() if getattr(f.fn, "__name__", None) == name]
    return found


def request(query: dict, username=None):
    return SimpleNamespace(query_params=query, username=username)


def test_the_address_parameter_is_read_strictly():
    assert project_id_from_address(None) is None and project_id_from_address(" ") is None
    assert project_id_from_address("42") == 42
    for bad in ["-1", "4a", "1e9", "../3", "9" * 30]:
        with pytest.raises(StudioError, match="no project number"):
            project_id_from_address(bad)


def test_loading_the_page_with_an_address_opens_that_project(page):
    demo, studio = page
    project = studio.call(create_project, owner=studio.owner_of(None), name="Harbour")
    load = callback(demo, "open_from_address")
    assert load.fn(request({PARAMETER: str(project.id)}))["id"] == project.id
    assert load.fn(request({}))["id"] is None


def test_an_address_naming_a_missing_project_opens_nothing_and_says_so(page, monkeypatch):
    demo, _ = page
    said = []
    monkeypatch.setattr("studio.ui.project_link.warn", said.append)
    assert callback(demo, "open_from_address").fn(request({PARAMETER: "999"}))["id"] is None
    assert said and said[0].startswith(
        "The project in this page's address was not opened: Project 999 does not exist"
    )


def test_opening_a_project_writes_its_address(page):
    demo, _ = page
    mirror = callback(demo, "address_of")
    assert mirror.fn({"id": 7, "stamp": 3}) == "7" and mirror.fn({"id": None, "stamp": 0}) == ""
    # the browser side: the id goes into ?project= without reloading the page
    follow = [f for f in demo.fns.values() if f.fn is None and f.js and "replaceState" in f.js]
    assert len(follow) == 1 and f'searchParams.set("{PARAMETER}", id)' in SET_ADDRESS
