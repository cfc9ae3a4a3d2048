"""core.script.inputs: the per-keyframe model inputs (paper 3.3 / App. A, eq. 4)."""

from __future__ import annotations

import dataclasses
import itertools

import pytest
from hypothesis import HealthCheck, given, settings

from core.script import (
    IDENTIFIER_VOCABULARY,
    MAX_DESCRIPTIONS_PER_SHOT,
    MAX_SENTENCE_WORDS,
    CameraAngle,
    CameraMotion,
    Character,
    CharacterSlot,
    Description,
    FaceSlot,
    Identifier,
    KeyframeInputs,
    Scene,
    Script,
    ScriptError,
    Shot,
    ShotSize,
    TimeOfDay,
    VisualTokens,
    keyframe_inputs,
    keyframe_inputs_for_shot,
)
from core.script.inputs import slot_marker
from tests.core.script.strategies import scripts


def cast_member(name: str, count: int) -> Character:
    return Character(
        name=name,
        description=[f"{name} detail {i}." for i in range(1, count + 1)],
        photos=[f"cast/{name}.png"],
    )


def two_shot_script() -> Script:
    return Script(
        title="Harbour Lights",
        style="Warm film grain.",
        cast=[cast_member("Mara", 2), cast_member("Jonah", 1), Character(name="Tomas")],
        scenes=[
            Scene(
                heading="EXT. HARBOUR - DUSK",
                time_of_day=TimeOfDay.SUNSET,
                elements=["Fishing boats lean in the mud."],
                shots=[
                    Shot(
                        plot="Jonah waves at Mara.",
                        characters=["jonah", "Mara"],
                        size=ShotSize.CLOSE_UP,
                        angle=CameraAngle.LOW,
                        motion=CameraMotion.PAN_LEFT,
                    )
                ],
            ),
            Scene(
                heading="INT. LIGHTHOUSE - NIGHT",
                time_of_day=TimeOfDay.NIGHT,
                style="Noir monochrome.",
                shots=[Shot(plot="The lamp turns."), Shot(plot="Tomas sleeps.", characters=["Tomas"])],
            ),
        ],
    )


def test_layout_of_one_frame() -> None:
    frame = keyframe_inputs(two_shot_script())[0]
    sentence = frame.sentences
    assert frame.items == (
        Identifier("<START_OF_FRAME>"),
        Identifier("Characters:"),
        Identifier("<char_0>"),
        FaceSlot(0),
        Description(0),
        Identifier("<char_1>"),
        FaceSlot(1),
        Description(1),
        Description(2),
        Identifier("Scene Elements:"),
        Description(3),
        Description(4),
        Identifier("Shot: close-up low pan-left"),
        Identifier("Time: sunset"),
        Identifier("Plot:"),
        Description(5),
        Identifier("Style:"),
        Description(6),
        VisualTokens(),
        Identifier("<END_OF_FRAME>"),
    )
    assert sentence == (
        "Jonah: Jonah detail 1.",
        "Mara: Mara detail 1.",
        "Mara detail 2.",
        "EXT. HARBOUR - DUSK",
        "Fishing boats lean in the mud.",
        "Jonah waves at Mara.",
        "Warm film grain.",
    )
    # Slots follow the shot's order of appearance and use the cast's spelling.
    assert frame.characters == (
        CharacterSlot(0, "Jonah", ("cast/Jonah.png",)),
        CharacterSlot(1, "Mara", ("cast/Mara.png",)),
    )
    assert frame.dropped_sentences == ()
    assert (frame.scene_index, frame.shot_index, frame.frame_index) == (0, 0, 0)


def test_scene_style_overrides_script_style_and_name_only_character() -> None:
    frames = keyframe_inputs(two_shot_script())
    assert frames[1].sentences[-1] == "Noir monochrome."
    assert frames[2].sentences == ("Tomas.", "INT. LIGHTHOUSE - NIGHT", "Tomas sleeps.", "Noir monochrome.")
    assert [(f.scene_index, f.shot_index, f.frame_index) for f in frames] == [(0, 0, 0), (1, 0, 1), (1, 1, 2)]


@pytest.mark.parametrize("scene_style", [None, ""])
def test_script_style_applies_when_scene_sets_none(scene_style: str | None) -> None:
    script = two_shot_script()
    script.scenes[1].style = scene_style
    assert keyframe_inputs(script)[1].sentences[-1] == "Warm film grain."


def test_empty_style_keeps_the_header_but_no_sentence() -> None:
    script = two_shot_script()
    script.style = ""
    frame = keyframe_inputs(script)[0]
    assert frame.items[-3:] == (Identifier("Style:"), VisualTokens(), Identifier("<END_OF_FRAME>"))
    assert "Warm film grain." not in frame.sentences


def test_long_first_sentence_moves_the_name_into_its_own_sentence() -> None:
    long_sentence = " ".join(["tall"] * MAX_SENTENCE_WORDS)
    script = Script(
        title="t",
        cast=[Character(name="Mara Vance", description=[long_sentence])],
        scenes=[Scene(heading="h", shots=[Shot(plot="p", characters=["Mara Vance"])])],
    )
    frame = keyframe_inputs(script)[0]
    assert frame.sentences[:2] == ("Mara Vance.", long_sentence)
    assert all(len(s.split()) <= MAX_SENTENCE_WORDS for s in frame.sentences)


def budget_script() -> Script:
    names = ["Ann", "Bo", "Cy", "Di", "Ed"]
    return Script(
        title="t",
        style="Pastel.",
        cast=[cast_member(name, 4) for name in names],
        scenes=[
            Scene(
                heading="EXT. PARK - DAY",
                elements=[f"Element {i}." for i in range(1, 5)],
                shots=[Shot(plot="Everyone dances.", characters=list(reversed(names)))],
            )
        ],
    )


def test_sentence_budget_priority() -> None:
    frame = keyframe_inputs(budget_script())[0]
    # 1 plot + 1 style + 1 heading + 5 first sentences + 4 elements = 12; 3 places remain for
    # the second sentences, round-robin in slot order (Ed, Di, Cy; then Bo, Ann miss out).
    assert len(frame.sentences) == MAX_DESCRIPTIONS_PER_SHOT
    assert frame.dropped_sentences == (
        "Bo detail 2.",
        "Ann detail 2.",
        "Ed detail 3.",
        "Di detail 3.",
        "Cy detail 3.",
        "Bo detail 3.",
        "Ann detail 3.",
        "Ed detail 4.",
        "Di detail 4.",
        "Cy detail 4.",
        "Bo detail 4.",
        "Ann detail 4.",
    )
    assert frame.sentences[:6] == (
        "Ed: Ed detail 1.",
        "Ed detail 2.",
        "Di: Di detail 1.",
        "Di detail 2.",
        "Cy: Cy detail 1.",
        "Cy detail 2.",
    )
    assert [slot.name for slot in frame.characters] == ["Ed", "Di", "Cy", "Bo", "Ann"]


def test_elements_are_dropped_before_plot_style_heading_and_first_sentences() -> None:
    script = budget_script()
    script.scenes[0].elements = [f"Element {i}." for i in range(1, 12)]
    frame = keyframe_inputs(script)[0]
    kept = set(frame.sentences)
    assert {"Everyone dances.", "Pastel.", "EXT. PARK - DAY"} <= kept
    assert all(f"{name}: {name} detail 1." in kept for name in ["Ann", "Bo", "Cy", "Di", "Ed"])
    assert [s for s in frame.sentences if s.startswith("Element")] == [f"Element {i}." for i in range(1, 8)]
    assert frame.dropped_sentences[:4] == ("Element 8.", "Element 9.", "Element 10.", "Element 11.")
    assert not any("detail 2" in s for s in frame.sentences)


def test_face_slot_follows_its_marker_in_order() -> None:
    frame = keyframe_inputs(budget_script())[0]
    markers = [
        i
        for i, item in enumerate(frame.items)
        if isinstance(item, Identifier) and item.text.startswith("<char_")
    ]
    assert [frame.items[i].text for i in markers] == [slot_marker(k) for k in range(5)]
    assert [frame.items[i + 1] for i in markers] == [FaceSlot(k) for k in range(5)]


def check_frame(frame: KeyframeInputs, script: Script) -> None:
    items = frame.items
    assert items[0] == Identifier("<START_OF_FRAME>")
    assert items[-1] == Identifier("<END_OF_FRAME>")
    assert items[-2] == VisualTokens()
    assert sum(isinstance(item, VisualTokens) for item in items) == 1
    indices = [item.index for item in items if isinstance(item, Description)]
    assert indices == list(range(len(frame.sentences)))
    slots = [item.slot for item in items if isinstance(item, FaceSlot)]
    assert slots == [c.slot for c in frame.characters] == list(range(len(frame.characters)))
    assert len(frame.sentences) <= MAX_DESCRIPTIONS_PER_SHOT
    assert all(0 < len(s.split()) <= MAX_SENTENCE_WORDS for s in frame.sentences)
    shot = script.scenes[frame.scene_index].shots[frame.shot_index]
    assert shot.plot in frame.sentences
    assert [c.name.casefold() for c in frame.characters] == [name.casefold() for name in shot.characters]
    for item in items:
        if isinstance(item, Identifier):
            assert item.text.split(), "an identifier must not be empty"
            assert set(item.text.split()) <= set(IDENTIFIER_VOCABULARY), item.text


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scripts(max_cast=8, max_scenes=3, max_shots=4))
def test_every_frame_of_any_script_is_well_formed(script: Script) -> None:
    frames = keyframe_inputs(script)
    assert [(f.scene_index, f.shot_index) for f in frames] == [(s, k) for s, k, _ in script.shots()]
    assert [f.frame_index for f in frames] == list(range(script.num_shots))
    for frame in frames:
        check_frame(frame, script)
        assert keyframe_inputs_for_shot(script, frame.scene_index, frame.shot_index) == frame


def test_vocabulary_covers_every_enum_combination() -> None:
    vocabulary = set(IDENTIFIER_VOCABULARY)
    assert len(vocabulary) == len(IDENTIFIER_VOCABULARY)
    assert all(word and not any(ch.isspace() for ch in word) for word in IDENTIFIER_VOCABULARY)
    for size, angle, motion, time in itertools.product(ShotSize, CameraAngle, CameraMotion, TimeOfDay):
        script = Script(
            title="t",
            scenes=[
                Scene(
                    heading="h",
                    time_of_day=time,
                    shots=[Shot(plot="p", size=size, angle=angle, motion=motion)],
                )
            ],
        )
        words = keyframe_inputs(script)[0].identifier_text.split()
        assert set(words) <= vocabulary
    assert {
        "<START_OF_FRAME>",
        "<END_OF_FRAME>",
        "Characters:",
        "Scene",
        "Elements:",
        "Shot:",
        "Time:",
    } <= vocabulary
    assert {"Plot:", "Style:", "<char_0>", "<char_4>"} <= vocabulary


def test_inputs_are_frozen() -> None:
    frame = keyframe_inputs(two_shot_script())[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        frame.frame_index = 3  # type: ignore[misc]


def test_out_of_range_indices() -> None:
    script = two_shot_script()
    with pytest.raises(IndexError, match="scene index 5 is out of range; the script has 2 scenes"):
        keyframe_inputs_for_shot(script, 5, 0)
    with pytest.raises(IndexError, match="scene 2 has 2 shots"):
        keyframe_inputs_for_shot(script, 1, 2)


def test_lists_mutated_in_place_are_still_checked() -> None:
    script = two_shot_script()
    script.scenes[1].shots[0].characters.append("Nobody")
    with pytest.raises(
        ScriptError, match="scene 2, shot 1, character 1: the character 'Nobody' is not in the cast"
    ):
        keyframe_inputs(script)


def test_slot_marker_range() -> None:
    assert slot_marker(4) == "<char_4>"
    with pytest.raises(ValueError, match="slots are 0 to 4"):
        slot_marker(5)


def test_the_decoder_reads_the_shot_sentence_before_the_plot_and_the_ar_model_does_not() -> None:
    frames = keyframe_inputs(two_shot_script())
    first = frames[0]
    assert (
        first.decoder_sentences
        == first.sentences[:5] + ("A close up shot from a low angle, at sunset.",) + first.sentences[5:]
    )
    assert first.sentences_for_decoder(True) == first.decoder_sentences
    assert first.sentences_for_decoder(False) == first.sentences  # decoders trained without it
    # every identifier the sentence names is the shot's; day reads as a phrase
    script = two_shot_script()
    script.scenes[1].time_of_day = TimeOfDay.DAY
    script.scenes[1].shots[0].size = ShotSize.EXTREME_WIDE
    script.scenes[1].shots[0].angle = CameraAngle.EYE_LEVEL
    lamp = keyframe_inputs(script)[1]
    assert "An extreme wide shot from an eye level angle, during the day." in lamp.decoder_sentences
    assert "Shot:" not in " ".join(lamp.sentences)


def test_a_full_frame_keeps_the_shot_sentence_and_drops_the_lowest_priority_sentence() -> None:
    frame = keyframe_inputs(budget_script())[0]
    assert len(frame.decoder_sentences) == MAX_DESCRIPTIONS_PER_SHOT
    shot = [s for s in frame.decoder_sentences if s not in frame.sentences]
    assert len(shot) == 1 and shot[0].endswith("angle, during the day.")
    # the AR model's last round-robin sentence (Cy detail 2) makes room for it
    assert set(frame.sentences) - set(frame.decoder_sentences) == {"Cy detail 2."}
