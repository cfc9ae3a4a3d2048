"""The toy-cinema world: a procedural movie generator with ground truth for every frame.

It is the project's training data, test data and benchmark ground truth (DESIGN.md,
section 5). Everything is deterministic from explicit seeds and rendered with Pillow and
numpy only. Frames are 224x128 RGB; cast photos are 128x128 RGB face crops.

In-memory API::

    from train.data.world import (
        make_identity_pool, split_identities, generate_movie,
        render_keyframe, render_face_photo, render_clip,
    )

    pool = make_identity_pool(seed=0, n=60)                 # list[Identity]
    train_ids, test_ids = split_identities(pool, 0.2, seed=0)
    movie = generate_movie(seed=7, identities=test_ids, num_shots=12)
    movie.script          # core.script.Script (cast descriptions, scenes, shots, dialogue)
    movie.frames          # list[FrameSpec], one per keyframe, in Script.shots() order
    movie.ground_truth    # list[dict], one per keyframe (the ground_truth.jsonl records)
    movie.photos          # identity id -> photo paths named in Script.cast[*].photos

    image, boxes = render_keyframe(movie.frames[0])  # PIL RGB 224x128, list[CharacterBoxes]
    photo = render_face_photo(test_ids[0], k=0, seed=7)   # PIL RGB 128x128
    clip = render_clip(movie.frames[0], movie.shot_motion(0), num_frames=12, seed=7)
    clip.shape            # (12, 128, 224, 3) uint8; clip[0] is the keyframe

Modules, one concept each:

* `cast`        identities from attributes, names, description sentences, pools and splits
* `faces`       cast photos (pose, scale, light, expression and background vary)
* `places`      the twelve places, their phrases and scene-element sentences
* `scenery`     drawing each place's backdrop (cached per place/time/weather/angle)
* `atmosphere`  time of day and weather: light, sky, fog, rain and snow overlays
* `camera`      frame size, supersampling, camera angles (pinhole ground plane), shot zoom
* `figure`      drawing one character: pose geometry, outfit, head, hair, accessories
* `blocking`    where characters stand for a shot size and angle; ground-truth boxes
* `styles`      per-movie colour grades (natural, pastel, noir, warm film, neon, ...)
* `spec`        `FrameSpec` / `CharacterSpec`: everything one frame needs, as frozen data
* `render`      spec -> keyframe image and boxes
* `movie`       the story engine: scenes, entrances/exits, plot, dialogue, camera
* `clips`       short motion clips that start at a keyframe
* `colour`      RGB tuple arithmetic

The dataset export lives in `train.data.toy_cinema`, the reader in `train.data.dataset`.
"""

from train.data.world.atmosphere import TIMES_OF_DAY, WEATHERS
from train.data.world.camera import CAMERA_ANGLES, FRAME_HEIGHT, FRAME_WIDTH, SHOT_SIZES
from train.data.world.cast import Identity, make_identity_pool, split_identities
from train.data.world.clips import CLIP_MOTIONS, clip_specs, render_clip
from train.data.world.faces import PHOTO_SIZE, render_face_photo, render_face_photo_with_box
from train.data.world.figure import ACTIONS, EXPRESSIONS
from train.data.world.movie import Movie, generate_movie, photo_path_by_identity, photo_path_by_name
from train.data.world.places import PLACES, Place
from train.data.world.render import CharacterBoxes, render_keyframe
from train.data.world.spec import CharacterSpec, FrameSpec
from train.data.world.styles import STYLES, Style, apply_style

__all__ = [
    "ACTIONS",
    "CAMERA_ANGLES",
    "CLIP_MOTIONS",
    "EXPRESSIONS",
    "FRAME_HEIGHT",
    "FRAME_WIDTH",
    "PHOTO_SIZE",
    "PLACES",
    "SHOT_SIZES",
    "STYLES",
    "TIMES_OF_DAY",
    "WEATHERS",
    "CharacterBoxes",
    "CharacterSpec",
    "FrameSpec",
    "Identity",
    "Movie",
    "Place",
    "Style",
    "apply_style",
    "clip_specs",
    "generate_movie",
    "make_identity_pool",
    "photo_path_by_identity",
    "photo_path_by_name",
    "render_clip",
    "render_face_photo",
    "render_face_photo_with_box",
    "render_keyframe",
    "split_identities",
]
