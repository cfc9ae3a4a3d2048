"""Stage 2, people and faces (paper App. B): up to 5 people per keyframe, their faces and face embeddings.

    keyframe --person detector--> person boxes (<= max_people)
             --face detector (inside each person box, or on the whole keyframe)--> face boxes
             --face embedder--> (F, E) embeddings, one row per face large enough to identify

Detectors, from paper scale to the offline default:
* `grounding-dino`: Grounding DINO through transformers (zero-shot object detection with the
  prompt "a person.") from a local folder; faces are then found inside each person box;
* `insightface`: insightface's SCRFD face detector, when its models are present locally;
* `haar`: OpenCV's bundled frontal-face cascade, always present (the keyframe is upscaled
  by `detect_scale` first: the cascade misses faces under ~24 pixels);
* `ground-truth`: the boxes recorded beside a toy-cinema video (toy videos only).

Embedders: `clip` (the bundle's CLIP tower on face crops, an open_clip folder), `insightface`
(ArcFace) or `colour-layout` (training-free, `face_layout.py`; the default when no trained
face model is configured).

Output folder: `people.json` (per keyframe the people with person and face boxes in keyframe
pixels; per face its keyframe, box and crop file), `embeddings.npy` (F, E) float32 and
`crops/000000.png` (square face crops with margin, `crop_size` pixels: the face bank's images).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from PIL import Image

from core.encoders.faces import FaceBox, FaceDetector, FaceEmbedder, square_crop
from core.files import write_json_atomically
from train.data.movies.errors import VideoError
from train.data.movies.keyframes import Keyframe, KeyframeSet, open_keyframe
from train.data.movies.toy_video import ToyGroundTruth
from train.data.movies.work import read_json

logger = logging.getLogger(__name__)

PEOPLE_FILE = "people.json"
EMBEDDINGS_FILE = "embeddings.npy"
CROPS_DIR = "crops"
DETECTORS = ("grounding-dino", "insightface", "haar", "ground-truth")
EMBEDDERS = ("colour-layout", "clip", "insightface")
PERSON_PROMPT = "a person."


@dataclass(frozen=True)
class PeopleConfig:
    detector: str = "haar"
    grounding_dino: str | None = None  # local transformers folder (detector "grounding-dino")
    insightface_root: str | None = None  # folder holding insightface .onnx models
    insightface_name: str = "buffalo_l"
    face_embedder: str = "colour-layout"
    clip: str | None = None  # open_clip folder of the bundle's CLIP (embedder "clip")
    max_people: int = 5  # the AR model places at most 5 characters per frame (paper 3.3)
    min_face: int = 16  # faces with a shorter side (keyframe pixels) are too small to identify
    person_threshold: float = 0.35  # Grounding DINO box score
    text_threshold: float = 0.25  # Grounding DINO phrase score
    detect_scale: float = 2.0  # upscaling before face detection
    crop_margin: float = 0.25  # face crop margin, as for the bundle's face encoder
    crop_size: int = 128  # face crops are stored at the size of toy-cinema cast photos


@dataclass(frozen=True)
class Person:
    box: (
        tuple[float, float, float, float] | None
    )  # person box (keyframe pixels), None if only a face was found
    face: FaceBox | None  # face box (keyframe pixels), None if no face was found
    score: float


class PeopleDetector(Protocol):
    def detect(self, image: Image.Image, keyframe: Keyframe) -> list[Person]:
        """The people in one keyframe, best first."""
        ...


def _scaled(box: FaceBox, factor: float, dx: float = 0.0, dy: float = 0.0) -> FaceBox:
    landmarks = None if box.landmarks is None else box.landmarks * factor + np.array([dx, dy], np.float32)
    return FaceBox(
        box.x0 * factor + dx,
        box.y0 * factor + dy,
        box.x1 * factor + dx,
        box.y1 * factor + dy,
        score=box.score,
        landmarks=landmarks,
    )


def _detect_faces(detector: FaceDetector, image: Image.Image, scale: float) -> list[FaceBox]:
    """Faces of `image` in its own pixels, detected on a copy upscaled by `scale`."""
    if scale != 1.0:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        found = detector.detect(image.resize(size, Image.Resampling.BICUBIC))
        return [_scaled(box, 1.0 / scale) for box in found]
    return detector.detect(image)


class FacePeople:
    """People found by their faces alone (insightface or Haar on the whole keyframe)."""

    def __init__(self, faces: FaceDetector, scale: float):
        self.faces = faces
        self.scale = scale

    def detect(self, image: Image.Image, keyframe: Keyframe) -> list[Person]:
        return [Person(None, box, box.score) for box in _detect_faces(self.faces, image, self.scale)]


class GroundingDinoPeople:
    """Grounding DINO person boxes (transformers, local folder), then a face inside each."""

    def __init__(self, folder: str | Path, faces: FaceDetector, config: PeopleConfig):
        from transformers import AutoModelForZeroShotObjectDetection, AutoProcessor

        folder = Path(folder)
        if not (folder / "config.json").is_file():
            raise FileNotFoundError(
                f"{folder} is not a transformers model folder (no config.json); give the local folder of a "
                "Grounding DINO checkpoint saved with save_pretrained."
            )
        self.processor = AutoProcessor.from_pretrained(folder)
        self.model = AutoModelForZeroShotObjectDetection.from_pretrained(folder).eval()
        self.faces = faces
        self.config = config

    @torch.no_grad()
    def detect(self, image: Image.Image, keyframe: Keyframe) -> list[Person]:
        inputs = self.processor(images=image, text=PERSON_PROMPT, return_tensors="pt")
        outputs = self.model(**inputs)
        result = self.processor.post_process_grounded_object_detection(
            outputs,
            inputs["input_ids"],
            threshold=self.config.person_threshold,
            text_threshold=self.config.text_threshold,
            target_sizes=[(image.height, image.width)],
        )[0]
        people = []
        for box, score in zip(result["boxes"].tolist(), result["scores"].tolist(), strict=True):
            x0, y0 = max(0.0, box[0]), max(0.0, box[1])
            x1, y1 = min(float(image.width), box[2]), min(float(image.height), box[3])
            if x1 - x0 < 2 or y1 - y0 < 2:
                continue
            region = image.crop((round(x0), round(y0), round(x1), round(y1)))
            found = _detect_faces(self.faces, region, self.config.detect_scale)
            face = _scaled(max(found, key=lambda b: b.area), 1.0, round(x0), round(y0)) if found else None
            people.append(Person((x0, y0, x1, y1), face, float(score)))
        return sorted(people, key=lambda p: p.score, reverse=True)


class GroundTruthPeople:
    """The people recorded beside a toy-cinema video (allowed for toy videos only)."""

    def __init__(self, truth: ToyGroundTruth, keyframes: KeyframeSet):
        self.truth = truth
        self.keyframes = keyframes

    def detect(self, image: Image.Image, keyframe: Keyframe) -> list[Person]:
        people = []
        for character in self.truth.characters_at(keyframe.frame):
            box = self.keyframes.to_keyframe(tuple(character["box"]))
            face = self.keyframes.to_keyframe(tuple(character["face_box"]))
            people.append(Person(box, FaceBox(*face), 1.0))
        # Largest first: when more than max_people are on screen the leads are kept.
        return sorted(people, key=lambda p: -(p.face.area if p.face else 0.0))


def _face_detector(config: PeopleConfig) -> FaceDetector:
    if config.insightface_root:
        from core.encoders.face_insightface import InsightFaceModels, find_insightface_models

        folder = find_insightface_models(config.insightface_root, config.insightface_name)
        if folder is None:
            raise FileNotFoundError(
                f"No insightface models named {config.insightface_name!r} are under {config.insightface_root}; "
                "copy the model folder (with its .onnx files) there, or leave --insightface-root out to use "
                "OpenCV's Haar cascade."
            )
        return InsightFaceModels(folder).detector()
    from core.encoders.face_haar import HaarFaceDetector

    return HaarFaceDetector()


class PeopleModels:
    """The detector and embedder of a run, loaded once and shared by every video."""

    def __init__(self, config: PeopleConfig):
        if config.detector not in DETECTORS:
            raise ValueError(
                f"Unknown people detector {config.detector!r}; use one of {', '.join(DETECTORS)}."
            )
        if config.face_embedder not in EMBEDDERS:
            raise ValueError(
                f"Unknown face embedder {config.face_embedder!r}; use one of {', '.join(EMBEDDERS)}."
            )
        if config.detector == "insightface" and not config.insightface_root:
            raise ValueError(
                "The insightface detector needs --insightface-root, the folder that holds its models."
            )
        if config.detector == "grounding-dino" and not config.grounding_dino:
            raise ValueError(
                "The grounding-dino detector needs --grounding-dino, the local folder of the checkpoint."
            )
        self.config = config
        self._detector: PeopleDetector | None = None
        self._embedder: FaceEmbedder | None = None

    def detector(self, truth: ToyGroundTruth | None, keyframes: KeyframeSet, video: Path) -> PeopleDetector:
        if self.config.detector == "ground-truth":
            if truth is None:
                raise VideoError(
                    f"The ground-truth detector reads the boxes recorded beside toy-cinema videos, and {video} "
                    "has none; choose --detector grounding-dino, insightface or haar for real films."
                )
            return GroundTruthPeople(truth, keyframes)
        if self._detector is None:
            if self.config.detector == "grounding-dino":
                self._detector = GroundingDinoPeople(
                    self.config.grounding_dino, _face_detector(self.config), self.config
                )
            else:
                self._detector = FacePeople(_face_detector(self.config), self.config.detect_scale)
        return self._detector

    @property
    def embedder(self) -> FaceEmbedder:
        if self._embedder is None:
            self._embedder = _face_embedder(self.config)
        return self._embedder


def _face_embedder(config: PeopleConfig) -> FaceEmbedder:
    if config.face_embedder == "colour-layout":
        from train.data.movies.face_layout import ColourLayoutFaceEmbedder

        return ColourLayoutFaceEmbedder()
    if config.face_embedder == "clip":
        from core.encoders.face_clip import ClipFaceEmbedder
        from core.encoders.open_clip_encoder import OpenClipEncoder

        if not config.clip:
            raise ValueError(
                "The clip face embedder needs --clip, the bundle's CLIP folder (e.g. BUNDLE/tokenizer/clip "
                "or the clip/ folder written by train.stage0_representation)."
            )
        return ClipFaceEmbedder(OpenClipEncoder.from_pretrained(config.clip), margin=config.crop_margin)
    from core.encoders.faces import make_face_encoder

    return make_face_encoder(
        "insightface", insightface_root=config.insightface_root, insightface_name=config.insightface_name
    ).embedder


def _box(values: tuple[float, ...] | None) -> list[float] | None:
    return None if values is None else [round(float(v), 2) for v in values]


def find_people(
    folder: Path,
    keyframes: KeyframeSet,
    keyframe_dir: Path,
    detector: PeopleDetector,
    embedder: FaceEmbedder,
    config: PeopleConfig,
) -> int:
    """Detect, crop and embed the people of every keyframe into `folder`; returns the number of faces."""
    (folder / CROPS_DIR).mkdir()
    per_keyframe: list[list[dict[str, Any]]] = []
    faces: list[dict[str, Any]] = []
    rows: list[torch.Tensor] = []
    for keyframe in keyframes.keyframes:
        image = open_keyframe(keyframe_dir, keyframe)
        people = detector.detect(image, keyframe)[: config.max_people]
        entries, boxes = [], []
        for j, person in enumerate(people):
            entry = {
                "box": _box(person.box),
                "face": None,
                "face_index": None,
                "score": round(person.score, 4),
            }
            face = person.face
            if face is not None:
                entry["face"] = _box((face.x0, face.y0, face.x1, face.y1))
                if min(face.x1 - face.x0, face.y1 - face.y0) >= config.min_face:
                    entry["face_index"] = len(faces)
                    crop = square_crop(image, face, config.crop_margin).resize(
                        (config.crop_size, config.crop_size), Image.Resampling.LANCZOS
                    )
                    name = f"{CROPS_DIR}/{len(faces):06d}.png"
                    crop.save(folder / name, compress_level=1)
                    faces.append(
                        {"keyframe": keyframe.index, "person": j, "box": entry["face"], "crop": name}
                    )
                    boxes.append(face)
            entries.append(entry)
        if boxes:
            rows.append(embedder.embed_faces(image, boxes).float().cpu())
        per_keyframe.append(entries)
    dim = int(embedder.embedding_dim)
    embeddings = torch.cat(rows).numpy() if rows else np.zeros((0, dim), np.float32)
    np.save(folder / EMBEDDINGS_FILE, embeddings.astype(np.float32))
    write_json_atomically(
        folder / PEOPLE_FILE,
        {
            "embedder": config.face_embedder,
            "embedding_dim": dim,
            "keyframes": per_keyframe,
            "faces": faces,
        },
    )
    return len(faces)


@dataclass(frozen=True)
class PeopleSet:
    """What stage 2 wrote: people per keyframe, face records and their embeddings (F, E)."""

    keyframes: list[list[dict[str, Any]]]
    faces: list[dict[str, Any]]
    embeddings: np.ndarray


def load_people(folder: Path) -> PeopleSet:
    data = read_json(Path(folder) / PEOPLE_FILE)
    return PeopleSet(data["keyframes"], data["faces"], np.load(Path(folder) / EMBEDDINGS_FILE))
