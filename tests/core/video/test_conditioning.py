import pytest
import torch

from core.video.conditioning import added_time_ids, condition_channels, motion_bucket


def test_svd_layout_repeats_the_first_latent_over_frames():
    first = torch.randn(2, 4, 3, 5)
    out = condition_channels(first, 6)
    assert out.shape == (2, 6, 4, 3, 5)
    assert torch.equal(out[:, 3], first)
    with pytest.raises(ValueError, match="no last-frame channels"):
        condition_channels(first, 6, last_latents=first)


def test_first_last_layout_has_a_mask():
    first, last = torch.randn(1, 4, 3, 5), torch.randn(1, 4, 3, 5)
    with_last = condition_channels(first, 5, last, first_last=True)
    without = condition_channels(first, 5, None, first_last=True)
    assert with_last.shape == without.shape == (1, 5, 9, 3, 5)
    assert torch.equal(with_last[:, 2, 4:8], last) and torch.all(with_last[:, :, 8] == 1)
    assert torch.all(without[:, :, 4:] == 0)


def test_micro_conditioning_follows_svd():
    ids = added_time_ids(fps=7, motion_bucket_id=127, noise_aug_strength=0.02, batch_size=3)
    assert ids.shape == (3, 3)
    assert ids[0].tolist() == pytest.approx([6.0, 127.0, 0.02])


def test_motion_bucket_grows_with_motion():
    still = torch.zeros(1, 4, 3, 8, 8)
    moving = torch.linspace(-1, 1, 4).view(1, 4, 1, 1, 1).expand(1, 4, 3, 8, 8)
    assert motion_bucket(still, 0.08).item() == 0
    assert motion_bucket(moving * 0.1, 0.08).item() > 0
    assert motion_bucket(moving, 0.08).item() == 255
