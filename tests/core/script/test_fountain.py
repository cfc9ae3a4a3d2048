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
    # the credits say who wrote it, not what happens: they go to the first shot's notes
    assert harbour.logline == ""
    first = harbour.scenes[0].shots[0].notes.splitlines()[0]
    assert first == "Title page: Written by Ines Okafor. Based on a story told at the Saltmarsh pub."


def test_a_logline_key_is_the_logline() -> None:
    script = script_from_fountain(
        "Title: X\nAuthor: Ann\nLogline: A keeper waits.\n\nINT. LOFT - DAY\n\nDust.\n"
    )
    assert script.logline == "A keeper waits."
    assert script.scenes[0].shots[0].notes == "Title page: Ann."


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
    # the introduction aside became Tomas's description and left the plot
    assert quay.plot == "Mara walks to the quay. OLD TOMAS mends a net on an upturned crate."
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
    assert harbour.scenes[0].shots[0].notes.splitlines()[1:] == [
        "Section: ACT ONE",
        "Synopsis: Mara returns to the harbour town she left ten years ago.",
    ]
    assert (
        harbour.scenes[3]
        .shots[0]
        .notes.startswith("Section: ACT TWO\nSynopsis: The whole town turns out for the storm-watch.")
    )


def test_crowded_shot_keeps_five_and_notes_the_rest(harbour: Script) -> None:
    pub = harbour.scenes[3].shots[0]
    assert pub.characters == ["Mara", "Jonah", "Tomas", "Priya", "Dev"]
    assert "Also in this shot: Lena (the model places at most 5 characters per keyframe" in pub.notes
    # without the five introduction asides the paragraph fits one encoder sentence (60 words)
    assert pub.plot.startswith("The pub is packed. Mara, Jonah, Tomas, PRIYA, DEV and LENA crowd around")
    assert "(" not in pub.plot and len(pub.plot.split()) <= 60
    # McGregor speaks (ON RADIO): heard, not seen; the extension stays with his line.
    assert ("McGregor", "ON RADIO; through static") in [(d.character, d.parenthetical) for d in pub.dialogue]
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


# -- the writer's intent (issue #23, item 15): one small screenplay per habit ----------------


def test_dual_dialogue_carets_never_reach_names_or_lines() -> None:
    text = (
        "INT. BAR - NIGHT\n\nTwo men at the counter.\n\nBRICK\nScrew retirement.\n\nSTEEL^\nScrew retirement.\n\n"
        "@McClane ^\nYippee.\n\nDOC (V.O.) ^\nEasy.\n"
    )
    script = script_from_fountain(text)
    assert "^" not in script_to_json(script)
    assert [c.name for c in script.cast] == ["Brick", "Steel", "McClane", "Doc"]
    assert [d.text for d in script.scenes[0].shots[0].dialogue] == [
        "Screw retirement.",
        "Screw retirement.",
        "Yippee.",
        "Easy.",
    ]


def test_transitions_and_the_end_are_not_shots() -> None:
    text = (
        "INT. CAR - NIGHT\n\nMara drives.\nCUT TO:\nEXT. STREET - NIGHT\n\nRain.\n\n"
        "                    DISSOLVE TO:\n\nINT. FLAT - NIGHT\n\nMara sleeps.\n\nFADE OUT.\n\nTHE END\n"
    )
    script = script_from_fountain(text)
    assert [s.heading for s in script.scenes] == [
        "INT. CAR - NIGHT",
        "EXT. STREET - NIGHT",
        "INT. FLAT - NIGHT",
    ]
    assert all_plots(script) == ["Mara drives.", "Rain.", "Mara sleeps."]
    centered = script_from_fountain("INT. FLAT - NIGHT\n\nMara sleeps.\n\n> THE END <\n")
    assert all_plots(centered) == ["Mara sleeps."]


def test_character_extensions_stay_with_their_lines() -> None:
    text = (
        "INT. FLAT - NIGHT\n\nMara waits.\n\nMARA\nHello?\n\nTOM (V.O.)\n(whispering)\nBehind you.\n\n"
        "Mara turns.\n\nMARA (CONT'D)\nTom?\n\nTOM (O.S.)\nHere.\n"
    )
    script = script_from_fountain(text)
    lines = [(d.character, d.parenthetical, d.text) for _, _, shot in script.shots() for d in shot.dialogue]
    assert lines == [
        ("Mara", "", "Hello?"),
        ("Tom", "V.O.; whispering", "Behind you."),
        ("Mara", "CONT'D", "Tom?"),
        ("Tom", "O.S.", "Here."),
    ]
    assert [shot.characters for _, _, shot in script.shots()] == [["Mara"], ["Mara"]]  # V.O./O.S.: not seen


def test_a_first_appearance_describes_the_character_and_leaves_the_plot() -> None:
    text = (
        "EXT. PIER - DAY\n\nGulls.\n\nMARA (40s, red hair, green raincoat) hurries along the pier.\n\n"
        "MARA\nLate again.\n"
    )
    script = script_from_fountain(text)
    assert script.cast[0].description == ["40s, red hair, green raincoat."]
    assert script.scenes[0].shots[1].plot == "MARA hurries along the pier."


@pytest.mark.parametrize(
    ("paragraph", "size", "angle", "motion", "plot"),
    [
        ("CLOSE ON Mara's hands, shaking.", "close-up", "eye-level", "static", "Mara's hands, shaking."),
        ("WIDE SHOT - the harbour at low tide.", "wide", "eye-level", "static", "The harbour at low tide."),
        ("ANGLE ON the stove.", "close-up", "eye-level", "static", "The stove."),
        (
            "PAN across the shelves to the window.",
            "medium",
            "eye-level",
            "pan-right",
            "Across the shelves to the window.",
        ),
        (
            "TRACKING with Mara as she crosses the room.",
            "medium",
            "eye-level",
            "tracking",
            "With Mara as she crosses the room.",
        ),
        ("LOW ANGLE on the lighthouse.", "medium", "low", "static", "On the lighthouse."),
        ("EXTREME CLOSE UP: the key turns.", "extreme-close-up", "eye-level", "static", "The key turns."),
        ("We PUSH IN on the door.", "medium", "eye-level", "dolly-in", "We PUSH IN on the door."),
        (
            "Mara pans for gold in the stream.",
            "medium",
            "eye-level",
            "static",
            "Mara pans for gold in the stream.",
        ),
    ],
)
def test_camera_directions_set_the_shot(
    paragraph: str, size: str, angle: str, motion: str, plot: str
) -> None:
    script = script_from_fountain(f"EXT. RIVER - DAY\n\nWater runs.\n\n{paragraph}\n\nMARA\nHm.\n")
    shot = script.scenes[0].shots[1]
    assert (shot.size.value, shot.angle.value, shot.motion.value, shot.plot) == (size, angle, motion, plot)
    if plot != paragraph:
        assert shot.notes.startswith("Camera direction in the screenplay: ")


def test_the_opening_paragraph_of_a_scene_paints_its_elements() -> None:
    text = (
        "EXT. HARBOUR - NIGHT\n\nRain hammers the empty pier. Boats knock against the posts. MARA waits.\n\n"
        "MARA\nCome on.\n\nINT. CABIN - NIGHT\n\nMARA\nHello?\n\nA stove glows in the corner.\n"
    )
    script = script_from_fountain(text)
    assert script.scenes[0].elements == ["Rain hammers the empty pier.", "Boats knock against the posts."]
    # a scene that opens with dialogue has no opening description
    assert script.scenes[1].elements == []
