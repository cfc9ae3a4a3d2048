"""Encoders shared by the models: the bundle's CLIP, faces, description sentences.

open_clip, sentence-transformers, OpenCV and insightface are imported only when a class is used.
"""

from core.encoders.descriptions import (
    DescriptionEncoder,
    MiniLMDescriptionEncoder,
    OpenClipTextDescriptionEncoder,
)
from core.encoders.faces import FaceBox, FaceEncoder, NoFaceFound, make_face_encoder
from core.encoders.open_clip_encoder import OpenClipEncoder

__all__ = [
    "DescriptionEncoder",
    "FaceBox",
    "FaceEncoder",
    "MiniLMDescriptionEncoder",
    "NoFaceFound",
    "OpenClipEncoder",
    "OpenClipTextDescriptionEncoder",
    "make_face_encoder",
]
