"""Command line: import screenplays into script JSON, export scripts to other tools.

    python -m core.interchange import FILE (.fdx | .fountain | MovieBench .json) --out SCRIPT.json
    python -m core.interchange export SCRIPT.json --to fdx|fountain|otio|edl|fcpxml|csv|srt|vtt \\
        --out FILE [--durations KEYFRAMES.json] [--fps 24] [--title-seconds 2] [--voiced]

KEYFRAMES.json is a JSON object keyed by 1-based shot numbers (story order) whose values are a
keyframe/clip path (relative to that file), a duration in seconds, or {"keyframe": ...,
"duration": ...}; see `core.interchange.formats.read_shot_media`. Timed formats follow the
animatic's timing: a title card of --title-seconds (0: none), then every shot; with --voiced,
shots are held as the animatic with a scratch voice track holds them (each character's default
eSpeak NG voice).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from core.files import atomic_output
from core.interchange.formats import EXPORT_FORMATS, export_text, load_screenplay, read_shot_media
from core.interchange.timing import DEFAULT_FPS, DEFAULT_LEAD_IN, story_timing
from core.script import ScriptError, load_script, script_to_json

logger = logging.getLogger("core.interchange")


def _write(path: Path, text: str) -> None:
    with atomic_output(path) as temporary:
        temporary.write_text(text, encoding="utf-8")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core.interchange", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    importer = commands.add_parser("import", help="import a screenplay as script JSON")
    importer.add_argument("file", type=Path, help=".fdx, .fountain or MovieBench .json")
    importer.add_argument("--out", type=Path, required=True, help="where to write the script JSON")
    importer.add_argument("--title", help="the script's title (default: the file's title page)")
    exporter = commands.add_parser("export", help="export a script JSON to another tool's format")
    exporter.add_argument("script", type=Path, help="a script JSON file")
    exporter.add_argument("--to", choices=sorted(EXPORT_FORMATS), required=True)
    exporter.add_argument("--out", type=Path, required=True, help="the file to write")
    exporter.add_argument("--durations", type=Path, help="JSON of per-shot keyframes and/or durations")
    exporter.add_argument("--fps", type=int, default=DEFAULT_FPS, help=f"frame rate (default {DEFAULT_FPS})")
    exporter.add_argument(
        "--title-seconds",
        type=float,
        default=DEFAULT_LEAD_IN,
        help=f"title card before the first shot, as in the animatic (default {DEFAULT_LEAD_IN:g}; 0: none)",
    )
    exporter.add_argument(
        "--voiced",
        action="store_true",
        help="hold shots for their lines as the animatic with a scratch voice track does",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = _parser().parse_args(argv)
    try:
        if args.command == "import":
            script = load_screenplay(args.file, title=args.title)
            _write(args.out, script_to_json(script))
            logger.info(
                "Imported %s: %d scenes, %d shots, %d cast -> %s",
                args.file.name,
                len(script.scenes),
                script.num_shots,
                len(script.cast),
                args.out,
            )
            return 0
        script = load_script(args.script)
        media, durations = read_shot_media(args.durations, script.num_shots) if args.durations else ({}, {})
        timing = story_timing(script, fps=args.fps, lead_in=args.title_seconds, durations=durations)
        if args.voiced:
            from core.interchange.voiced_animatic import voiced_timing
            from core.video.animatic import AnimaticSettings

            data = script.model_dump()
            shots = [shot for scene in data["scenes"] for shot in scene["shots"]]
            for index, seconds in durations.items():
                shots[index]["duration"] = seconds
            settings = AnimaticSettings(
                fps=args.fps, title_card=args.title_seconds > 0, title_seconds=args.title_seconds
            )
            script, timing, _ = voiced_timing(type(script).model_validate(data), {}, settings)
        _write(args.out, export_text(script, args.to, timing, media))
        logger.info(
            "Exported %s as %s (%d shots, %.2f s) -> %s",
            args.script.name,
            args.to,
            script.num_shots,
            timing.num_frames / timing.fps,
            args.out,
        )
        return 0
    except ScriptError as error:
        logger.error("The script could not be read:\n%s", error)
    except (ValueError, OSError) as error:
        logger.error("%s", error)
    return 1


if __name__ == "__main__":
    sys.exit(main())
