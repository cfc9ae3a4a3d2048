"""The studio's fake pipeline and the real one both keep to the contract the studio codes
against (`core.pipeline.types.StoryboardGenerator`), so tests on the fake say something about
the studio with a real bundle."""

import inspect

import pytest

from core.pipeline.storyboard import StoryboardPipeline
from core.pipeline.types import GenerationSettings, StoryboardGenerator
from tests.studio.fake_pipeline import FakePipeline

PROPERTIES = ("bundle_id", "defaults", "face_encoder")
METHODS = ("encode_keyframe", "generate")


def _shape(function):
    """Parameter names, kinds and whether each has a default: what a caller relies on."""
    return [
        (p.name, p.kind, p.default is inspect.Parameter.empty)
        for p in inspect.signature(function).parameters.values()
    ]


def test_the_contract_is_what_the_studio_uses():
    members = {name for name in dir(StoryboardGenerator) if not name.startswith("_")}
    assert members == set(PROPERTIES) | set(METHODS)


@pytest.mark.parametrize("method", METHODS)
def test_the_real_and_the_fake_pipeline_take_the_contract_s_arguments(method):
    expected = _shape(getattr(StoryboardGenerator, method))
    assert _shape(getattr(StoryboardPipeline, method)) == expected
    assert _shape(getattr(FakePipeline, method)) == expected


def test_the_real_pipeline_has_the_contract_s_properties():
    for name in PROPERTIES:
        assert isinstance(inspect.getattr_static(StoryboardPipeline, name), property), name


def test_the_fake_pipeline_is_a_storyboard_generator():
    fake = FakePipeline()
    assert isinstance(fake, StoryboardGenerator)
    assert isinstance(fake.bundle_id, str) and isinstance(fake.defaults, GenerationSettings)
    assert fake.face_encoder is None
