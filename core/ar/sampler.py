"""Frame-by-frame sampling of visual tokens with a KV cache and a sliding context window.

Dimensions: T frames of the movie, S description slots and C face slots per frame, R reference
frames, L visual tokens per frame, d token width, H hidden width.

Per frame t the sampler feeds what the model has not seen yet (the last token of frame t-1,
the rest of frame t-1 after its tokens, and frame t's script up to its tokens) in one forward
pass over the KV cache, draws token 1 from the GMM head, then feeds each drawn token to draw the
next. The prefix is never re-encoded. The forward is `core.ar.incremental.IncrementalLlama`
(the backbone's layers with a preallocated cache, computing only the last position's output);
backbones it does not cover run through transformers' own forward with a growing cache
(core.ar.kv_cache). Script parts do not depend on drawn tokens, so they are embedded in
batches ahead of the loop, and each frame's projected tokens are kept for the next window.

Window (paper App. E): the model sees the reference block plus at most `context_frames`
frames (the one being generated included). When the window is full it keeps the reference
frames and the `keep_frames` most recent frames, empties the cache and pre-fills the reference
block and the kept frames in one forward pass (their projected tokens and script embeddings are
kept; only the backbone runs again); positions restart at 0, the layout the model was trained on. So
the per-frame cost stays bounded however long the movie is, and each window's history is the
frames actually generated before, which keeps it coherent across windows. The pre-fill is the
price of that exactness: every `context_frames - keep_frames` frames, one forward pass over
`keep_frames` frames.

Rolling window (`rolling=True`, issue 21): when the window is full, the oldest frame is evicted
from the KV cache instead (`IncrementalLlama.evict`: the later keys move up and are re-rotated
for RoPE), so every frame sees all `context_frames - 1` frames before it and nothing is
re-encoded. The layout is again the trained one (reference block, then the window from the
next position); what is not exact is that deeper layers of the kept frames once attended to the
evicted ones (for a one-layer backbone it is exact, which the tests check). Backbones that
`IncrementalLlama` does not run slide by re-prefill.

Regenerating one shot: the model is causal, so shot j is conditioned on the frames before it
(as many as the window allows) and the frames after it are kept exactly as they are. Feeding
the later frames too would need a model trained to fill gaps, which the paper's is not.

Randomness only through the `generator` argument, which `GaussianMixture.sample` takes
(`torch.distributions` sampling cannot). There is no end-of-sequence: the script
fixes the number of frames (and the backbone has no eos id).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

import torch
from pydantic import ConfigDict, model_validator
from pydantic.dataclasses import dataclass as validated_dataclass
from torch import Tensor

from core.ar.incremental import IncrementalLlama, unsupported_reason
from core.ar.kv_cache import growing_cache
from core.ar.model import KeyframeAR
from core.ar.sequence import as_tensors, offset_slots
from core.script.inputs import KeyframeInputs

logger = logging.getLogger(__name__)


@validated_dataclass(frozen=True, config=ConfigDict(extra="forbid"))
class SamplerConfig:
    """The sampling window; a bundle manifest's `sampler` is one of these.

    The temperatures are not here: they are per call (`KeyframeSampler.stream(...)`), because
    one sampler serves every job on its bundle.
    """

    context_frames: int = 128  # frames in the model's view, the one being generated included (App. E)
    # Most recent frames kept when the window slides. 32 of 128: a slide then comes every 96
    # frames, so a 1,024-frame movie costs ~1.1x per frame what a 128-frame one does (64 kept:
    # 1.54x, bench/results/ar.json of session 2), at the price of a shorter history right after
    # each slide (32 frames, growing back to 127).
    keep_frames: int = 32
    # Slide by evicting the oldest frame from the KV cache instead of re-prefilling keep_frames
    # (module docstring); keep_frames is then unused.
    rolling: bool = False
    use_cache: bool = True  # False recomputes the whole window per token (for checks and benchmarks)

    @classmethod
    def tiny(cls, **overrides) -> SamplerConfig:
        return replace(cls(context_frames=8, keep_frames=4), **overrides)

    @classmethod
    def default(cls, **overrides) -> SamplerConfig:
        return replace(cls(), **overrides)

    @classmethod
    def paper(cls, **overrides) -> SamplerConfig:
        return replace(cls(context_frames=128, keep_frames=96), **overrides)

    @model_validator(mode="after")
    def check(self) -> SamplerConfig:
        if self.context_frames < 1:
            raise ValueError(f"context_frames must be at least 1, got {self.context_frames}.")
        if not 0 <= self.keep_frames < self.context_frames:
            raise ValueError(
                f"keep_frames ({self.keep_frames}) must be between 0 and context_frames - 1 "
                f"({self.context_frames - 1}), otherwise the window could never slide."
            )
        return self


@dataclass(frozen=True)
class _Temperatures:
    mixture: float  # softmax temperature of the component choice (0 = most likely)
    scale: float  # multiplies every Gaussian scale (0 = component mean)

    def __post_init__(self) -> None:
        if self.mixture < 0 or self.scale < 0:
            raise ValueError("Sampling temperatures must be 0 or positive.")


@dataclass
class SamplerProgress:
    """Reported after every generated frame. Raise from the callback to cancel."""

    done: int
    total: int
    frame_index: int
    tokens: Tensor  # (L, d) tokens just drawn for frame_index


class _TransformersWindow:
    """The model's view through transformers' forward: a growing KV cache, or (use_cache=False)
    the full history recomputed on every call (the reference the fast path is tested against)."""

    def __init__(self, model: KeyframeAR, use_cache: bool):
        self.model = model
        self.cache = growing_cache(model.backbone.config.num_hidden_layers) if use_cache else None
        self.history: Tensor | None = None  # (P, H) everything fed, without a cache
        self.forward_positions = 0  # positions pushed through the backbone, for cost accounting

    def truncate(self, length: int) -> int:
        """Forget every position from `length` on; returns the positions still held."""
        if self.cache is not None:
            held = self.cache.get_seq_length()
            if held > length:
                self.cache.crop(length - held)  # transformers' crop takes the (negative) count to drop
            return self.cache.get_seq_length()
        if self.history is not None:
            self.history = self.history[:length]
            return self.history.shape[0]
        return 0

    def feed(self, embeds: Tensor) -> Tensor:
        """embeds (n, H) new positions -> hidden state (H,) of the last one."""
        if self.cache is not None:
            out = self.model(embeds[None], past_key_values=self.cache, use_cache=True)
            self.forward_positions += embeds.shape[0]
        else:
            self.history = embeds if self.history is None else torch.cat([self.history, embeds])  # (P, H)
            out = self.model(self.history[None])
            self.forward_positions += self.history.shape[0]
        return out.last_hidden_state[0, -1]


@dataclass
class _Movie:
    frames: Sequence[KeyframeInputs]
    sentence_embeddings: Tensor  # (T, S, e)
    face_embeddings: Tensor  # (T, C, f)
    reference_tokens: Tensor | None  # (R, L, d)


class KeyframeSampler:
    """Generates visual tokens for the keyframes of a script with a trained KeyframeAR."""

    def __init__(self, model: KeyframeAR, config: SamplerConfig | None = None):
        self.model = model
        self.config = config or SamplerConfig.default()
        self.forward_positions = 0  # positions computed by the last call (cost, for benchmarks)

    @torch.no_grad()
    def __call__(
        self,
        frames: Sequence[KeyframeInputs],
        sentence_embeddings: Tensor,
        face_embeddings: Tensor,
        *,
        reference_tokens: Tensor | None = None,
        visual_tokens: Tensor | None = None,
        start: int = 0,
        generator: torch.Generator | None = None,
        callback: Callable[[SamplerProgress], None] | None = None,
        mixture_temperature: float = 1.0,
        scale_temperature: float = 1.0,
    ) -> Tensor:
        """Tokens (T, L, d) for all frames; frames before `start` are taken from `visual_tokens`.

        frames: T KeyframeInputs; sentence_embeddings (T, S, e); face_embeddings (T, C, f);
        reference_tokens (R, L, d) of the user's reference frames (few-shot), or None;
        visual_tokens (T, L, d) known tokens, needed when start > 0 (continuing a storyboard).
        mixture_temperature: softmax temperature of the component choice (0 = most likely);
        scale_temperature: multiplies every Gaussian scale (0 = the component mean).
        """
        movie = self._movie(frames, sentence_embeddings, face_embeddings, reference_tokens)
        tokens = self._known_tokens(len(frames), visual_tokens, start)
        temperatures = _Temperatures(mixture_temperature, scale_temperature)
        return self._generate(movie, tokens, range(start, len(frames)), generator, callback, temperatures)

    @torch.no_grad()
    def regenerate(
        self,
        frame_index: int,
        frames: Sequence[KeyframeInputs],
        sentence_embeddings: Tensor,
        face_embeddings: Tensor,
        visual_tokens: Tensor,
        *,
        reference_tokens: Tensor | None = None,
        generator: torch.Generator | None = None,
        callback: Callable[[SamplerProgress], None] | None = None,
        mixture_temperature: float = 1.0,
        scale_temperature: float = 1.0,
    ) -> Tensor:
        """A copy of visual_tokens (T, L, d) with frame `frame_index` drawn anew.

        Conditioned on the frames before it within the window; later frames are left unchanged
        (see the module docstring for why).
        """
        if not 0 <= frame_index < len(frames):
            raise ValueError(f"Shot {frame_index} does not exist; the storyboard has {len(frames)} shots.")
        movie = self._movie(frames, sentence_embeddings, face_embeddings, reference_tokens)
        tokens = self._known_tokens(len(frames), visual_tokens, len(frames))
        temperatures = _Temperatures(mixture_temperature, scale_temperature)
        return self._generate(
            movie, tokens, range(frame_index, frame_index + 1), generator, callback, temperatures
        )

    def _generate(
        self,
        movie: _Movie,
        tokens: Tensor,
        targets: range,
        generator: torch.Generator | None,
        callback: Callable[[SamplerProgress], None] | None,
        temperatures: _Temperatures,
    ) -> Tensor:
        total = len(targets)
        drawn = self._iterate(movie, tokens, list(targets), lambda t: generator, temperatures)
        try:
            for done, t in enumerate(drawn, start=1):
                if callback is not None:
                    callback(SamplerProgress(done, total, t, tokens[t].clone()))
        finally:
            # Close it here, inside this call's no_grad: a generator stopped by a raising callback
            # and closed later by the garbage collector would switch gradients off at that moment.
            drawn.close()
        return tokens

    @torch.no_grad()
    def stream(
        self,
        frames: Sequence[KeyframeInputs],
        sentence_embeddings: Tensor,
        face_embeddings: Tensor,
        *,
        targets: Sequence[int],
        visual_tokens: Tensor | None = None,
        reference_tokens: Tensor | None = None,
        generators: Mapping[int, torch.Generator] | None = None,
        mixture_temperature: float = 1.0,
        scale_temperature: float = 1.0,
    ) -> Iterator[tuple[int, Tensor]]:
        """Draw the frames in `targets` one by one, yielding (t, tokens (L, d)) as each is drawn.

        Frames that are not targets keep their `visual_tokens` and are read as they are (the
        studio's locked shots, or the shots around one being regenerated). Each target frame
        draws from `generators[t]`, so a frame's tokens depend only on its seed and the frames
        before it, which makes every keyframe reproducible on its own. Temperatures as in `__call__`.
        """
        temperatures = _Temperatures(mixture_temperature, scale_temperature)
        targets = sorted(set(targets))
        count = len(frames)
        for t in targets:
            if not 0 <= t < count:
                raise ValueError(f"Shot {t} does not exist; the storyboard has {count} shots.")
        movie = self._movie(frames, sentence_embeddings, face_embeddings, reference_tokens)
        if visual_tokens is None:
            if targets and targets != list(range(targets[-1] + 1)):
                raise ValueError(
                    "Some shots before the last one to generate are kept as they are, so their tokens are "
                    "needed; pass visual_tokens."
                )
            tokens = self._known_tokens(count, None, 0)
        else:
            tokens = self._known_tokens(count, visual_tokens, count)
        generators = generators or {}
        for t in self._iterate(movie, tokens, targets, generators.get, temperatures):
            yield t, tokens[t].clone()

    # -- the loop ----------------------------------------------------------------------

    def _iterate(
        self,
        movie: _Movie,
        tokens: Tensor,
        targets: Sequence[int],
        generator_for: Callable[[int], torch.Generator | None],
        temperatures: _Temperatures,
    ) -> Iterator[int]:
        """Walk the frames from the first target to the last, drawing targets into `tokens`.

        Yields each target frame index once its tokens are drawn. Frames in between that are
        not targets are fed with their known tokens (teacher forcing), so they are history.
        """
        model, config = self.model, self.config
        L = model.config.tokens_per_frame
        self.forward_positions = 0
        if len(targets) == 0:
            return
        draw = set(targets)
        first, last = min(targets), max(targets)
        # As much known history as the window allows before the first generated frame.
        context = list(range(max(0, first - (config.context_frames - 1)), first))
        with _eval_mode(model), torch.no_grad():
            window = self._window()
            preamble = self._preamble(movie)  # (p, H) BOS + reference block, the same in every window
            script = _ScriptParts(model, movie, last, block=config.context_frames)
            visual = self._projected(tokens, context)  # frame -> its L tokens projected, (L, H)
            pending: list[Tensor] | None = None  # embeddings (n, H) the model has not seen yet
            rolling = config.rolling and isinstance(window, IncrementalLlama)
            spans: dict[int, int] = {}  # frame -> its positions in the cache (rolling)
            for t in range(first, last + 1):
                if rolling and pending is not None and len(context) + 1 > config.context_frames:
                    # The oldest frame is wholly in the cache (only frame t-1's tail is pending).
                    oldest = context.pop(0)
                    window.evict(preamble.shape[0], spans.pop(oldest))
                    script.forget_before(oldest + 1)
                    visual.pop(oldest, None)
                elif pending is None or len(context) + 1 > config.context_frames:
                    if pending is not None:
                        context = context[len(context) - config.keep_frames :] if config.keep_frames else []
                        logger.debug(
                            "Context window full at frame %d; re-prefilling %d frames.", t, len(context)
                        )
                    oldest = context[0] if context else t
                    script.forget_before(oldest)
                    visual = {i: rows for i, rows in visual.items() if i >= oldest}
                    # Kept frames are pre-filled as one causal block from position 0, which
                    # attention computes in half the time of a block after cached positions
                    # (measured 36 vs 69 ms per layer for 1,900 positions), so the reference
                    # block's cached keys are reused only when there is nothing to pre-fill.
                    pending = [preamble[window.truncate(0 if context else preamble.shape[0]) :]]
                    for i in context:
                        before, after = script.parts(i)
                        pending += [before, visual[i], after]
                        spans[i] = before.shape[0] + visual[i].shape[0] + after.shape[0]
                before, after = script.parts(t)
                spans[t] = before.shape[0] + L + after.shape[0]
                pending.append(before)
                if t in draw:
                    generator = generator_for(t)
                    rows = []
                    for i in range(L):
                        hidden = window.feed(torch.cat(pending))  # (H,)
                        pdf = model.distribution(hidden[None])  # batch (1,), event (d,)
                        token = pdf.sample(generator, temperatures.mixture, temperatures.scale)  # (1, d)
                        tokens[t, i] = token[0]
                        rows.append(model.visual_proj(token))  # (1, H)
                        pending = [rows[-1]]
                    visual[t] = torch.cat(rows)  # (L, H)
                else:
                    # A kept frame between targets is read as it is: its L tokens, projected.
                    visual[t] = model.visual_proj(tokens[t])  # (L, H)
                    pending.append(visual[t])
                pending.append(after)
                context.append(t)
                if t in draw:
                    yield t
            self.forward_positions = window.forward_positions

    def _window(self) -> IncrementalLlama | _TransformersWindow:
        """The fastest forward that computes what transformers' LlamaModel.forward computes."""
        if not self.config.use_cache:
            return _TransformersWindow(self.model, use_cache=False)
        reason = unsupported_reason(self.model.backbone)
        if reason is not None:
            logger.debug("Sampling through transformers' forward: %s.", reason)
            return _TransformersWindow(self.model, use_cache=True)
        return IncrementalLlama(self.model.backbone)

    def _preamble(self, movie: _Movie) -> Tensor:
        """Embeddings (p, H) of what precedes the first frame: BOS and the reference block, as in training."""
        model = self.model
        count = 0 if movie.reference_tokens is None else movie.reference_tokens.shape[0]
        kinds, values = model.planner.preamble(count)
        if not kinds:
            return torch.zeros((0, model.hidden_size), dtype=model.dtype, device=model.device)
        visual = (
            movie.reference_tokens.flatten(0, 1)  # (R*L, d)
            if count
            else torch.zeros((0, model.config.token_dim), dtype=model.dtype, device=model.device)
        )
        kinds_t, values_t = as_tensors(kinds, values, model.device)
        return model.embed(
            kinds_t, values_t, movie.sentence_embeddings[:0, 0], movie.face_embeddings[:0, 0], visual
        )[0]

    def _projected(self, tokens: Tensor, frames: list[int]) -> dict[int, Tensor]:
        """Known frames' tokens through the visual projector in one call: frame -> (L, H)."""
        if not frames:
            return {}
        rows = self.model.visual_proj(tokens[frames])  # (n, L, H)
        return dict(zip(frames, rows, strict=True))

    # -- checks ------------------------------------------------------------------------

    def _movie(self, frames, sentence_embeddings, face_embeddings, reference_tokens) -> _Movie:
        config, device = self.model.config, self.model.device
        count = len(frames)
        for name, tensor, width in (
            ("sentence", sentence_embeddings, config.sentence_dim),
            ("face", face_embeddings, config.face_dim),
        ):
            if tensor.ndim != 3 or tensor.shape[0] != count or tensor.shape[2] != width:
                raise ValueError(
                    f"The {name} embeddings have shape {tuple(tensor.shape)}; expected ({count}, slots, {width}) "
                    f"for {count} shots and this model's {name} width."
                )
        if reference_tokens is not None:
            expected = (config.tokens_per_frame, config.token_dim)
            if reference_tokens.ndim != 3 or tuple(reference_tokens.shape[1:]) != expected:
                raise ValueError(
                    f"The reference frames' tokens have shape {tuple(reference_tokens.shape)}; expected "
                    f"(frames, {expected[0]}, {expected[1]}). Encode the reference images with the model's tokenizer."
                )
            if reference_tokens.shape[0] == 0:
                reference_tokens = None
            else:
                reference_tokens = reference_tokens.to(device=device, dtype=self.model.dtype)
        return _Movie(
            frames,
            sentence_embeddings.to(device=device, dtype=self.model.dtype),
            face_embeddings.to(device=device, dtype=self.model.dtype),
            reference_tokens,
        )

    def _known_tokens(self, count: int, visual_tokens: Tensor | None, start: int) -> Tensor:
        config = self.model.config
        shape = (count, config.tokens_per_frame, config.token_dim)
        if not 0 <= start <= count:
            raise ValueError(f"start={start} is outside the storyboard of {count} shots.")
        if visual_tokens is None:
            if start > 0:
                raise ValueError(
                    f"Generation starts at shot {start}, so the tokens of the shots before it are needed; "
                    "pass visual_tokens."
                )
            return torch.zeros(shape, dtype=self.model.dtype, device=self.model.device)
        if tuple(visual_tokens.shape) != shape:
            raise ValueError(f"visual_tokens has shape {tuple(visual_tokens.shape)}; expected {shape}.")
        return visual_tokens.to(device=self.model.device, dtype=self.model.dtype).clone()


class _ScriptParts:
    """Embeddings of each frame's script before and after its visual tokens, made in batches.

    They depend only on the script and the sentence / face embeddings, never on drawn tokens, so
    `block` frames at a time go through `KeyframeAR.embed` in one call instead of one call per frame.
    """

    def __init__(self, model: KeyframeAR, movie: _Movie, last: int, block: int):
        self.model = model
        self.movie = movie
        self.last = last
        self.block = max(block, 1)
        self.parts_of: dict[int, tuple[Tensor, Tensor]] = {}

    def parts(self, t: int) -> tuple[Tensor, Tensor]:
        """(before (n, H), after (m, H)) of frame t."""
        if t not in self.parts_of:
            self._embed(list(range(t, max(t + 1, min(t + self.block, self.last + 1)))))
        return self.parts_of[t]

    def forget_before(self, t: int) -> None:
        self.parts_of = {i: parts for i, parts in self.parts_of.items() if i >= t}

    def _embed(self, frames: list[int]) -> None:
        model, movie = self.model, self.movie
        S, C = movie.sentence_embeddings.shape[1], movie.face_embeddings.shape[1]
        kinds: list[int] = []
        values: list[int] = []
        sizes = []
        for j, t in enumerate(frames):
            plan = model.planner.frame_plan(movie.frames[t], S, C)
            for part_kinds, part_values in (
                (plan.prefix_kinds, plan.prefix_values),
                (plan.suffix_kinds, plan.suffix_values),
            ):
                kinds.extend(part_kinds)
                values.extend(offset_slots(part_kinds, part_values, j * S, j * C))  # rows of the tables below
                sizes.append(len(part_kinds))
        kinds_t, values_t = as_tensors(kinds, values, model.device)
        empty_visual = torch.zeros((0, model.config.token_dim), dtype=model.dtype, device=model.device)
        embeds = model.embed(
            kinds_t,
            values_t,
            movie.sentence_embeddings[frames].flatten(0, 1),  # (n*S, e)
            movie.face_embeddings[frames].flatten(0, 1),  # (n*C, f)
            empty_visual,
        )[0]  # (positions, H)
        pieces = embeds.split(sizes)
        for j, t in enumerate(frames):
            self.parts_of[t] = (pieces[2 * j], pieces[2 * j + 1])


@contextlib.contextmanager
def _eval_mode(model: torch.nn.Module) -> Iterator[None]:
    """Sampling never uses dropout; restore the caller's mode afterwards."""
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)
