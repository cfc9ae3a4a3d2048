import pytest
import torch
from diffusers import DDPMScheduler

from core.decoder.architectures import build_unet, default_scheduler
from core.decoder.conditioning import DecoderConditioner
from core.decoder.diffusion_loss import diffusion_loss


@pytest.fixture(scope="module")
def parts():
    torch.manual_seed(0)
    unet = build_unet("tiny", cross_attention_dim=16, sample_size=(8, 14))
    cond = DecoderConditioner(token_dim=8, num_tokens=2, context_dim=16, description_dim=12, face_dim=10)
    return unet, cond


def _loss(unet, cond, scheduler, seed, noise_offset=0.05):
    g = torch.Generator().manual_seed(seed)
    latents = torch.randn(4, 4, 8, 14, generator=torch.Generator().manual_seed(9))
    condition = cond(
        torch.randn(4, 2, 8, generator=torch.Generator().manual_seed(8)), apply_masking=True, generator=g
    )
    return diffusion_loss(
        unet, scheduler, latents, condition, image_size=(32, 56), noise_offset=noise_offset, generator=g
    )


def test_loss_is_finite_and_trains_every_part(parts):
    unet, cond = parts
    unet.zero_grad(), cond.zero_grad()
    loss = _loss(unet, cond, default_scheduler(), 0)
    assert loss.ndim == 0 and torch.isfinite(loss) and loss > 0
    loss.backward()
    assert all(p.grad is not None for p in unet.parameters())
    assert cond.token_proj.weight.grad is not None


def test_generator_makes_the_loss_reproducible(parts):
    unet, cond = parts
    with torch.no_grad():
        a, b, c = (_loss(unet, cond, default_scheduler(), s) for s in (0, 0, 1))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_noise_offset_and_v_prediction(parts):
    unet, cond = parts
    with torch.no_grad():
        plain = _loss(unet, cond, default_scheduler(), 0, noise_offset=0.0)
        offset = _loss(unet, cond, default_scheduler(), 0, noise_offset=0.05)
        v = _loss(unet, cond, DDPMScheduler(prediction_type="v_prediction"), 0)
    assert not torch.equal(plain, offset)
    assert torch.isfinite(v)
    with pytest.raises(ValueError, match="epsilon"):
        _loss(unet, cond, DDPMScheduler(prediction_type="sample"), 0)


def test_the_zero_terminal_snr_schedule_trains_v_and_samples_from_pure_noise(parts):
    unet, cond = parts
    scheduler = default_scheduler("v_zero_snr")
    assert scheduler.config.prediction_type == "v_prediction"
    assert float(scheduler.alphas_cumprod[-1]) == pytest.approx(0.0, abs=1e-12)  # no signal left at T
    assert float(default_scheduler().alphas_cumprod[-1]) > 1e-3  # SD's schedule leaks the frame's mean
    scheduler.set_timesteps(20)
    assert int(scheduler.timesteps[0]) == 999  # "trailing": the first step is the pure-noise level
    with torch.no_grad():
        assert torch.isfinite(_loss(unet, cond, scheduler, 0))
    with pytest.raises(ValueError, match="v_zero_snr"):
        default_scheduler("cosine")


def test_min_snr_weighting_changes_the_loss_and_stays_reproducible(parts):
    unet, cond = parts
    for scheduler in (default_scheduler(), default_scheduler("v_zero_snr")):
        with torch.no_grad():
            plain = _loss(unet, cond, scheduler, 3)
            g = torch.Generator().manual_seed(3)
            latents = torch.randn(4, 4, 8, 14, generator=torch.Generator().manual_seed(9))
            tokens = torch.randn(4, 2, 8, generator=torch.Generator().manual_seed(8))
            condition = cond(tokens, apply_masking=True, generator=g)
            weighted = diffusion_loss(
                unet,
                scheduler,
                latents,
                condition,
                image_size=(32, 56),
                noise_offset=0.05,
                generator=g,
                snr_gamma=5.0,
            )
        assert torch.isfinite(weighted) and weighted > 0 and not torch.equal(weighted, plain)
