"""torch Datasets over toy-cinema samples for stages 0, 1 and 3.

Items are addressed by (index, draw) pairs from `StepBatchSampler`: `draw` decides every
random choice (which photo, which sentence, flip or not), so data reading is reproducible
and resumable. Images are decoded in the dataset (worker processes when --num-workers > 0);
sentence and face embeddings are computed in the training process, where the encoders live.

Tensors:
    CLIP pixels (3, h, w), CLIP-normalised (h, w = the CLIP tower's input size)
    VAE pixels  (3, H, W) in [-1, 1]  (H, W = the decoder's image size)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from core.encoders.open_clip_encoder import ClipImageTransform
from train.common.toy_samples import IdentitySample, KeyframeSample, PhotoRef


def vae_pixels(image: Image.Image, size: tuple[int, int], flip: bool = False) -> torch.Tensor:
    """PIL image -> (3, H, W) in [-1, 1], resized to `size` = (H, W)."""
    height, width = size
    image = image.convert("RGB")
    if image.size != (width, height):
        image = image.resize((width, height), Image.BICUBIC)
    if flip:
        image = image.transpose(Image.FLIP_LEFT_RIGHT)
    array = np.asarray(image, dtype=np.float32) / 127.5 - 1.0  # (H, W, 3)
    return torch.from_numpy(array).permute(2, 0, 1).contiguous()


class FrameTextDataset(Dataset):
    """Stage 0 CLIP: a keyframe and its plot sentence."""

    def __init__(self, samples: Sequence[KeyframeSample], transform: ClipImageTransform):
        self.samples = [s for s in samples if s.plot.strip()]
        self.transform = transform

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, key: tuple[int, int]) -> dict:
        index, _ = key
        sample = self.samples[index]
        with Image.open(sample.image) as image:
            return {"pixels": self.transform(image.convert("RGB")), "text": sample.plot}


class FaceTextDataset(Dataset):
    """Stage 0 CLIP: one face photo of an identity and one of its description sentences.

    One item per identity, so a batch of distinct indices never pairs two photos of the same
    person with the same sentence (which the contrastive loss would count as negatives).
    """

    def __init__(self, identities: Sequence[IdentitySample], transform: ClipImageTransform):
        self.identities = list(identities)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.identities)

    def __getitem__(self, key: tuple[int, int]) -> dict:
        index, draw = key
        sample = self.identities[index]
        rng = np.random.default_rng(draw)
        photo = sample.photos[int(rng.integers(len(sample.photos)))]
        sentence = sample.sentences[int(rng.integers(len(sample.sentences)))]
        return {"pixels": self.transform(photo.open()), "text": sentence}


class VaeImageDataset(Dataset):
    """Stage 0 VAE: keyframes in [-1, 1], mirrored for half of the draws.

    crop: (h, w) random crop of the resized keyframe, or None for the whole frame. The VAE is
    convolutional, so it learns the same maps on crops at a fraction of the cost (latent
    diffusion trains its autoencoders on crops too).
    """

    def __init__(
        self, samples: Sequence[KeyframeSample], size: tuple[int, int], crop: tuple[int, int] | None = None
    ):
        self.paths = [s.image for s in samples]
        self.size = tuple(size)
        self.crop = tuple(crop) if crop else None
        if self.crop and (self.crop[0] > self.size[0] or self.crop[1] > self.size[1]):
            raise ValueError(f"The VAE crop {self.crop} is larger than the image size {self.size}.")

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, key: tuple[int, int]) -> dict:
        index, draw = key
        with Image.open(self.paths[index]) as image:
            pixels = vae_pixels(image, self.size, flip=bool(draw & 1))
        if self.crop:
            rng = np.random.default_rng(draw)
            top = int(rng.integers(self.size[0] - self.crop[0] + 1))
            left = int(rng.integers(self.size[1] - self.crop[1] + 1))
            pixels = pixels[:, top : top + self.crop[0], left : left + self.crop[1]]
        return {"pixels": pixels}


class KeyframeDataset(Dataset):
    """Stages 1 and 3: a keyframe for CLIP and for the VAE, its sentences and face photos.

    `faces` holds one randomly drawn cast photo per character in the frame (None when the
    character has no photo), in the order of the ground truth, at most `max_faces`.
    """

    def __init__(
        self,
        samples: Sequence[KeyframeSample],
        transform: ClipImageTransform,
        size: tuple[int, int],
        *,
        max_descriptions: int = 15,
        max_faces: int = 5,
    ):
        self.samples = list(samples)
        self.transform = transform
        self.size = tuple(size)
        self.max_descriptions = max_descriptions
        self.max_faces = max_faces

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, key: tuple[int, int]) -> dict:
        index, draw = key
        sample = self.samples[index]
        rng = np.random.default_rng(draw)
        with Image.open(sample.image) as image:
            image = image.convert("RGB")
        faces: list[PhotoRef | None] = []
        for person in sample.people[: self.max_faces]:
            faces.append(person.photos[int(rng.integers(len(person.photos)))] if person.photos else None)
        return {
            "clip_pixels": self.transform(image),
            "vae_pixels": vae_pixels(image, self.size),
            "sentences": sample.sentences(self.max_descriptions) if self.max_descriptions else [],
            "faces": faces,
        }


def collate_keyframes(items: list[dict]) -> dict:
    """Stack the tensors; keep the per-frame sentence and face lists as lists."""
    return {
        "clip_pixels": torch.stack([i["clip_pixels"] for i in items]),
        "vae_pixels": torch.stack([i["vae_pixels"] for i in items]),
        "sentences": [i["sentences"] for i in items],
        "faces": [i["faces"] for i in items],
    }
