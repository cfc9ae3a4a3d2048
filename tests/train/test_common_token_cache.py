import json

import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

from core.ar import ARConfig
from core.script import MAX_CHARACTERS_PER_SHOT, MAX_DESCRIPTIONS_PER_SHOT
from core.script.inputs import keyframe_inputs
from tests.core.ar.synthetic import TinyEncoders, write_movie
from train.common.token_cache import TokenCache

CONFIG = ARConfig.tiny()


@pytest.fixture()
def movies(tmp_path):
    return [write_movie(tmp_path / "data", f"movie{i}", num_shots=6 + i, seed=i) for i in range(2)]


def test_cache_holds_tokens_of_original_and_mirrored_frames_sentences_and_faces(tmp_path, movies):
    encoders = TinyEncoders(CONFIG)
    cache = encoders.build_cache(tmp_path / "cache", movies)
    assert cache.movie_ids("train") == ["movie0", "movie1"]
    assert cache.frame_counts == {"movie0": 6, "movie1": 7}
    assert cache.widths == {"token_dim": 8, "tokens_per_frame": 2, "sentence_dim": 16, "face_dim": 16}

    movie = cache.load("movie1")
    source = movies[1]
    images = [Image.open(p) for p in source.frame_paths]
    torch.testing.assert_close(movie.tokens, encoders.keyframes(images))
    torch.testing.assert_close(
        movie.tokens_flipped, encoders.keyframes([ImageOps.mirror(im) for im in images])
    )
    assert not torch.allclose(movie.tokens, movie.tokens_flipped)
    assert movie.script == source.script

    frames = keyframe_inputs(source.script)
    sentences = movie.frame_sentence_embeddings(frames, MAX_DESCRIPTIONS_PER_SHOT)  # (T, 15, e)
    assert sentences.shape == (7, MAX_DESCRIPTIONS_PER_SHOT, 16)
    for t, frame in enumerate(frames):
        torch.testing.assert_close(
            sentences[t, : len(frame.sentences)], encoders.sentences(list(frame.sentences))
        )
        assert bool((sentences[t, len(frame.sentences) :] == 0).all())

    # Faces: the cast photos first, then crops of the keyframes the character appears in.
    for name, rows in movie.faces.items():
        photos = [Image.open(p) for p in source.cast_photos[name]]
        assert movie.photo_counts[name] == len(photos)
        torch.testing.assert_close(rows[: len(photos)], encoders.faces(photos))
        appearances = sum(name in [c["name"] for c in gt["characters"]] for gt in source.ground_truth)
        assert rows.shape[0] == len(photos) + appearances


def test_faces_are_the_first_photo_unless_randomised(tmp_path, movies):
    cache = TinyEncoders(CONFIG).build_cache(tmp_path / "cache", movies)
    movie = cache.load("movie0")
    frames = keyframe_inputs(movie.script)
    fixed = movie.frame_face_embeddings(frames, MAX_CHARACTERS_PER_SHOT)
    drawn = [
        movie.frame_face_embeddings(frames, MAX_CHARACTERS_PER_SHOT, np.random.default_rng(s))
        for s in range(20)
    ]
    seen_rows: dict[str, set[int]] = {}
    for t, frame in enumerate(frames):
        assert bool((fixed[t, len(frame.characters) :] == 0).all())
        for character in frame.characters:
            faces = movie.faces[character.name]
            torch.testing.assert_close(fixed[t, character.slot], faces[0])
            for sample in drawn:
                matches = [i for i in range(len(faces)) if torch.equal(sample[t, character.slot], faces[i])]
                assert matches  # always a face of the same character
                seen_rows.setdefault(character.name, set()).update(matches)
    assert any(len(rows) > 2 for rows in seen_rows.values())  # photos and frame crops both drawn


def test_cached_movies_are_not_encoded_again(tmp_path, movies):
    encoders = TinyEncoders(CONFIG)
    encoders.build_cache(tmp_path / "cache", movies[:1])
    calls = dict(encoders.calls)
    cache = encoders.build_cache(tmp_path / "cache", movies)
    assert encoders.calls["keyframes"] == calls["keyframes"] + 2  # only movie1: originals + mirrored
    assert cache.movie_ids("train") == ["movie0", "movie1"]
    assert not list((tmp_path / "cache").glob("*.tmp"))


def test_a_cache_of_other_encoders_is_refused(tmp_path, movies):
    TinyEncoders(CONFIG, seed=0).build_cache(tmp_path / "cache", movies[:1])
    with pytest.raises(ValueError, match="built with other encoders"):
        TinyEncoders(CONFIG, seed=1).build_cache(tmp_path / "cache", movies)


def test_a_character_without_photos_is_refused(tmp_path, movies):
    movie = movies[0]
    appearing = next(c.name for frame in keyframe_inputs(movie.script) for c in frame.characters)
    movie.cast_photos[appearing] = []
    with pytest.raises(ValueError, match=f"{appearing!r} appears in movie movie0 but has no cast photos"):
        TinyEncoders(CONFIG).build_cache(tmp_path / "cache", [movie])


def test_an_encoder_returning_the_wrong_shape_is_reported(tmp_path, movies):
    encoders = TinyEncoders(CONFIG)
    encoders.keyframes = lambda images: torch.zeros(len(images), 16)  # (N, L*d) instead of (N, L, d)
    with pytest.raises(ValueError, match=r"keyframe encoder returned \(6, 16\) for 6 inputs"):
        encoders.build_cache(tmp_path / "cache", movies)
    assert not (tmp_path / "cache" / "movie0.safetensors").exists()


def test_opening_a_folder_without_a_cache_says_how_to_build_one(tmp_path):
    with pytest.raises(FileNotFoundError, match="holds no token cache"):
        TokenCache(tmp_path)
    (tmp_path / "index.json").write_text(json.dumps({"format": 99}))
    with pytest.raises(ValueError, match="rebuild the cache"):
        TokenCache(tmp_path)
