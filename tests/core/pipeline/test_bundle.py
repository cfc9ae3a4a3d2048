import json
import shutil

import pytest

from core.pipeline import BundleError, load_bundle, read_manifest


def test_tiny_bundle_loads_with_matching_widths(tiny_bundle):
    bundle = load_bundle(tiny_bundle)
    assert bundle.manifest.name == "tiny-random"
    assert bundle.tokenizer.num_tokens == bundle.ar.config.tokens_per_frame == 2
    assert bundle.decoder.conditioner.config.face_dim == bundle.faces.embedding_dim
    assert bundle.bundle_id.startswith("tiny-random@")


def test_missing_folder_says_so(tmp_path):
    with pytest.raises(BundleError, match="does not exist"):
        read_manifest(tmp_path / "nowhere")


def test_folder_without_manifest_says_so(tmp_path):
    with pytest.raises(BundleError, match="has no manifest.json"):
        read_manifest(tmp_path)


def test_invalid_json_names_line_and_column(tmp_path):
    (tmp_path / "manifest.json").write_text('{"name": "x",\n  oops}')
    with pytest.raises(BundleError, match=r"line 2, column 3"):
        read_manifest(tmp_path)


def test_manifest_missing_a_component_names_it(tmp_path):
    (tmp_path / "manifest.json").write_text(
        json.dumps({"name": "x", "components": {"tokenizer": {"path": "t"}}})
    )
    with pytest.raises(BundleError, match=r"components\.decoder"):
        read_manifest(tmp_path)


def test_newer_manifest_version_is_refused(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps({"name": "x", "version": 99, "components": {}}))
    with pytest.raises(BundleError, match="update MovieDreamer Studio"):
        read_manifest(tmp_path)


def test_missing_component_folder_is_named(tiny_bundle, tmp_path):
    copy = shutil.copytree(tiny_bundle, tmp_path / "copy")
    shutil.rmtree(copy / "ar")
    with pytest.raises(BundleError, match=r"the ar folder .*copy/ar is missing"):
        load_bundle(copy)


def test_components_that_do_not_fit_together_are_refused(tiny_bundle, tmp_path):
    from core.ar.model import ARConfig, KeyframeAR
    from core.script.inputs import IDENTIFIER_VOCABULARY

    copy = shutil.copytree(tiny_bundle, tmp_path / "copy")
    shutil.rmtree(copy / "ar")
    KeyframeAR.from_config(
        ARConfig.tiny(token_dim=4, sentence_dim=384, face_dim=32), IDENTIFIER_VOCABULARY
    ).save_pretrained(copy / "ar")
    with pytest.raises(BundleError, match="visual-token width of 4"):
        load_bundle(copy)


def test_paper_scale_template_is_a_valid_manifest():
    from pathlib import Path

    template = Path(__file__).parents[3] / "assets" / "bundles" / "paper-scale"
    manifest = read_manifest(template)
    assert manifest.components.descriptions.kind == "open_clip_text"
    assert manifest.components.faces.kind == "insightface"
    assert manifest.components.video is not None


def _manifest_with(folder, **fields):
    components = {name: {"path": name} for name in ("tokenizer", "decoder", "ar")}
    (folder / "manifest.json").write_text(json.dumps({"name": "x", "components": components, **fields}))


def test_the_manifest_holds_the_generation_settings_and_the_sampler_config_themselves(tmp_path):
    from core.ar.sampler import SamplerConfig
    from core.pipeline import GenerationSettings

    _manifest_with(
        tmp_path,
        sampler={"context_frames": 64, "keep_frames": 16},
        defaults={"num_inference_steps": 8, "guidance_scale": 2.5},
    )
    manifest = read_manifest(tmp_path)
    assert manifest.defaults == GenerationSettings(num_inference_steps=8, guidance_scale=2.5)
    assert manifest.sampler == SamplerConfig(context_frames=64, keep_frames=16)
    manifest.save(tmp_path)
    assert read_manifest(tmp_path) == manifest


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"defaults": {"steps": 8}}, r"defaults\.steps"),
        ({"defaults": {"num_inference_steps": 0}}, r"defaults\.num_inference_steps"),
        ({"sampler": {"context_frames": 8, "keep_frames": 8}}, r"keep_frames \(8\) must be between 0 and"),
    ],
)
def test_wrong_settings_in_a_manifest_are_named(tmp_path, fields, says):
    _manifest_with(tmp_path, **fields)
    with pytest.raises(BundleError, match=says):
        read_manifest(tmp_path)


def test_a_face_encoder_that_cannot_be_made_is_a_bundle_error(tiny_bundle, tmp_path):
    copy = shutil.copytree(tiny_bundle, tmp_path / "copy")
    (tmp_path / "insightface").mkdir()  # exists, but holds no models
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["components"]["faces"] = {"kind": "insightface", "root": str(tmp_path / "insightface")}
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match=r"The face encoder of the model bundle .* no insightface models"):
        load_bundle(copy)
