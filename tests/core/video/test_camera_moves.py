import numpy as np
import pytest

from core.script import CameraMotion
from core.video.camera_moves import CameraMoveConfig, affine_for_window, crop_window


@pytest.mark.parametrize("motion", list(CameraMotion))
def test_every_window_stays_inside_the_image(motion):
    for u in np.linspace(0, 1, 21):
        w = crop_window(motion, float(u), seconds=float(u) * 4, seed=3)
        assert 0 < w.scale <= 1
        assert w.cx - w.scale / 2 >= -1e-9 and w.cx + w.scale / 2 <= 1 + 1e-9
        assert w.cy - w.scale / 2 >= -1e-9 and w.cy + w.scale / 2 <= 1 + 1e-9


def test_moves_go_the_right_way():
    cfg = CameraMoveConfig()
    assert crop_window(CameraMotion.STATIC, 0.7) == crop_window(CameraMotion.STATIC, 0.1)
    assert crop_window(CameraMotion.ZOOM_IN, 0).scale == pytest.approx(1.0)
    assert crop_window(CameraMotion.ZOOM_IN, 1).scale == pytest.approx(1 / cfg.zoom_factor)
    assert crop_window(CameraMotion.ZOOM_OUT, 1).scale == pytest.approx(1.0)
    assert crop_window(CameraMotion.DOLLY_IN, 1).scale < crop_window(CameraMotion.ZOOM_IN, 1).scale
    # panning left shows what is to the left: the window travels towards x = 0
    assert crop_window(CameraMotion.PAN_LEFT, 1).cx < crop_window(CameraMotion.PAN_LEFT, 0).cx
    assert crop_window(CameraMotion.PAN_RIGHT, 1).cx > crop_window(CameraMotion.PAN_RIGHT, 0).cx
    assert crop_window(CameraMotion.TILT_UP, 1).cy < crop_window(CameraMotion.TILT_UP, 0).cy
    assert crop_window(CameraMotion.TILT_DOWN, 1).cy > crop_window(CameraMotion.TILT_DOWN, 0).cy


def test_moves_are_smooth():
    # eased: no jump between consecutive frames bigger than twice the average step
    xs = [crop_window(CameraMotion.PAN_RIGHT, u).cx for u in np.linspace(0, 1, 97)]
    steps = np.abs(np.diff(xs))
    assert steps.max() <= 2 * steps.mean() * 1.0001
    assert steps[0] < steps[48] and steps[-1] < steps[48]  # eases in and out


def test_handheld_depends_on_seed_not_randomness():
    a = crop_window(CameraMotion.HANDHELD, 0.5, seconds=1.3, seed=1)
    assert a == crop_window(CameraMotion.HANDHELD, 0.5, seconds=1.3, seed=1)
    assert a != crop_window(CameraMotion.HANDHELD, 0.5, seconds=1.3, seed=2)


def test_full_window_maps_pixels_onto_themselves():
    import cv2

    image = np.random.default_rng(0).integers(0, 255, (16, 28, 3), dtype=np.uint8)
    matrix = affine_for_window(crop_window(CameraMotion.STATIC, 0), (28, 16), (28, 16))
    out = cv2.warpAffine(image, matrix, (28, 16), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
    assert np.array_equal(out, image)
