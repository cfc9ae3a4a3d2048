"""The studio's model cache: bundle folders resolved with clear sentences, each model loaded
once, only the most recent few kept."""

from __future__ import annotations

import pytest

from studio.errors import StudioError
from studio.services import ModelCache


def loader(calls):
    def load(path, device):
        calls.append((path.name, device))
        return object()

    return load


def test_bundle_path_prefers_the_project_setting(tmp_path):
    default, root = tmp_path / "default", tmp_path / "bundles"
    own = root / "paper"
    default.mkdir()
    own.mkdir(parents=True)
    (own / "manifest.json").write_text("{}")
    (root / "not-a-bundle").mkdir()
    cache = ModelCache(default_bundle=default, bundle_roots=[root])
    assert cache.bundle_path(None) == default.resolve()
    assert cache.bundle_path("  ") == default.resolve()
    assert cache.bundle_path(str(own)) == own.resolve()
    assert [(b.name, b.default) for b in cache.offered_bundles()] == [("default", True), ("paper", False)]
    # anything else on the server is refused, existing or not
    for folder in [
        "/etc",
        str(root / "not-a-bundle"),
        str(tmp_path / "missing"),
        str(root / ".." / "default2"),
    ]:
        with pytest.raises(
            StudioError, match="is not one of the bundles this studio offers; choose a bundle"
        ):
            cache.bundle_path(folder)
    with pytest.raises(StudioError, match="default model bundle is not installed"):
        ModelCache(default_bundle=tmp_path / "absent").bundle_path(None)


def test_models_load_once_and_the_oldest_is_unloaded(tmp_path):
    calls = []
    cache = ModelCache(default_bundle=tmp_path, keep=2, storyboard_loader=loader(calls), device="cpu")
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    first = cache.storyboard(a)
    assert cache.storyboard(a) is first and calls == [("a", "cpu")]
    cache.storyboard(b)
    assert cache.loaded("storyboard", a) is first
    cache.storyboard(c)  # a is the least recently used
    assert cache.loaded("storyboard", a) is None and cache.loaded("storyboard", c) is not None
    assert cache.storyboard(a) is not first
    assert [name for name, _ in calls] == ["a", "b", "c", "a"]
    cache.clear()
    assert cache.loaded("storyboard", b) is None


def test_a_bundle_without_a_video_model_is_a_sentence(tmp_path):
    with pytest.raises(StudioError, match="has no video model"):
        ModelCache.video_folder(tmp_path)
    (tmp_path / "video").mkdir()
    (tmp_path / "video" / "model_index.json").write_text("{}")
    assert ModelCache.video_folder(tmp_path) == tmp_path / "video"


def test_a_missing_pipeline_package_or_broken_bundle_is_a_sentence(tmp_path):
    # The real loader: core.pipeline's BundleError (or its absence) becomes a StudioError.
    cache = ModelCache(default_bundle=tmp_path)
    with pytest.raises(StudioError) as raised:
        cache.storyboard(tmp_path)
    assert str(raised.value).endswith(".")
    assert "Traceback" not in str(raised.value)


def test_the_manifest_names_the_video_model(tmp_path):
    import json

    components = {name: {"path": name} for name in ("tokenizer", "decoder", "ar")}
    components["video"] = {"path": "shared/video-model"}
    (tmp_path / "manifest.json").write_text(json.dumps({"name": "b", "components": components}))
    (tmp_path / "shared" / "video-model").mkdir(parents=True)
    (tmp_path / "shared" / "video-model" / "model_index.json").write_text("{}")
    assert ModelCache.video_folder(tmp_path) == tmp_path / "shared" / "video-model"
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(StudioError, match="is not valid JSON"):
        ModelCache.video_folder(tmp_path)
