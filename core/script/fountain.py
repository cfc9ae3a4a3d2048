"""Fountain screenplays (https://fountain.io/syntax) imported as scripts.

How screenplay elements become script parts:

* title page: Title -> `Script.title`, Logline (or Synopsis) -> `logline`; the credit, author
  and source lines go into the first shot's notes (they say who wrote it, not what happens);
* scene headings (INT. EXT. EST. INT./EXT. INT/EXT I/E, or forced with a leading ".") ->
  scenes; the time of day comes from the heading ("- NIGHT", "DUSK", "EARLY MORNING"...),
  "CONTINUOUS"/"LATER"/unknown keep the previous scene's time;
* every action paragraph -> one shot; the dialogue that follows it (until the next action or
  heading) belongs to that shot. Characters in the shot are the cast names mentioned in the
  action (capitalised, in order) followed by the on-screen speakers; voices marked (V.O.),
  (O.S.), (O.C.), (FILTERED)... speak without being placed in the frame;
* a camera direction leading an action paragraph ("CLOSE ON", "WIDE SHOT -", "ANGLE ON",
  "LOW ANGLE", "PAN", "TRACKING", "PUSH IN"...) sets the shot's size, angle and motion and
  moves from the plot to the notes; camera words in capitals inside the paragraph ("We PAN
  to the door") set the motion or size too;
* the first action paragraph of a scene, when it opens the scene: its sentences that name no
  cast member and no camera -> the scene's elements (the place as the screenplay paints it);
* character cues (ALL CAPS line directly followed by dialogue, or forced with "@") -> cast
  members; the dual-dialogue caret "^" is removed, extensions such as (V.O.), (O.S.) or
  (CONT'D) are kept in front of each line's parenthetical ("V.O.; whispering").
  A cast member's description is the sentence that introduces them (their name in capitals,
  the screenplay convention), when there is one; an introduction aside such as
  "MARA (40s, red hair)" becomes the description and leaves the plot;
* parentheticals -> `DialogueLine.parenthetical`;
* transitions ("CUT TO:", forced ">", "FADE IN:", "THE END"), page breaks "===" -> skipped;
  a transition ends an action paragraph even without a blank line, and a heading right
  after it is a heading;
* notes [[...]] and boneyard /* ... */ -> removed, also across lines;
* sections "#" and synopses "=" -> notes of the next shot;
* emphasis (*italic*, **bold**, _underline_) -> markers removed, "\\*" escapes honoured.

What does not fit the model is kept in the shot's notes, never dropped silently: more than
5 characters in a shot, a plot longer than one encoder sentence, and plots the importer had
to write itself (dialogue with no action before it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pydantic import ValidationError

from core.script.errors import ScriptError, script_error_from_validation
from core.script.film_terms import camera_angle_in, camera_motion_in, shot_size_in, time_of_day_in
from core.script.models import (
    MAX_CHARACTERS_PER_SHOT,
    MAX_NAME_LENGTH,
    MAX_SHOT_SECONDS,
    Script,
    ShotSize,
    TimeOfDay,
)
from core.script.sentences import encoder_sentences, fit_sentence, normalise_space, split_sentences

# -- element patterns ------------------------------------------------------------------------

_HEADING = re.compile(r"^(?:INT\.?/EXT|EXT\.?/INT|INT|EXT|EST|I/E|E/I)(?:\.|\s)", re.IGNORECASE)
_SCENE_NUMBER = re.compile(r"\s*#[\w.\-]+#\s*$")
_PAGE_BREAK = re.compile(r"^={3,}$")
_TRANSITION_WORDS = re.compile(
    r"^(?:FADE (?:IN|OUT|TO BLACK)|CUT TO BLACK|SMASH CUT|MATCH CUT|JUMP CUT|DISSOLVE|IRIS (?:IN|OUT)|WIPE)\b[^a-z]*$"
    r"|^(?:THE END|END CREDITS|END OF (?:FILM|EPISODE|SHOW)|FIN|CONTINUED:?|INTERCUT(?: WITH)?:?)\W*$"
)
# A character cue (without "@") is capitals, digits and the punctuation names carry; this
# keeps exclamations such as "BOOM!" directly above an action line from becoming cast.
_CUE_NAME = re.compile(r"^[A-Z0-9\u00C0-\u00DE][A-Z0-9\u00C0-\u00DE .'\-#&]*$")
_EXTENSION = re.compile(r"\(([^)]*)\)")
# Extensions meaning the speaker is heard but not seen in the frame.
_OFF_SCREEN = frozenset(
    [
        "VO",
        "OS",
        "OC",
        "OFF",
        "OFFSCREEN",
        "OFFCAMERA",
        "PRELAP",
        "FILTERED",
        "ONPHONE",
        "OVERPHONE",
        "ONRADIO",
        "OVERRADIO",
        "ONTV",
        "VOICEOVER",
    ]
)
_TITLE_KEYS = frozenset(
    [
        "title",
        "credit",
        "author",
        "authors",
        "source",
        "draft date",
        "date",
        "contact",
        "copyright",
        "notes",
        "revision",
        "logline",
        "synopsis",
        "episode",
    ]
)
_TITLE_LINE = re.compile(r"^([A-Za-z][A-Za-z0-9 _\-]*):\s*(.*)$")

# Camera directions written in capitals at the start of an action paragraph. Shot sizes,
# angles and motions come from core.script.film_terms; these name a tighter framing of a
# subject without a size word ("ANGLE ON the stove", "INSERT - the letter").
_CLOSE_FRAMING = re.compile(r"^(?:CLOSE ON|ANGLE ON|INSERT|CLOSER ON|TIGHT ON)\b")
_CAPS_WORD = re.compile(r"^[A-Z\u00C0-\u00DE][A-Z\u00C0-\u00DE'\u2019\-./]*[.:,]?$")
_DIRECTIVE_END = re.compile(r"^[\s\-\u2013\u2014:,.]+")
# Elements taken from a scene's opening paragraph (each one description embedding).
_MAX_ELEMENTS = 3

# Speech rate for estimating how long a shot with dialogue lasts in the animatic.
_WORDS_PER_SECOND = 2.5
_DEFAULT_SECONDS = 3.0


# -- elements ----------------------------------------------------------------------------------


@dataclass
class _Line:
    number: int  # 1-based line number in the original file
    text: str


@dataclass
class _Speech:
    line: int
    cue: str  # name as written in the cue, extensions removed
    off_screen: bool
    lines: list[tuple[str, str]] = field(default_factory=list)  # (parenthetical, text)
    extensions: list[str] = field(default_factory=list)  # as written: "V.O.", "CONT'D"


@dataclass
class _Element:
    kind: str  # heading | action | speech | section | synopsis
    line: int
    text: str = ""
    speech: _Speech | None = None


def script_from_fountain(text: str, *, title: str | None = None) -> Script:
    """Import a Fountain screenplay. `title` overrides the title page's title."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    if not text.strip():
        raise ScriptError.at("line 1", "the screenplay is empty; write or paste a Fountain screenplay")
    lines = _remove_notes_and_boneyard(text)
    title_page, body_start = _title_page(lines)
    elements = _elements(lines[body_start:])
    if not any(element.kind == "heading" for element in elements):
        first = next((line.number for line in lines[body_start:] if line.text.strip()), 1)
        raise ScriptError.at(
            f"line {first}",
            "the screenplay has no scene heading; start each scene with a line such as "
            "'INT. KITCHEN - NIGHT' or 'EXT. BEACH - DAY' (or force one with a leading '.')",
        )
    credits = _credits(title_page)
    data = _Builder(elements, [f"Title page: {credits}"] if credits else []).build()
    data["title"] = title or title_page.get("title") or "Untitled screenplay"
    data["logline"] = _logline(title_page)
    try:
        return Script.model_validate(data)
    except ValidationError as error:
        raise script_error_from_validation(error, data) from None


# -- pass 0: notes and boneyard ---------------------------------------------------------------


def _remove_notes_and_boneyard(text: str) -> list[_Line]:
    """The lines of `text` without /* boneyard */ and [[notes]], numbered as in the file.

    A line that held nothing but removed text is dropped entirely, so a note on its own line
    inside a dialogue block does not split the block.
    """
    removed = bytearray(len(text))
    for opener, closer, what in (("/*", "*/", "boneyard"), ("[[", "]]", "note")):
        position = 0
        while (start := text.find(opener, position)) != -1:
            if removed[start]:
                position = start + len(opener)
                continue
            end = text.find(closer, start + len(opener))
            if end == -1:
                line = text.count("\n", 0, start) + 1
                raise ScriptError.at(
                    f"line {line}",
                    f"this {what} opened with {opener!r} is never closed; add {closer!r} where it ends",
                )
            end += len(closer)
            removed[start:end] = b"\x01" * (end - start)
            position = end
    lines: list[_Line] = []
    offset = 0
    for number, raw in enumerate(text.split("\n"), start=1):
        span = range(offset, min(offset + len(raw) + 1, len(text)))
        kept = "".join(text[i] for i in range(offset, offset + len(raw)) if not removed[i])
        touched = any(removed[i] for i in span)
        offset += len(raw) + 1
        if touched and not kept.strip():
            continue
        lines.append(_Line(number, kept.rstrip() if touched else kept))
    return lines


# -- pass 1: title page ------------------------------------------------------------------------


def _title_page(lines: list[_Line]) -> tuple[dict[str, str], int]:
    """The title page's values by lower-case key, and the index where the body starts."""
    i = 0
    while i < len(lines) and not lines[i].text.strip():
        i += 1
    first = _TITLE_LINE.match(lines[i].text.strip()) if i < len(lines) else None
    if first is None or first.group(1).strip().lower() not in _TITLE_KEYS:
        return {}, 0
    values: dict[str, list[str]] = {}
    key = ""
    while i < len(lines) and lines[i].text.strip():
        raw = lines[i].text
        match = _TITLE_LINE.match(raw.strip())
        if match and not raw[:1].isspace():
            key = match.group(1).strip().lower()
            values.setdefault(key, [])
            if match.group(2).strip():
                values[key].append(match.group(2).strip())
        elif key:
            # Indented continuation lines (3+ spaces or a tab) belong to the last key.
            values[key].append(raw.strip())
        i += 1
    # A title's further lines are a subtitle ("HARBOUR LIGHTS: A Short Film").
    joined = {key: (": " if key == "title" else " ").join(parts) for key, parts in values.items()}
    return {key: normalise_space(_plain(value)) for key, value in joined.items()}, i


def _logline(title_page: dict[str, str]) -> str:
    """What the story is about: the Logline (or Synopsis) key; never the credits."""
    return title_page.get("logline") or title_page.get("synopsis") or ""


def _credits(title_page: dict[str, str]) -> str:
    """Who wrote it and from what ("Written by Ines Okafor. Based on ..."), for the notes."""
    byline = " ".join(
        filter(
            None, [title_page.get("credit", ""), title_page.get("author") or title_page.get("authors", "")]
        )
    )
    parts = [part.rstrip(".") for part in (byline, title_page.get("source", "")) if part]
    return ". ".join(parts) + "." if parts else ""


# -- pass 2: elements ------------------------------------------------------------------------


def _elements(lines: list[_Line]) -> list[_Element]:
    """Split the body into headings, action paragraphs, speeches, sections and synopses."""
    elements: list[_Element] = []
    i = 0
    previous_blank = True
    while i < len(lines):
        line = lines[i]
        stripped = line.text.strip()
        if not stripped:
            previous_blank = True
            i += 1
            continue
        next_blank = i + 1 >= len(lines) or not lines[i + 1].text.strip()
        heading = _heading_text(stripped, previous_blank)
        if stripped.startswith("!"):  # forced action: never a heading, cue or transition
            i, _ = _read_action(lines, i, elements)
        elif _PAGE_BREAK.match(stripped):
            i += 1
        elif stripped.startswith("#"):
            elements.append(_Element("section", line.number, _plain(stripped.lstrip("#").strip())))
            i += 1
        elif stripped.startswith("="):
            elements.append(_Element("synopsis", line.number, _plain(stripped[1:].strip())))
            i += 1
        elif heading is not None:
            elements.append(_Element("heading", line.number, heading))
            i += 1
        elif _is_transition(stripped, previous_blank, next_blank):
            i += 1
            previous_blank = True  # a heading may follow a transition directly
            continue
        elif (
            speech := _cue(stripped, line.number) if previous_blank and not next_blank else None
        ) is not None:
            i = _read_speech(lines, i + 1, speech)
            elements.append(_Element("speech", line.number, speech=speech))
        else:
            i, ended_by_transition = _read_action(lines, i, elements)
            previous_blank = ended_by_transition
            continue
        previous_blank = False
    return elements


def _heading_text(stripped: str, previous_blank: bool) -> str | None:
    if stripped.startswith(".") and len(stripped) > 1 and stripped[1] != ".":
        text = stripped[1:]
    elif previous_blank and _HEADING.match(stripped):
        text = stripped
    else:
        return None
    return normalise_space(_plain(_SCENE_NUMBER.sub("", text))) or None


def _is_transition(stripped: str, previous_blank: bool, next_blank: bool) -> bool:
    if stripped.startswith(">") and not stripped.endswith("<"):
        return True
    if stripped != stripped.upper() or not any(ch.isalpha() for ch in stripped):
        return False
    # "CUT TO:" cannot be a cue (names have no colon), so it needs no blank lines around it.
    if stripped.endswith("TO:"):
        return True
    return previous_blank and next_blank and bool(_TRANSITION_WORDS.match(stripped))


def _cue(stripped: str, number: int) -> _Speech | None:
    """The speech a character cue opens, or None when the line is no cue."""
    forced = stripped.startswith("@")
    text = stripped[1:] if forced else stripped
    text = text.rstrip()
    if text.endswith("^"):  # dual dialogue: spoken at the same time as the previous speech
        text = text[:-1].rstrip()
    extensions = [normalise_space(e).upper() for e in _EXTENSION.findall(text)]
    name = normalise_space(_EXTENSION.sub(" ", text))
    if not name or not any(ch.isalpha() for ch in name):
        return None
    if not forced and (name != name.upper() or not _CUE_NAME.match(name) or len(name) > MAX_NAME_LENGTH):
        return None
    if len(name) > MAX_NAME_LENGTH:
        raise ScriptError.at(
            f"line {number}",
            f"the character name {name!r} has {len(name)} characters but names may have at most "
            f"{MAX_NAME_LENGTH}; shorten it",
        )
    off_screen = any(re.sub(r"[^A-Z]", "", e) in _OFF_SCREEN for e in extensions)
    return _Speech(number, name, off_screen, extensions=[e for e in extensions if e])


def _read_speech(lines: list[_Line], i: int, speech: _Speech) -> int:
    """Read dialogue and parentheticals after a cue into `speech`; return the next index."""
    parenthetical = ""
    while i < len(lines):
        raw = lines[i].text
        stripped = raw.strip()
        if not stripped:
            # Two spaces on an otherwise empty line keep the dialogue going (Fountain).
            following = i + 1 < len(lines) and lines[i + 1].text.strip()
            if len(raw) >= 2 and following:
                i += 1
                continue
            break
        if stripped.startswith("(") and stripped.endswith(")"):
            if parenthetical:  # two in a row: keep both
                parenthetical = f"{parenthetical}; {_plain(stripped[1:-1].strip())}"
            else:
                parenthetical = _plain(stripped[1:-1].strip())
        else:
            lyric = stripped.startswith("~")
            words = normalise_space(_plain(stripped.lstrip("~")))
            if speech.lines and not parenthetical:
                previous_paren, previous_text = speech.lines[-1]
                joiner = " / " if lyric else " "  # sung lines keep their line breaks visible
                speech.lines[-1] = (previous_paren, f"{previous_text}{joiner}{words}")
            elif words:
                speech.lines.append((parenthetical, words))
                parenthetical = ""
        i += 1
    if parenthetical and speech.lines:
        # A closing parenthetical such as "(beat)" has no words after it; keep it with the
        # last line rather than lose it.
        previous_paren, previous_text = speech.lines[-1]
        speech.lines[-1] = (previous_paren, f"{previous_text} ({parenthetical})")
    return i


def _read_action(lines: list[_Line], i: int, elements: list[_Element]) -> tuple[int, bool]:
    """Read one action paragraph (until a blank line or a transition) into `elements`.

    Returns the next index and whether a transition line ended the paragraph (it is skipped).
    """
    number = lines[i].number
    parts: list[str] = []
    ended_by_transition = False
    while i < len(lines) and lines[i].text.strip():
        stripped = lines[i].text.strip()
        if parts and not stripped.startswith("!") and _is_transition(stripped, False, False):
            ended_by_transition = True
            i += 1
            break
        if stripped.startswith("!"):
            stripped = stripped[1:]
        elif stripped.startswith(">") and stripped.endswith("<"):
            stripped = stripped[1:-1]
        elif stripped.startswith("~"):
            stripped = stripped[1:]
        parts.append(stripped.strip())
        i += 1
    text = normalise_space(_plain(" ".join(parts)))
    if text and not (len(parts) == 1 and _TRANSITION_WORDS.match(text)):
        elements.append(_Element("action", number, text))
    return i, ended_by_transition


# Emphasis markers; a backslash escapes the next character.
_ESCAPED = re.compile(r"\\([*_\\])")
_EMPHASIS = [
    re.compile(r"\*\*\*(?=\S)(.+?)(?<=\S)\*\*\*"),
    re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*"),
    re.compile(r"\*(?=\S)(.+?)(?<=\S)\*"),
    re.compile(r"(?<![\w])_(?=\S)(.+?)(?<=\S)_(?![\w])"),
]


def _plain(text: str) -> str:
    """`text` without Fountain emphasis markers (escaped markers become literal)."""
    placeholders = {"*": "\x00", "_": "\x01", "\\": "\x02"}
    text = _ESCAPED.sub(lambda m: placeholders[m.group(1)], text)
    for pattern in _EMPHASIS:
        text = pattern.sub(r"\1", text)
    for char, placeholder in placeholders.items():
        text = text.replace(placeholder, char)
    return text


# -- pass 3: scenes, shots and cast -------------------------------------------------------------


@dataclass
class _Block:
    """One future shot: an action paragraph (or none) and the speeches after it."""

    action: str
    speeches: list[_Speech] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class _Builder:
    """Turns elements into the dict of a Script (validated by the caller)."""

    def __init__(self, elements: list[_Element], opening_notes: list[str] | None = None):
        self.elements = elements
        self.opening_notes = list(opening_notes or [])
        # Names are spelled as the prose spells them ("McGregor"), so look there first.
        prose = " ".join(
            [e.text for e in elements if e.kind == "action"]
            + [words for e in elements if e.speech is not None for _, words in e.speech.lines]
        )
        self.cast: dict[str, str] = {}  # casefolded cue -> display name
        self.descriptions: dict[str, list[str]] = {}
        # "(40s, red hair)" after a name in capitals, once it became that member's description
        self.asides: dict[str, str] = {}
        for element in elements:
            if element.speech is not None:
                key = element.speech.cue.casefold()
                if key not in self.cast:
                    self.cast[key] = _display_name(element.speech.cue, prose)
        self.patterns = {key: _name_pattern(name) for key, name in self.cast.items()}
        for key in self.cast:
            self.descriptions[key] = self._introduction(key)

    def build(self) -> dict[str, object]:
        scenes: list[tuple[str, TimeOfDay, list[_Block]]] = []
        # section and synopsis notes (and the title page's credits) waiting for the next shot
        pending: list[str] = list(self.opening_notes)
        previous_time = TimeOfDay.DAY
        opening: dict[int, str] = {}  # scene index -> its opening action paragraph
        for element in self.elements:
            if element.kind == "heading":
                time = _time_of_day(element.text) or previous_time
                previous_time = time
                scenes.append((element.text, time, []))
                continue
            if element.kind in ("section", "synopsis"):
                if element.text:
                    label = "Section" if element.kind == "section" else "Synopsis"
                    pending.append(f"{label}: {element.text}")
                continue
            if not scenes:
                scenes.append(("OPENING", previous_time, []))
                pending.append(
                    "The screenplay has action before its first scene heading; the importer "
                    "put it in a scene called OPENING."
                )
            blocks = scenes[-1][2]
            if element.kind == "action" and not blocks:
                opening[len(scenes) - 1] = element.text
            if element.kind == "action" or not blocks:
                blocks.append(_Block(element.text if element.kind == "action" else ""))
                blocks[-1].notes.extend(pending)
                pending = []
            if element.speech is not None:
                blocks[-1].speeches.append(element.speech)
        last_blocks = [blocks for _, _, blocks in scenes if blocks]
        if pending and last_blocks:
            # Sections or synopses after the last shot: keep them with that shot.
            last_blocks[-1][-1].notes.extend(pending)
        return {
            "cast": [
                {"name": name, "description": self.descriptions[key]} for key, name in self.cast.items()
            ],
            "scenes": [
                {
                    "heading": heading,
                    "time_of_day": time.value,
                    "elements": self._elements_of(opening.get(index, "")),
                    "shots": [self._shot(b) for b in blocks],
                }
                for index, (heading, time, blocks) in enumerate(scenes)
            ],
        }

    def _elements_of(self, paragraph: str) -> list[str]:
        """The place as a scene's opening paragraph paints it: its sentences naming no cast
        member and no camera, at most _MAX_ELEMENTS of them."""
        found: list[str] = []
        for sentence in split_sentences(paragraph):
            if any(_capitalised_match(pattern, sentence) for pattern in self.patterns.values()):
                continue
            if _camera_direction(sentence, self.patterns)[0]:
                continue
            found.extend(encoder_sentences(sentence))
        return found[:_MAX_ELEMENTS]

    def _shot(self, block: _Block) -> dict[str, object]:
        notes = list(block.notes)
        mentioned: list[tuple[int, str]] = []
        for key, pattern in self.patterns.items():
            match = _capitalised_match(pattern, block.action)
            if match is not None:
                mentioned.append((match.start(), key))
        mentioned.sort()
        present: list[str] = []
        for key in [key for _, key in mentioned] + [
            s.cue.casefold() for s in block.speeches if not s.off_screen
        ]:
            if key not in present:
                present.append(key)
        names = [self.cast[key] for key in present]
        if len(names) > MAX_CHARACTERS_PER_SHOT:
            notes.append(
                f"Also in this shot: {', '.join(names[MAX_CHARACTERS_PER_SHOT:])} (the model places at "
                f"most {MAX_CHARACTERS_PER_SHOT} characters per keyframe, so only the first "
                f"{MAX_CHARACTERS_PER_SHOT} are listed)."
            )
            names = names[:MAX_CHARACTERS_PER_SHOT]
        plot = block.action
        for aside in self.asides.values():
            plot = re.sub(r"\s*\(" + re.escape(aside) + r"\)", "", plot, count=1)
        directive, camera, plot = _camera_direction(plot, self.patterns)
        if directive:
            notes.append(f"Camera direction in the screenplay: {directive}")
        if not plot:
            plot = _speaker_plot(block.speeches, self.cast)
            notes.append("Plot written by the importer: the screenplay has dialogue here but no action line.")
        plot, rest = fit_sentence(plot)
        if rest:
            notes.append(f"Action continues: {rest}")
        dialogue = [
            {
                "character": self.cast[s.cue.casefold()],
                "parenthetical": "; ".join(part for part in [*s.extensions, paren] if part),
                "text": words,
            }
            for s in block.speeches
            for paren, words in s.lines
        ]
        spoken = sum(len(line["text"].split()) for line in dialogue)
        duration = min(MAX_SHOT_SECONDS, max(_DEFAULT_SECONDS, round(spoken / _WORDS_PER_SECOND + 1.0, 1)))
        return {
            "plot": plot,
            "characters": names,
            **camera,
            "duration": duration,
            "dialogue": dialogue,
            "notes": "\n".join(notes),
        }

    def _introduction(self, key: str) -> list[str]:
        """How the screenplay introduces a character: the first action naming them in capitals.

        "JONAH VANCE (60s, grey beard) sits." gives the parenthetical ("60s, grey beard.");
        without one, the whole sentence is the description.
        """
        pattern = self.patterns[key]
        for element in self.elements:
            if element.kind != "action":
                continue
            for sentence in split_sentences(element.text):
                for match in pattern.finditer(sentence):
                    found = match.group(0)
                    if found != found.upper() or sentence == sentence.upper():
                        continue
                    aside = _INTRODUCTION_ASIDE.match(sentence, match.end())
                    if aside and aside.group(1).strip():
                        self.asides[key] = aside.group(1)
                        return encoder_sentences(aside.group(1).strip().rstrip(".") + ".")
                    return encoder_sentences(sentence)
        return []


# After a name in capitals: more capital words (a surname) and a parenthetical aside.
_INTRODUCTION_ASIDE = re.compile(r"(?:\s+[A-Z][A-Z'\-.]*)*\s*\(([^)]*)\)")


def _camera_direction(text: str, cast: dict[str, re.Pattern[str]]) -> tuple[str, dict[str, str], str]:
    """(the camera direction leading `text` as written, the shot fields it sets, `text` without it).

    A direction is the run of words in capitals that opens an action paragraph ("CLOSE ON",
    "WIDE SHOT -", "LOW ANGLE", "PAN"), up to the first word with lower case or a cast name;
    it counts only if core.script.film_terms (or a framing such as "ANGLE ON") reads a size,
    angle or motion in it. Camera words in capitals later in the paragraph ("We PUSH IN")
    set the fields they name too, but stay in the text.
    """
    words = text.split()
    run: list[str] = []
    for word in words:
        if not _CAPS_WORD.match(word) or not any(ch.isalpha() for ch in word):
            break
        if any(pattern.fullmatch(word.strip(".:,'’s")) for pattern in cast.values()):
            break
        run.append(word)
        if word.endswith((".", ":", ",")):
            break
    fields: dict[str, str] = {}
    directive = " ".join(run).rstrip(" .:,-")
    # A lone capitalised word ("A", "I") is no direction.
    if len(directive) >= 2:
        size = shot_size_in(directive)
        angle = camera_angle_in(directive)
        motion = camera_motion_in(directive)
        if size is None and _CLOSE_FRAMING.match(directive):
            fields["size"] = ShotSize.CLOSE_UP.value
        elif size is not None:
            fields["size"] = size.value.value
        if angle is not None:
            fields["angle"] = angle.value.value
        if motion is not None:
            fields["motion"] = motion.value.value
    if not fields:
        directive = ""
    rest = text
    if directive:
        rest = _DIRECTIVE_END.sub("", text[text.index(run[-1]) + len(run[-1]) :] if run else text)
        rest = rest[:1].upper() + rest[1:]
    capitals = " ".join(
        w
        for w in rest.split()
        if _CAPS_WORD.match(w)
        and sum(ch.isalpha() for ch in w) >= 2
        and not any(p.fullmatch(w.strip(".:,'’s")) for p in cast.values())
    )
    if capitals:
        later_motion = camera_motion_in(capitals)
        later_size = shot_size_in(capitals)
        if later_motion is not None and "motion" not in fields:
            fields["motion"] = later_motion.value.value
        if later_size is not None and "size" not in fields:
            fields["size"] = later_size.value.value
    if not rest:
        rest = text  # the paragraph was only the direction: keep it as the plot
    return directive, fields, rest


def _name_pattern(name: str) -> re.Pattern[str]:
    words = [re.escape(word) for word in name.split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.IGNORECASE)


def _capitalised_match(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    """The first mention of a name written with a capital (so "will" is not WILL)."""
    for match in pattern.finditer(text):
        if match.group(0)[:1].isupper():
            return match
    return None


def _display_name(cue: str, prose: str) -> str:
    """How to write a cue's name: as the prose spells it ("McGregor" for "@McGREGOR"), else
    as the cue has it when that has lower case ("@McCloud"), else capitalised ("Mara")."""
    for match in _name_pattern(cue).finditer(prose):
        found = normalise_space(match.group(0))
        if found != found.upper() and found[:1].isupper():
            return found
    if cue != cue.upper():
        return cue
    return re.sub(r"[^\W\d_]+", _capitalise_word, cue)


def _capitalise_word(match: re.Match[str]) -> str:
    word = match.group(0)
    before = match.string[match.start() - 1] if match.start() > 0 else ""
    # "MARA'S" -> "Mara's", "O'BRIEN" -> "O'Brien"
    if before in "'\u2019" and len(word) == 1:
        return word.lower()
    return word.capitalize()


def _speaker_plot(speeches: list[_Speech], cast: dict[str, str]) -> str:
    names: list[str] = []
    for speech in speeches:
        name = cast[speech.cue.casefold()]
        if name not in names:
            names.append(name)
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    verb = "speaks" if len(names) == 1 else "speak"
    if all(speech.off_screen for speech in speeches):
        return f"{listed} {verb} off screen."
    return f"{listed} {verb}."


def _time_of_day(heading: str) -> TimeOfDay | None:
    """The time a heading names, looking after its last dash first; None if it names none."""
    parts = re.split(r"\s[-\u2013\u2014]+\s", heading)
    for text in ([parts[-1]] if len(parts) > 1 else []) + [heading]:
        found = time_of_day_in(text)
        if found is not None:
            return found.value
    return None
