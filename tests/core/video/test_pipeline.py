import numpy as np
import pytest
import torch

from core.progress import Cancelled
from core.video.config import (
    build_random_pipeline,
    build_unet,
    expand_unet_for_first_last,
    preset,
)
from core.video.image_embedder import embed_images
from core.video.pipeline import AnchoredVideoPipeline

CFG = preset("tiny")


def _pipeline(first_last=True, seed=0, anchor_tokens=False):
    return build_random_pipeline(
        preset("tiny", first_last=first_last), seed=seed, anchor_tokens=anchor_tokens
    )


@pytest.fixture(scope="module")
def pipe():
    return _pipeline()


def _image(seed=0):
    return np.random.default_rng(seed).integers(0, 255, (CFG.height, CFG.width, 3), dtype=np.uint8)


def _run(pipe, **kwargs):
    kwargs.setdefault("num_inference_steps", 2)
    kwargs.setdefault("generator", torch.Generator().manual_seed(0))
    image = kwargs.pop("image", _image())
    return pipe(image, **kwargs).frames


class _RecordContext:
    """Wraps the UNet's forward to record the cross-attention context of every call."""

    def __init__(self, pipe):
        self.pipe, self.calls = pipe, []

    def __enter__(self):
        unet = self.pipe.unet
        self.original = unet.forward

        def forward(sample, timestep, encoder_hidden_states, added_time_ids, return_dict=True):
            self.calls.append((encoder_hidden_states.clone(), sample.clone()))
            return self.original(
                sample, timestep, encoder_hidden_states, added_time_ids, return_dict=return_dict
            )

        unet.forward = forward
        return self

    def __exit__(self, *exc):
        self.pipe.unet.forward = self.original


def test_shapes_for_one_and_several_segments(pipe):
    frames = _run(pipe)
    assert frames.shape == (1, CFG.num_frames, CFG.height, CFG.width, 3)
    assert frames.dtype == np.float32 and frames.min() >= 0 and frames.max() <= 1
    long = _run(pipe, num_segments=3)
    # each further segment repeats the previous last frame, which is kept once
    assert long.shape[1] == CFG.num_frames + 2 * (CFG.num_frames - 1)
    pt = _run(pipe, output_type="pt")
    assert pt.shape == (1, CFG.num_frames, 3, CFG.height, CFG.width)
    pil = _run(pipe, output_type="pil")
    assert len(pil[0]) == CFG.num_frames and pil[0][0].size == (CFG.width, CFG.height)


def test_batches_of_keyframes(pipe):
    batch = np.stack([_image(0), _image(1)])
    frames = _run(pipe, image=batch)
    assert frames.shape[0] == 2
    assert not np.allclose(frames[0], frames[1])


def test_fixed_generator_is_deterministic(pipe):
    a = _run(pipe, generator=torch.Generator().manual_seed(5))
    b = _run(pipe, generator=torch.Generator().manual_seed(5))
    c = _run(pipe, generator=torch.Generator().manual_seed(6))
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)


def test_anchor_reuses_the_original_keyframe_embedding(pipe):
    image = _image(3)
    keyframe_embedding = embed_images(
        pipe.image_encoder, torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
    )
    steps = 2
    with _RecordContext(pipe) as anchored:
        frames = _run(pipe, image=image, num_segments=3, num_inference_steps=steps, max_guidance_scale=2.0)
    assert len(anchored.calls) == 3 * steps
    for context, _ in anchored.calls:
        uncond, cond = context.chunk(2)  # classifier-free guidance batch: [zeros, conditional]
        assert torch.count_nonzero(uncond) == 0
        assert torch.allclose(cond[:, 0], keyframe_embedding, atol=1e-6)

    with _RecordContext(pipe) as drifting:
        _run(
            pipe, image=image, num_segments=3, num_inference_steps=steps, max_guidance_scale=2.0, anchor=False
        )
    first_segment = drifting.calls[0][0].chunk(2)[1]
    second_segment = drifting.calls[steps][0].chunk(2)[1]
    assert torch.allclose(first_segment[:, 0], keyframe_embedding, atol=1e-6)
    assert not torch.allclose(second_segment, first_segment, atol=1e-4)
    # without the anchor segment 2 is conditioned on its own start frame: segment 1's last frame
    last_of_first = torch.from_numpy(frames[:, CFG.num_frames - 1]).permute(0, 3, 1, 2)
    # (frames differ between the runs only after segment 1, so the anchored run's frame is that frame)
    assert torch.allclose(second_segment[:, 0], embed_images(pipe.image_encoder, last_of_first), atol=1e-4)


def test_image_token_anchor_reuses_the_keyframe_tokens_in_every_segment():
    tokens_pipe = _pipeline(anchor_tokens=True)
    image = _image(4)
    pixels = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
    keyframe_tokens = embed_images(tokens_pipe.image_encoder, pixels, tokens=True)  # (1, 1 + P, D)
    assert keyframe_tokens.shape[1] > 1
    steps = 2
    with _RecordContext(tokens_pipe) as anchored:
        _run(tokens_pipe, image=image, num_segments=2, num_inference_steps=steps, max_guidance_scale=2.0)
    for context, _ in anchored.calls:
        uncond, cond = context.chunk(2)
        assert torch.count_nonzero(uncond) == 0
        assert torch.allclose(cond, keyframe_tokens, atol=1e-6)
    with _RecordContext(tokens_pipe) as drifting:
        _run(
            tokens_pipe,
            image=image,
            num_segments=2,
            num_inference_steps=steps,
            max_guidance_scale=2.0,
            anchor=False,
        )
    second = drifting.calls[steps][0].chunk(2)[1]
    assert second.shape == keyframe_tokens.shape
    assert not torch.allclose(second, keyframe_tokens, atol=1e-4)


def test_anchor_guidance_adds_a_branch_without_the_embedding(pipe):
    steps = 1
    with _RecordContext(pipe) as record:
        guided = _run(pipe, num_inference_steps=steps, max_guidance_scale=2.0, anchor_guidance_scale=3.0)
    context, sample = record.calls[0]
    assert context.shape[0] == 3 and sample.shape[0] == 3  # [null, no embedding, full]
    c = pipe.latent_channels
    assert torch.count_nonzero(context[0]) == 0 and torch.count_nonzero(sample[0, :, c:]) == 0
    assert torch.count_nonzero(context[1]) == 0 and torch.count_nonzero(sample[1, :, c:]) > 0
    assert torch.count_nonzero(context[2]) > 0
    plain = _run(pipe, num_inference_steps=steps, max_guidance_scale=2.0)
    assert not np.allclose(guided, plain, atol=1e-4)
    # equal scales are plain classifier-free guidance
    same = dict(num_inference_steps=steps, min_guidance_scale=2.0, max_guidance_scale=2.0)
    assert np.allclose(_run(pipe, anchor_guidance_scale=2.0, **same), _run(pipe, **same), atol=1e-4)
    with pytest.raises(ValueError, match="anchor_guidance_scale"):
        _run(pipe, anchor_guidance_scale=-1.0)


def test_later_segments_start_from_the_previous_last_frame(pipe):
    with _RecordContext(pipe) as record:
        frames = _run(pipe, num_segments=2, num_inference_steps=1)
    c = pipe.latent_channels
    # UNet input channels: [noisy latents, first-frame latents, last-frame latents, mask];
    # batch row 1 is the conditional half of classifier-free guidance
    first_condition = record.calls[0][1][1, 0, c : 2 * c]
    second_condition = record.calls[1][1][1, 0, c : 2 * c]
    assert torch.count_nonzero(first_condition) > 0
    assert not torch.allclose(first_condition, second_condition)
    # the output keeps the shared frame once: frame T-1 ends segment 1 and starts segment 2
    assert frames.shape[1] == 2 * CFG.num_frames - 1


def test_first_last_conditioning_changes_the_clip(pipe):
    plain = _run(pipe)
    target = _run(pipe, last_image=_image(9))
    other = _run(pipe, last_image=_image(10))
    assert not np.allclose(plain, target)
    assert not np.allclose(target, other)
    with _RecordContext(pipe) as record:
        _run(pipe, last_image=_image(9), num_inference_steps=1)
    mask = record.calls[0][1][:, :, -1]
    assert torch.all(mask[0] == 0) and torch.all(mask[1] == 1)  # unconditional half, conditional half


def test_models_without_last_frame_channels_refuse_a_last_frame():
    svd_like = _pipeline(first_last=False)
    assert not svd_like.first_last
    assert _run(svd_like).shape[1] == CFG.num_frames
    with pytest.raises(ValueError, match="no last-frame channels"):
        _run(svd_like, last_image=_image(1))


def test_expanded_svd_unet_computes_what_it_did_before():
    cfg = preset("tiny", first_last=False)
    torch.manual_seed(0)
    unet = build_unet(cfg).eval()
    sample = torch.randn(1, cfg.num_frames, 2 * cfg.latent_channels, 16, 28)
    context = torch.randn(1, 1, cfg.image_embed_dim)
    ids = torch.tensor([[7.0, 127.0, 0.02]])
    with torch.no_grad():
        before = unet(sample, 10, context, ids).sample
        expanded = expand_unet_for_first_last(unet, cfg.latent_channels)
        extra = torch.randn(1, cfg.num_frames, cfg.latent_channels + 1, 16, 28)
        after = expanded(torch.cat([sample, extra], dim=2), 10, context, ids).sample
    assert expanded.config.in_channels == 3 * cfg.latent_channels + 1
    assert torch.allclose(before, after, atol=1e-5)


def test_progress_and_cancellation(pipe):
    seen = []
    _run(pipe, num_segments=2, progress=lambda p: seen.append((p.done, p.total)))
    assert seen[-1] == (2 * 3, 2 * 3)  # 2 steps + 1 decode per segment
    with pytest.raises(Cancelled):
        _run(
            pipe,
            num_segments=2,
            cancel_check=lambda: len(seen) > 7,
            progress=lambda p: seen.append((p.done, p.total)),
        )


def test_clear_errors(pipe):
    with pytest.raises(ValueError, match="multiple of the VAE factor"):
        _run(pipe, height=31)
    with pytest.raises(ValueError, match="at least one segment"):
        _run(pipe, num_segments=0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        _run(pipe, image=torch.full((3, CFG.height, CFG.width), 2.0))


def test_any_callable_tower_can_anchor(pipe):
    projection = torch.nn.Linear(3, CFG.image_embed_dim)

    def tower(pixels):  # (B, 3, H, W) in [0, 1] -> (B, D)
        return projection(pixels.mean(dim=(2, 3)))

    custom = AnchoredVideoPipeline(
        vae=pipe.vae, image_encoder=tower, unet=pipe.unet, scheduler=pipe.scheduler
    )
    assert _run(custom).shape[1] == CFG.num_frames
    wrong = AnchoredVideoPipeline(
        vae=pipe.vae,
        image_encoder=lambda p: torch.zeros(p.shape[0], 7),
        unet=pipe.unet,
        scheduler=pipe.scheduler,
    )
    with pytest.raises(ValueError, match="7-dimensional"):
        _run(wrong)
