"""core.script.moviebench: importing MovieBench-style shot annotations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core.script import (
    CameraMotion,
    Script,
    ScriptError,
    ShotSize,
    TimeOfDay,
    keyframe_inputs,
    load_moviebench,
    script_from_json,
    script_from_moviebench,
    script_to_json,
)
from core.script.moviebench import looks_like_moviebench

SAMPLE = Path(__file__).parents[2] / "data" / "script" / "moviebench_store.json"


@pytest.fixture(scope="module")
def store() -> Script:
    return load_moviebench(SAMPLE)


def shots(script: Script) -> list[Any]:
    return [shot for _, _, shot in script.shots()]


def test_consecutive_shots_with_the_same_background_form_scenes(store: Script) -> None:
    assert [len(scene.shots) for scene in store.scenes] == [2, 3, 2]
    street, shop, track = store.scenes
    # The second shot's background differs only in spacing: still the same scene.
    # Headings name the place as a screenplay would; the descriptions are the elements.
    assert [scene.heading for scene in store.scenes] == [
        "EXT. QUIET SUBURBAN STREET",
        "INT. CRAMPED CONVENIENCE STORE",
        "EXT. SCHOOL RUNNING TRACK - SUNSET",
    ]
    assert street.elements == [
        "A quiet suburban street lined with bare trees.",
        "A small convenience store with a red awning stands at the corner.",
    ]
    assert shop.elements[0].startswith("The inside of a cramped convenience store")
    assert [scene.time_of_day for scene in store.scenes] == [TimeOfDay.DAY, TimeOfDay.DAY, TimeOfDay.SUNSET]


def test_title_from_file_name(store: Script) -> None:
    assert store.title == "moviebench store"
    assert load_moviebench(SAMPLE, title="Nora").title == "Nora"


def test_cast_descriptions_are_merged_split_and_deduplicated(store: Script) -> None:
    nora = store.character("Nora Bell")
    assert nora.description == [
        "A teenage girl with short black hair, wearing a striped hoodie and jeans.",
        "She looks anxious and keeps checking her phone.",
        "She hesitates at the door.",
        "Nervous, speaking quietly.",
    ]
    assert store.character("Mr. Okafor").description == [
        "A middle-aged shopkeeper with grey stubble and round glasses, wearing a green apron.",
        "He raises an eyebrow.",
    ]
    assert [c.name for c in store.cast] == [
        "Nora Bell",
        "Mr. Okafor",
        "Theo Marsh",
        "Ivy Chen",
        "Coach Reyes",
        "Dana Bell",
        "Sam Bell",
    ]


def test_camera_motion_and_shot_size_mapping(store: Script) -> None:
    assert [(shot.motion, shot.size) for shot in shots(store)] == [
        (CameraMotion.TRACKING, ShotSize.WIDE),
        (CameraMotion.STATIC, ShotSize.MEDIUM),
        (CameraMotion.ZOOM_IN, ShotSize.MEDIUM),  # "Medium close-up"
        (CameraMotion.PAN_LEFT, ShotSize.CLOSE_UP),
        (CameraMotion.STATIC, ShotSize.EXTREME_CLOSE_UP),
        (CameraMotion.HANDHELD, ShotSize.WIDE),
        (CameraMotion.PAN_RIGHT, ShotSize.MEDIUM),
    ]


def test_unknown_and_vague_values_are_kept_in_notes(store: Script) -> None:
    till, theo = shots(store)[4], shots(store)[6]
    assert (
        "Camera motion in the source: 'The camera spirals dreamily around the till.' (no known camera move; imported as static)."
        in till.notes
    )
    assert (
        "Camera motion in the source: 'pan' (a pan with no direction; imported as pan-right)." in theo.notes
    )
    assert (
        "Shot size in the source: 'Over-the-shoulder' (not a known shot size; imported as medium)."
        in theo.notes
    )


def test_more_than_five_characters_keeps_the_first_five(store: Script) -> None:
    bleachers = shots(store)[5]
    assert bleachers.characters == ["Nora Bell", "Theo Marsh", "Ivy Chen", "Coach Reyes", "Dana Bell"]
    assert (
        "Also in this shot: Sam Bell (the model places at most 5 characters per keyframe" in bleachers.notes
    )


def test_long_plot_is_cut_to_the_encoder_limit_and_continued_in_notes(store: Script) -> None:
    theo = shots(store)[6]
    assert len(theo.plot.split()) == 60
    assert "Plot continues: arriving late." in theo.notes


def test_style_most_common_for_script_scene_overrides_and_shot_differences(store: Script) -> None:
    assert store.style == "Suburban setting, Muted autumn colours, Natural lighting"
    assert [scene.style for scene in store.scenes] == [
        None,
        "Fluorescent lighting, Cluttered shelves, Quiet tension",
        "Golden evening light, Warm film grain, Crowded bleachers",
    ]
    # Shot 5 writes the same style as a string with other capitals: the same style, no note.
    assert "Style Elements" not in shots(store)[4].notes


def test_imported_script_round_trips_and_feeds_the_models(store: Script) -> None:
    assert script_from_json(script_to_json(store)) == store
    frames = keyframe_inputs(store)
    assert len(frames) == 7
    assert (
        frames[2].sentences[0]
        == "Nora Bell: A teenage girl with short black hair, wearing a striped hoodie and jeans."
    )


def sample_shots() -> list[dict[str, Any]]:
    return json.loads(SAMPLE.read_text(encoding="utf-8"))


def test_container_shapes_and_key_spellings() -> None:
    listed = script_from_moviebench(sample_shots(), title="x")
    wrapped = script_from_moviebench({"title": "x", "shots": sample_shots()})
    keyed = script_from_moviebench(json.dumps({shot["Shot ID"]: shot for shot in sample_shots()}), title="x")
    keyed_titled = script_from_moviebench(
        {"title": "x", **{shot["Shot ID"]: shot for shot in sample_shots()}}
    )
    assert listed == wrapped == keyed == keyed_titled
    respelled = [
        {key.lower().replace(" ", "_"): value for key, value in shot.items()} for shot in sample_shots()
    ]
    assert script_from_moviebench(respelled, title="x") == listed


def test_scene_field_becomes_the_heading() -> None:
    shot = {
        "Plot": "Rain falls.",
        "Scene": "Rooftop at night",
        "Background Description": "Wet tiles. A chimney.",
    }
    script = script_from_moviebench([shot])
    scene = script.scenes[0]
    assert (scene.heading, scene.elements, scene.time_of_day) == (
        "Rooftop at night",
        ["Wet tiles.", "A chimney."],
        TimeOfDay.NIGHT,
    )
    assert script.title == "Untitled MovieBench import"


def bad(source: Any) -> str:
    with pytest.raises(ScriptError) as caught:
        script_from_moviebench(source)
    return str(caught.value)


def test_wrong_structure_names_the_shot() -> None:
    good = {"Plot": "x", "Background Description": "y"}
    assert bad([good, "not a shot"]) == "shot 2: expected an object with the shot's fields but found str"
    assert bad([good, {"Background Description": "y"}]) == (
        "shot 2, Plot: the Plot is missing or empty; every shot needs a Plot"
    )
    assert bad([{**good, "Shot ID": "0007_0001", "Characters": "Nora"}]) == (
        "shot 1 (0007_0001), Characters: expected an object mapping each character's name to a "
        "description but found str"
    )
    assert bad({"s1": good, "s2": {**good, "Plot": 5}}) == "shot 's2', Plot: expected text but found int"
    assert bad([{"Plot": "x"}]).startswith(
        "shot 1: the shot has neither a 'Background Description' nor a 'Scene'"
    )
    assert "names may have at most 40" in bad([{**good, "Characters": {"N" * 41: "d"}}])
    assert "shorten them" in bad([{**good, "Style Elements": ["word " * 61]}])
    assert bad([{**good, "Characters": {"Nora": 3}}]) == (
        "shot 1, Characters, 'Nora': expected the character's description as text"
    )


def test_wrong_top_level_and_bad_json() -> None:
    assert bad(42).startswith("annotations: expected a list of shots, an object with a 'shots' list")
    assert bad([]) == "annotations: the annotations contain no shots; there is nothing to import"
    assert bad('[\n  {"Plot": "x",}\n]').startswith("line 2, column 16: this is not valid JSON")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ScriptError, match="this file does not exist"):
        load_moviebench(tmp_path / "none.json")


# -- one place in differently worded backgrounds, and time from the text (issue #23, item 15) --

VLM_SHOTS = [
    {
        "Characters": {"Juno": "A teenage girl in a red hoodie."},
        "Plot": "Juno walks into the store.",
        "Background Description": "A small convenience store with bright fluorescent lights and shelves of snacks.",
        "Camera Motion": "The camera slowly pans left.",
        "Shot Size": "Medium shot",
    },
    {
        "Characters": {"Juno": "A teenage girl."},
        "Plot": "Juno picks up a bottle of juice.",
        "Background Description": "The convenience store, shelves of snacks and a humming fridge under fluorescent "
        "lights.",
        "Shot Size": "Close-up",
    },
    {
        "Characters": {"Juno": "A teenage girl.", "Mac": "A man with a moustache."},
        "Plot": "Juno sits with her father in the cabin as the storm rages outside in the night.",
        "Background Description": "The cramped interior of a ship cabin, lit by a swinging oil lamp, with wooden bunks.",
        "Shot Size": "Wide shot",
    },
    {
        "Characters": {"Mac": "A man."},
        "Plot": "Mac lights his pipe.",
        "Background Description": "A ship cabin with wooden bunks and an oil lamp swinging from the ceiling.",
    },
]


def test_shots_of_one_place_form_one_scene_even_when_worded_differently() -> None:
    script = script_from_moviebench(VLM_SHOTS)
    assert [(scene.heading, len(scene.shots)) for scene in script.scenes] == [
        ("INT. SMALL CONVENIENCE STORE", 2),
        ("INT. SHIP CABIN - NIGHT", 2),
    ]
    store, cabin = script.scenes
    assert store.elements == [VLM_SHOTS[0]["Background Description"]]
    # the second shot's own wording is kept in its notes, not lost
    assert store.shots[1].notes.startswith("Background Description of this shot: The convenience store")
    assert cabin.elements == [VLM_SHOTS[2]["Background Description"]]


def test_time_of_day_comes_from_the_plots_when_the_background_names_none() -> None:
    store, cabin = script_from_moviebench(VLM_SHOTS).scenes
    assert store.time_of_day == TimeOfDay.DAY  # nothing said: day
    assert cabin.time_of_day == TimeOfDay.NIGHT  # "... outside in the night."


def test_moviebench_is_recognised_from_its_content() -> None:
    assert looks_like_moviebench(VLM_SHOTS)
    assert looks_like_moviebench({"shots": VLM_SHOTS}) and looks_like_moviebench({"1": VLM_SHOTS[0]})
    assert not looks_like_moviebench({"title": "A script", "cast": [], "scenes": []})
    assert not looks_like_moviebench([{"name": "x"}]) and not looks_like_moviebench([])
