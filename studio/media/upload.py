"""The one gate every uploaded image passes: PNG, JPEG or WEBP in, clean PNG out.

Why so strict: the studio pins Pillow < 12 (moviepy needs it) and older Pillows have decoder
CVEs in formats nobody uploads on purpose (PSD, FITS, EPS, TGA...). So the format is read from
the file's magic bytes, Pillow is asked to open *only* that format (`formats=[...]`, so no
other decoder ever sees the bytes), and Pillow's own detection must agree. On top:

* size limit in bytes (checked before reading a file from disk) and in pixels (checked from
  the header before any pixel is decoded, below Pillow's decompression-bomb threshold);
* truncated or corrupt files are refused (`verify()` walks the chunks and CRCs, `load()`
  decodes every pixel with truncated loading off);
* a file whose extension names another format than its content is refused, so a mislabelled
  file never becomes a surprise later;
* SVG, GIF, TIFF, PSD, BMP, HEIC... are refused with a sentence naming what they are;
* animated images are refused (a face photo or reference is one still frame);
* the EXIF orientation is applied, colours are converted to sRGB, and everything else
  (EXIF, GPS, XMP, text chunks) is dropped by re-encoding the pixels as a fresh PNG.

`validate_image_upload` raises `MediaError` (a sentence for the user) and writes nothing.
"""

from __future__ import annotations

import hashlib
import io
import logging
import struct
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from PIL import Image, ImageCms, ImageFile, ImageOps

from studio.errors import MediaError

logger = logging.getLogger(__name__)

ALLOWED_FORMATS = ("PNG", "JPEG", "WEBP")
EXTENSION_FORMATS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".jpe": "JPEG",
    ".jfif": "JPEG",
    ".webp": "WEBP",
}
FORMAT_EXTENSION = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp"}

# Formats we recognise only to name them in the refusal; none is ever decoded.
_REFUSED_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"GIF87a", 0, "a GIF image"),
    (b"GIF89a", 0, "a GIF image"),
    (b"II*\x00", 0, "a TIFF image"),
    (b"MM\x00*", 0, "a TIFF image"),
    (b"8BPS", 0, "a Photoshop (PSD) file"),
    (b"BM", 0, "a BMP image"),
    (b"\x00\x00\x01\x00", 0, "an icon (ICO) file"),
    (b"%PDF", 0, "a PDF document"),
    (b"%!PS", 0, "a PostScript (EPS) file"),
    (b"\x00\x00\x00\x0cjP  ", 0, "a JPEG 2000 image"),
    (b"qoif", 0, "a QOI image"),
    (b"SIMPLE  =", 0, "a FITS file"),
    (b"PK\x03\x04", 0, "a ZIP archive"),
)
_HEIF_BRANDS = {
    b"heic": "a HEIC photo",
    b"heix": "a HEIC photo",
    b"mif1": "a HEIF image",
    b"avif": "an AVIF image",
    b"msf1": "a HEIF image",
}
_REFUSED_EXTENSIONS = {
    ".svg": "an SVG drawing",
    ".svgz": "an SVG drawing",
    ".gif": "a GIF image",
    ".tif": "a TIFF image",
    ".tiff": "a TIFF image",
    ".psd": "a Photoshop (PSD) file",
    ".bmp": "a BMP image",
    ".heic": "a HEIC photo",
    ".heif": "a HEIF image",
    ".avif": "an AVIF image",
    ".ico": "an icon (ICO) file",
    ".pdf": "a PDF document",
    ".eps": "a PostScript (EPS) file",
    ".tga": "a TGA image",
}
_WHAT_TO_DO = "Save it as PNG, JPEG or WEBP and upload it again."
# Pillow modes we can turn into 8-bit RGB(A) without losing meaning; 16-bit and float modes
# would be clipped silently, so they are refused instead.
_CONVERTIBLE_MODES = {"1", "L", "LA", "La", "P", "PA", "RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr"}
_PILLOW_READ_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError)

# A phone photo is ~5 MB; 20 MB leaves room for large PNG references without letting one
# upload fill the disk or the memory of the worker that decodes it.
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
# 40 megapixels is above any camera a user will upload from and well below Pillow's own
# decompression-bomb warning (89.5 MP), so our limit always fires first.
DEFAULT_MAX_PIXELS = 40_000_000


@dataclass(frozen=True)
class UploadLimits:
    """How large an upload may be, in bytes and in pixels."""

    max_bytes: int = DEFAULT_MAX_BYTES
    max_pixels: int = DEFAULT_MAX_PIXELS

    def __post_init__(self) -> None:
        if self.max_bytes <= 0 or self.max_pixels <= 0:
            raise ValueError("upload limits must be positive")
        if self.max_pixels > Image.MAX_IMAGE_PIXELS:
            # Our own limit must fire before Pillow's warning, or big images would pass with a
            # warning nobody sees.
            raise ValueError(
                f"max_pixels={self.max_pixels} exceeds Pillow's MAX_IMAGE_PIXELS={Image.MAX_IMAGE_PIXELS}"
            )


@dataclass(frozen=True)
class ValidatedImage:
    """A clean upload: the re-encoded PNG and what we learnt about the original."""

    png: bytes
    sha256: str  # of `png`, which is also the stored file's name
    width: int
    height: int
    source_format: str  # "PNG" | "JPEG" | "WEBP"
    original_name: str
    # Things the user should know that did not stop the upload, as sentences.
    notes: tuple[str, ...] = field(default_factory=tuple)

    def open(self) -> Image.Image:
        """The clean image, decoded (only the PNG decoder is allowed)."""
        image = Image.open(io.BytesIO(self.png), formats=["PNG"])
        image.load()
        return image


def _display_name(filename: str) -> str:
    return PurePath(filename).name if filename else ""


def _subject(filename: str) -> str:
    """How a message names the upload: its quoted file name, or "The file"."""
    name = _display_name(filename)
    return repr(name) if name else "The file"


def _describe_refused(data: bytes) -> str | None:
    """What a refused file is, from its first bytes, or None if we do not recognise it."""
    for signature, offset, what in _REFUSED_SIGNATURES:
        if data[offset : offset + len(signature)] == signature:
            return what
    if data[4:8] == b"ftyp":
        return _HEIF_BRANDS.get(data[8:12], "a video or HEIF file")
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"<?xml") or head.startswith(b"<svg") or b"<svg" in head:
        return "an SVG drawing"
    if head.startswith(b"<"):
        return "an HTML or XML document"
    return None


def sniff_format(data: bytes) -> str | None:
    """ "PNG" | "JPEG" | "WEBP" from the magic bytes, or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def read_upload_bytes(source: bytes | str | Path, *, max_bytes: int) -> tuple[bytes, str]:
    """The upload's bytes and file name; a path's size is checked before it is read."""
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        name = ""
    else:
        path = Path(source)
        try:
            size = path.stat().st_size
        except OSError as error:
            raise MediaError(
                f"The uploaded file {path.name!r} could not be read; upload it again."
            ) from error
        if size > max_bytes:
            raise MediaError(_too_large(path.name, size, max_bytes))
        data = path.read_bytes()
        name = path.name
    if len(data) > max_bytes:
        raise MediaError(_too_large(name, len(data), max_bytes))
    return data, name


def _too_large(name: str, size: int, max_bytes: int) -> str:
    return (
        f"{_subject(name)} is {size / 1024 / 1024:.1f} MB but uploads may be at most {max_bytes / 1024 / 1024:.1f} MB; "
        "upload a smaller image (e.g. resized or saved as JPEG)."
    )


def validate_image_upload(
    source: bytes | str | Path,
    filename: str | None = None,
    *,
    max_bytes: int,
    max_pixels: int,
) -> ValidatedImage:
    """Check an uploaded image and re-encode it as a metadata-free PNG (see module docstring).

    `source` is the file's bytes or a path to it; `filename` is the name the user gave it
    (defaults to the path's name) and is used for the extension check and the messages.
    """
    UploadLimits(max_bytes, max_pixels)  # checks the limits themselves
    data, path_name = read_upload_bytes(source, max_bytes=max_bytes)
    filename = filename if filename is not None else path_name
    shown = _subject(filename)

    if not data:
        raise MediaError(f"{shown} is empty (0 bytes); upload the image again.")

    extension = PurePath(filename).suffix.lower() if filename else ""
    if extension in (".svg", ".svgz"):
        raise MediaError(f"{shown} is an SVG drawing, which the studio does not accept. {_WHAT_TO_DO}")

    detected = sniff_format(data)
    if detected is None:
        what = _describe_refused(data)
        if what is None and extension in _REFUSED_EXTENSIONS:
            what = _REFUSED_EXTENSIONS[extension]
        if what is not None:
            raise MediaError(f"{shown} is {what}, which the studio does not accept. {_WHAT_TO_DO}")
        raise MediaError(f"{shown} is not a PNG, JPEG or WEBP image. {_WHAT_TO_DO}")

    if extension:
        named = EXTENSION_FORMATS.get(extension)
        if named != detected:
            named_text = f"a {named} file" if named else f"a {extension} file"
            raise MediaError(
                f"{shown} is named like {named_text} but contains a {detected} image; rename it to "
                f"{FORMAT_EXTENSION[detected]} (or re-save it in the format its name says) and upload it again."
            )

    notes: list[str] = []
    try:
        image = _open_checked(data, detected, shown, max_pixels, notes)
        image = _normalise(image, shown, notes)
    except MediaError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        # The warning arrives as an exception only where warnings are errors; either way the
        # header promised more pixels than allowed.
        raise MediaError(
            f"{shown} declares more pixels than an image may have ({max_pixels / 1e6:.0f} megapixels at most); "
            "upload a smaller image."
        ) from error
    except _PILLOW_READ_ERRORS as error:
        logger.info("refused upload %s: %s", filename, error)
        raise MediaError(
            f"{shown} is damaged or incomplete ({detected} data could not be decoded: {error}); "
            "upload the complete file again or re-save it."
        ) from error

    buffer = io.BytesIO()
    # No pnginfo, exif or icc_profile arguments: the PNG carries pixels only.
    image.save(buffer, format="PNG", optimize=False, compress_level=6)
    png = buffer.getvalue()
    return ValidatedImage(
        png=png,
        sha256=hashlib.sha256(png).hexdigest(),
        width=image.width,
        height=image.height,
        source_format=detected,
        original_name=_display_name(filename),
        notes=tuple(notes),
    )


def _open_checked(data: bytes, fmt: str, shown: str, max_pixels: int, notes: list[str]) -> Image.Image:
    """Open with exactly one decoder, check what the header says, then decode every pixel."""
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        # Some library switched Pillow to accept truncated files; refuse to validate under it
        # rather than pass half images.
        raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES is on; uploads cannot be validated")
    with Image.open(io.BytesIO(data), formats=[fmt]) as probe:
        # Pillow's JPEG reader reports a JPEG carrying extra images (a phone's depth map, a 3D
        # pair) as MPO; it is still a JPEG and its first image is the photo.
        multi_picture = fmt == "JPEG" and probe.format == "MPO"
        if probe.format != fmt and not multi_picture:
            raise MediaError(f"{shown} looks like {fmt} but its content is {probe.format}. {_WHAT_TO_DO}")
        width, height = probe.size
        if width <= 0 or height <= 0:
            raise MediaError(f"{shown} has no pixels ({width}x{height}). {_WHAT_TO_DO}")
        if width * height > max_pixels:
            raise MediaError(
                f"{shown} is {width}x{height} pixels ({width * height / 1e6:.0f} megapixels) but images may have at "
                f"most {max_pixels / 1e6:.0f} megapixels; resize it and upload it again."
            )
        frames = getattr(probe, "n_frames", 1)
        if multi_picture:
            notes.append(
                f"{shown} holds {frames} pictures (e.g. a depth map); the first one, the photo, was used."
            )
        elif frames > 1:
            raise MediaError(
                f"{shown} is animated ({frames} frames); upload one still image (PNG, JPEG or WEBP)."
            )
        if fmt == "PNG":
            # verify() reads every chunk to IEND and checks CRCs; it leaves the object unusable,
            # so the pixels are decoded from a fresh one below.
            probe.verify()
    image = Image.open(io.BytesIO(data), formats=[fmt])
    image.load()  # an MPO loads its first frame
    return image


def _normalise(image: Image.Image, shown: str, notes: list[str]) -> Image.Image:
    """Apply the EXIF orientation and bring the pixels to 8-bit sRGB RGB or RGBA."""
    if image.mode not in _CONVERTIBLE_MODES:
        raise MediaError(
            f"{shown} has {image.mode} pixels (16-bit or floating point), which the studio does not read; "
            "save it as an 8-bit PNG or a JPEG and upload it again."
        )
    image = ImageOps.exif_transpose(image)
    icc = image.info.get("icc_profile")
    has_alpha = image.mode in ("LA", "La", "PA", "RGBA", "RGBa") or (
        image.mode == "P" and "transparency" in image.info
    )
    target = "RGBA" if has_alpha else "RGB"
    if icc:
        try:
            source_profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            working = image if image.mode in ("RGB", "RGBA", "CMYK", "L") else image.convert(target)
            converted = ImageCms.profileToProfile(
                working,
                source_profile,
                ImageCms.createProfile("sRGB"),
                outputMode="RGBA" if working.mode == "RGBA" else "RGB",
            )
            if converted is not None:
                image = converted
        except (ImageCms.PyCMSError, OSError, ValueError) as error:
            logger.info("colour profile of %s ignored: %s", shown, error)
            notes.append(
                f"{shown} has a colour profile that could not be read, so its colours are used as if they were sRGB."
            )
    if image.mode != target:
        image = image.convert(target)
    # A fresh image holds only pixels: nothing from `info` (EXIF, XMP, text) can leak into it.
    clean = Image.new(target, image.size)
    clean.paste(image)
    return clean
