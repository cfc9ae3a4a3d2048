import numpy as np
import pytest

from train.data.world import CLIP_MOTIONS, CharacterSpec, FrameSpec, clip_specs, render_clip, render_keyframe


def _spec(pool, action="walk", size="full", weather="rain"):
    return FrameSpec(
        "street", "day", weather, "natural", size, "eye-level",
        (CharacterSpec(pool[0], 0.4, 0.0, action, "happy", 0.6), CharacterSpec(pool[1], 0.7, 0.2, "talk", "neutral", -0.5)),
    )  # fmt: skip


@pytest.mark.parametrize("motion", CLIP_MOTIONS)
def test_clip_has_the_requested_shape_and_starts_at_the_keyframe(pool, motion):
    spec = _spec(pool, size="medium")
    clip = render_clip(spec, motion, num_frames=8, seed=3)
    assert clip.shape == (8, 128, 224, 3) and clip.dtype == np.uint8
    assert np.array_equal(clip[0], np.asarray(render_keyframe(spec)[0]))
    # Something moves in every clip: the walker, the talker's mouth, the rain, the camera.
    assert np.abs(clip[-1].astype(np.int16) - clip[0]).mean() > 1.0
    assert np.array_equal(clip, render_clip(spec, motion, num_frames=8, seed=3))


def test_camera_motions_move_the_frame_in_their_direction(pool):
    spec = _spec(pool, action="stand", size="wide", weather="clear")
    pan = clip_specs(spec, "pan-right", 5)
    assert [s.pan for s in pan] == sorted(s.pan for s in pan) and pan[-1].pan > 0.1
    zoom = clip_specs(spec, "zoom-in", 5)
    assert zoom[0].zoom == 1.0 and zoom[-1].zoom > 1.2
    walk = clip_specs(_spec(pool), "static", 6)
    xs = [s.characters[0].x for s in walk]
    assert xs == sorted(xs) and xs[-1] > xs[0]  # facing right, so walking right
    assert [s.characters[1].x for s in walk] == [0.7] * 6  # the talker stays put


def test_clip_arguments_are_checked(pool):
    spec = _spec(pool)
    with pytest.raises(ValueError, match="unknown camera motion"):
        render_clip(spec, "spin", 4)
    with pytest.raises(ValueError, match="at least 2 frames"):
        render_clip(spec, "static", 1)
