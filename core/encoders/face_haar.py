"""Face detection with OpenCV's bundled Haar cascade: the detector that is always present.

Input: a PIL image of any size. Output: FaceBox list in pixel coordinates (no landmarks).
opencv-python 4.x ships the cascades in `cv2.data.haarcascades`; 5.x ships none.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from core.encoders.face_box import FaceBox

DEFAULT_CASCADE = "haarcascade_frontalface_default.xml"


class HaarFaceDetector:
    def __init__(
        self,
        cascade: str = DEFAULT_CASCADE,
        *,
        scale_factor: float = 1.1,
        min_neighbors: int = 5,
        min_size_fraction: float = 0.05,
    ):
        import cv2

        folder = getattr(getattr(cv2, "data", None), "haarcascades", None)
        path = Path(folder or "") / cascade
        if folder is None or not path.is_file() or not hasattr(cv2, "CascadeClassifier"):
            raise RuntimeError(
                "OpenCV's Haar cascades are missing (opencv-python 5.x ships none). Install the "
                "pinned opencv-python 4.x from requirements.txt."
            )
        self._classifier = cv2.CascadeClassifier(str(path))
        if self._classifier.empty():
            raise RuntimeError(f"OpenCV could not read the Haar cascade {path}; reinstall opencv-python.")
        self.scale_factor = scale_factor
        self.min_neighbors = min_neighbors
        # Faces smaller than this fraction of the short image side are noise at our scales.
        self.min_size_fraction = min_size_fraction

    def detect(self, image: Image.Image) -> list[FaceBox]:
        import cv2

        gray = np.asarray(image.convert("L"))
        # Equalising makes the cascade work on dim and washed-out photos alike.
        gray = cv2.equalizeHist(gray)
        side = max(12, round(min(gray.shape) * self.min_size_fraction))
        found = self._classifier.detectMultiScale3(
            gray,
            scaleFactor=self.scale_factor,
            minNeighbors=self.min_neighbors,
            minSize=(side, side),
            outputRejectLevels=True,
        )
        rects, _, weights = found
        boxes = [
            FaceBox(float(x), float(y), float(x + w), float(y + h), score=float(s))
            for (x, y, w, h), s in zip(
                np.asarray(rects).reshape(-1, 4), np.asarray(weights).reshape(-1), strict=True
            )
        ]
        return sorted(boxes, key=lambda b: b.score, reverse=True)
