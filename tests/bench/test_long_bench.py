"""bench.long end to end on a tiny random bundle and a tiny judge (plumbing, not quality)."""

import json

import numpy as np

from bench import long as long_bench


def test_both_window_modes_are_drawn_rendered_at_both_ends_and_judged(tiny_bundle, tiny_judge, tmp_path):
    out = tmp_path / "long.json"
    argv = [
        "--bundle", str(tiny_bundle), "--judge", str(tiny_judge), "--keyframes", "40", "--end", "8",
        "--threads", "1", "--out", str(out),
    ]  # fmt: skip
    result = long_bench.main(argv)
    assert json.loads(out.read_text()) == result
    for key in ("lt_first_128", "lt_last_128", "place_first_128", "place_last_128", "identity_kept_share"):
        assert key in result
    assert result["keyframes"] == 40 and result["shipped_mode"] == "reprefill"
    assert set(result["modes"]) == {"reprefill", "rolling"}
    for mode in result["modes"].values():
        assert mode["rendered"] >= 16 and mode["seconds_per_keyframe"] > 0
        for key in ("place_first_128", "place_last_128"):
            assert 0.0 <= mode[key] <= 1.0
    # the tiny bundle's window is 16 frames: rolling feeds every position once, re-prefill does not
    modes = result["modes"]
    assert modes["rolling"]["forward_positions"] < modes["reprefill"]["forward_positions"]
    assert result["setup"]["judged_at_each_end"] == 8


def test_identity_is_kept_when_the_last_solo_shot_is_nearest_its_own_first():
    features = {
        0: np.array([1.0, 0.0]),
        1: np.array([0.0, 1.0]),
        5: np.array([0.9, 0.1]),
        6: np.array([0.8, 0.3]),
    }
    assert long_bench.identity_kept_share(features, {"a": (0, 5), "b": (1, 6)}) == 0.5
    assert long_bench.identity_kept_share(features, {"a": (0, 5)}) is None
    records = [
        {"characters": [{"identity": "a"}]},
        {"characters": [{"identity": "a"}, {"identity": "b"}]},
        {"characters": [{"identity": "b"}]},
        {"characters": [{"identity": "a"}]},
    ]
    assert long_bench.solo_shots(records) == {"a": (0, 3)}
