"""insightface backend: SCRFD detection with 5 landmarks, ArcFace alignment and embedding.

Input: PIL images. Output: FaceBox lists (with landmarks) and (F, 512) unit-length ArcFace
embeddings. Used only when its models are present locally: `FaceAnalysis()` with no local
models would try to download buffalo_l, so we always hand it an existing folder.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from core.encoders.face_box import FaceBox, square_crop

logger = logging.getLogger(__name__)


def find_insightface_models(root: str | Path, name: str = "buffalo_l") -> Path | None:
    """The local folder holding insightface `.onnx` models, or None when there is none.

    Looks where insightface itself looks (`<root>/models/<name>`), then `<root>/<name>`, then
    `root` itself when it directly holds .onnx files.
    """
    root = Path(root).expanduser()
    for folder in (root / "models" / name, root / name, root):
        if folder.is_dir() and any(folder.glob("*.onnx")):
            return folder.resolve()
    return None


class InsightFaceModels:
    """The loaded insightface models of one local folder (detection + recognition)."""

    def __init__(
        self, model_dir: str | Path, *, det_size: tuple[int, int] = (640, 640), det_thresh: float = 0.5
    ):
        from insightface.app import FaceAnalysis

        model_dir = Path(model_dir)
        if not model_dir.is_dir() or not any(model_dir.glob("*.onnx")):
            raise FileNotFoundError(
                f"No insightface models (.onnx files) are in {model_dir}; copy them there first "
                "(they are never downloaded)."
            )
        # A path that exists as a folder is used as is; insightface only downloads for names.
        self.app = FaceAnalysis(
            name=str(model_dir),
            root=str(model_dir.parent),
            allowed_modules=["detection", "recognition"],
            providers=["CPUExecutionProvider"],
        )
        self.app.prepare(ctx_id=-1, det_size=det_size, det_thresh=det_thresh)
        if "recognition" not in self.app.models:
            logger.warning(
                "The insightface folder %s has no recognition model; only detection works.", model_dir
            )

    def detector(self) -> InsightFaceDetector:
        return InsightFaceDetector(self)

    def embedder(self) -> InsightFaceEmbedder:
        if "recognition" not in self.app.models:
            raise FileNotFoundError(
                "The insightface folder has no recognition model, so it cannot embed faces."
            )
        return InsightFaceEmbedder(self)


def _bgr(image: Image.Image) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])


class InsightFaceDetector:
    def __init__(self, models: InsightFaceModels):
        self.models = models

    def detect(self, image: Image.Image) -> list[FaceBox]:
        bboxes, kpss = self.models.app.det_model.detect(_bgr(image), max_num=0)
        boxes = []
        for i in range(bboxes.shape[0]):
            x0, y0, x1, y1, score = (float(v) for v in bboxes[i, :5])
            landmarks = None if kpss is None else np.asarray(kpss[i], dtype=np.float32)
            boxes.append(FaceBox(x0, y0, x1, y1, score=score, landmarks=landmarks))
        return sorted(boxes, key=lambda b: b.score, reverse=True)


class InsightFaceEmbedder:
    def __init__(self, models: InsightFaceModels, *, margin: float = 0.0):
        self.models = models
        self.recognizer = models.app.models["recognition"]
        self.margin = margin

    @property
    def embedding_dim(self) -> int:
        return int(self.recognizer.session.get_outputs()[0].shape[-1])

    def embed_faces(self, image: Image.Image, boxes: Sequence[FaceBox]) -> torch.Tensor:
        from insightface.utils import face_align

        bgr = _bgr(image)
        size = self.recognizer.input_size[0]
        crops = []
        for box in boxes:
            if box.landmarks is not None:
                crops.append(face_align.norm_crop(bgr, landmark=box.landmarks, image_size=size))
            else:
                # No landmarks (e.g. a Haar box): a plain square crop is the best alignment we have.
                crops.append(_bgr(square_crop(image, box, self.margin).resize((size, size), Image.BICUBIC)))
        return self._embed_bgr(crops)

    def embed_crops(self, crops: Sequence[Image.Image]) -> torch.Tensor:
        size = self.recognizer.input_size[0]
        return self._embed_bgr([_bgr(c.convert("RGB").resize((size, size), Image.BICUBIC)) for c in crops])

    def _embed_bgr(self, crops: list[np.ndarray]) -> torch.Tensor:
        if not crops:
            return torch.zeros(0, self.embedding_dim)
        feats = torch.from_numpy(np.asarray(self.recognizer.get_feat(crops), dtype=np.float32))
        return torch.nn.functional.normalize(feats, dim=-1)  # (F, 512)
