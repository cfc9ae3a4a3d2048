import numpy as np
import pytest

from train.data.world import (
    CAMERA_ANGLES,
    PLACES,
    SHOT_SIZES,
    STYLES,
    TIMES_OF_DAY,
    WEATHERS,
    CharacterSpec,
    FrameSpec,
    generate_movie,
    make_identity_pool,
    render_face_photo_with_box,
    render_keyframe,
)


def _spec(identities, **kw):
    base = dict(
        place="park",
        time_of_day="day",
        weather="clear",
        style="natural",
        shot_size="wide",
        camera_angle="eye-level",
    )
    base.update(kw)
    characters = tuple(
        CharacterSpec(
            identity,
            x=(i + 0.5) / len(identities),
            depth=0.2 * i,
            action="talk",
            expression="happy",
            facing=0.3,
        )
        for i, identity in enumerate(identities)
    )
    return FrameSpec(characters=characters, **base)


def test_keyframe_is_a_224x128_rgb_image_with_identical_pixels_on_every_render(pool):
    spec = _spec(pool[:3], place="harbour", weather="rain", style="neon", camera_angle="dutch")
    first, boxes = render_keyframe(spec)
    assert first.size == (224, 128) and first.mode == "RGB"
    # Render other scenes in between: the per-process caches must not change a frame.
    for place in ("desert", "kitchen"):
        render_keyframe(_spec(pool[3:5], place=place))
    again, boxes_again = render_keyframe(spec)
    assert first.tobytes() == again.tobytes()
    assert boxes == boxes_again
    assert [b.name for b in boxes] == [i.name for i in pool[:3]]


def test_every_place_and_time_of_day_renders_and_looks_different(pool):
    images = {}
    for place in PLACES:
        for time_of_day in TIMES_OF_DAY:
            image, _ = render_keyframe(_spec(pool[:2], place=place, time_of_day=time_of_day))
            images[place, time_of_day] = np.asarray(image, np.float32)
    # Places differ from each other at the same time of day...
    for time_of_day in TIMES_OF_DAY:
        keys = [(p, time_of_day) for p in PLACES]
        for a in range(len(keys)):
            for b in range(a):
                assert np.abs(images[keys[a]] - images[keys[b]]).mean() > 12, (keys[a], keys[b])
    # ...and night is much darker than day everywhere.
    for place in PLACES:
        day, night = images[place, "day"].mean(), images[place, "night"].mean()
        assert night < 0.75 * day, place
        assert np.abs(images[place, "sunset"] - images[place, "day"]).mean() > 10, place


@pytest.mark.parametrize(
    "field,values",
    [
        ("weather", WEATHERS),
        ("style", tuple(STYLES)),
        ("camera_angle", CAMERA_ANGLES),
        ("shot_size", SHOT_SIZES),
    ],
)
def test_every_weather_style_angle_and_shot_size_renders_differently(pool, field, values):
    frames = [
        np.asarray(render_keyframe(_spec(pool[:1], place="street", **{field: v}))[0], np.float32)
        for v in values
    ]
    for a in range(len(frames)):
        for b in range(a):
            assert np.abs(frames[a] - frames[b]).mean() > 3, (values[a], values[b])


def test_unknown_names_are_refused_with_the_allowed_values(pool):
    for field, value, message in (
        ("place", "moon", "unknown place"),
        ("time_of_day", "noon", "unknown time of day"),
        ("weather", "hail", "unknown weather"),
        ("style", "vhs", "unknown style"),
        ("shot_size", "huge", "unknown shot size"),
        ("camera_angle", "worm", "unknown camera angle"),
    ):
        with pytest.raises(ValueError, match=message):
            render_keyframe(_spec(pool[:1], **{field: value}))


def test_ground_truth_boxes_lie_inside_the_frame_and_faces_inside_bodies(pool):
    movie = generate_movie(11, pool, num_shots=60)
    for spec, truth in zip(movie.frames, movie.ground_truth, strict=True):
        _image, boxes = render_keyframe(spec)
        assert [b.to_json() for b in boxes] == truth["characters"]
        for b in boxes:
            x0, y0, x1, y1 = b.box
            assert 0 <= x0 < x1 <= 224 and 0 <= y0 < y1 <= 128
            f0, g0, f1, g1 = b.face_box
            assert 0 <= f0 < f1 <= 224 and 0 <= g0 < g1 <= 128
            assert x0 <= f0 and y0 <= g0 and f1 <= x1 and g1 <= y1


def test_face_size_grows_with_the_shot_size(pool):
    heights = []
    for size in ("extreme-wide", "wide", "full", "medium", "close-up"):
        _, boxes = render_keyframe(_spec(pool[:1], shot_size=size))
        x0, y0, x1, y1 = boxes[0].face_box
        heights.append(y1 - y0)
    assert heights == sorted(heights) and heights[0] < heights[-1] / 5
    assert heights[-1] >= 55  # a close-up shows a large face


def _mean(a: np.ndarray, box) -> np.ndarray:
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    x0, y0 = max(x0, 0), max(y0, 0)
    x1, y1 = min(x1, a.shape[1]), min(y1, a.shape[0])
    return a[y0:y1, x0:x1].reshape(-1, 3).mean(0)


def _identity_features(image, face_box) -> np.ndarray:
    """Mean colours of the hair (top of the face box), the skin (cheeks) and the outfit (below the chin)."""
    a = np.asarray(image, np.float32) / 255
    x0, y0, x1, y1 = face_box
    w, h = x1 - x0, y1 - y0
    hair = _mean(a, (x0 + 0.3 * w, y0, x1 - 0.3 * w, y0 + 0.18 * h))
    skin = _mean(a, (x0 + 0.3 * w, y0 + 0.62 * h, x1 - 0.3 * w, y0 + 0.74 * h))
    outfit = _mean(a, (x0 + 0.1 * w, y1 + 0.25 * h, x0 + 0.35 * w, y1 + 0.45 * h))
    return np.concatenate([hair, skin, outfit])


def test_identities_differ_measurably_and_agree_across_frames_and_photos():
    """Region colours inside ground-truth face boxes identify a character.

    Each identity is rendered in 6 frames that vary place, shot size, action, expression
    and head turn, plus 4 cast photos with their own light and backgrounds. A nearest-
    centroid classifier on 9 numbers (hair, skin, outfit mean RGB) must recognise frames
    (leave-one-out) and photos (against frame centroids).
    """
    pool = make_identity_pool(3, 12)
    places = ("park", "office", "beach", "street", "kitchen", "desert")
    sizes = ("full", "medium", "close-up", "medium", "full", "close-up")
    actions = ("stand", "talk", "raise-arms", "point", "walk", "stand")
    expressions = ("neutral", "happy", "sad", "surprised", "angry", "happy")
    frames, frame_labels, photos, photo_labels = [], [], [], []
    for label, identity in enumerate(pool):
        for j in range(6):
            character = CharacterSpec(
                identity, 0.3 + 0.08 * j, 0.2, actions[j], expressions[j], (-0.4, 0.0, 0.4)[j % 3], 0.1 * j
            )
            spec = FrameSpec(places[j], "day", "clear", "natural", sizes[j], "eye-level", (character,))
            image, boxes = render_keyframe(spec)
            frames.append(_identity_features(image, boxes[0].face_box))
            frame_labels.append(label)
        for k in range(4):
            image, face_box = render_face_photo_with_box(identity, k, seed=11)
            photos.append(_identity_features(image, face_box))
            photo_labels.append(label)
    frames, frame_labels = np.array(frames), np.array(frame_labels)
    photos, photo_labels = np.array(photos), np.array(photo_labels)

    correct = 0
    for n in range(len(frames)):
        keep = np.arange(len(frames)) != n
        centroids = np.array([frames[keep & (frame_labels == c)].mean(0) for c in range(len(pool))])
        correct += int(np.argmin(((centroids - frames[n]) ** 2).sum(1)) == frame_labels[n])
    assert correct / len(frames) >= 0.95

    pairs = [(a, b) for a in range(len(frames)) for b in range(a)]
    within = np.mean(
        [np.linalg.norm(frames[a] - frames[b]) for a, b in pairs if frame_labels[a] == frame_labels[b]]
    )
    between = np.mean(
        [np.linalg.norm(frames[a] - frames[b]) for a, b in pairs if frame_labels[a] != frame_labels[b]]
    )
    assert within < 0.25 * between

    centroids = np.array([frames[frame_labels == c].mean(0) for c in range(len(pool))])
    predicted = np.argmin(((photos[:, None, :] - centroids[None]) ** 2).sum(-1), axis=1)
    assert (predicted == photo_labels).mean() >= 0.8
