import numpy as np
import torch

from bench.video import vae_round_trip
from core.video.config import build_vae, preset


def test_the_vae_floor_frame_has_the_keyframe_size_and_range():
    torch.manual_seed(0)
    config = preset("tiny")
    vae = build_vae(config).eval()
    frame = np.random.default_rng(0).integers(0, 255, (config.height, config.width, 3), dtype=np.uint8)
    out = vae_round_trip(vae, frame)
    assert out.shape == (1, config.height, config.width, 3)
    assert out.dtype == np.float32 and out.min() >= 0.0 and out.max() <= 1.0
    assert np.array_equal(out, vae_round_trip(vae, frame))  # the latent mode: no sampling
