"""MovieBench-style shot annotations imported as scripts.

MovieBench (Wu et al., 2024) annotates every shot of a movie with a VLM, one JSON object per
shot:

    {"Characters": {"Juno": "A teenage girl in a red hoodie ..."},
     "Style Elements": ["Suburban setting", "Muted colours"],
     "Plot": "Juno walks into the store ...",
     "Background Description": "A small convenience store with ...",
     "Camera Motion": "The camera slowly pans left.",
     "Shot Size": "Medium shot",          # optional
     "Scene": "Convenience store"}        # optional

The file holds a list of such shots, an object {"shots": [...]}, or an object of shots keyed
by shot id (file order is story order). Key spelling is forgiving ("style_elements",
"camera motion"); other keys are ignored.

How they become a script:

* consecutive shots with the same Background Description (and Scene, when given) form one
  scene; its heading is the Scene text, else the description's first sentence, and the
  remaining sentences are scene elements; the time of day is read from that text (day when
  it names none);
* cast descriptions are merged over all shots: split into sentences of at most 60 words,
  duplicates removed, first appearance first;
* style: each scene takes its first shot's style elements; the script style is the most
  common scene style, and scenes that differ keep their own;
* camera motion free text is mapped onto `CameraMotion` ("Zoom in", "pans left", "static
  shot"); text naming no known motion becomes static, and the raw text goes into the notes;
* what does not fit (more than 5 characters, a plot over 60 words, a shot whose style differs
  from its scene's) is kept in the shot's notes.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from core.script.errors import ScriptError, script_error_from_validation
from core.script.film_terms import camera_motion_in, shot_size_in, time_of_day_in
from core.script.io import parse_json
from core.script.models import (
    MAX_CHARACTERS_PER_SHOT,
    MAX_NAME_LENGTH,
    MAX_SENTENCE_WORDS,
    CameraMotion,
    Script,
    ShotSize,
    TimeOfDay,
)
from core.script.sentences import encoder_sentences, fit_sentence, normalise_space, split_sentences

# Normalised key -> field; keys are compared lower case without spaces, "_" or "-".
_KEYS = {
    "characters": "characters",
    "character": "characters",
    "styleelements": "style",
    "style": "style",
    "plot": "plot",
    "backgrounddescription": "background",
    "background": "background",
    "cameramotion": "motion",
    "shotsize": "size",
    "scene": "scene",
    "id": "id",
    "shotid": "id",
}
_CONTAINER_KEYS = ("shots", "Shots")
_TITLE_KEYS = ("title", "Title", "movie", "Movie", "movie_name")


def script_from_moviebench(
    source: str | bytes | list[Any] | dict[str, Any], *, title: str | None = None
) -> Script:
    """Import MovieBench annotations given as JSON text or as already-parsed JSON data."""
    data = parse_json(source, what="annotation file") if isinstance(source, str | bytes) else source
    shots, found_title = _shot_list(data)
    parsed = [_read_shot(label, raw) for label, raw in shots]
    script = _build(parsed)
    script["title"] = title or found_title or "Untitled MovieBench import"
    try:
        return Script.model_validate(script)
    except ValidationError as error:
        raise script_error_from_validation(error, script) from None


def load_moviebench(path: str | Path, *, title: str | None = None) -> Script:
    """Import a MovieBench annotation file; the title defaults to the file's name."""
    path = Path(path)
    if not path.is_file():
        raise ScriptError.at(str(path), "this file does not exist; check the path")
    return script_from_moviebench(path.read_bytes(), title=title or path.stem.replace("_", " "))


# -- structure ---------------------------------------------------------------------------------


def _shot_list(data: Any) -> tuple[list[tuple[str, Any]], str | None]:
    """(label, raw shot) pairs in story order, and a title if the data carries one."""
    title = None
    if isinstance(data, dict):
        title = next((data[key] for key in _TITLE_KEYS if isinstance(data.get(key), str)), None)
        container = next((data[key] for key in _CONTAINER_KEYS if key in data), None)
        if container is not None:
            data = container
        elif title is not None:
            data = {key: value for key, value in data.items() if key not in _TITLE_KEYS}
    if isinstance(data, list):
        shots = [(_label(i, raw), raw) for i, raw in enumerate(data)]
    elif isinstance(data, dict) and data and all(isinstance(value, dict) for value in data.values()):
        shots = [(f"shot {key!r}", raw) for key, raw in data.items()]
    else:
        raise ScriptError.at(
            "annotations",
            "expected a list of shots, an object with a 'shots' list, or an object of shots keyed by "
            "shot id; each shot is an object with 'Characters', 'Plot', 'Background Description', ...",
        )
    if not shots:
        raise ScriptError.at("annotations", "the annotations contain no shots; there is nothing to import")
    return shots, title


def _label(i: int, raw: Any) -> str:
    if isinstance(raw, dict):
        for key, value in raw.items():
            if _KEYS.get(_normal_key(key)) == "id" and isinstance(value, str | int):
                return f"shot {i + 1} ({value})"
    return f"shot {i + 1}"


def _normal_key(key: str) -> str:
    return re.sub(r"[\s_\-]", "", key.lower())


def _read_shot(label: str, raw: Any) -> dict[str, Any]:
    """The fields of one shot, checked and cleaned; raises ScriptError naming the shot."""
    if not isinstance(raw, dict):
        raise ScriptError.at(
            label, f"expected an object with the shot's fields but found {type(raw).__name__}"
        )
    fields: dict[str, Any] = {}
    for key, value in raw.items():
        name = _KEYS.get(_normal_key(str(key)))
        if name is not None and name not in fields:
            fields[name] = value

    def text(field: str, shown: str, *, required: bool = False) -> str:
        value = fields.get(field)
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise ScriptError.at(f"{label}, {shown}", f"expected text but found {type(value).__name__}")
        value = normalise_space(value)
        if required and not value:
            raise ScriptError.at(
                f"{label}, {shown}", f"the {shown} is missing or empty; every shot needs a {shown}"
            )
        return value

    plot = text("plot", "Plot", required=True)
    background = text("background", "Background Description")
    scene = text("scene", "Scene")
    if not background and not scene:
        raise ScriptError.at(
            label,
            "the shot has neither a 'Background Description' nor a 'Scene'; add one so it can be placed",
        )
    return {
        "label": label,
        "plot": plot,
        "background": background,
        "scene": scene,
        "motion": text("motion", "Camera Motion"),
        "size": text("size", "Shot Size"),
        "style": _style(label, fields.get("style")),
        "characters": _characters(label, fields.get("characters")),
    }


def _style(label: str, value: Any) -> str:
    """The style elements as one sentence ("Suburban setting, muted colours")."""
    if value is None:
        return ""
    if isinstance(value, str):
        style = normalise_space(value)
    elif isinstance(value, list) and all(isinstance(item, str) for item in value):
        style = ", ".join(normalise_space(item) for item in value if item.strip())
    else:
        raise ScriptError.at(f"{label}, Style Elements", "expected text or a list of texts")
    words = len(style.split())
    if words > MAX_SENTENCE_WORDS:
        raise ScriptError.at(
            f"{label}, Style Elements",
            f"the style elements have {words} words but the style is read as one sentence of at most "
            f"{MAX_SENTENCE_WORDS} words; shorten them",
        )
    return style


def _characters(label: str, value: Any) -> list[tuple[str, list[str]]]:
    """(name, description sentences) in the order given."""
    if value is None:
        return []
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        value = {item: "" for item in value}
    if not isinstance(value, dict):
        raise ScriptError.at(
            f"{label}, Characters",
            f"expected an object mapping each character's name to a description but found {type(value).__name__}",
        )
    characters: list[tuple[str, list[str]]] = []
    for raw_name, description in value.items():
        name = normalise_space(str(raw_name))
        where = f"{label}, Characters, {name!r}"
        if not name:
            raise ScriptError.at(
                f"{label}, Characters", "a character has an empty name; give every character a name"
            )
        if len(name) > MAX_NAME_LENGTH:
            raise ScriptError.at(
                where, f"the name has {len(name)} characters but names may have at most {MAX_NAME_LENGTH}"
            )
        if isinstance(description, str):
            sentences = encoder_sentences(description)
        elif isinstance(description, list) and all(isinstance(item, str) for item in description):
            sentences = [piece for item in description for piece in encoder_sentences(item)]
        elif description is None:
            sentences = []
        else:
            raise ScriptError.at(where, "expected the character's description as text")
        characters.append((name, sentences))
    return characters


# -- script ------------------------------------------------------------------------------------


def _build(shots: list[dict[str, Any]]) -> dict[str, Any]:
    cast: dict[str, tuple[str, list[str]]] = {}  # casefolded name -> (name, sentences)
    seen_sentences: dict[str, set[str]] = {}
    groups: list[list[dict[str, Any]]] = []
    for shot in shots:
        for name, sentences in shot["characters"]:
            key = name.casefold()
            if key not in cast:
                cast[key] = (name, [])
                seen_sentences[key] = set()
            for sentence in sentences:
                normal = sentence.casefold()
                if normal not in seen_sentences[key]:
                    seen_sentences[key].add(normal)
                    cast[key][1].append(sentence)
        place = (shot["background"].casefold(), shot["scene"].casefold())
        if groups and (groups[-1][0]["background"].casefold(), groups[-1][0]["scene"].casefold()) == place:
            groups[-1].append(shot)
        else:
            groups.append([shot])

    scene_styles = [group[0]["style"] for group in groups]
    # Styles differing only in capitals are the same style; the first spelling is kept.
    spelling: dict[str, str] = {}
    for style in scene_styles:
        if style:
            spelling.setdefault(style.casefold(), style)
    common = Counter(style.casefold() for style in scene_styles if style).most_common(1)
    script_style = spelling[common[0][0]] if common else ""
    scenes = [_scene(group, cast, script_style) for group in groups]
    return {
        "style": script_style,
        "cast": [{"name": name, "description": sentences} for name, sentences in cast.values()],
        "scenes": scenes,
    }


def _scene(
    group: list[dict[str, Any]], cast: dict[str, tuple[str, list[str]]], script_style: str
) -> dict[str, Any]:
    first = group[0]
    sentences = split_sentences(first["background"])
    if first["scene"]:
        heading, _ = fit_sentence(first["scene"])
        element_text = sentences
    else:
        heading, rest = fit_sentence(sentences[0])
        element_text = ([rest] if rest else []) + sentences[1:]
    elements = [piece for text in element_text for piece in encoder_sentences(text)]
    found = time_of_day_in(f"{first['scene']} {first['background']}")
    style = first["style"]
    return {
        "heading": heading,
        "time_of_day": (found.value if found else TimeOfDay.DAY).value,
        "elements": elements,
        "style": style if style and style.casefold() != script_style.casefold() else None,
        "shots": [_shot(shot, cast, style) for shot in group],
    }


def _shot(shot: dict[str, Any], cast: dict[str, tuple[str, list[str]]], scene_style: str) -> dict[str, Any]:
    notes: list[str] = []
    plot, rest = fit_sentence(shot["plot"])
    if rest:
        notes.append(f"Plot continues: {rest}")
    names = list(dict.fromkeys(cast[name.casefold()][0] for name, _ in shot["characters"]))
    if len(names) > MAX_CHARACTERS_PER_SHOT:
        notes.append(
            f"Also in this shot: {', '.join(names[MAX_CHARACTERS_PER_SHOT:])} (the model places at most "
            f"{MAX_CHARACTERS_PER_SHOT} characters per keyframe, so only the first "
            f"{MAX_CHARACTERS_PER_SHOT} are listed)."
        )
        names = names[:MAX_CHARACTERS_PER_SHOT]
    motion = _motion(shot["motion"], notes)
    size = _size(shot["size"], notes)
    if shot["style"] and shot["style"].casefold() != scene_style.casefold():
        notes.append(f"Style Elements of this shot: {shot['style']} (the scene uses its first shot's style).")
    return {
        "plot": plot,
        "characters": names,
        "size": size.value,
        "motion": motion.value,
        "notes": "\n".join(notes),
    }


def _motion(text: str, notes: list[str]) -> CameraMotion:
    if not text:
        return CameraMotion.STATIC
    found = camera_motion_in(text)
    if found is None:
        notes.append(f"Camera motion in the source: {text!r} (no known camera move; imported as static).")
        return CameraMotion.STATIC
    if found.value is CameraMotion.PAN_RIGHT and "right" not in found.term:
        notes.append(
            f"Camera motion in the source: {text!r} (a pan with no direction; imported as pan-right)."
        )
    elif len(found.all_values) > 1:
        named = ", ".join(value.value for value in found.all_values)
        notes.append(
            f"Camera motion in the source: {text!r} (names {named}; imported as {found.value.value})."
        )
    return found.value


def _size(text: str, notes: list[str]) -> ShotSize:
    if not text:
        return ShotSize.MEDIUM
    found = shot_size_in(text)
    if found is None:
        notes.append(f"Shot size in the source: {text!r} (not a known shot size; imported as medium).")
        return ShotSize.MEDIUM
    return found.value
