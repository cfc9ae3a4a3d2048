"""Every validation rule of core.script.models, as the sentence and 1-based location a user sees."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from core.script import Character, Scene, Script, ScriptError, Shot, script_from_dict
from core.script.errors import Problem, problems_from_validation_error


def base() -> dict[str, Any]:
    """A valid script: 2 cast members, 3 scenes, the third with 7 shots."""
    shot = {"plot": "Mara looks at the sea.", "characters": ["Mara"]}
    return {
        "title": "Harbour Lights",
        "cast": [
            {"name": "Jonah", "description": ["An old man with a grey beard."]},
            {"name": "Mara", "description": ["She has red hair.", "She wears a raincoat.", "She is tall."]},
        ],
        "scenes": [
            {"heading": "EXT. HARBOUR - DUSK", "shots": [copy.deepcopy(shot)]},
            {"heading": "INT. LIGHTHOUSE - NIGHT", "shots": [copy.deepcopy(shot), copy.deepcopy(shot)]},
            {"heading": "EXT. PIER - DAWN", "shots": [copy.deepcopy(shot) for _ in range(7)]},
        ],
    }


def problems(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ScriptError) as caught:
        script_from_dict(data)
    return [str(problem) for problem in caught.value.problems]


def test_base_is_valid() -> None:
    assert script_from_dict(base()).num_shots == 10


def test_empty_plot() -> None:
    data = base()
    data["scenes"][2]["shots"][6]["plot"] = "   "
    assert problems(data) == [
        "scene 3, shot 7, plot: the plot is empty; write one sentence saying what happens in this shot"
    ]


def test_sentence_longer_than_the_encoder_reads() -> None:
    data = base()
    data["cast"][1]["description"].append(" ".join(["word"] * 61))
    assert problems(data) == [
        "cast member 2 (Mara), description sentence 4: this sentence has 61 words but the description "
        "encoder reads at most 60; split it into shorter sentences"
    ]


@pytest.mark.parametrize(
    ("path", "where"),
    [
        (("scenes", 0, "elements"), "scene 1, scene element 1"),
        (("scenes", 1, "shots", 0, "plot"), "scene 2, shot 1, plot"),
        (("scenes", 2, "heading"), "scene 3, heading"),
        (("scenes", 0, "style"), "scene 1, style"),
        (("style",), "style"),
    ],
)
def test_every_encoder_sentence_is_limited(path: tuple[Any, ...], where: str) -> None:
    data = base()
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    long_sentence = " ".join(["wave"] * 70)
    parent[path[-1]] = [long_sentence] if path[-1] == "elements" else long_sentence
    (problem,) = problems(data)
    assert problem.startswith(f"{where}: this sentence has 70 words")


def test_empty_description_sentence() -> None:
    data = base()
    data["cast"][0]["description"] = ["Fine.", " "]
    assert problems(data) == [
        "cast member 1 (Jonah), description sentence 2: a description sentence is empty; "
        "delete it or write something in it"
    ]


@pytest.mark.parametrize(
    ("duration", "message"),
    [
        (0, "the duration is 0 s; a shot must last more than 0 seconds"),
        (-2.5, "the duration is -2.5 s; a shot must last more than 0 seconds"),
        (61, "the duration is 61 s; a shot may last at most 60 s, split longer action into several shots"),
    ],
)
def test_duration_out_of_range(duration: float, message: str) -> None:
    data = base()
    data["scenes"][1]["shots"][0]["duration"] = duration
    assert problems(data) == [f"scene 2, shot 1, duration: {message}"]


def test_duration_not_a_number() -> None:
    data = base()
    data["scenes"][1]["shots"][0]["duration"] = "long"
    assert problems(data) == [
        "scene 2, shot 1, duration: expected a number of seconds here but found the text 'long'"
    ]


def test_character_not_in_cast() -> None:
    data = base()
    data["scenes"][1]["shots"][1]["characters"] = ["Mara", "Tomas"]
    assert problems(data) == [
        "scene 2, shot 2, character 2: the character 'Tomas' is not in the cast; add them to the cast "
        "or fix the spelling"
    ]


def test_dialogue_by_someone_not_in_the_cast() -> None:
    data = base()
    data["scenes"][1]["shots"][1]["dialogue"] = [
        {"character": "mara", "text": "Who is there?"},
        {"character": "Tomas", "text": "Only me."},
    ]
    assert problems(data) == [
        "scene 2, shot 2, dialogue line 2, character: 'Tomas' speaks this line but is not in the cast; "
        "add them to the cast or fix the spelling"
    ]


def test_cast_names_match_case_insensitively() -> None:
    data = base()
    data["scenes"][0]["shots"][0]["characters"] = ["MARA", "jonah"]
    assert script_from_dict(data).scenes[0].shots[0].characters == ["MARA", "jonah"]


def test_more_than_five_characters_is_the_models_limit() -> None:
    data = base()
    data["cast"] += [{"name": name} for name in ["Ann", "Bo", "Cy", "Di"]]
    data["scenes"][0]["shots"][0]["characters"] = ["Mara", "Jonah", "Ann", "Bo", "Cy", "Di"]
    assert problems(data) == [
        "scene 1, shot 1, characters: 6 characters are in this shot but the model can place at most 5 "
        "per keyframe (the model's limit); split the shot or name fewer characters"
    ]


def test_character_listed_twice_in_a_shot() -> None:
    data = base()
    data["scenes"][0]["shots"][0]["characters"] = ["Mara", "Jonah", "mara"]
    assert problems(data) == [
        "scene 1, shot 1, character 3: the character 'mara' is listed twice in this shot (also as "
        "character 1); list each character once"
    ]


def test_duplicate_cast_names() -> None:
    data = base()
    data["cast"].append({"name": "MARA"})
    assert problems(data) == [
        "cast member 3 (MARA), name: the name 'MARA' is already used by cast member 2; give every "
        "character a different name"
    ]


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        (
            "size",
            "huge",
            "'huge' is not a known shot size; use one of: extreme-wide, wide, full, medium, "
            "close-up, extreme-close-up",
        ),
        (
            "angle",
            "sideways",
            "'sideways' is not a known camera angle; use one of: eye-level, high, low, overhead, dutch",
        ),
        (
            "motion",
            "pan left",
            "'pan left' is not a known camera motion; use one of: static, pan-left, "
            "pan-right, tilt-up, tilt-down, zoom-in, zoom-out, dolly-in, dolly-out, tracking, handheld",
        ),
    ],
)
def test_unknown_enum_value_lists_the_allowed_values(field: str, value: str, expected: str) -> None:
    data = base()
    data["scenes"][2]["shots"][3][field] = value
    assert problems(data) == [f"scene 3, shot 4, {field}: {expected}"]


def test_unknown_time_of_day() -> None:
    data = base()
    data["scenes"][0]["time_of_day"] = "noon"
    assert problems(data) == [
        "scene 1, time_of_day: 'noon' is not a known time of day; use one of: dawn, day, sunset, night"
    ]


@pytest.mark.parametrize(
    ("path", "where", "kind", "fields"),
    [
        ((), "camera", "the script", "schema_version, title, logline, style, cast, scenes"),
        (("cast", 1), "cast member 2 (Mara), camera", "a cast member", "name, description, photos"),
        (("scenes", 1), "scene 2, camera", "a scene", "heading, time_of_day, elements, style, shots"),
        (
            ("scenes", 1, "shots", 1),
            "scene 2, shot 2, camera",
            "a shot",
            "plot, characters, size, angle, motion, duration, dialogue, notes",
        ),
    ],
)
def test_unknown_field_names_it_and_the_allowed_fields(
    path: tuple[Any, ...], where: str, kind: str, fields: str
) -> None:
    data = base()
    target = data
    for key in path:
        target = target[key]
    target["camera"] = "pan"
    assert problems(data) == [
        f"{where}: 'camera' is not a field of {kind}; the fields are {fields}; fix the spelling or remove it"
    ]


def test_missing_and_empty_required_fields() -> None:
    data = base()
    del data["title"]
    del data["scenes"][0]["shots"][0]["plot"]
    data["cast"][0]["name"] = ""
    data["scenes"][1]["shots"][0]["dialogue"] = [{"character": "Mara", "text": ""}]
    assert problems(data) == [
        "title: the title is missing; give the script a title",
        "cast member 1, name: the name is empty; every cast member needs a name",
        "scene 1, shot 1, plot: the plot is missing; write one sentence saying what happens in this shot",
        "scene 2, shot 1, dialogue line 1, text: the line is empty; write what is said or delete the dialogue line",
    ]


def test_name_too_long() -> None:
    data = base()
    data["cast"][0]["name"] = "J" * 41
    (problem,) = problems(data)
    assert problem.startswith(f"cast member 1 ({'J' * 41}), name: the name '{'J' * 41}' has 41 characters")
    assert problem.endswith("names may have at most 40; use a shorter name")


def test_wrong_types_say_what_was_expected() -> None:
    data = base()
    data["cast"][1] = "Mara"
    data["scenes"][0]["shots"] = {"plot": "x"}
    data["scenes"][1]["shots"][0]["characters"] = "Mara"
    found = problems(data)
    assert found[0] == (
        "cast member 2: expected a cast member here (an object with the fields name, description, "
        "photos) but found the text 'Mara'"
    )
    assert found[1] == "scene 1, shots: expected a list of shots (in JSON: [...]) here but found an object"
    assert found[2] == (
        "scene 2, shot 1, characters: expected a list of characters (in JSON: [...]) here but found the text 'Mara'"
    )


def test_newer_schema_version() -> None:
    data = base()
    data["schema_version"] = 2
    assert problems(data) == [
        "schema_version: this script uses file format version 2 but this program reads version 1; "
        "update MovieDreamer Studio to open it"
    ]


def test_every_problem_is_listed_in_document_order_with_cross_references() -> None:
    # Field errors stop pydantic before the cross-reference check; the references are checked
    # on the raw input too so the user sees all problems at once.
    data = base()
    data["scenes"][2]["shots"][6]["plot"] = ""
    data["scenes"][0]["shots"][0]["characters"] = ["Nobody"]
    data["cast"].append({"name": "jonah", "description": [" ".join(["x"] * 80)]})
    found = problems(data)
    assert [line.split(":")[0] for line in found] == [
        "cast member 3 (jonah), name",
        "cast member 3 (jonah), description sentence 1",
        "scene 1, shot 1, character 1",
        "scene 3, shot 7, plot",
    ]


def test_unreadable_cast_member_suppresses_reference_guesses() -> None:
    data = base()
    data["cast"][1] = {"description": ["No name."]}
    assert problems(data) == ["cast member 2, name: the name is missing; every cast member needs a name"]


def test_rejected_assignment_leaves_the_script_unchanged() -> None:
    script = script_from_dict(base())
    with pytest.raises(ValidationError):
        script.cast = [Character(name="Jonah")]
    assert [c.name for c in script.cast] == ["Jonah", "Mara"]
    script.title = "New title"
    assert script.title == "New title"


def test_problem_keeps_pydantic_location_and_messages_work_without_data() -> None:
    data = base()
    data["scenes"][1]["shots"][1]["characters"] = ["Tomas"]
    with pytest.raises(ValidationError) as caught:
        Script.model_validate(data)
    (problem,) = problems_from_validation_error(caught.value)
    assert problem == Problem(
        "scene 2, shot 2, character 1",
        "the character 'Tomas' is not in the cast; add them to the cast or fix the spelling",
        ("scenes", 1, "shots", 1, "characters", 0),
    )


def test_models_raise_with_positions_when_built_directly() -> None:
    with pytest.raises(ValidationError) as caught:
        Scene(heading="x", shots=[Shot(plot="a"), {"plot": "b", "duration": 99}])
    assert caught.value.errors()[0]["loc"] == ("shots", 1, "duration")


def test_script_error_needs_a_problem_and_prints_where_first() -> None:
    with pytest.raises(ValueError):
        ScriptError([])
    assert str(ScriptError.at("line 3", "this is wrong")) == "line 3: this is wrong"
    assert str(Problem("", "general")) == "general"
