"""What is wrong with a script, said so that a writer can fix it.

`ScriptError` carries a list of `Problem(where, message)`: `where` is a human location with
1-based positions ("scene 3, shot 7, plot", "cast member 2 (Mara), description sentence 4",
"line 12, column 5"), `message` a sentence saying what is wrong and what to do.
`problems_from_validation_error` translates pydantic's errors on `Script` (whose locations
are 0-based field paths such as ("scenes", 2, "shots", 6, "plot")) into such problems.
"""

from __future__ import annotations

import typing
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import core_schema

from core.script.models import (
    MAX_NAME_LENGTH,
    CameraAngle,
    CameraMotion,
    Character,
    DialogueLine,
    Scene,
    Script,
    Shot,
    ShotSize,
    TimeOfDay,
)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a script: where (human, 1-based) and what to do about it."""

    where: str
    message: str
    # The pydantic location (0-based field path) for problems found by validation, so a form
    # can file the problem under its field; () for problems found while parsing text.
    loc: tuple[str | int, ...] = ()

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class ScriptError(ValueError):
    """A script could not be read or is invalid. `problems` lists every problem found."""

    def __init__(self, problems: Problem | Iterable[Problem]):
        self.problems: list[Problem] = [problems] if isinstance(problems, Problem) else list(problems)
        if not self.problems:
            raise ValueError("a ScriptError needs at least one problem")
        super().__init__(str(self))

    @classmethod
    def at(cls, where: str, message: str) -> ScriptError:
        """A ScriptError with a single problem."""
        return cls(Problem(where, message))

    def __str__(self) -> str:
        return "\n".join(str(problem) for problem in self.problems)


def script_error_from_validation(error: ValidationError, data: Any = None) -> ScriptError:
    """The ScriptError for a pydantic error raised while validating a `Script`.

    `data` is what was validated (a dict or a Script); with it, locations name cast members
    ("cast member 2 (Mara)").
    """
    return ScriptError(problems_from_validation_error(error, data))


def problems_from_validation_error(error: ValidationError, data: Any = None) -> list[Problem]:
    """Every error of `error` as a Problem, in the order the parts appear in the script."""
    found: list[tuple[tuple[int, ...], Problem]] = []
    for line in error.errors(include_url=False):
        path = _walk(tuple(line["loc"]), data)
        found.append((path.order, Problem(path.where, _message(line, path), tuple(line["loc"]))))
    found.sort(key=lambda pair: pair[0])
    return [problem for _, problem in found]


# -- locations -----------------------------------------------------------------------------

# What a list item is called inside each model, and the model its items are.
_ITEM_NAMES: dict[tuple[type[BaseModel], str], tuple[str, type[BaseModel] | None]] = {
    (Script, "cast"): ("cast member", Character),
    (Script, "scenes"): ("scene", Scene),
    (Character, "description"): ("description sentence", None),
    (Character, "photos"): ("photo", None),
    (Scene, "elements"): ("scene element", None),
    (Scene, "shots"): ("shot", Shot),
    (Shot, "characters"): ("character", None),
    (Shot, "dialogue"): ("dialogue line", DialogueLine),
}
_MODEL_NAMES: dict[type[BaseModel], str] = {
    Script: "the script",
    Character: "a cast member",
    Scene: "a scene",
    Shot: "a shot",
    DialogueLine: "a dialogue line",
}
# Error types whose text comes from pydantic (English fragments like "Input should be ...");
# every other type is one of the models' own errors, already worded for the user.
_PYDANTIC_WORDING = frozenset(typing.get_args(core_schema.ErrorType))
_ENUM_FIELDS: dict[str, tuple[str, type[Enum]]] = {
    "size": ("shot size", ShotSize),
    "angle": ("camera angle", CameraAngle),
    "motion": ("camera motion", CameraMotion),
    "time_of_day": ("time of day", TimeOfDay),
}


@dataclass
class _Path:
    where: str
    order: tuple[int, ...]
    model: type[BaseModel] | None  # the model whose field the last part names
    field: str | None  # that field, when the location ends at a field
    item: bool  # the location ends at an item of a list field


def _walk(loc: tuple[Any, ...], data: Any) -> _Path:
    """Describe a pydantic location on a Script in words, plus a document-order sort key."""
    parts: list[str] = []
    order: list[int] = []
    model: type[BaseModel] | None = Script
    owner: type[BaseModel] | None = Script
    field: str | None = None
    item = False
    value = data
    i = 0
    while i < len(loc):
        token = loc[i]
        owner, field, item = model, None, False
        fields = list(model.model_fields) if model is not None else []
        order.append(fields.index(token) if token in fields else len(fields))
        value = _child(value, token)
        naming = _ITEM_NAMES.get((model, token)) if model is not None and isinstance(token, str) else None
        if naming is not None and i + 1 < len(loc) and isinstance(loc[i + 1], int):
            index = loc[i + 1]
            order.append(index)
            value = _child(value, index)
            label = f"{naming[0]} {index + 1}"
            name = _child(value, "name") if naming[1] is Character else None
            if isinstance(name, str) and name.strip():
                label += f" ({name.strip()})"
            parts.append(label)
            model = naming[1]
            field, item = token, True
            i += 2
            continue
        parts.append(str(token))
        field = token if isinstance(token, str) else None
        model = None
        i += 1
    return _Path(", ".join(parts) or "script", tuple(order), owner, field, item)


def _child(value: Any, key: Any) -> Any:
    """value[key] for dicts, lists and models; None when it is not there."""
    if isinstance(value, dict):
        return value.get(key)
    if isinstance(value, list) and isinstance(key, int):
        return value[key] if 0 <= key < len(value) else None
    if isinstance(value, BaseModel) and isinstance(key, str):
        return getattr(value, key, None)
    return None


# -- messages ------------------------------------------------------------------------------

_MISSING: dict[str, str] = {
    "plot": "the plot is missing; write one sentence saying what happens in this shot",
    "heading": "the scene heading is missing; say where the scene happens, e.g. 'EXT. BEACH - DAY'",
    "title": "the title is missing; give the script a title",
    "name": "the name is missing; every cast member needs a name",
    "character": "the speaker is missing; say which character speaks this line",
    "text": "the words of this line are missing; write what is said or delete the line",
}
_EMPTY: dict[str, str] = {
    "title": "the title is empty; give the script a title",
    "name": "the name is empty; every cast member needs a name",
    "character": "the speaker's name is empty; say which character speaks this line",
    "text": "the line is empty; write what is said or delete the dialogue line",
}


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _fields_of(model: type[BaseModel]) -> str:
    return ", ".join(model.model_fields)


def _message(line: Any, path: _Path) -> str:
    kind = line["type"]
    ctx = line.get("ctx") or {}
    field = path.field
    value = line["input"]
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return str(ctx["error"])
    if kind == "missing":
        if field in _MISSING:
            return _MISSING[field]
        return f"the field {field!r} is missing; add it"
    if kind == "extra_forbidden":
        owner = path.model
        if owner is None:
            return f"{field!r} is not a known field here; fix the spelling or remove it"
        return (
            f"{field!r} is not a field of {_MODEL_NAMES[owner]}; the fields are "
            f"{_fields_of(owner)}; fix the spelling or remove it"
        )
    if kind == "enum" and field in _ENUM_FIELDS:
        label, enum = _ENUM_FIELDS[field]
        allowed = ", ".join(member.value for member in enum)
        return f"{value!r} is not a known {label}; use one of: {allowed}"
    if kind == "enum":
        return f"{value!r} is not allowed here; use one of: {ctx.get('expected', '')}"
    if kind == "string_too_short" and field in _EMPTY:
        return _EMPTY[field]
    if kind == "string_too_long" and field in ("name", "character"):
        return (
            f"the name {value!r} has {len(value)} characters but names may have at most "
            f"{ctx.get('max_length', MAX_NAME_LENGTH)}; use a shorter name"
        )
    if kind == "string_too_long":
        return (
            f"this text has {len(value):,} characters but may have at most {ctx.get('max_length', 0):,}; "
            "shorten it"
        )
    if kind == "string_type":
        return f"expected text here but found {_json_kind(value)}; write it in quotes"
    if kind in ("float_type", "float_parsing", "finite_number"):
        unit = " of seconds" if field == "duration" else ""
        return f"expected a number{unit} here but found {_json_kind(value)}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"expected a whole number here but found {_json_kind(value)}"
    if kind == "list_type":
        what = _ITEM_NAMES.get((path.model, field)) if path.model is not None and field else None
        items = f" of {what[0]}s" if what else ""
        return f"expected a list{items} (in JSON: [...]) here but found {_json_kind(value)}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        target = _target_model(path)
        if target is not None:
            return (
                f"expected {_MODEL_NAMES[target]} here (an object with the fields "
                f"{_fields_of(target)}) but found {_json_kind(value)}"
            )
        return f"expected an object here but found {_json_kind(value)}"
    if kind not in _PYDANTIC_WORDING:
        return line["msg"]
    message = line["msg"]
    return f"{message[:1].lower()}{message[1:]}; fix this value"


def _target_model(path: _Path) -> type[BaseModel] | None:
    """The model expected at the end of `path` (a list item or the whole script)."""
    if path.model is None:
        return None
    if path.item and path.field is not None:
        naming = _ITEM_NAMES.get((path.model, path.field))
        return naming[1] if naming else None
    if path.field is None:
        return path.model
    return None
