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
