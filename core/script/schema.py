"""The published JSON Schema of the script format (`core/script/script.schema.json`).

The schema is generated from the pydantic models so it can never disagree with validation.
Editors use it for completion and checking; a test asserts the published file is current.

    python -m core.script.schema           # write script.schema.json
    python -m core.script.schema --check   # exit 1 if script.schema.json is out of date
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from core.script.models import MAX_SENTENCE_WORDS, SCHEMA_VERSION, Script

logger = logging.getLogger(__name__)

SCHEMA_PATH = Path(__file__).with_name("script.schema.json")


def script_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a script file."""
    schema = Script.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **schema,
        "title": "MovieDreamer Studio script",
        "description": (
            "A multimodal script for MovieDreamer Studio (format version "
            f"{SCHEMA_VERSION}): a cast of characters and scenes of shots; every shot becomes one "
            "keyframe. Description sentences, scene headings, elements, plots and styles are read "
            f"by the description encoder, at most {MAX_SENTENCE_WORDS} words each. Shots name at most "
            "5 characters, all from the cast."
        ),
    }


def schema_text() -> str:
    """The exact text of the published schema file."""
    return json.dumps(script_json_schema(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write or check the published script JSON Schema.")
    parser.add_argument("--check", action="store_true", help="only check that the file is up to date")
    parser.add_argument("--path", type=Path, default=SCHEMA_PATH, help="schema file (default: %(default)s)")
    args = parser.parse_args(argv)
    text = schema_text()
    if args.check:
        current = args.path.read_text(encoding="utf-8") if args.path.is_file() else None
        if current != text:
            print(f"{args.path} is out of date; run: python -m core.script.schema", file=sys.stderr)
            return 1
        print(f"{args.path} is up to date.")
        return 0
    args.path.write_text(text, encoding="utf-8")
    print(f"Wrote {args.path}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
