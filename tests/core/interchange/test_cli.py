"""`python -m core.interchange`: import screenplays, export scripts to every format."""

import json
import logging
import subprocess
import sys
from pathlib import Path

import opentimelineio as otio
import pytest
import srt

from core.interchange.__main__ import main
from core.script import load_script, script_from_fountain

ROOT = Path(__file__).parents[3]
DATA = ROOT / "tests" / "data"


def test_import_fdx_then_export_every_format(tmp_path, keyframes, storyboard):
    script_json = tmp_path / "ferry.json"
    assert main(["import", str(DATA / "interchange" / "night_ferry.fdx"), "--out", str(script_json)]) == 0
    script = load_script(script_json)
    assert script.title == "NIGHT FERRY" and script.num_shots == 4
    for kind, suffix in [
        ("fdx", "fdx"),
        ("fountain", "fountain"),
        ("otio", "otio"),
        ("edl", "edl"),
        ("fcpxml", "xml"),
        ("csv", "csv"),
        ("srt", "srt"),
        ("vtt", "vtt"),
    ]:
        out = tmp_path / f"ferry.{suffix}"
        assert main(["export", str(script_json), "--to", kind, "--out", str(out)]) == 0
        assert out.stat().st_size > 0
    assert script_from_fountain((tmp_path / "ferry.fountain").read_text()).num_shots == 4
    assert len(list(srt.parse((tmp_path / "ferry.srt").read_text()))) == 5


def test_durations_file_sets_media_and_durations(tmp_path, keyframes, storyboard):
    script_json = tmp_path / "harbour.json"
    script_json.write_text(storyboard.model_dump_json())
    durations = tmp_path / "keyframes.json"
    durations.write_text(
        json.dumps({"1": {"keyframe": keyframes[0].name, "duration": 5}, "2": 1.5, "3": keyframes[2].name})
    )
    out = tmp_path / "cut.otio"
    assert (
        main(
            [
                "export",
                str(script_json),
                "--to",
                "otio",
                "--out",
                str(out),
                "--durations",
                str(durations),
                "--title-seconds",
                "0",
                "--fps",
                "25",
            ]
        )
        == 0
    )
    timeline = otio.adapters.read_from_file(str(out))
    clips = [c for c in timeline.tracks[0] if isinstance(c, otio.schema.Clip)]
    # shots end on round(cumulative seconds * fps): 5 s, 6.5 s and 8.75 s are frames 125, 162, 219
    assert [c.duration().value for c in clips] == [125, 37, 57]
    assert [c.duration().rate for c in clips] == [25, 25, 25]
    assert clips[0].media_reference.target_url == keyframes[0].resolve().as_uri()
    assert isinstance(clips[1].media_reference, otio.schema.MissingReference)


def test_errors_are_sentences_and_exit_1(tmp_path, caplog):
    caplog.set_level(logging.ERROR)
    assert main(["import", str(tmp_path / "missing.fdx"), "--out", str(tmp_path / "x.json")]) == 1
    assert "this file does not exist; check the path" in caplog.text
    bad = tmp_path / "notes.docx"
    bad.write_text("x")
    assert main(["import", str(bad), "--out", str(tmp_path / "x.json")]) == 1
    assert "cannot be imported; use a Final Draft .fdx" in caplog.text
    assert not (tmp_path / "x.json").exists()


def test_runs_as_a_module(tmp_path):
    out = tmp_path / "harbour.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "core.interchange",
            "import",
            str(DATA / "script" / "harbour_lights.fountain"),
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "11 shots" in done.stderr
    assert load_script(out).num_shots == 11


@pytest.mark.parametrize("kind", ["otio", "srt"])
def test_export_refuses_a_durations_file_naming_unknown_shots(tmp_path, storyboard, kind, caplog):
    script_json = tmp_path / "s.json"
    script_json.write_text(storyboard.model_dump_json())
    durations = tmp_path / "d.json"
    durations.write_text('{"9": 2}')
    assert (
        main(
            [
                "export",
                str(script_json),
                "--to",
                kind,
                "--out",
                str(tmp_path / f"x.{kind}"),
                "--durations",
                str(durations),
            ]
        )
        == 1
    )
    assert "use shot numbers 1 to 3" in caplog.text


def test_import_moviebench_json_and_fountain(tmp_path):
    out = tmp_path / "store.json"
    assert main(["import", str(DATA / "script" / "moviebench_store.json"), "--out", str(out)]) == 0
    assert load_script(out).num_shots > 0
    fountain_out = tmp_path / "harbour.json"
    assert (
        main(
            [
                "import",
                str(DATA / "script" / "harbour_lights.fountain"),
                "--out",
                str(fountain_out),
                "--title",
                "Harbour Lights",
            ]
        )
        == 0
    )
    assert load_script(fountain_out).title == "Harbour Lights"
    # a script JSON exported to Fountain and imported again is the same script
    back = tmp_path / "harbour.fountain"
    assert main(["export", str(fountain_out), "--to", "fountain", "--out", str(back)]) == 0
    again = tmp_path / "again.json"
    assert main(["import", str(back), "--out", str(again)]) == 0
    assert load_script(again) == load_script(fountain_out)


def test_voiced_exports_hold_shots_for_their_lines(tmp_path, storyboard):
    script_json = tmp_path / "s.json"
    script_json.write_text(storyboard.model_dump_json())
    plain, voiced = tmp_path / "plain.srt", tmp_path / "voiced.srt"
    assert main(["export", str(script_json), "--to", "srt", "--out", str(plain)]) == 0
    assert main(["export", str(script_json), "--to", "srt", "--out", str(voiced), "--voiced"]) == 0
    plain_cues, voiced_cues = (list(srt.parse(p.read_text())) for p in (plain, voiced))
    assert len(plain_cues) == len(voiced_cues) == 3
    # Tomas's line is in the last shot: it starts later once the earlier shots hold their lines
    assert voiced_cues[2].start >= plain_cues[2].start
    assert voiced_cues[1].start != plain_cues[1].start  # the second caption follows the first voice


def test_durations_accepts_the_keyframes_json_of_core_generate(tmp_path, keyframes, storyboard):
    script_json = tmp_path / "s.json"
    script_json.write_text(storyboard.model_dump_json())
    records = [
        {"frame": i, "scene": 1, "shot": i + 1, "image": path.name, "seed": i, "params": {}}
        for i, path in keyframes.items()
    ]
    records[2]["duration"] = 4.0
    (tmp_path / "keyframes.json").write_text(json.dumps(records))
    out = tmp_path / "cut.otio"
    assert (
        main(
            [
                "export",
                str(script_json),
                "--to",
                "otio",
                "--out",
                str(out),
                "--durations",
                str(tmp_path / "keyframes.json"),
                "--title-seconds",
                "0",
            ]
        )
        == 0
    )
    timeline = otio.adapters.read_from_file(str(out))
    clips = [c for c in timeline.tracks[0] if isinstance(c, otio.schema.Clip)]
    assert [c.media_reference.target_url for c in clips] == [p.resolve().as_uri() for p in keyframes.values()]
    assert [c.duration().to_seconds() for c in clips] == [2.0, 3.5, 4.0]
