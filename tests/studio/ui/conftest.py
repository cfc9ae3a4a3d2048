"""Shared fixtures of the UI tests: the studio's page on a studio holding the sample project."""

from __future__ import annotations

import pytest

from studio.config import StudioSettings
from studio.services import new_project_from_script, open_project
from studio.ui.app import build_demo
from studio.ui.handle import StudioHandle


@pytest.fixture
def page(tmp_path, sample_script, sample_folder):
    """(demo, studio, project view): the page on a studio holding the sample project."""
    handle = StudioHandle(StudioSettings(data_dir=tmp_path / "data", bundle_path=tmp_path / "bundle"))
    demo = build_demo(handle)
    studio = handle.get()
    report = studio.call(
        new_project_from_script, owner=studio.owner_of(None), script=sample_script, photo_root=sample_folder
    )
    yield demo, studio, studio.call(open_project, owner=studio.owner_of(None), project_id=report.project.id)
    handle.close()
