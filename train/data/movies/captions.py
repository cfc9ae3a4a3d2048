"""Stage 4, captions (paper App. B): a vision-language model describes each keyframe and each character.

    keyframe image       --VLM (transformers image-text-to-text, local folder)--> keyframe caption
    character face crop  --VLM--> appearance caption (the representative face of the character)

With no VLM configured the stage refuses: it never invents captions. The one exception is a
toy-cinema video, whose recorded ground truth the `GroundTruthCaptioner` reads (the shot's
plot sentence for a keyframe; the name and description of the cast member most of the
character's faces show).

Output folder: `captions.json` {"captioner", "keyframes": [caption per keyframe],
"characters": [{"name", "caption"}] in stage 3's order}.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from PIL import Image

from core.files import write_json_atomically
from train.data.movies.characters import Character
from train.data.movies.errors import VideoError
from train.data.movies.ground_truth import face_identities, majority_identity
from train.data.movies.keyframes import Keyframe, KeyframeSet
from train.data.movies.people import PeopleSet
from train.data.movies.toy_video import ToyGroundTruth
from train.data.movies.work import read_json

logger = logging.getLogger(__name__)

CAPTIONS_FILE = "captions.json"


@dataclass(frozen=True)
class CaptionConfig:
    vlm: str | None = None  # local transformers image-text-to-text folder
    keyframe_prompt: str = (
        "Describe this movie frame in two sentences: the place, the time of day and the light, "
        "who is in it and what they are doing."
    )
    character_prompt: str = (
        "Describe this person's appearance in one sentence: face, hair, eyes, skin, glasses, "
        "hat, beard and clothes. Do not guess a name."
    )
    max_new_tokens: int = 96


@dataclass(frozen=True)
class CharacterCaption:
    name: str  # the stage-3 name, or the real one when the captioner knows it
    caption: str


class Captioner(Protocol):
    name: str

    def caption_keyframes(self, images: list[Image.Image], keyframes: list[Keyframe]) -> list[str]: ...

    def caption_characters(
        self, characters: list[Character], crops: list[Image.Image]
    ) -> list[CharacterCaption]:
        """One caption per character, from its representative face crop."""
        ...


def clean(text: str) -> str:
    """One line of text: a VLM's newlines and runs of spaces become single spaces."""
    return " ".join(str(text).split())


class VlmCaptioner:
    """A vision-language model from a local folder, through transformers' image-text-to-text pipeline."""

    def __init__(self, folder: str | Path, config: CaptionConfig):
        from transformers import pipeline

        folder = Path(folder)
        if not (folder / "config.json").is_file():
            raise FileNotFoundError(
                f"{folder} is not a transformers model folder (no config.json); give --vlm the local folder "
                "of an image-text-to-text model (e.g. a LLaVA checkpoint saved with save_pretrained)."
            )
        self.name = f"vlm:{folder.resolve()}"
        self.config = config
        self.pipe = pipeline("image-text-to-text", model=str(folder), device="cpu")

    def _ask(self, image: Image.Image, prompt: str) -> str:
        messages = [
            {"role": "user", "content": [{"type": "image", "image": image}, {"type": "text", "text": prompt}]}
        ]
        out = self.pipe(
            text=messages, max_new_tokens=self.config.max_new_tokens, do_sample=False, return_full_text=False
        )
        return clean(out[0]["generated_text"])

    def caption_keyframes(self, images: list[Image.Image], keyframes: list[Keyframe]) -> list[str]:
        return [self._ask(image, self.config.keyframe_prompt) for image in images]

    def caption_characters(
        self, characters: list[Character], crops: list[Image.Image]
    ) -> list[CharacterCaption]:
        return [
            CharacterCaption(c.name, self._ask(crop, self.config.character_prompt))
            for c, crop in zip(characters, crops, strict=True)
        ]


class GroundTruthCaptioner:
    """Captions read from a toy-cinema video's recorded ground truth (toy videos only)."""

    name = "ground-truth"

    def __init__(self, truth: ToyGroundTruth, keyframes: KeyframeSet, people: PeopleSet):
        self.truth = truth
        self.identities = face_identities(truth, keyframes, people)

    def caption_keyframes(self, images: list[Image.Image], keyframes: list[Keyframe]) -> list[str]:
        return [self.truth.shot_at(k.frame)["plot"] for k in keyframes]

    def caption_characters(
        self, characters: list[Character], crops: list[Image.Image]
    ) -> list[CharacterCaption]:
        out = []
        for character in characters:
            identity = majority_identity(character.faces, self.identities)
            if identity is None:
                out.append(CharacterCaption(character.name, ""))
                continue
            member = self.truth.member(identity)
            out.append(CharacterCaption(member["name"], " ".join(member["description"])))
        return out


class CaptionModels:
    """The run's VLM, loaded once and shared by every video."""

    def __init__(self, config: CaptionConfig):
        self.config = config
        self._vlm: VlmCaptioner | None = None

    def captioner(
        self, video: Path, truth: ToyGroundTruth | None, keyframes: KeyframeSet, people: PeopleSet
    ) -> Captioner:
        if self.config.vlm:
            if self._vlm is None:
                self._vlm = VlmCaptioner(self.config.vlm, self.config)
            return self._vlm
        if truth is not None:
            return GroundTruthCaptioner(truth, keyframes, people)
        raise VideoError(
            f"No vision-language model is configured, so {video.name} cannot be captioned: captions are "
            "never invented. Pass --vlm with the local folder of a transformers image-text-to-text model "
            "(only toy-cinema videos, which carry their ground truth, can be captioned without one)."
        )


def write_captions(
    folder: Path, captioner: str, keyframes: list[str], characters: list[CharacterCaption]
) -> None:
    write_json_atomically(
        folder / CAPTIONS_FILE,
        {
            "captioner": captioner,
            "keyframes": keyframes,
            "characters": [{"name": c.name, "caption": c.caption} for c in characters],
        },
    )


def load_captions(folder: Path) -> dict[str, Any]:
    data = read_json(Path(folder) / CAPTIONS_FILE)
    data["characters"] = [CharacterCaption(**c) for c in data["characters"]]
    return data
