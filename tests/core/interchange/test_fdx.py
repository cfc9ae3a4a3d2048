"""Final Draft import and export, and Fountain export: round trips and unsafe XML."""

from pathlib import Path
from xml.etree import ElementTree

import pytest

from core.interchange.fdx import load_fdx, script_from_fdx, script_to_fdx
from core.interchange.fountain_writer import script_to_fountain
from core.script import (
    CameraMotion,
    Character,
    DialogueLine,
    Scene,
    Script,
    ScriptError,
    Shot,
    ShotSize,
    script_from_fountain,
)

DATA = Path(__file__).parents[2] / "data"
HARBOUR = DATA / "script" / "harbour_lights.fountain"
FERRY = DATA / "interchange" / "night_ferry.fdx"


def _without_outline(script: Script) -> dict:
    """The script as data without Fountain's sections and synopses, which FDX has no place for."""
    data = script.model_dump()
    for scene in data["scenes"]:
        for shot in scene["shots"]:
            shot["notes"] = "\n".join(
                line
                for line in shot["notes"].splitlines()
                if not line.startswith(("Section: ", "Synopsis: "))
            )
    return data


def test_fountain_to_fdx_to_script_keeps_everything_fdx_carries():
    original = script_from_fountain(HARBOUR.read_text())
    again = script_from_fdx(script_to_fdx(original))
    assert _without_outline(again) == _without_outline(original)
    # what the screenplay's FDX carries, spelled out: cast with their introductions, camera
    # directions, extensions, parentheticals, off-screen voices kept out of the frame
    assert [c.name for c in again.cast] == ["Mara", "Tomas", "Jonah", "Priya", "McGregor", "Dev", "Lena"]
    assert again.character("Mara").description == ["30s, red raincoat, a canvas duffel over one shoulder."]
    lines = [line for _, _, shot in again.shots() for line in shot.dialogue]
    assert lines[0].character == "Mara" and lines[0].parenthetical == "V.O."
    assert any(line.parenthetical == "without looking up" for line in lines)
    assert again.title == original.title


def test_fountain_export_reads_back_as_the_same_script():
    original = script_from_fountain(HARBOUR.read_text())
    assert script_from_fountain(script_to_fountain(original)) == original


def test_fdx_import_reads_every_screenplay_element():
    script = load_fdx(FERRY)
    assert script.title == "NIGHT FERRY"
    assert [s.heading for s in script.scenes] == ["EXT. FERRY DECK - NIGHT", "INT. WHEELHOUSE - CONTINUOUS"]
    assert [c.name for c in script.cast] == ["Asha", "Captain Roy", "Ben"]
    assert script.character("Asha").description == ["20s, yellow oilskin."]
    deck, wheelhouse = script.scenes
    # action paragraphs -> shots; the intro aside leaves the plot; runs of <Text> join
    assert deck.shots[1].plot == "ASHA grips the rail and stares at the dark water."
    assert deck.shots[1].dialogue == [
        DialogueLine(character="Asha", text="Where is the lifeboat?", parenthetical="shouting")
    ]
    # a Shot paragraph leads the action after it as a camera direction
    assert deck.shots[2].size is ShotSize.CLOSE_UP
    assert "Camera direction in the screenplay: CLOSE ON" in deck.shots[2].notes
    # an off-screen voice speaks but is not placed in the frame
    assert deck.shots[2].dialogue[0].parenthetical == "O.S."
    assert deck.shots[2].characters == ["Asha"]
    # transitions and dual dialogue are recorded in the notes
    assert "Transition: FADE IN:" in deck.shots[0].notes
    assert "Transition: CUT TO:" in wheelhouse.shots[0].notes
    assert "Dual dialogue: lines 1 and 2 are spoken at the same time." in wheelhouse.shots[0].notes
    assert [line.parenthetical for line in wheelhouse.shots[0].dialogue] == ["", "into the radio", "CONT'D"]
    assert deck.shots[0].motion is CameraMotion.STATIC
    assert "Title page: Written by Sam Ortiz." in deck.shots[0].notes


def test_fdx_export_writes_transitions_and_dual_dialogue_back():
    script = load_fdx(FERRY)
    text = script_to_fdx(script)
    root = ElementTree.fromstring(text)
    types = [p.get("Type") for p in root.find("Content")]
    assert "Transition" in types
    dual = root.find("Content/Paragraph/DualDialogue")
    assert dual is not None
    assert [p.findtext("Text") for p in dual if p.get("Type") == "Character"] == ["CAPTAIN ROY", "BEN"]
    assert script_from_fdx(text) == script


def test_fdx_export_escapes_markup_in_text():
    script = Script(
        title="A <b> & C",
        cast=[Character(name="Mara")],
        scenes=[
            Scene(
                heading="INT. LAB - DAY",
                shots=[
                    Shot(
                        plot='Mara types <script> & "quotes" into the console.',
                        characters=["Mara"],
                        dialogue=[DialogueLine(character="Mara", text="x < y & y > z")],
                    )
                ],
            )
        ],
    )
    again = script_from_fdx(script_to_fdx(script))
    assert again.scenes[0].shots[0].plot == script.scenes[0].shots[0].plot
    assert again.scenes[0].shots[0].dialogue[0].text == "x < y & y > z"
    assert again.title == "A <b> & C"


def test_fdx_with_entity_expansion_is_refused():
    bomb = """<?xml version="1.0"?>
<!DOCTYPE FinalDraft [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<FinalDraft><Content><Paragraph Type="Scene Heading"><Text>&b;</Text></Paragraph></Content></FinalDraft>"""
    with pytest.raises(ScriptError, match="DTD, entities or external references"):
        script_from_fdx(bomb)


def test_fdx_with_external_entity_reads_no_file(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    xxe = f"""<?xml version="1.0"?>
<!DOCTYPE FinalDraft [<!ENTITY x SYSTEM "{secret.as_uri()}">]>
<FinalDraft><Content><Paragraph Type="Scene Heading"><Text>INT. X - DAY</Text></Paragraph>
<Paragraph Type="Action"><Text>&x;</Text></Paragraph></Content></FinalDraft>"""
    with pytest.raises(ScriptError) as caught:
        script_from_fdx(xxe)
    assert "TOP SECRET" not in str(caught.value)
    assert "was not read" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<FinalDraft><Content><Paragraph", "not well-formed XML"),
        ("<html><body/></html>", "not a Final Draft screenplay"),
        ("<FinalDraft/>", "no <Content> element"),
        (
            '<FinalDraft><Content><Paragraph Type="Action"><Text>Rain.</Text></Paragraph></Content></FinalDraft>',
            "no Scene Heading paragraph",
        ),
    ],
)
def test_broken_fdx_files_are_refused_with_a_sentence(text, message):
    with pytest.raises(ScriptError, match=message):
        script_from_fdx(text)


def test_problems_point_at_the_fdx_paragraph():
    long_name = "X" * 50
    text = f"""<FinalDraft><Content>
<Paragraph Type="Scene Heading"><Text>INT. X - DAY</Text></Paragraph>
<Paragraph Type="Action"><Text>Rain.</Text></Paragraph>
<Paragraph Type="Character"><Text>{long_name}</Text></Paragraph>
<Paragraph Type="Dialogue"><Text>Hello.</Text></Paragraph>
</Content></FinalDraft>"""
    with pytest.raises(ScriptError) as caught:
        script_from_fdx(text)
    assert caught.value.problems[0].where == "paragraph 3 of the Final Draft file"
    assert "at most 40" in caught.value.problems[0].message
