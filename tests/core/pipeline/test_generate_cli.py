import json
from pathlib import Path

import numpy as np

from core.generate import main

SHORT = Path(__file__).parents[3] / "assets" / "samples" / "short" / "script.json"


def test_cli_writes_frames_tokens_and_a_record_per_keyframe(tiny_bundle, tmp_path):
    out = tmp_path / "out"
    assert (
        main([str(SHORT), "--out", str(out), "--bundle", str(tiny_bundle), "--seed", "5", "--steps", "2"])
        == 0
    )
    records = json.loads((out / "keyframes.json").read_text())
    assert len(records) == 12 and records[3]["seed"] == 8 and records[0]["scene"] == 1
    assert sorted(p.name for p in (out / "frames").iterdir()) == [f"{i:06d}.png" for i in range(12)]
    assert np.load(out / "tokens.npy").shape == (12, 2, 8)
    assert not list(out.rglob("*.tmp"))


def test_cli_reports_a_missing_bundle_clearly(tmp_path, capsys):
    assert main([str(SHORT), "--out", str(tmp_path / "o"), "--bundle", str(tmp_path / "none")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_cli_reports_a_bad_script_clearly(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"title": "x", "scenes": [{"heading": "A", "shots": [{"plot": ""}]}]}')
    assert main([str(bad), "--out", str(tmp_path / "o"), "--bundle", str(tmp_path)]) == 2
    assert "scene 1, shot 1" in capsys.readouterr().err


def test_face_guidance_is_recorded_and_changes_the_keyframes_with_a_cast(tiny_bundle, tmp_path):
    def run(name, *extra):
        out = tmp_path / name
        args = [str(SHORT), "--out", str(out), "--bundle", str(tiny_bundle), "--steps", "2", *extra]
        assert main(args) == 0
        return out, json.loads((out / "keyframes.json").read_text())

    plain_out, plain = run("plain")
    guided_out, guided = run("guided", "--face-guidance", "4")
    assert (
        plain[0]["params"]["face_guidance_scale"] == 1.0 and guided[0]["params"]["face_guidance_scale"] == 4.0
    )
    # the short sample casts characters with photos: their shots change, the tokens do not
    assert np.array_equal(np.load(plain_out / "tokens.npy"), np.load(guided_out / "tokens.npy"))
    from PIL import Image

    changed = [
        not np.array_equal(
            np.asarray(Image.open(plain_out / "frames" / f"{i:06d}.png")),
            np.asarray(Image.open(guided_out / "frames" / f"{i:06d}.png")),
        )
        for i in range(len(plain))
    ]
    assert any(changed)
