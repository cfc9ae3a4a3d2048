"""core.script.fountain: importing Fountain screenplays."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.script import (
    Script,
    ScriptError,
    TimeOfDay,
    keyframe_inputs,
    script_from_fountain,
    script_from_json,
    script_to_json,
)
from core.script.fountain import _plain

SAMPLE = Path(__file__).parents[2] / "data" / "script" / "harbour_lights.fountain"


@pytest.fixture(scope="module")
def harbour() -> Script:
    return script_from_fountain(SAMPLE.read_text(encoding="utf-8"))


def all_plots(script: Script) -> list[str]:
    return [shot.plot for _, _, shot in script.shots()]


def test_title_page(harbour: Script) -> None:
    assert harbour.title == "HARBOUR LIGHTS: A Short Film"
    assert harbour.logline == "Written by Ines Okafor. Based on a story told at the Saltmarsh pub."


def test_title_argument_overrides_the_title_page() -> None:
    assert script_from_fountain(SAMPLE.read_text(encoding="utf-8"), title="Lights").title == "Lights"


def test_scenes_headings_and_times(harbour: Script) -> None:
    assert [(scene.heading, scene.time_of_day) for scene in harbour.scenes] == [
        ("EXT. HARBOUR - DUSK", TimeOfDay.SUNSET),  # scene number #1# removed
        ("INT. LIGHTHOUSE - STAIRWELL - NIGHT", TimeOfDay.NIGHT),
        ("LAMP ROOM", TimeOfDay.NIGHT),  # forced heading, time carried over
        ("INT. SALTMARSH PUB - LATER", TimeOfDay.NIGHT),  # LATER keeps the previous time
        ("EXT. HARBOUR WALL - EARLY MORNING", TimeOfDay.DAWN),
    ]
    assert [len(scene.shots) for scene in harbour.scenes] == [3, 3, 3, 1, 1]


def test_cast_from_cues_with_introductions(harbour: Script) -> None:
    assert [(c.name, c.description) for c in harbour.cast] == [
        ("Mara", ["30s, red raincoat, a canvas duffel over one shoulder."]),
        ("Tomas", ["70s, wool cap, pipe."]),
        ("Jonah", ["60s, grey beard, reading glasses on a string."]),
        ("Priya", ["40s, harbour master, hi-vis jacket."]),
        ("McGregor", []),  # forced cue "@McGREGOR (ON RADIO)", spelled as the dialogue spells it
        ("Dev", ["20s, apprentice."]),
        ("Lena", ["teens, Priya's daughter."]),
    ]


def test_action_paragraphs_become_shots_with_their_dialogue(harbour: Script) -> None:
    quay = harbour.scenes[0].shots[2]
    assert (
        quay.plot
        == "Mara walks to the quay. OLD TOMAS (70s, wool cap, pipe) mends a net on an upturned crate."
    )
    assert quay.characters == ["Mara", "Tomas"]
    assert [(d.character, d.parenthetical, d.text) for d in quay.dialogue] == [
        ("Tomas", "without looking up", "You're late, girl."),
        ("Mara", "", "The bus was late."),
        ("Mara", "beat", "Hello, Tomas."),
        ("Tomas", "", "Your father's been waiting ten years."),  # *emphasis* stripped
    ]
    assert quay.duration == 7.0  # 15 spoken words at 2.5 words/s, plus a second


def test_voice_over_and_off_screen_speakers_are_not_placed_in_the_frame(harbour: Script) -> None:
    arrival = harbour.scenes[0].shots[1]
    assert arrival.characters == ["Mara"]  # named in the action; her (V.O.) alone would not count
    assert arrival.dialogue[0].text == "Ten years. The place still smells of diesel and salt."
    silence = harbour.scenes[1].shots[1]
    assert silence.plot == "A long silence. Somewhere above, a door creaks."
    assert silence.characters == []  # JONAH (O.S.)
    assert silence.dialogue[0].character == "Jonah"


def test_dialogue_without_action_gets_a_written_plot_and_says_so(harbour: Script) -> None:
    shot = harbour.scenes[1].shots[0]
    assert shot.plot == "Mara speaks."
    assert shot.characters == ["Mara"]  # MARA (CONT'D): extension stripped
    assert "Plot written by the importer" in shot.notes


def test_dual_dialogue(harbour: Script) -> None:
    lamp = harbour.scenes[2].shots[0]
    assert [(d.character, d.text) for d in lamp.dialogue][-2:] == [
        ("Jonah", "I wrote every year."),
        ("Mara", "I read every letter."),
    ]
    assert lamp.characters == ["Jonah", "Mara"]


def test_forced_action_and_centered_text_are_shots_transitions_are_not(harbour: Script) -> None:
    plots = all_plots(harbour)
    assert "THE LENS STOPS TURNING." in plots
    assert "THE END OF ACT ONE" in plots
    text = script_to_json(harbour)
    for transition in ("CUT TO", "FADE IN", "SMASH CUT"):
        assert transition not in text


def test_notes_and_boneyard_are_removed(harbour: Script) -> None:
    text = script_to_json(harbour)
    for removed in (
        "[[",
        "]]",
        "Location scout",
        "TODO",
        "/*",
        "*/",
        "KITCHEN",
        "Still no sugar",
        "makes tea",
    ):
        assert removed not in text
    assert harbour.scenes[0].shots[1].plot.endswith("stares at the lighthouse.")


def test_sections_and_synopses_become_notes_of_the_next_shot(harbour: Script) -> None:
    assert harbour.scenes[0].shots[0].notes == (
        "Section: ACT ONE\nSynopsis: Mara returns to the harbour town she left ten years ago."
    )
    assert (
        harbour.scenes[3]
        .shots[0]
        .notes.startswith("Section: ACT TWO\nSynopsis: The whole town turns out for the storm-watch.")
    )


def test_crowded_shot_keeps_five_and_notes_the_rest(harbour: Script) -> None:
    pub = harbour.scenes[3].shots[0]
    assert pub.characters == ["Mara", "Jonah", "Tomas", "Priya", "Dev"]
    assert "Also in this shot: Lena (the model places at most 5 characters per keyframe" in pub.notes
    assert pub.plot.startswith("The pub is packed.")
    assert "Action continues: Rain hammers the windows" in pub.notes  # the paragraph exceeds 60 words
    assert len(pub.plot.split()) <= 60
    # McGregor speaks (ON RADIO): heard, not seen.
    assert ("McGregor", "through static") in [(d.character, d.parenthetical) for d in pub.dialogue]
    assert ("Lena", "Heave away, haul away / We'll haul away together") in [
        (d.character, d.text) for d in pub.dialogue
    ]


def test_escaped_emphasis_stays_literal(harbour: Script) -> None:
    assert harbour.scenes[4].shots[0].plot.endswith("*No boat in sight.*")


def test_imported_script_round_trips_and_makes_model_inputs(harbour: Script) -> None:
    assert script_from_json(script_to_json(harbour)) == harbour
    frames = keyframe_inputs(harbour)
    assert len(frames) == harbour.num_shots == 11


@pytest.mark.parametrize(
    ("heading", "time"),
    [
        ("INT. KITCHEN - NIGHT", TimeOfDay.NIGHT),
        ("EXT. BEACH - DAY", TimeOfDay.DAY),
        ("EXT. FIELD - SUNSET", TimeOfDay.SUNSET),
        ("EXT. FIELD - DUSK", TimeOfDay.SUNSET),
        ("INT. BARN - DAWN", TimeOfDay.DAWN),
        ("INT. BARN - MORNING", TimeOfDay.DAY),
        ("INT. BARN - EARLY MORNING", TimeOfDay.DAWN),
        ("EXT. ROOF - EVENING", TimeOfDay.SUNSET),
        ("INT./EXT. CAR - MOVING - NIGHT", TimeOfDay.NIGHT),
        ("I/E TRUCK - MAGIC HOUR", TimeOfDay.SUNSET),
        ("EST. CITY SKYLINE - MIDNIGHT", TimeOfDay.NIGHT),
        ("int. hallway - day", TimeOfDay.DAY),
    ],
)
def test_time_of_day_from_headings(heading: str, time: TimeOfDay) -> None:
    script = script_from_fountain(f"{heading}\n\nSomeone waits.\n")
    assert script.scenes[0].heading == heading
    assert script.scenes[0].time_of_day == time


def test_continuous_and_unknown_times_carry_over() -> None:
    script = script_from_fountain(
        "EXT. DOCK - NIGHT\n\nA boat.\n\nINT. SHED - CONTINUOUS\n\nA lamp.\n\nINT. LOFT\n\nDust.\n"
    )
    assert [scene.time_of_day for scene in script.scenes] == [TimeOfDay.NIGHT] * 3


def test_first_scene_without_time_is_day_and_titles_default() -> None:
    script = script_from_fountain("INT. LOFT\n\nDust.\n")
    assert script.scenes[0].time_of_day == TimeOfDay.DAY
    assert script.title == "Untitled screenplay"
    assert script.logline == ""


def test_heading_needs_a_blank_line_before_it_unless_forced() -> None:
    script = script_from_fountain(
        "INT. LOFT - DAY\n\nShe reads the sign:\nINT. NOT A HEADING\n\n.FLASHBACK\n\nRain.\n"
    )
    assert [scene.heading for scene in script.scenes] == ["INT. LOFT - DAY", "FLASHBACK"]
    assert script.scenes[0].shots[0].plot == "She reads the sign: INT. NOT A HEADING"


def test_action_before_the_first_heading_goes_into_an_opening_scene() -> None:
    script = script_from_fountain("FADE IN:\n\nBlack. A heartbeat.\n\nEXT. ROAD - DAY\n\nA car.\n")
    assert [scene.heading for scene in script.scenes] == ["OPENING", "EXT. ROAD - DAY"]
    assert script.scenes[0].shots[0].plot == "Black. A heartbeat."
    assert "before its first scene heading" in script.scenes[0].shots[0].notes


def test_forced_cue_keeps_mixed_case_and_multiline_notes_inside_dialogue() -> None:
    text = (
        "INT. OFFICE - DAY\n\nDeckard sits.\n\n@McCloud\n(dry)\nGood morning.\n[[a note\nover two lines]]\n"
        "How are you?\n\nBOOM!\nThe window shatters.\n"
    )
    script = script_from_fountain(text)
    assert [c.name for c in script.cast] == ["McCloud"]
    first = script.scenes[0].shots[0]
    assert [(d.parenthetical, d.text) for d in first.dialogue] == [("dry", "Good morning. How are you?")]
    # "BOOM!" is no character name, so the paragraph is action.
    assert script.scenes[0].shots[1].plot == "BOOM! The window shatters."


def test_emphasis_markers() -> None:
    assert _plain("***both*** **bold** *italic* _under_ \\*literal\\* snake_case") == (
        "both bold italic under *literal* snake_case"
    )


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("", "line 1", "the screenplay is empty"),
        ("\n\n   \n", "line 1", "the screenplay is empty"),
        ("Title: Nothing\n\nJust some action.\n\nMore action.\n", "line 3", "no scene heading"),
        (
            "INT. A - DAY\n\nOne.\n\n/* cut\nthis\n",
            "line 5",
            "this boneyard opened with '/*' is never closed",
        ),
        ("INT. A - DAY\n\nOne. [[unclosed note\n", "line 3", "this note opened with '[[' is never closed"),
        ("INT. A - DAY\n\n@" + "X" * 41 + "\nHi.\n", "line 3", "names may have at most 40"),
    ],
)
def test_input_it_cannot_make_sense_of(text: str, where: str, message: str) -> None:
    with pytest.raises(ScriptError) as caught:
        script_from_fountain(text)
    (problem,) = caught.value.problems
    assert problem.where == where
    assert message in problem.message


_LINES = st.sampled_from(
    [
        "",
        "",
        "INT. KITCHEN - NIGHT",
        "EXT. BEACH - DAWN #3#",
        ".FORCED",
        "MARA",
        "JONAH (V.O.)",
        "@McCloud ^",
        "(quietly)",
        "Hello there.",
        "She *walks* in.",
        "!LOUD ACTION",
        "CUT TO:",
        "> THE END <",
        ">BURN TO:",
        "# Act",
        "= synopsis",
        "===",
        "[[note]]",
        "[[open",
        "close]]",
        "/*",
        "*/",
        "~la la",
        "  ",
        "Title: X",
        "\\*escaped\\*",
    ]
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(_LINES, st.text(max_size=30)), max_size=30))
def test_any_text_gives_a_script_or_a_script_error(lines: list[str]) -> None:
    try:
        script = script_from_fountain("\n".join(lines))
    except ScriptError as error:
        assert error.problems and all(problem.where for problem in error.problems)
        return
    assert script_from_json(script_to_json(script)) == script
    keyframe_inputs(script)


def test_trailing_synopsis_stays_with_the_last_shot() -> None:
    script = script_from_fountain("INT. LOFT - DAY\n\nDust.\n\n= It ends here.\n")
    assert script.scenes[0].shots[0].notes == "Synopsis: It ends here."
