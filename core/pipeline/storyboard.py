"""Script (+ cast photos, + reference frames) -> keyframe images: the whole MovieDreamer method.

Dimensions: T shots (= keyframes) of the script, S <= 15 description sentences and C <= 5 face
slots per keyframe, e / f their embedding widths, L visual tokens of width d per keyframe,
R reference frames.

    script --core.script.inputs--> T KeyframeInputs
           --description encoder--> (T, S, e)      --face encoder (cast photos)--> (T, C, f)
    reference images --tokenizer--> (R, L, d)
    --AR sampler (KV cache, sliding window)--> tokens (T, L, d), one frame at a time
    --ID-preserving decoder (tokens + descriptions + faces)--> one image per keyframe

The pipeline composes the bundle's models and owns no weights. Keyframes stream out as soon
as they are rendered. Each target keyframe draws its tokens and its diffusion noise from its
own seed, so given the tokens of the frames before it (the context) and its seed, a keyframe
is reproduced exactly; its tokens alone plus the seed reproduce its image.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from PIL import Image

from core.ar.sampler import KeyframeSampler
from core.files import open_rgb
from core.pipeline.bundle import ModelBundle, load_bundle
from core.pipeline.types import GenerationSettings, KeyframeResult
from core.progress import CancelCheck, Cancelled, Progress, ProgressCallback
from core.script import MAX_CHARACTERS_PER_SHOT, MAX_DESCRIPTIONS_PER_SHOT, Script
from core.script.inputs import KeyframeInputs, keyframe_inputs

if TYPE_CHECKING:
    from core.encoders.faces import FaceEncoder

logger = logging.getLogger(__name__)


# Keyframes the decoder renders together. Each keys its noise on its own seed, so a keyframe
# is the same picture in any batch; measured on 2 cores with the default bundle (20 steps,
# guidance 3): 1.30 s per keyframe alone, 0.74 s in fours, 0.65 s in eights. Four keeps the
# first preview quick.
RENDER_BATCH = 4


class StoryboardPipeline:
    """Generates and regenerates the keyframes of a script with one model bundle."""

    def __init__(self, bundle: ModelBundle, *, render_batch: int = RENDER_BATCH):
        if render_batch < 1:
            raise ValueError(f"render_batch is {render_batch}; render at least one keyframe at a time.")
        self.bundle = bundle
        self.sampler = KeyframeSampler(bundle.ar, bundle.manifest.sampler)
        self.render_batch = render_batch

    @classmethod
    def from_bundle(cls, folder: str | Path, device: str | torch.device = "cpu") -> StoryboardPipeline:
        return cls(load_bundle(folder, device=device))

    @property
    def bundle_id(self) -> str:
        return self.bundle.bundle_id

    @property
    def face_encoder(self) -> FaceEncoder:
        return self.bundle.faces

    @property
    def defaults(self) -> GenerationSettings:
        return self.bundle.manifest.defaults

    # -- encoding the script ------------------------------------------------------------

    @property
    def decoder_reads_shot_sentence(self) -> bool:
        """Whether the bundle's decoder was trained with the shot's framing sentence."""
        return bool(getattr(self.bundle.decoder.conditioner.config, "reads_shot_sentence", False))

    def encode_sentences(
        self, frames: Sequence[KeyframeInputs], *, for_decoder: bool = False
    ) -> torch.Tensor:
        """(T, S, e): each frame's description sentences, zero rows where it has fewer.

        for_decoder: the sentences the bundle's decoder reads (with the shot sentence when it
        was trained with it); otherwise those of the AR model.
        """
        with_shot = for_decoder and self.decoder_reads_shot_sentence
        (out,) = self._encode_sentence_lists([[frame.sentences_for_decoder(with_shot) for frame in frames]])
        return out

    def _encode_sentence_lists(self, lists: Sequence[Sequence[Sequence[str]]]) -> list[torch.Tensor]:
        """One (T, S, e) tensor per list of per-frame sentences; the union is encoded once."""
        width = self.bundle.descriptions.embedding_dim
        unique = list(dict.fromkeys(s for frames in lists for sentences in frames for s in sentences))
        table = self.bundle.descriptions.encode(unique) if unique else torch.zeros(0, width)
        row = {sentence: i for i, sentence in enumerate(unique)}
        tensors = []
        for frames in lists:
            out = torch.zeros(len(frames), MAX_DESCRIPTIONS_PER_SHOT, width)
            for t, sentences in enumerate(frames):
                for i, sentence in enumerate(sentences):
                    out[t, i] = table[row[sentence]]
            tensors.append(out)
        return tensors

    def encode_cast(
        self,
        cast_photos: Mapping[str, Sequence[str | Path]],
        *,
        for_decoder: bool = False,
        known: Mapping[str, torch.Tensor] | None = None,
    ) -> dict[str, torch.Tensor]:
        """One face embedding (f,) per character, for the AR model or (for_decoder) the decoder.

        The bundle's face encoder (CLIP tower, ArcFace): the normalised mean over the photos.
        A decoder that reads VAE latents of the photos (`ModelBundle.decoder_faces`) was trained
        on one photo at a time, not on blends: it gets the photo nearest to their mean.
        Photos are face crops (the studio crops uploads at upload time; toy-cinema photos are
        crops already), embedded as they are, the way the training cache embeds them.
        `known`: embeddings of some photos (by path) by the embedder asked for, used instead of
        embedding those photos again.
        """
        own = for_decoder and self.bundle.decoder_faces is not None
        embedder = self.bundle.decoder_face_embedder if for_decoder else self.bundle.faces
        known = {str(path): row for path, row in (known or {}).items()}
        faces = {}
        for name, photos in cast_photos.items():
            if not photos:
                continue
            rows: dict[int, torch.Tensor] = {
                i: known[str(p)].float().reshape(-1) for i, p in enumerate(photos) if str(p) in known
            }
            for row in rows.values():
                if row.numel() != embedder.embedding_dim:
                    raise ValueError(
                        f"A stored face embedding of {name} has {row.numel()} numbers but this bundle's face "
                        f"encoder makes {embedder.embedding_dim}; analyse the photo again with this bundle."
                    )
            missing = [i for i in range(len(photos)) if i not in rows]
            if missing:
                fresh = embedder.embed_crops([open_rgb(photos[i]) for i in missing]).float()  # (m, f)
                rows.update(zip(missing, fresh, strict=True))
            embeddings = torch.stack([rows[i] for i in range(len(photos))])  # (P, f)
            mean = embeddings.mean(0)
            if own:
                faces[name.casefold()] = embeddings[(embeddings - mean).norm(dim=1).argmin()]
            else:
                faces[name.casefold()] = mean / mean.norm().clamp_min(1e-6)
        return faces

    def face_slots(
        self,
        frames: Sequence[KeyframeInputs],
        faces: Mapping[str, torch.Tensor],
        *,
        for_decoder: bool = False,
    ) -> torch.Tensor:
        """(T, C, f): the face of the character in each slot, zero where none is known.

        `faces` from `encode_cast` with the same `for_decoder`."""
        embedder = self.bundle.decoder_face_embedder if for_decoder else self.bundle.faces
        out = torch.zeros(len(frames), MAX_CHARACTERS_PER_SHOT, embedder.embedding_dim)
        for t, frame in enumerate(frames):
            for slot in frame.characters:
                face = faces.get(slot.name.casefold())
                if face is not None:
                    out[t, slot.slot] = face
        return out

    def decoder_face_slots(
        self, frames: Sequence[KeyframeInputs], cast_photos: Mapping[str, Sequence[str | Path]]
    ) -> torch.Tensor:
        """(T, C, f) for the decoder: its face embeddings of each frame's characters."""
        return self.face_slots(frames, self.encode_cast(cast_photos, for_decoder=True), for_decoder=True)

    def encode_keyframe(self, image: Image.Image) -> np.ndarray:
        """(L, d) visual tokens of a keyframe the user drew or photographed, as the AR model
        reads generated keyframes' tokens (history for the shots after it)."""
        return self.bundle.tokenizer.encode([image.convert("RGB")])[0].float().numpy()

    def encode_references(self, references: Sequence[str | Path]) -> torch.Tensor | None:
        """(R, L, d) tokens of the user's few-shot reference frames, or None."""
        if not references:
            return None
        return self.bundle.tokenizer.encode([open_rgb(p) for p in references])

    # -- generation ---------------------------------------------------------------------

    def generate(
        self,
        script: Script,
        *,
        cast_photos: Mapping[str, Sequence[str | Path]] | None = None,
        references: Sequence[str | Path] = (),
        targets: Sequence[int] | None = None,
        context: Mapping[int, np.ndarray] | None = None,
        seeds: Mapping[int, int] | None = None,
        settings: GenerationSettings | None = None,
        should_cancel: CancelCheck | None = None,
        on_progress: ProgressCallback | None = None,
        known_faces: Mapping[str, torch.Tensor] | None = None,
    ) -> Iterator[KeyframeResult]:
        """Stream the keyframes of `targets` (all shots by default), in story order.

        known_faces: embeddings (f,) by the bundle's face encoder of cast photos already
        embedded (by photo path, as in `cast_photos`), e.g. the studio's stored ones; those photos
        are not embedded again.
        context: tokens (L, d) of shots kept as they are (locked, or not being regenerated);
        the AR model reads them as history. A shot before the last target that is neither a
        target nor in `context` has its tokens drawn (not rendered), so the history never has
        holes. seeds: per target shot; a missing seed defaults to the shot's index, so results
        stay reproducible. Raises core.progress.Cancelled between keyframes when `should_cancel()`.
        """
        settings = settings or self.defaults
        frames = keyframe_inputs(script)
        total = len(frames)
        if total == 0:
            raise ValueError(
                "The script has no shots yet; add at least one shot before generating keyframes."
            )
        context = dict(context or {})
        targets = sorted(set(range(total) if targets is None else targets))
        for t in targets:
            if not 0 <= t < total:
                raise ValueError(f"Shot {t + 1} does not exist; the script has {total} shots.")
        seeds = {t: int((seeds or {}).get(t, t)) for t in targets}

        # (T, S, e) each: the AR model's sentences and the decoder's (with the shot sentence when
        # it reads it), the sentences they share encoded once
        with_shot = self.decoder_reads_shot_sentence
        sentence_embeddings, decoder_sentences = self._encode_sentence_lists(
            [[f.sentences for f in frames], [f.sentences_for_decoder(with_shot) for f in frames]]
        )
        faces = self.encode_cast(cast_photos or {}, known=known_faces) if settings.use_faces else {}
        face_embeddings = self.face_slots(frames, faces)  # (T, C, f) for the AR model
        if self.bundle.decoder_faces is None:
            decoder_faces = face_embeddings
        else:  # the decoder reads its own embeddings of the photos
            decoder_faces = self.decoder_face_slots(frames, (cast_photos or {}) if settings.use_faces else {})
        reference_tokens = self.encode_references(references)

        ar = self.bundle.ar
        known = torch.zeros(total, ar.config.tokens_per_frame, ar.config.token_dim)
        for t, tokens in context.items():
            if 0 <= t < total and t not in targets:
                known[t] = torch.as_tensor(np.asarray(tokens, dtype=np.float32))
        # Frames neither targeted nor given as context still have to exist as history for
        # later targets; they are drawn (not rendered) so the history is never zeros.
        last = targets[-1] if targets else 0
        history_fill = [t for t in range(last) if t not in context and t not in seeds]
        draw = sorted(set(targets) | set(history_fill)) if settings.use_history else targets

        report = on_progress or (lambda progress: None)
        cancelled = should_cancel or (lambda: False)
        report(Progress(0, len(targets), "Preparing the script"))
        params = {**settings.to_dict(), "bundle": self.bundle_id}
        done = 0
        pending: list[tuple[int, torch.Tensor]] = []  # drawn, waiting to be rendered together
        for t, tokens in self._draw_tokens(
            frames, sentence_embeddings, face_embeddings, reference_tokens, known, draw, seeds, settings
        ):
            if t not in seeds:
                continue
            if cancelled():
                raise Cancelled(f"Generation was cancelled after {done} of {len(targets)} keyframes.")
            pending.append((t, tokens))
            if len(pending) < self.render_batch and t != targets[-1]:
                continue
            chosen = [i for i, _ in pending]
            images = self.render_many(
                torch.stack([drawn for _, drawn in pending]),
                decoder_sentences[chosen],
                decoder_faces[chosen],
                seeds=[seeds[i] for i in chosen],
                settings=settings,
            )
            for (i, drawn), image in zip(pending, images, strict=True):
                if cancelled():
                    raise Cancelled(f"Generation was cancelled after {done} of {len(targets)} keyframes.")
                done += 1
                scene_index, shot_index = _position(script, i)
                yield KeyframeResult(
                    frame_index=i,
                    scene_index=scene_index,
                    shot_index=shot_index,
                    image=image,
                    tokens=drawn.detach().float().cpu().numpy(),
                    seed=seeds[i],
                    params=params,
                )
                report(Progress(done, len(targets), f"Keyframe {done} of {len(targets)} done"))
            pending = []

    def _draw_tokens(
        self,
        frames: Sequence[KeyframeInputs],
        sentence_embeddings: torch.Tensor,
        face_embeddings: torch.Tensor,
        reference_tokens: torch.Tensor | None,
        known: torch.Tensor,
        draw: Sequence[int],
        seeds: Mapping[int, int],
        settings: GenerationSettings,
    ) -> Iterator[tuple[int, torch.Tensor]]:
        """(t, tokens (L, d)) for every frame in `draw`, in story order."""
        # Passed per call: the sampler (and its config) is shared by every job on this bundle.
        temperatures = {
            "mixture_temperature": settings.mixture_temperature,
            "scale_temperature": settings.scale_temperature,
        }
        generators = {t: torch.Generator().manual_seed(seeds.get(t, t)) for t in draw}
        if settings.use_history:
            yield from self.sampler.stream(
                frames,
                sentence_embeddings,
                face_embeddings,
                visual_tokens=known,
                targets=draw,
                reference_tokens=reference_tokens,
                generators=generators,
                **temperatures,
            )
            return
        # Ablation "no history": every frame is drawn from its own script alone.
        for t in draw:
            tokens = self.sampler(
                [frames[t]],
                sentence_embeddings[t : t + 1],
                face_embeddings[t : t + 1],
                reference_tokens=reference_tokens,
                generator=generators[t],
                **temperatures,
            )
            yield t, tokens[0]

    @torch.no_grad()
    def render(
        self,
        tokens: torch.Tensor | None,
        sentence_embeddings: torch.Tensor,
        face_embeddings: torch.Tensor,
        *,
        seed: int,
        settings: GenerationSettings,
    ) -> Image.Image:
        """One keyframe image from its tokens (L, d) (None: text and faces only), (S, e) and (C, f)."""
        (image,) = self.render_many(
            None if tokens is None else tokens[None],
            sentence_embeddings[None],
            face_embeddings[None],
            seeds=[seed],
            settings=settings,
        )
        return image

    @torch.no_grad()
    def render_many(
        self,
        tokens: torch.Tensor | None,
        sentence_embeddings: torch.Tensor,
        face_embeddings: torch.Tensor,
        *,
        seeds: Sequence[int],
        settings: GenerationSettings,
    ) -> list[Image.Image]:
        """Keyframes rendered together from (B, L, d) tokens (None: text and faces only), (B, S, e)
        and (B, C, f); keyframe i's noise comes from seeds[i] alone, so it is the picture
        `render` makes of it on its own (up to float rounding)."""
        decoder = self.bundle.decoder
        if len(seeds) != sentence_embeddings.shape[0]:
            raise ValueError(f"{len(seeds)} seeds were given for {sentence_embeddings.shape[0]} keyframes.")
        out = decoder(
            tokens=None if tokens is None else tokens.to(decoder.device, decoder.dtype),
            text_embeds=sentence_embeddings.to(decoder.device, decoder.dtype),
            face_embeds=face_embeddings.to(decoder.device, decoder.dtype) if settings.use_faces else None,
            num_inference_steps=settings.num_inference_steps,
            guidance_scale=settings.guidance_scale,
            face_guidance_scale=settings.face_guidance_scale,
            generator=[torch.Generator().manual_seed(int(seed)) for seed in seeds],
            output_type="pil",
            batch_size=len(seeds),
        )
        return list(out.images)


def _position(script: Script, frame_index: int) -> tuple[int, int]:
    for t, (scene_index, shot_index, _) in enumerate(script.shots()):
        if t == frame_index:
            return scene_index, shot_index
    raise IndexError(frame_index)


def load_pipeline(folder: str | Path, device: str | torch.device = "cpu") -> StoryboardPipeline:
    """The storyboard pipeline of a local bundle folder; raises BundleError with a sentence."""
    return StoryboardPipeline.from_bundle(folder, device=device)
