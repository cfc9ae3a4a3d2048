from pathlib import Path

import pytest
import torch
from PIL import Image

from core.encoders.face_clip import ClipFaceEmbedder
from core.encoders.face_haar import HaarFaceDetector
from core.encoders.face_insightface import find_insightface_models
from core.encoders.faces import FaceBox, FaceEncoder, NoFaceFound, make_face_encoder, square_crop
from core.encoders.open_clip_encoder import OpenClipEncoder


@pytest.fixture(scope="module")
def clip():
    return OpenClipEncoder.build("moviedreamer-clip-tiny", seed=0)


@pytest.fixture(scope="module")
def group_photo() -> Image.Image:
    """A real photo of five people that ships inside the insightface package."""
    import insightface

    path = Path(insightface.__file__).parent / "data" / "images" / "t1.jpg"
    return Image.open(path).convert("RGB")


def test_haar_finds_the_faces_in_a_real_photo(group_photo):
    boxes = HaarFaceDetector().detect(group_photo)
    assert len(boxes) >= 3
    for box in boxes:
        assert 0 <= box.x0 < box.x1 <= group_photo.width and 0 <= box.y0 < box.y1 <= group_photo.height
        assert box.landmarks is None


def test_a_blank_photo_reports_no_face_and_offers_the_whole_image(clip):
    encoder = FaceEncoder(HaarFaceDetector(), ClipFaceEmbedder(clip))
    blank = Image.new("RGB", (160, 120), (128, 128, 128))
    with pytest.raises(NoFaceFound) as err:
        encoder.embed(blank)
    message = str(err.value)
    assert "No face was found" in message and "160x120" in message and "use_whole_image=True" in message
    whole = encoder.embed(blank, use_whole_image=True)
    assert whole.shape == (32,) and torch.isfinite(whole).all()


def test_clip_face_embeddings_of_the_main_face(clip, group_photo):
    encoder = make_face_encoder("clip", clip=clip)
    assert isinstance(encoder.detector, HaarFaceDetector)
    assert encoder.embedding_dim == clip.embed_dim
    main = encoder.main_face(group_photo)
    assert main.area == max(b.area for b in encoder.find_faces(group_photo))
    emb = encoder.embed(group_photo)
    assert emb.shape == (32,)
    assert torch.allclose(emb.norm(), torch.tensor(1.0), atol=1e-5)
    crops = encoder.embed_crops([Image.new("RGB", (128, 128), c) for c in ((255, 0, 0), (0, 0, 255))])
    assert crops.shape == (2, 32)
    assert not torch.allclose(crops[0], crops[1])


def test_square_crop_adds_the_margin_and_stays_square():
    image = Image.new("RGB", (200, 100))
    crop = square_crop(image, FaceBox(50, 20, 90, 60), margin=0.25)
    assert crop.size == (60, 60)


def test_insightface_is_skipped_cleanly_without_local_models(tmp_path, clip):
    assert find_insightface_models(tmp_path, "buffalo_l") is None
    # With no models the detector falls back to Haar and nothing is downloaded.
    encoder = make_face_encoder("clip", clip=clip, insightface_root=tmp_path)
    assert isinstance(encoder.detector, HaarFaceDetector)
    with pytest.raises(FileNotFoundError, match="never downloaded"):
        make_face_encoder("insightface", insightface_root=tmp_path)
    with pytest.raises(ValueError, match="'clip' or 'insightface'"):
        make_face_encoder("arcface", clip=clip)


def test_insightface_backend_with_local_models(group_photo):
    root = Path("~/.insightface").expanduser()
    model_dir = find_insightface_models(root, "buffalo_l")
    if model_dir is None:
        pytest.skip("no insightface models under ~/.insightface/models/buffalo_l (they are never downloaded)")
    encoder = make_face_encoder("insightface", insightface_root=root)
    emb = encoder.embed(group_photo)
    assert emb.shape == (encoder.embedding_dim,)
    assert encoder.main_face(group_photo).landmarks is not None
