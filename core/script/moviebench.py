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

* consecutive shots of one place form one scene: the same Scene text when the file has one,
  else Background Descriptions that describe the same place (the same place name, or
  enough content words in common: a VLM words each shot's background differently). The
  heading is the Scene text, else a screenplay heading made from the place the description
  names ("A cramped ship cabin, lit by..." -> "INT. SHIP CABIN"); the description's
  sentences are the scene elements, and a shot whose own background differs keeps it in its
  notes. The time of day is read from the Scene and background, else from the scene's plots
  ("... in the night"), else the previous scene's time carries over (day for the first);
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


def looks_like_moviebench(data: Any) -> bool:
    """Whether parsed JSON `data` is MovieBench annotations (shots with a Plot and a Background
    Description or Characters) rather than a script (which has "scenes")."""
    if isinstance(data, dict):
        if "scenes" in data or "cast" in data:
            return False
        container = next((data[key] for key in _CONTAINER_KEYS if key in data), None)
        if container is not None:
            data = container
        else:
            data = [value for key, value in data.items() if key not in _TITLE_KEYS]
    if not isinstance(data, list) or not data:
        return False
    for raw in data[:5]:
        if not isinstance(raw, dict):
            return False
        fields = {_KEYS.get(_normal_key(str(key))) for key in raw}
        if "plot" not in fields or not fields & {"background", "characters", "scene"}:
            return False
    return True


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
        if groups and _same_place(groups[-1][0], shot):
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
    scenes = []
    time = TimeOfDay.DAY
    for group in groups:
        scenes.append(_scene(group, cast, script_style, time))
        time = TimeOfDay(scenes[-1]["time_of_day"])
    return {
        "style": script_style,
        "cast": [{"name": name, "description": sentences} for name, sentences in cast.values()],
        "scenes": scenes,
    }


# Words that say nothing about which place a background shows.
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "in",
        "on",
        "at",
        "to",
        "with",
        "and",
        "or",
        "by",
        "from",
        "into",
        "onto",
        "is",
        "are",
        "was",
        "were",
        "be",
        "its",
        "it",
        "this",
        "that",
        "these",
        "those",
        "there",
        "here",
        "as",
        "while",
        "where",
        "which",
        "who",
        "some",
        "several",
        "many",
        "few",
        "one",
        "two",
        "three",
        "very",
        "their",
        "his",
        "her",
    ]
)
# Where a description stops naming the place and starts describing it.
_PLACE_END = re.compile(
    r",|;|:|\.|\s(?:with|where|in which|that|under|as|full of|while|during|"
    r"(?:lined|lit|filled|covered|surrounded|bathed|dotted|crowded|packed|flanked|illuminated) (?:with|by|in)|"
    r"at (?:night|dusk|dawn|sunset|sunrise|noon|midday|midnight|twilight|daybreak))(?=\W|$)",
    re.IGNORECASE,
)
_PLACE_LEAD = re.compile(
    r"^(?:(?:the|a|an)\s+)?(?:[\w'-]+\s+){0,3}?(?:interior|exterior|inside|outside|view)\s+of\s+(?:(?:the|a|an)\s+)?"
    r"|^(?:the|a|an)\s+",
    re.IGNORECASE,
)
_INTERIOR = re.compile(
    r"\b(?:interior|inside|indoors?|room|cabin|kitchen|office|store|shop|bar|pub|house|apartment|flat|"
    r"corridor|hall(?:way)?|bedroom|bathroom|church|restaurant|cafe|library|classroom|garage|basement|attic|"
    r"lobby|elevator|car interior|cockpit|studio|warehouse|cell|ward)s?\b",
    re.IGNORECASE,
)
_EXTERIOR = re.compile(
    r"\b(?:exterior|outside|outdoors?|street|road|beach|forest|woods|sky|field|garden|park|harbou?r|sea|"
    r"ocean|river|lake|mountain|desert|city|town|village|square|alley|rooftop|deck|shore|coast|meadow|"
    r"highway|bridge|yard|pier|dock|cliff|valley|jungle|countryside|track|stadium|playground|parking lot)s?\b",
    re.IGNORECASE,
)
_PLACE_WORDS = 6
# Share of content words two backgrounds must have in common to show the same place.
_SAME_PLACE_OVERLAP = 0.35


def _content_words(text: str) -> set[str]:
    words = re.findall(r"[^\W\d_]+", text.casefold())
    # a crude plural fold, so "lights" and "light" count as one word
    return {w[:-1] if len(w) > 3 and w.endswith("s") else w for w in words if w not in _STOPWORDS}


def _place_name(background: str) -> str:
    """The place a background names, in a few words ("ship cabin", "small convenience store")."""
    first = split_sentences(background)[0] if background else ""
    place = _PLACE_LEAD.sub("", first)
    end = _PLACE_END.search(place)
    place = place[: end.start()] if end else place
    words = place.split()
    return " ".join(words[:_PLACE_WORDS]).strip(" .,")


def _same_place(first: dict[str, Any], shot: dict[str, Any]) -> bool:
    if first["scene"] or shot["scene"]:
        return first["scene"].casefold() == shot["scene"].casefold()
    a, b = first["background"], shot["background"]
    if a.casefold() == b.casefold():
        return True
    if _place_name(a).casefold() == _place_name(b).casefold():
        return True
    words_a, words_b = _content_words(a), _content_words(b)
    union = words_a | words_b
    return bool(union) and len(words_a & words_b) / len(union) >= _SAME_PLACE_OVERLAP


def _heading(background: str, time: TimeOfDay | None) -> str:
    """A screenplay heading for a background: "INT. SHIP CABIN - NIGHT"."""
    place = _place_name(background) or "UNKNOWN PLACE"
    first = split_sentences(background)[0] if background else ""
    prefix = "INT. " if _INTERIOR.search(first) else "EXT. " if _EXTERIOR.search(first) else ""
    return f"{prefix}{place.upper()}" + (f" - {time.value.upper()}" if time is not None else "")


def _scene(
    group: list[dict[str, Any]],
    cast: dict[str, tuple[str, list[str]]],
    script_style: str,
    previous_time: TimeOfDay,
) -> dict[str, Any]:
    first = group[0]
    found = time_of_day_in(f"{first['scene']} {first['background']}")
    for shot in group:
        if found is not None:
            break
        found = time_of_day_in(shot["plot"])
    time = found.value if found else None
    if first["scene"]:
        heading, _ = fit_sentence(first["scene"])
    else:
        heading = _heading(first["background"], time)
    elements = encoder_sentences(first["background"])
    style = first["style"]
    return {
        "heading": heading,
        "time_of_day": (time or previous_time).value,
        "elements": elements,
        "style": style if style and style.casefold() != script_style.casefold() else None,
        "shots": [_shot(shot, cast, style, first["background"]) for shot in group],
    }


def _shot(
    shot: dict[str, Any], cast: dict[str, tuple[str, list[str]]], scene_style: str, scene_background: str
) -> dict[str, Any]:
    notes: list[str] = []
    if shot["background"] and shot["background"].casefold() != scene_background.casefold():
        notes.append(f"Background Description of this shot: {shot['background']}")
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
