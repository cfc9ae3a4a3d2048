import json
from dataclasses import replace

import numpy as np
import pytest

from core.encoders.face_haar import HaarFaceDetector
from train.data.movies.characters import CharacterConfig, cluster_faces, find_characters, purity
from train.data.movies.errors import VideoError
from train.data.movies.ground_truth import casting_report
from train.data.movies.keyframes import KeyframeConfig, extract_keyframes, open_keyframe
from train.data.movies.people import (
    PEOPLE_FILE,
    FacePeople,
    GroundingDinoPeople,
    PeopleConfig,
    PeopleModels,
    find_people,
    load_people,
)
from train.data.movies.toy_video import ToyGroundTruth

from .conftest import EVERY


def _keyframes(video, root):
    folder = root / "keyframes"
    folder.mkdir(parents=True)
    return folder, extract_keyframes(video, folder, KeyframeConfig(every=EVERY))


def _people(folder, keyframes, keyframe_dir, detector, config):
    folder.mkdir(parents=True)
    models = PeopleModels(config)
    find_people(folder, keyframes, keyframe_dir, detector, models.embedder, config)
    return load_people(folder)


def test_face_clustering_recovers_the_toy_cast(toy_videos, tmp_path):
    """Ground-truth face boxes, embedded by the training-free colour-layout descriptor."""
    config = PeopleConfig(detector="ground-truth")
    reports = []
    for k, video in enumerate(toy_videos):
        truth = ToyGroundTruth.for_video(video)
        keyframe_dir, keyframes = _keyframes(video, tmp_path / f"v{k}")
        detector = PeopleModels(config).detector(truth, keyframes, video)
        people = _people(tmp_path / f"v{k}" / "people", keyframes, keyframe_dir, detector, config)
        assert people.embeddings.shape == (len(people.faces), 384)
        assert all(len(frame) <= 5 for frame in people.keyframes)
        reports.append(casting_report(truth, keyframes, people, find_characters(people, CharacterConfig())))
    # Coverage is judged over all faces: one film may hold only 9, where one stray cluster of 2
    # faces is 0.78 (measured over fixture seeds 1-8: films 0.78-1.0, pooled >= 0.89).
    for report in reports:
        assert report["purity"] >= 0.9, reports
        assert report["characters"] >= 1 and report["coverage"] >= 0.75, reports
    covered = sum(r["coverage"] * r["faces"] for r in reports) / sum(r["faces"] for r in reports)
    assert covered >= 0.85, reports
    assert sum(r["faces"] for r in reports) >= 30  # enough faces for the purity to mean something


def test_two_faces_in_one_keyframe_are_two_people():
    same = np.ones((2, 4), np.float32)
    assert cluster_faces(same, [0, 0], CharacterConfig()).tolist() == [0, 1]
    assert cluster_faces(same, [0, 1], CharacterConfig()).tolist() == [0, 0]
    assert purity([0, 0, 1, 1], ["a", "a", "a", "b"]) == 0.75


def test_haar_detection_is_the_offline_default_and_runs_end_to_end(toy_videos, tmp_path):
    config = PeopleConfig()  # haar + colour-layout
    assert (config.detector, config.face_embedder) == ("haar", "colour-layout")
    keyframe_dir, keyframes = _keyframes(toy_videos[1], tmp_path)
    detector = PeopleModels(config).detector(None, keyframes, toy_videos[1])
    assert isinstance(detector, FacePeople) and isinstance(detector.faces, HaarFaceDetector)
    people = _people(tmp_path / "people", keyframes, keyframe_dir, detector, config)
    data = json.loads((tmp_path / "people" / PEOPLE_FILE).read_text())
    assert len(data["keyframes"]) == len(keyframes.keyframes)
    for frame in people.keyframes:
        for person in frame:
            x0, y0, x1, y1 = person["face"]
            assert 0 <= x0 < x1 <= 224 and 0 <= y0 < y1 <= 128
    assert people.embeddings.shape[0] == len(people.faces)


def test_grounding_dino_through_transformers(tmp_path, toy_videos):
    """A tiny random Grounding DINO: the real loading, prompting and post-processing code path."""
    from train.data.movies.tiny_models import build_tiny_grounding_dino

    folder = build_tiny_grounding_dino(tmp_path / "gdino")
    config = PeopleConfig(
        detector="grounding-dino", grounding_dino=str(folder), person_threshold=0.0, text_threshold=0.0
    )
    keyframe_dir, keyframes = _keyframes(toy_videos[0], tmp_path)
    keyframes = replace(keyframes, keyframes=keyframes.keyframes[:2])
    detector = PeopleModels(config).detector(None, keyframes, toy_videos[0])
    assert isinstance(detector, GroundingDinoPeople)
    found = detector.detect(open_keyframe(keyframe_dir, keyframes.keyframes[0]), keyframes.keyframes[0])
    assert found, "with thresholds at 0 every query is a person"
    assert [p.score for p in found] == sorted((p.score for p in found), reverse=True)
    for person in found:
        x0, y0, x1, y1 = person.box
        assert 0 <= x0 < x1 <= 224 and 0 <= y0 < y1 <= 128
    people = _people(tmp_path / "people", keyframes, keyframe_dir, detector, config)
    assert all(len(frame) <= config.max_people for frame in people.keyframes)


def test_the_ground_truth_detector_refuses_real_films(toy_videos, tmp_path):
    _, keyframes = _keyframes(toy_videos[0], tmp_path)
    with pytest.raises(VideoError, match="toy-cinema videos.*--detector grounding-dino, insightface or haar"):
        PeopleModels(PeopleConfig(detector="ground-truth")).detector(None, keyframes, toy_videos[0])
    with pytest.raises(ValueError, match="needs --grounding-dino"):
        PeopleModels(PeopleConfig(detector="grounding-dino"))


def test_the_bundles_clip_can_embed_the_faces(tiny_tokenizer):
    """--face-embedder clip --clip BUNDLE/tokenizer/clip: the bundle's CLIP tower on face crops."""
    from PIL import Image

    from core.encoders.faces import FaceBox

    embedder = PeopleModels(PeopleConfig(face_embedder="clip", clip=str(tiny_tokenizer / "clip"))).embedder
    image = Image.new("RGB", (224, 128), (120, 90, 60))
    rows = embedder.embed_faces(image, [FaceBox(10, 10, 40, 40), FaceBox(100, 20, 130, 50)])
    assert rows.shape == (2, embedder.embedding_dim)
    assert np.allclose(rows.norm(dim=1).numpy(), 1.0, atol=1e-4)
