"""Export tab (issue 26): exports for other tools, the scratch voice switch, re-syncing a new
draft; Cast tab: a character's scratch voice. Driven through the callbacks of the built app."""

from __future__ import annotations

import opentimelineio as otio
import pytest

from core.interchange.fdx import script_to_fdx
from core.script import Script
from studio.services import open_project
from studio.services.voices import character_voice, scratch_voice_state
from tests.studio.factories import sample_script_data


def fn(demo, name):
    # save_voice is wired twice (Save, and Hear it before playing), so take the first
    return next(f.fn for f in demo.fns.values() if getattr(f.fn, "__name__", None) == name)


def test_export_for_tools_offers_a_named_download(page):
    demo, _, view = page
    path = fn(demo, "export_for_tools")({"id": view.project.id, "stamp": 1}, "otio", request=None)
    assert path.endswith("The Lighthouse - timeline.otio")
    timeline = otio.adapters.read_from_file(path)
    assert len([c for c in timeline.tracks[0] if isinstance(c, otio.schema.Clip)]) == 3


def test_a_new_draft_is_compared_then_applied_after_confirmation(page, tmp_path):
    demo, studio, view = page
    ref = {"id": view.project.id, "stamp": 1}
    data = sample_script_data()
    data["scenes"][0]["shots"].pop(1)  # cut Tom's knock
    for member in data["cast"]:
        member["photos"] = []
    draft = tmp_path / "draft.fdx"
    draft.write_text(script_to_fdx(Script.model_validate(data)))
    summary = fn(demo, "compare_draft")(ref, str(draft), request=None)
    assert "**2** shot(s) stay with their keyframes" in summary and "Tom knocks at the door" in summary
    assert (
        "Rewritten" not in summary
    )  # the FDX carries the same text; camera and durations are not its business
    from gradio import Error

    with pytest.raises(Error, match="no longer has 1 shot"):
        fn(demo, "apply_draft")(ref, str(draft), False, request=None)
    draft.write_text(script_to_fdx(Script.model_validate(data)))  # the refused upload was discarded
    fn(demo, "apply_draft")(ref, str(draft), True, request=None)
    shots = studio.call(open_project, owner=studio.owner_of(None), project_id=view.project.id)
    assert "Tom knocks at the door." not in str(shots)


def test_scratch_voice_switch_and_character_voice(page):
    demo, studio, view = page
    owner = studio.owner_of(None)
    ref = {"id": view.project.id, "stamp": 1}
    fn(demo, "save_scratch_voice")(ref, True, None, False, request=None)
    assert studio.call(scratch_voice_state, owner=owner, project_id=view.project.id) == (True, "")
    tom = view.cast[1].character.id
    fn(demo, "save_voice")(tom, "en", "f2", 70, 200, request=None)
    saved = studio.call(character_voice, owner=owner, character_id=tom)
    assert (saved.variant, saved.pitch, saved.speed) == ("f2", 70, 200)
    rate, samples = fn(demo, "hear_voice")(tom, request=None)
    assert rate == 22050 and len(samples) > rate // 2
