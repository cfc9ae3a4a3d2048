"""A screenplay as a flat list of paragraphs: the form Final Draft and Fountain share.

Both the FDX reader and the writers of FDX and Fountain go through `Paragraph`s, so the three
agree on what a script becomes on the page:

* a scene -> a heading, then per shot its transitions, one action paragraph and one speech
  per dialogue line (cue, extensions, parenthetical, words);
* what the Fountain importer moved out of the action comes back into it: the camera
  direction it took off the front ("Camera direction in the screenplay: CLOSE ON") and the
  part of the action that did not fit one encoder sentence ("Action continues: ...");
* a shot whose plot the importer wrote itself ("Plot written by the importer") gets no action
  paragraph: on the page it was dialogue alone;
* notes that say where a screenplay had a transition ("Transition: CUT TO:") or dual dialogue
  ("Dual dialogue: lines 2 and 3 ...") become those elements again.

The notes above are written by `core.interchange.fdx` on import and read here on export; the
model has no other field for them, and a reader of the notes understands them as they are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from core.script import Script
from core.script.sentences import split_sentences

CAMERA_NOTE = "Camera direction in the screenplay: "
CONTINUED_NOTE = "Action continues: "
IMPORTER_PLOT_NOTE = "Plot written by the importer"
TITLE_PAGE_NOTE = "Title page: "
TRANSITION_NOTE = "Transition: "
SECTION_NOTE = "Section: "
SYNOPSIS_NOTE = "Synopsis: "
DUAL_NOTE = "Dual dialogue: "
# "Dual dialogue: lines 2 and 3 are spoken at the same time." (1-based lines of the shot)
_DUAL = re.compile(r"^Dual dialogue: lines (\d+) and (\d+) are spoken at the same time\.$")


@dataclass
class Speech:
    """One character cue and what follows it up to the next cue or action."""

    cue: str  # the name as the cue writes it, without extensions
    extensions: list[str] = field(default_factory=list)  # "V.O.", "CONT'D"
    lines: list[tuple[str, str]] = field(default_factory=list)  # (parenthetical, words)
    dual: bool = False  # spoken at the same time as the speech before it


@dataclass
class Paragraph:
    kind: str  # heading | action | speech | transition | section | synopsis (the last two: Fountain only)
    text: str = ""
    speech: Speech | None = None
    number: int = 0  # where it came from (1-based paragraph of a source file), 0 if made here


def dual_note(first: int, second: int) -> str:
    """The note recording that dialogue lines `first` and `second` (1-based) overlap."""
    return f"{DUAL_NOTE}lines {first} and {second} are spoken at the same time."


def split_parenthetical(parenthetical: str) -> tuple[list[str], str]:
    """("V.O.; whispering") -> (["V.O."], "whispering"): the Fountain importer puts a cue's
    extensions, in capitals, in front of each line's parenthetical."""
    parts = [part.strip() for part in parenthetical.split(";")] if parenthetical.strip() else []
    extensions: list[str] = []
    while parts and parts[0] == parts[0].upper() and any(ch.isalpha() for ch in parts[0]):
        extensions.append(parts.pop(0))
    return extensions, "; ".join(parts)


def paragraphs_from_script(script: Script) -> list[Paragraph]:
    """The screenplay of `script`, scene by scene (see the module docstring)."""
    paragraphs: list[Paragraph] = []
    for scene in script.scenes:
        shots = list(scene.shots)
        # Transitions, sections and synopses noted on a scene's first shot stood before its heading.
        if shots:
            paragraphs.extend(_noted(shots[0].notes))
        paragraphs.append(Paragraph("heading", scene.heading))
        for position, shot in enumerate(shots):
            notes = shot.notes.splitlines()
            if position > 0:
                paragraphs.extend(_noted(shot.notes))
            if not any(line.startswith(IMPORTER_PLOT_NOTE) for line in notes):
                paragraphs.append(Paragraph("action", _action_text(shot.plot, notes)))
            dual_seconds = {second for first, second in _dual_pairs(notes)}
            for number, line in enumerate(shot.dialogue, start=1):
                extensions, parenthetical = split_parenthetical(line.parenthetical)
                speech = Speech(
                    cue=line.character,
                    extensions=extensions,
                    lines=[(parenthetical, line.text)],
                    dual=number in dual_seconds,
                )
                paragraphs.append(Paragraph("speech", speech=speech))
    _restore_introductions(script, paragraphs)
    return paragraphs


def _restore_introductions(script: Script, paragraphs: list[Paragraph]) -> None:
    """Put each character's description back as the aside of their introduction.

    The Fountain importer reads "MARA VANCE (30s, red raincoat) steps off the bus." as the
    description "30s, red raincoat." and drops the aside from the plot; the introduction is
    the first action sentence naming them in capitals. Where that sentence is not already the
    description, the description goes back in brackets after the name. A character never
    introduced in capitals keeps its description only in the script.
    """
    actions = [p for p in paragraphs if p.kind == "action"]
    for character in script.cast:
        if not character.description:
            continue
        pattern = re.compile(
            r"(?<!\w)" + r"\s+".join(re.escape(w) for w in character.name.split()) + r"(?!\w)", re.IGNORECASE
        )
        found = _introduction(pattern, actions)
        if found is None:
            continue
        paragraph, sentence, match_end = found
        if [sentence] == character.description:
            continue
        surname = re.match(r"(?:\s+[A-Z][A-Z'\-.]*)*", paragraph.text[match_end:])
        cut = match_end + (surname.end() if surname else 0)
        aside = " ".join(character.description).rstrip(".")
        paragraph.text = f"{paragraph.text[:cut]} ({aside}){paragraph.text[cut:]}"


def _introduction(pattern: re.Pattern[str], actions: list[Paragraph]) -> tuple[Paragraph, str, int] | None:
    """(paragraph, sentence, end of the name in the paragraph) of the first mention in capitals."""
    for paragraph in actions:
        offset = 0
        for sentence in split_sentences(paragraph.text):
            start = paragraph.text.find(sentence, offset)
            offset = max(start, 0) + len(sentence)
            for match in pattern.finditer(sentence):
                if match.group(0) != match.group(0).upper() or sentence == sentence.upper():
                    continue
                return paragraph, sentence, max(start, 0) + match.end()
    return None


def _noted(notes: str) -> list[Paragraph]:
    """The transitions, sections and synopses a shot's notes record, in their order."""
    found = []
    for line in notes.splitlines():
        for prefix, kind in (
            (TRANSITION_NOTE, "transition"),
            (SECTION_NOTE, "section"),
            (SYNOPSIS_NOTE, "synopsis"),
        ):
            if line.startswith(prefix):
                found.append(Paragraph(kind, line[len(prefix) :].strip()))
    return found


def title_page_credits(script: Script) -> str:
    """The credits the Fountain importer kept from a title page ("Written by ..."), or ""."""
    for _, _, shot in script.shots()[:1]:
        for line in shot.notes.splitlines():
            if line.startswith(TITLE_PAGE_NOTE):
                return line[len(TITLE_PAGE_NOTE) :].strip()
    return ""


def _dual_pairs(notes: list[str]) -> list[tuple[int, int]]:
    pairs = []
    for line in notes:
        match = _DUAL.match(line.strip())
        if match:
            pairs.append((int(match.group(1)), int(match.group(2))))
    return pairs


def _action_text(plot: str, notes: list[str]) -> str:
    direction = next((line[len(CAMERA_NOTE) :].strip() for line in notes if line.startswith(CAMERA_NOTE)), "")
    continued = next(
        (line[len(CONTINUED_NOTE) :].strip() for line in notes if line.startswith(CONTINUED_NOTE)), ""
    )
    text = plot
    if direction:
        text = f"{direction} - {text[:1].lower() + text[1:] if _lowercase_start(text) else text}"
    if continued:
        text = f"{text} {continued}"
    return text


def _lowercase_start(text: str) -> bool:
    """The importer capitalised the first word after a camera direction ("CLOSE ON - the
    letter" became plot "The letter"); an article or pronoun goes back to lower case."""
    first = text.split(" ", 1)[0]
    return first in {"The", "A", "An", "We", "His", "Her", "Their", "Its", "Our"}
