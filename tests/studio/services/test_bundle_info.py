"""While the toy-cinema bundle draws a project, the storyboard says what that bundle can depict
and how to use a paper-scale bundle; with another bundle it says nothing."""

from __future__ import annotations

import json
from pathlib import Path

from studio.services import ModelCache, bundle_notice
from studio.services.bundle_info import (
    TOY_ACTIONS,
    TOY_BUNDLE_NAMES,
    TOY_PLACES,
    TOY_STYLES,
    TOY_TIMES,
    TOY_WEATHER,
    bundle_name,
)

ROOT = Path(__file__).resolve().parents[3]


def bundle(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps({"format": "moviedreamer-bundle", "name": name}))
    return folder


def test_the_toy_bundle_gets_the_notice_and_a_paper_bundle_none(tmp_path):
    toy = bundle(tmp_path / "toy", "moviedreamer-toy-default")
    paper = bundle(tmp_path / "bundles" / "paper", "my-paper-bundle")
    models = ModelCache(default_bundle=toy, bundle_roots=[tmp_path / "bundles"])
    notice = bundle_notice(models, None)
    assert notice.startswith(
        "**This storyboard is drawn by the studio's default bundle, which knows only the toy-cinema world**"
    )
    assert (
        "lighthouse" in notice
        and "--bundles DIR" in notice
        and "assets/bundles/paper-scale/manifest.json" in notice
    )
    assert bundle_notice(models, str(paper)) == ""
    assert bundle_notice(models, "/etc") == ""  # the Settings tab says what is wrong


def test_the_shipped_default_bundle_is_recognised_as_the_toy_bundle():
    assert bundle_name(ROOT / "assets" / "bundle") in TOY_BUNDLE_NAMES


def test_the_notice_lists_the_toy_world_the_bundle_was_trained_on():
    from train.data.world.figure import ACTIONS
    from train.data.world.places import PLACES, TIME_PHRASES, WEATHER_PHRASES
    from train.data.world.styles import STYLES

    assert list(TOY_PLACES) == [place.replace("-", " ") for place in PLACES]
    assert list(TOY_TIMES) == list(TIME_PHRASES) and list(TOY_WEATHER) == list(WEATHER_PHRASES)
    assert list(TOY_STYLES) == [style.replace("-", " ") for style in STYLES]
    assert len(TOY_ACTIONS) == len(ACTIONS)
