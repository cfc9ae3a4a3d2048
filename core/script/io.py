"""Reading and writing scripts as JSON, with every problem reported as a `ScriptError`.

`script_to_json` is the canonical file form: every field written out in declaration order,
indent 2, UTF-8 text kept as is, a final newline. `script_from_json(script_to_json(s)) == s`
and `script_to_json(script_from_json(t)) == t` for every text `t` written by it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from core.script.errors import Problem, ScriptError, script_error_from_validation
from core.script.fountain import script_from_fountain
from core.script.models import Script

# A script of 400 keyframes is ~200 kB; anything far bigger is not a script.
MAX_SCRIPT_BYTES = 20 * 1024 * 1024
FOUNTAIN_SUFFIXES = (".fountain", ".spmd")


def script_from_dict(data: Any) -> Script:
    """Validate already-parsed JSON data (or a Script) into a Script."""
    try:
        return Script.model_validate(data)
    except ValidationError as error:
        raise script_error_from_validation(error, data) from None


def script_from_json(text: str | bytes) -> Script:
    """Parse and validate a script written as JSON text."""
    return script_from_dict(parse_json(text, what="script"))


def parse_json(text: str | bytes, *, what: str = "file") -> Any:
    """JSON text (str, or UTF-8 bytes) as data; problems name the line and column.

    Unlike `json.loads`, a key given twice in one object is an error, not a silent overwrite.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise ScriptError.at(
                f"byte {error.start + 1}",
                f"the {what} is not UTF-8 text; save it as UTF-8 and load it again",
            ) from None
    if not text.strip():
        raise ScriptError.at("line 1", f"the {what} is empty; expected JSON text")
    try:
        return json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except json.JSONDecodeError as error:
        raise ScriptError.at(
            f"line {error.lineno}, column {error.colno}",
            f"this is not valid JSON ({error.msg}); check the commas, quotes and brackets here or just before",
        ) from None
    except RecursionError:
        # Python's JSON reader recurses once per nested [ or {; tens of thousands exhaust it.
        raise ScriptError.at(
            "line 1",
            f"the {what} nests lists or objects too deeply to be read (a script nests them a few levels); "
            "check that it is the right file and that its brackets are closed",
        ) from None
    except _DuplicateKey as error:
        raise ScriptError.at(
            f"key {error.key!r}",
            f"the key {error.key!r} appears twice in the same object; keep only one of them",
        ) from None


def script_to_json(script: Script) -> str:
    """The canonical JSON text of `script` (stable: same script, same bytes)."""
    return json.dumps(script.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"


def load_script(path_or_text: str | Path) -> Script:
    """A script from a file (.json, or Fountain .fountain/.spmd) or from JSON text.

    A `str` starting with "{" is JSON text; any other `str` or a `Path` is a file path.
    """
    if isinstance(path_or_text, str) and path_or_text.lstrip().startswith("{"):
        return script_from_json(path_or_text)
    if isinstance(path_or_text, str) and ("\n" in path_or_text or len(path_or_text) > 4096):
        raise ScriptError.at(
            "input",
            "this is neither a path to a script file nor JSON text (which starts with '{'); "
            "for Fountain text use script_from_fountain",
        )
    path = Path(path_or_text)
    if not path.is_file():
        raise ScriptError.at(str(path), "this file does not exist; check the path")
    size = path.stat().st_size
    if size > MAX_SCRIPT_BYTES:
        raise ScriptError.at(
            str(path),
            f"the file has {size / 2**20:.0f} MB; a script is at most {MAX_SCRIPT_BYTES // 2**20} MB, "
            "so this is probably not a script",
        )
    raw = path.read_bytes()
    try:
        if path.suffix.lower() in FOUNTAIN_SUFFIXES:
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError as error:
                raise ScriptError.at(
                    f"byte {error.start + 1}",
                    "the file is not UTF-8 text; save it as UTF-8 and load it again",
                ) from None
            return script_from_fountain(text)
        return script_from_json(raw)
    except ScriptError as error:
        # Say which file the problems are in; a UI may show several files' errors together.
        raise ScriptError(
            Problem(f"{path.name}, {problem.where}", problem.message, problem.loc)
            for problem in error.problems
        ) from None


class _DuplicateKey(Exception):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads would silently keep the last of two equal keys; a writer who typed a field
    # twice wants to know which value counts.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result
