"""Which file becomes which script, and which script becomes which file.

`load_screenplay` imports .fdx (Final Draft), .fountain/.spmd/.txt (Fountain) and .json
(MovieBench annotations, or a script JSON); `export_text` writes a script as one of
`EXPORT_FORMATS`, timed like the animatic (`core.interchange.timing`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from core.interchange.editorial import editorial_timeline, timeline_text
from core.interchange.fdx import load_fdx, script_to_fdx
from core.interchange.fountain_writer import script_to_fountain
from core.interchange.shot_list import shot_list_csv
from core.interchange.subtitles import srt_text, vtt_text
from core.interchange.timing import StoryTiming
from core.script import Script, ScriptError, load_moviebench, load_script, script_from_fountain
from core.script.io import MAX_SCRIPT_BYTES, parse_json
from core.script.moviebench import looks_like_moviebench

IMPORT_SUFFIXES = (".fdx", ".fountain", ".spmd", ".txt", ".json")
EXPORT_FORMATS = {
    "fdx": ".fdx",
    "fountain": ".fountain",
    "otio": ".otio",
    "edl": ".edl",
    "fcpxml": ".xml",
    "csv": ".csv",
    "srt": ".srt",
    "vtt": ".vtt",
}
# Formats that carry time (and so the animatic's timing and the shots' media).
TIMED_FORMATS = ("otio", "edl", "fcpxml", "csv", "srt", "vtt")


def load_screenplay(path: str | Path, *, title: str | None = None) -> Script:
    """The script in the file at `path`, by its suffix (see the module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise ScriptError.at(str(path), "this file does not exist; check the path")
    suffix = path.suffix.lower()
    if suffix == ".fdx":
        return load_fdx(path, title=title)
    if suffix not in IMPORT_SUFFIXES:
        raise ScriptError.at(
            path.name,
            f"files ending in {suffix or '(nothing)'!r} cannot be imported; use a Final Draft .fdx, a "
            "Fountain .fountain or a MovieBench .json file",
        )
    size = path.stat().st_size
    if size > MAX_SCRIPT_BYTES:
        raise ScriptError.at(
            path.name,
            f"the file has {size / 2**20:.0f} MB; a screenplay is at most "
            f"{MAX_SCRIPT_BYTES // 2**20} MB, so this is probably not one",
        )
    if suffix == ".json":
        data = parse_json(path.read_bytes(), what="file")
        if looks_like_moviebench(data):
            return load_moviebench(path, title=title)
        script = load_script(path)
        return script.model_copy(update={"title": title}) if title else script
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise ScriptError.at(
            path.name,
            f"the file is not UTF-8 text (byte {error.start}); save it as UTF-8 and import it again",
        ) from None
    return script_from_fountain(text, title=title)


def export_text(
    script: Script,
    kind: str,
    timing: StoryTiming,
    media: Mapping[int, str | Path] | None = None,
    *,
    audio: str | Path | None = None,
) -> str:
    """`script` written as `kind` (one of EXPORT_FORMATS); `media`: story-order index -> picture."""
    if kind == "fdx":
        return script_to_fdx(script)
    if kind == "fountain":
        return script_to_fountain(script)
    if kind in ("otio", "edl", "fcpxml"):
        return timeline_text(editorial_timeline(script, timing, media, audio=audio), kind)
    if kind == "csv":
        return shot_list_csv(script, timing, media)
    if kind == "srt":
        return srt_text(timing)
    if kind == "vtt":
        return vtt_text(timing)
    raise ValueError(f"{kind!r} is not an export format; use one of {', '.join(EXPORT_FORMATS)}.")


def read_shot_media(path: str | Path, num_shots: int) -> tuple[dict[int, Path], dict[int, float]]:
    """Per shot, its picture and its duration from a JSON file (the CLI's --durations).

    Either the keyframes.json that `python -m core.generate` writes (a list of records with
    the 0-based story-order "frame" and its "image", relative to the file; an optional
    "duration" in seconds is read too), or an object keyed by 1-based story-order shot
    numbers whose values are a picture path (keyframe or clip, relative to the file), a
    duration in seconds, or an object with "keyframe" and/or "duration".
    Returns 0-based (media, durations).
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"The file {str(path)!r} does not exist; check the path given to --durations.")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path.name} is not JSON ({error}); write it as a JSON object.") from None
    if isinstance(data, list):
        data = _from_generate_records(data, path.name)
    if not isinstance(data, dict):
        raise ValueError(f'{path.name} must hold a JSON object keyed by shot number ("1", "2", ...).')
    media: dict[int, Path] = {}
    durations: dict[int, float] = {}
    for key, value in data.items():
        if not str(key).isdigit() or not 1 <= int(key) <= num_shots:
            raise ValueError(
                f"{path.name} names shot {key!r}; use shot numbers 1 to {num_shots} (story order) as keys."
            )
        index = int(key) - 1
        entry = (
            value
            if isinstance(value, dict)
            else {"keyframe": value}
            if isinstance(value, str)
            else {"duration": value}
        )
        unknown = set(entry) - {"keyframe", "duration"}
        if unknown:
            raise ValueError(
                f"Shot {key} in {path.name} has unknown fields {sorted(unknown)}; use keyframe and duration."
            )
        if "keyframe" in entry:
            if not isinstance(entry["keyframe"], str) or not entry["keyframe"]:
                raise ValueError(f"Shot {key} in {path.name}: the keyframe must be a file path.")
            media[index] = (path.parent / entry["keyframe"]).resolve()
        if "duration" in entry:
            seconds = entry["duration"]
            if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not seconds > 0:
                raise ValueError(
                    f"Shot {key} in {path.name}: the duration must be a number of seconds above 0."
                )
            durations[index] = float(seconds)
    return media, durations


def _from_generate_records(records: list, name: str) -> dict[str, dict]:
    """core.generate's keyframes.json records as the shot-number form read_shot_media takes."""
    shots: dict[str, dict] = {}
    for position, record in enumerate(records, start=1):
        frame = record.get("frame") if isinstance(record, dict) else None
        if isinstance(frame, bool) or not isinstance(frame, int) or not isinstance(record.get("image"), str):
            raise ValueError(
                f'Record {position} of {name} has no "frame" number and "image" path; give the keyframes.json '
                "that python -m core.generate wrote, or an object keyed by shot number."
            )
        entry = {"keyframe": record["image"]}
        if "duration" in record:
            entry["duration"] = record["duration"]
        shots[str(frame + 1)] = entry
    return shots
