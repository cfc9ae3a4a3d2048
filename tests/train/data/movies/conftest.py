"""Shared fixtures: short toy-cinema films rendered to MP4, a broken video, tiny model folders."""

from __future__ import annotations

import pytest

from train.data.movies.toy_video import render_toy_videos

# Keyframes every 5 frames of 8-12-frame shots: 2-3 keyframes a shot, a few dozen per film.
EVERY = 5


@pytest.fixture(scope="session")
def toy_videos(tmp_path_factory):
    """Three toy films of 6 shots (8-12 frames each, 10 fps) with their ground truth."""
    folder = tmp_path_factory.mktemp("films")
    return render_toy_videos(folder, 3, seed=3, shots=6, frames_per_shot=(8, 12), min_cast=2, max_cast=3)


@pytest.fixture(scope="session")
def broken_video(tmp_path_factory):
    """A file named like a video that holds no video."""
    path = tmp_path_factory.mktemp("broken") / "broken.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    return path


@pytest.fixture(scope="session")
def tiny_vlm(tmp_path_factory):
    from train.data.movies.tiny_models import build_tiny_vlm

    return build_tiny_vlm(tmp_path_factory.mktemp("vlm"))


@pytest.fixture(scope="session")
def tiny_llm(tmp_path_factory):
    from train.data.movies.tiny_models import build_tiny_llm

    return build_tiny_llm(tmp_path_factory.mktemp("llm"))


@pytest.fixture(scope="session")
def tiny_tokenizer(tmp_path_factory):
    """A tiny random stage-1 keyframe tokenizer folder (CLIP tower + compressor)."""
    from core.encoders.open_clip_encoder import OpenClipEncoder
    from core.tokenizer.keyframe_tokenizer import KeyframeTokenizer

    folder = tmp_path_factory.mktemp("tokenizer")
    clip = OpenClipEncoder.build("moviedreamer-clip-tiny", seed=0)
    tokenizer = KeyframeTokenizer.build(
        clip, num_tokens=2, token_dim=8, num_heads=2, blocks_before=1, blocks_after=1
    )
    tokenizer.save_pretrained(folder)
    return folder
