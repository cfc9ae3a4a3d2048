"""Final Draft (.fdx) screenplays: import into a `Script` and export from one.

An FDX file is XML: `<FinalDraft><Content>` holds `<Paragraph Type="...">` elements (Scene
Heading, Action, Character, Parenthetical, Dialogue, Transition, Shot, General), each with
one or more `<Text>` runs; `<Paragraph><DualDialogue>` wraps two speeches said at once;
`<TitlePage><Content>` holds the title page's paragraphs.

The file is untrusted: it is parsed with defusedxml, which refuses a DTD, entity
declarations and external references (no "billion laughs", no file or network reads), and
files above `MAX_FDX_BYTES` are refused before parsing.

Import reads the paragraphs into `core.interchange.screenplay` paragraphs, writes them as a
fully forced Fountain screenplay and imports that with `core.script.script_from_fountain`,
so an FDX and a Fountain file of the same screenplay become the same script (cast from
cues, one shot per action paragraph, camera directions, descriptions from introductions).
FDX has elements Fountain's importer does not keep; they go to the shot's notes:
transitions as "Transition: CUT TO:", dual dialogue as "Dual dialogue: lines 2 and 3 are
spoken at the same time." Export writes those notes back as the elements they were.

A "Shot" paragraph ("CLOSE ON MARA") leads the action paragraph after it, the way a camera
direction leads an action paragraph in Fountain. Problems are reported at the paragraph of
the FDX file they come from ("paragraph 12 of the Final Draft file").
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import defusedxml
import defusedxml.ElementTree as SafeET

from core.interchange.fountain_writer import cue_name, fountain_lines
from core.interchange.screenplay import (
    TRANSITION_NOTE,
    Paragraph,
    Speech,
    dual_note,
    paragraphs_from_script,
    title_page_credits,
)
from core.script import Script, ScriptError, script_from_fountain
from core.script.errors import Problem

logger = logging.getLogger(__name__)

# A feature screenplay in FDX is 0.3-1 MB; 20 MB leaves room for embedded notes and styles.
MAX_FDX_BYTES = 20 * 1024 * 1024
_SYNOPSIS_TRANSITION = "Synopsis: " + TRANSITION_NOTE
_LINE = re.compile(r"^line (\d+)")
# Characters XML 1.0 cannot hold (control characters other than tab and newline).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def load_fdx(path: str | Path, *, title: str | None = None) -> Script:
    """Import the Final Draft file at `path`."""
    path = Path(path)
    size = path.stat().st_size
    if size > MAX_FDX_BYTES:
        raise ScriptError.at(
            path.name,
            f"the file has {size / 1e6:.1f} MB but a Final Draft file may have at most "
            f"{MAX_FDX_BYTES / 1e6:.0f} MB; check that it is a screenplay",
        )
    return script_from_fdx(path.read_bytes(), title=title)


def script_from_fdx(data: bytes | str, *, title: str | None = None) -> Script:
    """Import a Final Draft screenplay given as its bytes (or text). `title` overrides the
    title page's first line."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if len(raw) > MAX_FDX_BYTES:
        raise ScriptError.at(
            "file",
            f"the file has {len(raw) / 1e6:.1f} MB but a Final Draft file may have at most "
            f"{MAX_FDX_BYTES / 1e6:.0f} MB; check that it is a screenplay",
        )
    root = _parse(raw)
    content = root.find("Content")
    if content is None:
        raise ScriptError.at(
            "file",
            "the Final Draft file has no <Content> element, so it holds no screenplay; "
            "save it again from Final Draft as a .fdx script",
        )
    paragraphs = _paragraphs(content)
    if not any(p.kind == "heading" for p in paragraphs):
        raise ScriptError.at(
            "file",
            "the Final Draft file has no Scene Heading paragraph; start each scene with one "
            "(e.g. 'INT. KITCHEN - NIGHT') and import it again",
        )
    page_title, credits = _title_page(root)
    head = [f"Title: {_escape_title(page_title or 'Untitled screenplay')}"]
    if credits:
        head.append(f"Credit: {_escape_title(credits)}")
    body = fountain_lines(paragraphs, force=True)
    lines = [(line, 0) for line in head] + [("", 0)] + body
    text = "\n".join(line for line, _ in lines) + "\n"
    try:
        script = script_from_fountain(text, title=title)
    except ScriptError as error:
        raise ScriptError([_located(problem, lines) for problem in error.problems]) from None
    return _with_fdx_notes(script, paragraphs)


def script_to_fdx(script: Script) -> str:
    """The script as a Final Draft document (UTF-8 XML text)."""
    root = ET.Element("FinalDraft", DocumentType="Script", Template="No", Version="5")
    content = ET.SubElement(root, "Content")
    paragraphs = paragraphs_from_script(script)
    previous: list[ET.Element] = []  # the last speech's elements, for dual dialogue
    for paragraph in paragraphs:
        if paragraph.kind == "speech" and paragraph.speech is not None:
            elements = _speech_elements(paragraph.speech)
            if paragraph.speech.dual and previous:
                holder = ET.Element("Paragraph")
                dual = ET.SubElement(holder, "DualDialogue")
                index = list(content).index(previous[0])
                for element in previous:
                    content.remove(element)
                dual.extend(previous + elements)
                content.insert(index, holder)
                previous = []
            else:
                content.extend(elements)
                previous = elements
            continue
        previous = []
        if paragraph.kind in ("section", "synopsis"):
            continue  # Fountain's outline; Final Draft has no such paragraph
        kind = {"heading": "Scene Heading", "action": "Action", "transition": "Transition"}[paragraph.kind]
        content.append(_paragraph(kind, paragraph.text))
    title_page = ET.SubElement(ET.SubElement(root, "TitlePage"), "Content")
    title_page.append(_paragraph("General", script.title, Alignment="Center"))
    credits = title_page_credits(script)
    if credits:
        title_page.append(_paragraph("General", credits, Alignment="Center"))
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8" standalone="no" ?>\n' + body + "\n"


# -- reading ------------------------------------------------------------------------------


def _parse(raw: bytes) -> ET.Element:
    try:
        root = SafeET.fromstring(raw, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (defusedxml.DTDForbidden, defusedxml.EntitiesForbidden, defusedxml.ExternalReferenceForbidden):
        raise ScriptError.at(
            "file",
            "the file declares a DTD, entities or external references, which a Final Draft "
            "screenplay never needs and which could read other files; it was not read. Save it "
            "again from Final Draft and import the new file",
        ) from None
    except ET.ParseError as error:
        line, column = getattr(error, "position", (0, 0))
        raise ScriptError.at(
            f"line {line}, column {column + 1}",
            f"this is not well-formed XML ({error.msg if hasattr(error, 'msg') else error}); "
            "a .fdx file must be the XML Final Draft saves, check that the file is complete",
        ) from None
    if root.tag != "FinalDraft":
        raise ScriptError.at(
            "file",
            f"the XML document is a <{root.tag}>, not a Final Draft screenplay (<FinalDraft>); "
            "choose a .fdx file saved by Final Draft or a program that writes FDX",
        )
    return root


def _text(element: ET.Element) -> str:
    """A paragraph's words: its <Text> runs joined, whitespace (line breaks too) made single."""
    runs = "".join("".join(text.itertext()) for text in element.findall("Text"))
    return " ".join(runs.split())


def _paragraphs(content: ET.Element) -> list[Paragraph]:
    paragraphs: list[Paragraph] = []
    pending_shot: list[str] = []
    counter = 0
    speech: Speech | None = None
    parenthetical = ""

    def close_speech() -> None:
        nonlocal speech, parenthetical
        if speech is None:
            return
        if parenthetical and speech.lines:
            # A closing "(beat)" stays with the last line, as the Fountain importer keeps it.
            previous_paren, words = speech.lines[-1]
            speech.lines[-1] = (previous_paren, f"{words} ({parenthetical})")
        if speech.lines:
            paragraphs.append(Paragraph("speech", speech=speech, number=speech_number))
        else:
            # A cue with no words: keep what it says as action rather than lose it.
            aside = f" ({parenthetical})" if parenthetical else ""
            paragraphs.append(Paragraph("action", f"{speech.cue.upper()}{aside}", number=speech_number))
        speech, parenthetical = None, ""

    speech_number = 0
    for outer in content.findall("Paragraph"):
        counter += 1
        dual = outer.find("DualDialogue")
        inner = dual.findall("Paragraph") if dual is not None else [outer]
        cues_in_dual = 0
        for element in inner:
            kind = (element.get("Type") or "").strip().casefold()
            text = _text(element)
            if kind in ("dialogue", "parenthetical") and speech is not None:
                if kind == "parenthetical":
                    words = text[1:-1].strip() if text.startswith("(") and text.endswith(")") else text
                    parenthetical = f"{parenthetical}; {words}" if parenthetical else words
                elif text:
                    if speech.lines and not parenthetical:
                        previous_paren, words = speech.lines[-1]
                        speech.lines[-1] = (previous_paren, f"{words} {text}")
                    else:
                        speech.lines.append((parenthetical, text))
                        parenthetical = ""
                continue
            close_speech()
            if not text:
                continue
            if kind == "shot":
                pending_shot.append(text)
                continue
            if kind not in ("character", "scene heading", "transition"):
                # what is written happens on screen; a Shot paragraph before it leads it
                lead = " - ".join(pending_shot)
                paragraphs.append(Paragraph("action", f"{lead} - {text}" if lead else text, number=counter))
                pending_shot = []
                continue
            if pending_shot:  # a Shot paragraph with no action after it is an action of its own
                paragraphs.append(Paragraph("action", " - ".join(pending_shot), number=counter))
                pending_shot = []
            if kind == "character":
                cues_in_dual += 1
                extensions = [" ".join(e.split()).upper() for e in re.findall(r"\(([^)]*)\)", text)]
                name = " ".join(re.sub(r"\([^)]*\)", " ", text).replace("^", " ").split())
                speech = Speech(
                    cue=name,
                    extensions=[e for e in extensions if e],
                    dual=dual is not None and cues_in_dual > 1,
                )
                speech_number = counter
            elif kind == "scene heading":
                paragraphs.append(Paragraph("heading", text, number=counter))
            else:
                paragraphs.append(Paragraph("transition", text, number=counter))
        if dual is None:
            continue
        close_speech()
    close_speech()
    if pending_shot:
        paragraphs.append(Paragraph("action", " - ".join(pending_shot), number=counter))
    return paragraphs


def _title_page(root: ET.Element) -> tuple[str, str]:
    """(title, credits): the title page's first line and its other lines, joined."""
    page = root.find("TitlePage/Content")
    if page is None:
        return "", ""
    texts = [text for text in (_text(p) for p in page.iter("Paragraph")) if text]
    if not texts:
        return "", ""
    return texts[0], " ".join(texts[1:])


def _escape_title(text: str) -> str:
    return text.replace("\\", "\\\\").replace("*", "\\*").replace("_", "\\_")


def _located(problem: Problem, lines: list[tuple[str, int]]) -> Problem:
    """A problem found in the Fountain text, placed at the FDX paragraph it came from."""
    match = _LINE.match(problem.where)
    if not match:
        return problem
    number = int(match.group(1))
    source = lines[number - 1][1] if 0 < number <= len(lines) else 0
    where = (
        f"paragraph {source} of the Final Draft file" if source else "the title page of the Final Draft file"
    )
    return Problem(where, problem.message.replace("Fountain", "Final Draft"), problem.loc)


def _with_fdx_notes(script: Script, paragraphs: list[Paragraph]) -> Script:
    """The script with transitions and dual dialogue recorded in its shots' notes."""
    # Which global dialogue lines (0-based, story order) open a dual speech and its partner.
    pairs: list[tuple[int, int]] = []
    line = 0
    previous_start = -1
    for paragraph in paragraphs:
        if paragraph.kind != "speech" or paragraph.speech is None:
            continue
        if paragraph.speech.dual and previous_start >= 0:
            pairs.append((previous_start, line))
        previous_start = line
        line += len(paragraph.speech.lines)
    where: dict[int, tuple[int, int, int]] = {}  # global line -> (scene, shot, line in shot)
    count = 0
    for s, k, shot in script.shots():
        for j in range(len(shot.dialogue)):
            where[count] = (s, k, j)
            count += 1
    extra: dict[tuple[int, int], list[str]] = {}
    for first, second in pairs:
        if first in where and second in where and where[first][:2] == where[second][:2]:
            s, k, _ = where[first]
            extra.setdefault((s, k), []).append(dual_note(where[first][2] + 1, where[second][2] + 1))
        else:
            logger.warning(
                "Dual dialogue at dialogue lines %d and %d spans two shots; not noted.", first, second
            )
    scenes = []
    for s, scene in enumerate(script.scenes):
        shots = []
        for k, shot in enumerate(scene.shots):
            notes = [
                TRANSITION_NOTE + note[len(_SYNOPSIS_TRANSITION) :]
                if note.startswith(_SYNOPSIS_TRANSITION)
                else note
                for note in shot.notes.splitlines()
            ] + extra.get((s, k), [])
            shots.append(shot.model_copy(update={"notes": "\n".join(notes)}))
        scenes.append(scene.model_copy(update={"shots": shots}))
    return Script.model_validate({**script.model_dump(), "scenes": [s.model_dump() for s in scenes]})


# -- writing ------------------------------------------------------------------------------


def _paragraph(kind: str, text: str, **attributes: str) -> ET.Element:
    element = ET.Element("Paragraph", Type=kind, **attributes)
    ET.SubElement(element, "Text").text = _NOT_XML.sub("", text)
    return element


def _speech_elements(speech: Speech) -> list[ET.Element]:
    name = cue_name(speech.cue)
    name = name[1:] if name.startswith("@") else name
    cue = " ".join([name, *(f"({extension})" for extension in speech.extensions)])
    elements = [_paragraph("Character", cue)]
    for parenthetical, words in speech.lines:
        if parenthetical:
            elements.append(_paragraph("Parenthetical", f"({parenthetical})"))
        elements.append(_paragraph("Dialogue", words))
    return elements
