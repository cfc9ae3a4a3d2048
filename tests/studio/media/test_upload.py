"""The upload gate: what passes comes out as a clean PNG; everything else is refused with a sentence."""

from __future__ import annotations

import hashlib
import io

import pytest
from PIL import Image, PngImagePlugin

from studio.errors import MediaError
from studio.media import sniff_format, validate_image_upload
from tests.studio.factories import image_bytes, with_png_size

LIMITS = {"max_bytes": 2 * 1024 * 1024, "max_pixels": 4_000_000}


def check(data: bytes, name: str, **limits):
    return validate_image_upload(data, name, **{**LIMITS, **limits})


def refused(data: bytes, name: str, **limits) -> str:
    with pytest.raises(MediaError) as caught:
        check(data, name, **limits)
    message = str(caught.value)
    # Every refusal is a sentence that says what to do.
    assert message.endswith(".") and len(message.split()) >= 8, message
    return message


# -- accepted ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "name"), [("PNG", "face.png"), ("JPEG", "face.jpg"), ("JPEG", "face.JPEG"), ("WEBP", "face.webp")]
)
def test_allowed_formats_come_out_as_png(fmt, name):
    result = check(image_bytes(40, 30, fmt=fmt), name)
    assert sniff_format(result.png) == "PNG"
    assert result.source_format == fmt
    assert (result.width, result.height) == (40, 30)
    assert result.sha256 == hashlib.sha256(result.png).hexdigest()
    assert result.original_name == name
    assert result.open().mode == "RGB"


def test_name_without_extension_is_judged_by_content():
    assert check(image_bytes(fmt="JPEG"), "upload").source_format == "JPEG"


def test_exif_orientation_is_applied():
    image = Image.new("RGB", (40, 30), (10, 200, 10))
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif.tobytes())
    result = check(buffer.getvalue(), "phone.jpg")
    assert (result.width, result.height) == (30, 40)


def test_metadata_is_stripped():
    image = Image.new("RGB", (20, 20), (1, 2, 3))
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "secret-author")
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # camera make
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info, exif=exif.tobytes())
    assert b"secret-author" in buffer.getvalue()

    result = check(buffer.getvalue(), "tagged.png")
    assert b"secret-author" not in result.png and b"SecretCam" not in result.png
    assert b"tEXt" not in result.png and b"eXIf" not in result.png
    reopened = result.open()
    assert "Author" not in reopened.info and "exif" not in reopened.info


def test_multi_picture_jpeg_uses_the_photo_with_a_note():
    photo, depth = Image.new("RGB", (20, 10), (255, 0, 0)), Image.new("RGB", (20, 10), (0, 0, 255))
    buffer = io.BytesIO()
    photo.save(buffer, format="MPO", save_all=True, append_images=[depth])
    result = check(buffer.getvalue(), "portrait.jpg")
    assert result.source_format == "JPEG" and "holds 2 pictures" in result.notes[0]
    red, green, blue = result.open().getpixel((10, 5))
    assert red > 200 and blue < 50


def test_transparency_is_kept_as_rgba():
    palette = Image.new("P", (16, 16), 0)
    palette.putpalette([255, 0, 0, 0, 255, 0] + [0] * (256 * 3 - 6))
    buffer = io.BytesIO()
    palette.save(buffer, format="PNG", transparency=0)
    assert check(buffer.getvalue(), "logo.png").open().mode == "RGBA"


def test_upload_from_a_path(tmp_path):
    path = tmp_path / "photo.webp"
    path.write_bytes(image_bytes(fmt="WEBP"))
    result = validate_image_upload(path, **LIMITS)
    assert result.original_name == "photo.webp" and result.source_format == "WEBP"


# -- refused ----------------------------------------------------------------------------------


def test_decompression_bomb_header_is_refused_before_decoding():
    bomb = with_png_size(image_bytes(8, 8), 8000, 8000)  # 64 MP claimed by a 100-byte file
    message = refused(bomb, "bomb.png", max_pixels=40_000_000)
    assert "8000x8000" in message and "megapixels" in message


def test_pillow_decompression_bomb_error_is_caught():
    # Beyond twice Pillow's limit Image.open itself raises DecompressionBombError.
    bomb = with_png_size(image_bytes(8, 8), 100_000, 100_000)
    message = refused(bomb, "bomb.png", max_pixels=40_000_000)
    assert "pixels" in message


def test_pixel_limit():
    assert "megapixels" in refused(image_bytes(40, 30), "big.png", max_pixels=1000)


def test_byte_limit():
    message = refused(image_bytes(200, 200), "big.png", max_bytes=100)
    assert "MB" in message


def test_byte_limit_from_a_path_is_checked_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "huge.png"
    path.write_bytes(image_bytes(200, 200))
    monkeypatch.setattr(type(path), "read_bytes", lambda self: pytest.fail("the file was read"))
    with pytest.raises(MediaError, match="at most"):
        validate_image_upload(path, max_bytes=100, max_pixels=1000)


@pytest.mark.parametrize("name", ["drawing.svg", "drawing.png", "drawing"])
def test_svg_is_refused(name):
    svg = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>'
    assert "SVG" in refused(svg, name)


def test_truncated_png_is_refused():
    png = image_bytes(64, 64)
    assert "damaged or incomplete" in refused(png[: len(png) // 2], "cut.png")


def test_png_without_its_end_is_refused():
    png = image_bytes(64, 64)
    assert "damaged or incomplete" in refused(png[:-12], "no-iend.png")  # IEND chunk removed


def test_truncated_jpeg_is_refused():
    jpeg = image_bytes(64, 64, fmt="JPEG")
    assert "damaged or incomplete" in refused(jpeg[: len(jpeg) // 2], "cut.jpg")


def test_truncated_webp_is_refused():
    webp = image_bytes(64, 64, fmt="WEBP")
    assert "damaged or incomplete" in refused(webp[: len(webp) // 2], "cut.webp")


def test_wrong_extension_is_refused():
    message = refused(image_bytes(fmt="JPEG"), "photo.png")
    assert "named like a PNG file" in message and "JPEG" in message and ".jpg" in message


def test_unrelated_extension_is_refused():
    assert "named like a .txt file" in refused(image_bytes(), "notes.txt")


@pytest.mark.parametrize(
    ("data", "name", "what"),
    [
        (image_bytes(fmt="GIF"), "anim.gif", "GIF"),
        (image_bytes(fmt="GIF"), "anim.png", "GIF"),
        (image_bytes(fmt="TIFF"), "scan.tiff", "TIFF"),
        (image_bytes(fmt="BMP"), "paint.bmp", "BMP"),
        (b"8BPS\x00\x01" + b"\x00" * 64, "layers.psd", "Photoshop"),
        (b"8BPS\x00\x01" + b"\x00" * 64, "layers.png", "Photoshop"),
        (b"%PDF-1.7\n" + b"\x00" * 32, "doc.pdf", "PDF"),
        (b"\x00\x00\x00\x18ftypheic" + b"\x00" * 32, "phone.heic", "HEIC"),
    ],
)
def test_other_formats_are_named_and_refused(data, name, what):
    message = refused(data, name)
    assert what in message and "PNG, JPEG or WEBP" in message


def test_unknown_bytes_are_refused():
    assert "not a PNG, JPEG or WEBP image" in refused(b"hello world, not an image", "x.png")


def test_empty_file_is_refused():
    assert "empty" in refused(b"", "empty.png")


@pytest.mark.parametrize(("fmt", "name"), [("WEBP", "moving.webp"), ("PNG", "moving.png")])
def test_animated_images_are_refused(fmt, name):
    frames = [Image.new("RGB", (16, 16), (i * 80, 0, 0)) for i in range(3)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format=fmt, save_all=True, append_images=frames[1:], duration=100)
    assert "animated (3 frames)" in refused(buffer.getvalue(), name)


def test_sixteen_bit_images_are_refused():
    buffer = io.BytesIO()
    Image.new("I;16", (16, 16), 40000).save(buffer, format="PNG")
    assert "16-bit" in refused(buffer.getvalue(), "depth.png")
