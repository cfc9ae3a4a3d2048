import numpy as np
import pytest

from core.video.encoding import write_frames_mp4
from train.data.movies.errors import VideoError
from train.data.movies.keyframes import KeyframeConfig, centre_crop, extract_keyframes, load_keyframes
from train.data.movies.toy_video import ToyGroundTruth

from .conftest import EVERY


def test_keyframes_follow_the_shots_and_mark_the_cuts(toy_videos, tmp_path):
    video = toy_videos[0]
    truth = ToyGroundTruth.for_video(video)
    result = extract_keyframes(video, tmp_path, KeyframeConfig(every=EVERY))
    assert result.num_frames == truth.data["num_frames"] and result.fps == pytest.approx(10.0)
    assert load_keyframes(tmp_path) == result
    found = {k.frame for k in result.keyframes if k.cut}
    true_cuts = set(truth.cut_frames)
    # Every marked cut is a real one; cuts between near-identical framings may go unseen.
    assert found <= true_cuts and len(found) >= 0.8 * len(true_cuts)
    frames = [k.frame for k in result.keyframes]
    assert frames == sorted(frames) and frames[0] == 0
    for keyframe in result.keyframes:
        shot_start = max([0, *[f for f in found if f <= keyframe.frame]])
        assert (keyframe.frame - shot_start) % EVERY == 0  # the count restarts at each cut
        with open(tmp_path / keyframe.file, "rb") as handle:
            assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
    assert result.size == (224, 128)


def test_near_duplicates_are_skipped_and_frames_are_cropped_to_7_by_4(tmp_path):
    # A square static film: every keyframe after the first would repeat it.
    frames = np.zeros((40, 160, 160, 3), np.uint8)
    frames[:, 40:120, 60:100] = (200, 30, 30)
    write_frames_mp4(frames, 10, tmp_path / "still.mp4")
    out = tmp_path / "k"
    out.mkdir()
    result = extract_keyframes(tmp_path / "still.mp4", out, KeyframeConfig(every=5))
    assert len(result.keyframes) == 1
    assert result.crop == centre_crop((160, 160), 224 / 128) == (0, 34, 160, 125)
    # A box in video pixels lands where the crop and resize put it.
    assert result.to_keyframe((0, 34, 160, 125)) == pytest.approx((0, 0, 224, 128))


def test_a_malformed_video_is_refused_with_a_sentence(broken_video, tmp_path):
    with pytest.raises(VideoError, match="could not be decoded.*leave it out of the input"):
        extract_keyframes(broken_video, tmp_path, KeyframeConfig())
