"""Scripts written as Fountain screenplays (https://fountain.io/syntax).

`script_to_fountain` writes what `core.script.script_from_fountain` reads back into the same
shots (see `core.interchange.screenplay` for how a script becomes paragraphs). Elements are
forced ("." heading, "@" cue, "!" action, ">" transition) wherever the plain form could be read
as something else, e.g. an action line in capitals; emphasis characters are escaped.

Fountain has no syntax to escape "[[" or "/*" (they open notes and boneyard, which readers
drop); they are written as "[ [" and "/ *" so no text disappears on the way back.
"""

from __future__ import annotations

import re

from core.interchange.screenplay import (
    TRANSITION_NOTE,
    Paragraph,
    paragraphs_from_script,
    title_page_credits,
)
from core.script import Script

_HEADING = re.compile(r"^(?:INT\.?/EXT|EXT\.?/INT|INT|EXT|EST|I/E|E/I)(?:\.|\s)", re.IGNORECASE)
_SPECIAL_START = (".", "@", "#", "=", ">", "~", "!", "(", "^")


def escape(text: str) -> str:
    """`text` with Fountain's emphasis markers escaped and note/boneyard openers broken."""
    text = text.replace("\\", "\\\\").replace("*", "\\*").replace("_", "\\_")
    return text.replace("[[", "[ [").replace("]]", "] ]").replace("/*", "/ *").replace("*/", "* /")


def cue_name(name: str) -> str:
    """A cue for `name`: capitals when the importer would spell them back as `name`
    ("MARA" -> "Mara"), else forced with "@" and written as it is ("@McGregor")."""
    capitalised = re.sub(r"[^\W\d_]+", lambda m: m.group(0).capitalize(), name.upper())
    return name.upper() if capitalised == name else f"@{name}"


def fountain_lines(paragraphs: list[Paragraph], *, force: bool = False) -> list[tuple[str, int]]:
    """The body of a Fountain screenplay as (line, source paragraph number) pairs.

    `force` forces every element, which makes the reading unambiguous for text written by
    another program (the FDX reader uses it); otherwise only where it is needed.
    """
    lines: list[tuple[str, int]] = []

    def block(*texts: str, number: int) -> None:
        if lines:
            lines.append(("", number))
        lines.extend((text, number) for text in texts)

    for paragraph in paragraphs:
        number = paragraph.number
        if paragraph.kind == "heading":
            text = escape(_one_line(paragraph.text))
            block(text if not force and _HEADING.match(text) else f".{text.lstrip('.')}", number=number)
        elif paragraph.kind == "transition":
            text = _one_line(paragraph.text)
            # The Fountain importer skips transitions; a forced reading keeps them as a
            # synopsis, which it files in the next shot's notes.
            block(f"= {TRANSITION_NOTE}{escape(text)}" if force else f"> {text}", number=number)
        elif paragraph.kind in ("section", "synopsis"):
            mark = "#" if paragraph.kind == "section" else "="
            block(f"{mark} {escape(_one_line(paragraph.text))}", number=number)
        elif paragraph.kind == "action":
            text = escape(_one_line(paragraph.text))
            block(text if not force and _plain_action_is_safe(text) else f"!{text}", number=number)
        elif paragraph.kind == "speech" and paragraph.speech is not None:
            speech = paragraph.speech
            name = cue_name(_one_line(speech.cue))
            if force and not name.startswith("@"):
                name = f"@{name}"
            cue = " ".join([name, *(f"({extension})" for extension in speech.extensions)])
            body: list[str] = [cue + (" ^" if speech.dual else "")]
            for parenthetical, words in speech.lines:
                if parenthetical:
                    body.append(f"({escape(_one_line(parenthetical))})")
                body.append(escape(_one_line(words)))
            block(*body, number=number)
    return lines


def script_to_fountain(script: Script) -> str:
    """The whole script as Fountain text: a title page, then the screenplay."""
    title = ["Title: " + escape(script.title)]
    credits = title_page_credits(script)
    if credits:
        title.append("Credit: " + escape(credits))
    if script.logline:
        title.append("Logline: " + escape(_one_line(script.logline)))
    body = [line for line, _ in fountain_lines(paragraphs_from_script(script))]
    return "\n".join([*title, "", *body]) + "\n"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _plain_action_is_safe(text: str) -> bool:
    """Whether an action line written plainly stays action (not a heading, cue or transition)."""
    if text.startswith(_SPECIAL_START) or _HEADING.match(text):
        return False
    letters = [ch for ch in text if ch.isalpha()]
    return not letters or text != text.upper()
