"""A decoder whose face slots read its own VAE latents of the cast photos (face_source "vae")."""

import json
from pathlib import Path

import pytest
import torch

from core.encoders.face_latent import VaeFaceEmbedder
from core.files import open_rgb
from core.pipeline import GenerationSettings, build_tiny_bundle, load_pipeline
from core.pipeline.bundle import BundleError, load_bundle
from core.script import Script, keyframe_inputs

SAMPLES = Path(__file__).parents[3] / "assets" / "samples"
FAST = GenerationSettings(num_inference_steps=2, guidance_scale=2.0)


@pytest.fixture(scope="module")
def vae_faces_bundle(tmp_path_factory):
    return build_tiny_bundle(tmp_path_factory.mktemp("bundle") / "vae-faces", seed=0, face_source="vae")


@pytest.fixture(scope="module")
def sample():
    folder = SAMPLES / "short"
    script = Script.model_validate_json((folder / "script.json").read_text())
    return script, {c.name: [folder / p for p in c.photos] for c in script.cast}


def test_the_bundle_loads_the_decoder_s_own_face_embedder(vae_faces_bundle, tiny_bundle):
    bundle = load_bundle(vae_faces_bundle)
    assert isinstance(bundle.decoder_faces, VaeFaceEmbedder)
    assert bundle.decoder_face_embedder is bundle.decoder_faces
    assert bundle.decoder_faces.vae is bundle.decoder.vae  # no second copy of the VAE
    width = bundle.decoder.conditioner.config.face_dim
    assert bundle.decoder_faces.embedding_dim == width != bundle.faces.embedding_dim
    plain = load_bundle(tiny_bundle)  # a decoder trained on the bundle's face encoder
    assert plain.decoder_faces is None and plain.decoder_face_embedder is plain.faces


def test_the_decoder_gets_one_real_photo_per_character_and_the_ar_model_its_own_faces(
    vae_faces_bundle, sample
):
    script, photos = sample
    pipeline = load_pipeline(vae_faces_bundle)
    frames = keyframe_inputs(script)
    own = pipeline.encode_cast(photos, for_decoder=True)
    shared = pipeline.encode_cast(photos)
    for name, paths in photos.items():
        embeddings = pipeline.bundle.decoder_faces.embed_crops([open_rgb(p) for p in paths])  # (P, f)
        # the photo nearest the mean, not a blend the decoder never saw in training
        assert any(torch.allclose(own[name.casefold()], row) for row in embeddings)
        assert shared[name.casefold()].shape == (pipeline.bundle.faces.embedding_dim,)

    rendered, drawn = [], []
    render, stream = pipeline.render_many, pipeline.sampler.stream

    def spy_render(tokens, sentences, faces, **kwargs):
        rendered.extend(faces.clone())
        return render(tokens, sentences, faces, **kwargs)

    def spy_stream(frames_, sentences, faces, **kwargs):
        drawn.append(faces.clone())
        return stream(frames_, sentences, faces, **kwargs)

    pipeline.render_many, pipeline.sampler.stream = spy_render, spy_stream
    results = list(pipeline.generate(script, cast_photos=photos, targets=[0, 1, 2], settings=FAST))
    assert len(results) == 3 and all(r.image.size == results[0].image.size for r in results)
    expected = pipeline.decoder_face_slots(frames, photos)
    assert drawn[0].shape[-1] == pipeline.bundle.faces.embedding_dim  # the AR model: CLIP faces
    for t, faces in enumerate(rendered):
        assert torch.equal(faces, expected[t])
        named = {slot.slot for slot in frames[t].characters if slot.name in photos}
        assert {i for i in range(faces.shape[0]) if faces[i].abs().sum() > 0} == named


def test_no_faces_gives_the_decoder_empty_face_slots(vae_faces_bundle, sample):
    script, photos = sample
    pipeline = load_pipeline(vae_faces_bundle)
    seen = []
    render = pipeline.render_many

    def spy(tokens, sentences, faces, **kwargs):
        seen.append(faces.clone())
        return render(tokens, sentences, faces, **kwargs)

    pipeline.render_many = spy
    settings = GenerationSettings(num_inference_steps=2, guidance_scale=2.0, use_faces=False)
    list(pipeline.generate(script, cast_photos=photos, targets=[0], settings=settings))
    assert float(seen[0].abs().sum()) == 0.0


def test_a_decoder_whose_face_width_does_not_fit_its_face_source_is_refused(tmp_path):
    folder = build_tiny_bundle(tmp_path / "bad", seed=1, face_source="vae")
    config = folder / "decoder" / "conditioner" / "config.json"
    data = json.loads(config.read_text())
    data["face_size"] = 8  # the saved face MLP reads 16 x 16 photos
    config.write_text(json.dumps(data))
    with pytest.raises(BundleError, match="decoder's face embedder gives"):
        load_bundle(folder)
