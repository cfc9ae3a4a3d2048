import json

import pytest
from PIL import Image

from core.script import script_from_json
from train.data.movies.captions import CaptionConfig, CaptionModels, VlmCaptioner
from train.data.movies.characters import Character
from train.data.movies.errors import VideoError
from train.data.movies.keyframes import KeyframeConfig
from train.data.movies.people import PeopleConfig
from train.data.movies.pipeline import MoviePipeline, PipelineConfig, collect_videos
from train.data.movies.structuring import (
    ATTEMPTS_FILE,
    StructuringConfig,
    StructuringFailed,
    StructuringModels,
    parse_shot_answer,
    sentences,
)

from .conftest import EVERY

SHOT = {"characters": ["Mara"], "duration": 1.5}


def test_without_a_vlm_real_films_are_refused_never_invented(toy_videos):
    with pytest.raises(VideoError, match="No vision-language model is configured.*never invented.*--vlm"):
        CaptionModels(CaptionConfig()).captioner(toy_videos[0], None, None, None)
    with pytest.raises(VideoError, match="No language model is configured.*--llm"):
        StructuringModels(StructuringConfig()).structurer(toy_videos[0], None, None)


def test_a_vlm_from_a_local_folder_captions_keyframes_and_characters(tiny_vlm):
    """The tiny random LLaVA writes garbage, but through the real image-text-to-text path."""
    captioner = VlmCaptioner(tiny_vlm, CaptionConfig(max_new_tokens=8))
    frame, face = Image.new("RGB", (224, 128), (90, 120, 200)), Image.new("RGB", (128, 128), (200, 150, 120))
    captions = captioner.caption_keyframes([frame, frame], [None, None])
    assert len(captions) == 2 and all(isinstance(c, str) and "\n" not in c for c in captions)
    assert captions[0] == captions[1]  # greedy decoding: same picture, same caption
    named = captioner.caption_characters([Character("Character 1", [0, 1], [0], 0)], [face])
    assert named[0].name == "Character 1"  # a VLM never names a stranger


def test_shot_answers_are_parsed_and_validated_against_the_script_model():
    good = (
        'Sure! {"heading": "EXT. BEACH - SUNSET", "time_of_day": "sunset", "elements": ["Waves roll in."], '
        '"plot": "Mara walks along the water.", "size": "wide", "angle": "low"} Done.'
    )
    draft = parse_shot_answer(good, SHOT, ["Mara"])
    assert draft.heading == "EXT. BEACH - SUNSET" and draft.time_of_day == "sunset"
    assert draft.shot["characters"] == ["Mara"] and draft.shot["size"] == "wide"
    with pytest.raises(StructuringFailed, match="no JSON object"):
        parse_shot_answer("I cannot do that.", SHOT, ["Mara"])
    with pytest.raises(StructuringFailed, match="lacks the text field"):
        parse_shot_answer('{"heading": "EXT. BEACH - DAY"}', SHOT, ["Mara"])
    with pytest.raises(StructuringFailed, match="shot size"):
        parse_shot_answer(good.replace('"wide"', '"gigantic"'), SHOT, ["Mara"])
    long = " ".join(["word"] * 130) + ". Short one."
    assert [len(s.split()) for s in sentences(long)] == [60, 60, 10, 2]


def test_garbage_llm_answers_are_retried_then_reported(toy_videos, tiny_vlm, tiny_llm, tmp_path):
    """Tiny random VLM and LLM end to end: captions succeed, every LLM answer is invalid."""
    config = PipelineConfig(
        keyframes=KeyframeConfig(every=EVERY),
        people=PeopleConfig(detector="ground-truth"),
        captions=CaptionConfig(vlm=str(tiny_vlm), max_new_tokens=8),
        structuring=StructuringConfig(llm=str(tiny_llm), max_attempts=3, max_new_tokens=16),
    )
    pipeline = MoviePipeline(tmp_path, config)
    (video_id, path), *_ = collect_videos([toy_videos[2]])
    report = pipeline.process(video_id, path)
    assert report.status == "failed" and report.failed_stage == "script"
    assert "gave no valid shot for keyframe 1" in report.error and "in 3 attempts" in report.error
    assert "--llm" in report.error and ATTEMPTS_FILE in report.error
    assert all(report.stages[s]["reused"] is False for s in ("keyframes", "people", "characters", "captions"))
    captions = json.loads((tmp_path / "work" / video_id / "captions" / "captions.json").read_text())
    assert captions["captioner"].startswith("vlm:")
    log = [
        json.loads(line) for line in (tmp_path / "work" / video_id / ATTEMPTS_FILE).read_text().splitlines()
    ]
    assert [e["step"] for e in log] == ["fuse", "extract", "format", "format", "format"]
    assert all(e["problems"] for e in log if e["step"] == "format")
    assert json.loads((tmp_path / "work" / video_id / "error.json").read_text())["stage"] == "script"
    assert not (tmp_path / "work" / video_id / "script").exists()


def test_the_ground_truth_path_yields_a_valid_script(toy_videos, tmp_path):
    config = PipelineConfig(
        keyframes=KeyframeConfig(every=EVERY), people=PeopleConfig(detector="ground-truth")
    )
    (video_id, path), *_ = collect_videos([toy_videos[0]])
    report = MoviePipeline(tmp_path, config).process(video_id, path, until="script")
    assert report.status == "stopped", report.error
    work = tmp_path / "work" / video_id
    script = script_from_json((work / "script" / "script.json").read_text())
    keyframes = json.loads((work / "keyframes" / "keyframes.json").read_text())["keyframes"]
    assert script.num_shots == len(keyframes)  # one shot per keyframe, as the token cache needs
    cast = {
        member["name"]
        for member in json.loads(path.with_name(path.stem + ".toy-cinema.json").read_text())["cast"]
    }
    assert {c.name for c in script.cast} <= cast  # characters carry their recorded names
    assert all(c.photos and c.description for c in script.cast)
    assert all((work / photo).is_file() for c in script.cast for photo in c.photos)
    assert any(shot.characters for _, _, shot in script.shots())
