"""core.script.schema: the published JSON Schema stays in step with the models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.script.schema import SCHEMA_PATH, main, schema_text, script_json_schema


def test_published_schema_is_up_to_date() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text(), (
        "core/script/script.schema.json is out of date; run: python -m core.script.schema"
    )


def test_schema_describes_the_format() -> None:
    schema = script_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "MovieDreamer Studio script"
    assert "keyframe" in schema["description"]
    assert schema["required"] == ["title"]
    assert schema["additionalProperties"] is False
    shot = schema["$defs"]["Shot"]["properties"]
    assert shot["characters"]["maxItems"] == 5
    assert shot["duration"]["exclusiveMinimum"] == 0 and shot["duration"]["maximum"] == 60
    assert schema["$defs"]["CameraMotion"]["enum"][:3] == ["static", "pan-left", "pan-right"]
    assert all("description" in prop for prop in schema["properties"].values())


def test_cli_writes_and_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "script.schema.json"
    assert main(["--check", "--path", str(target)]) == 1
    assert "out of date" in capsys.readouterr().err
    assert main(["--path", str(target)]) == 0
    assert json.loads(target.read_text(encoding="utf-8")) == script_json_schema()
    assert main(["--check", "--path", str(target)]) == 0
    target.write_text(target.read_text(encoding="utf-8").replace("keyframe", "frame"), encoding="utf-8")
    assert main(["--check", "--path", str(target)]) == 1
