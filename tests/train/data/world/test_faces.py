import numpy as np
import pytest

from train.data.world import PHOTO_SIZE, render_face_photo, render_face_photo_with_box


def test_face_photos_are_128_square_deterministic_and_varied(pool):
    identity = pool[0]
    photo = render_face_photo(identity, 0, seed=4)
    assert photo.size == (PHOTO_SIZE, PHOTO_SIZE) == (128, 128) and photo.mode == "RGB"
    assert photo.tobytes() == render_face_photo(identity, 0, seed=4).tobytes()
    others = [render_face_photo(identity, k, seed=4) for k in (1, 2)] + [
        render_face_photo(identity, 0, seed=5)
    ]
    for other in others:
        assert np.abs(np.asarray(other, np.int16) - np.asarray(photo)).mean() > 5


def test_face_box_covers_a_large_central_part_of_the_photo(pool):
    for identity in pool[:8]:
        for k in range(3):
            _photo, (x0, y0, x1, y1) = render_face_photo_with_box(identity, k, seed=0)
            assert 0 <= x0 < x1 <= 128 and 0 <= y0 < y1 <= 128
            assert 35 <= x1 - x0 <= 110 and 40 <= y1 - y0 <= 110
            assert 30 < (x0 + x1) / 2 < 98


def test_negative_photo_index_is_refused(pool):
    with pytest.raises(ValueError, match="negative"):
        render_face_photo(pool[0], -1, seed=0)
