"""Media of the studio: the upload gate (`upload`) and the file store (`store`)."""

from studio.errors import MediaError
from studio.media.store import MEDIA_KINDS, MediaStore, StoredFile
from studio.media.upload import (
    ALLOWED_FORMATS,
    UploadLimits,
    ValidatedImage,
    sniff_format,
    validate_image_upload,
)

__all__ = [
    "ALLOWED_FORMATS",
    "MEDIA_KINDS",
    "MediaError",
    "MediaStore",
    "StoredFile",
    "UploadLimits",
    "ValidatedImage",
    "sniff_format",
    "validate_image_upload",
]
