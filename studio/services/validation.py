"""Script validation for edit forms: core.script's rules and wording, keyed by form field.

An edit (a shot, a scene, a cast member) is checked by validating the *whole* project script
with the edit applied, so every rule of `core.script` applies (cross-references between cast
and shots included) and the studio never re-implements one. Each pydantic error line is then
worded by `core.script.errors` and filed under the form field it concerns, so the UI can show
the sentence next to the right widget.
"""

from __future__ import annotations

import typing
from typing import Any

from pydantic import ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError, core_schema

from core.script import Script
from core.script.errors import problems_from_validation_error
from studio.services.results import GENERAL

_BUILTIN_ERROR_TYPES = frozenset(typing.get_args(core_schema.ErrorType))


def _single_line_error(line: dict[str, Any]) -> ValidationError:
    """A ValidationError holding only `line`, so core.script.errors can word it alone."""
    if line["type"] in _BUILTIN_ERROR_TYPES:
        details = InitErrorDetails(type=line["type"], loc=line["loc"], input=line["input"])
        if "ctx" in line:
            details["ctx"] = line["ctx"]
    else:
        details = InitErrorDetails(
            type=PydanticCustomError(line["type"], "{message}", {"message": line["msg"]}),
            loc=line["loc"],
            input=line["input"],
        )
    return ValidationError.from_exception_data("Script", [details])


def script_problems(data: dict[str, Any]) -> list[tuple[tuple[Any, ...], str, str]]:
    """Validate script data; every problem as (pydantic location, where, message)."""
    try:
        Script.model_validate(data)
    except ValidationError as error:
        found = []
        for line in error.errors(include_url=False):
            for problem in problems_from_validation_error(_single_line_error(line), data):
                found.append((tuple(line["loc"]), problem.where, problem.message))
        return found
    return []


def field_problems(data: dict[str, Any], focus: tuple[Any, ...]) -> dict[str, str]:
    """Problems of `data` by field of the part at location `focus`.

    `focus` is e.g. ("scenes", 2, "shots", 0) for the first shot of the third scene; a problem
    located inside it is filed under the next location part (the field); any other problem
    goes under GENERAL with its full 1-based location.
    """
    problems: dict[str, str] = {}
    for loc, where, message in script_problems(data):
        if loc[: len(focus)] == focus and len(loc) > len(focus):
            key = str(loc[len(focus)])
            text = message
        else:
            key, text = GENERAL, f"{where}: {message}" if where else message
        problems[key] = f"{problems[key]}; {text}" if key in problems else text
    return problems
