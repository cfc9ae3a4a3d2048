import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from core.video.encoding import write_frames_mp4, write_gif
from core.video.media_reader import load_clip, load_still


def test_stills_only_from_allowed_formats(tmp_path):
    Image.new("RGB", (8, 6), (10, 20, 30)).save(tmp_path / "a.png")
    assert load_still(tmp_path / "a.png").shape == (6, 8, 3)
    Image.new("RGB", (8, 6)).save(tmp_path / "a.bmp")
    with pytest.raises(ValueError, match="not a PNG, JPEG or WEBP"):
        load_still(tmp_path / "a.bmp")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_still(tmp_path / "missing.png")


def test_rendered_clips_round_trip_through_mp4(tmp_path):
    frames = np.zeros((6, 31, 45, 3), np.uint8)  # odd size: padded to even for yuv420p
    for t in range(6):
        frames[t, :, : 5 + 6 * t] = 220
    write_frames_mp4(frames, 8, tmp_path / "c.mp4")
    clip = load_clip(tmp_path / "c.mp4")
    assert clip.fps == pytest.approx(8)
    assert clip.frames.shape == (6, 32, 46, 3)
    assert np.abs(clip.frames[:, :31, :45].astype(int) - frames).mean() < 12
    meta = next(imageio_ffmpeg.read_frames(str(tmp_path / "c.mp4")))
    assert meta["codec"] == "h264"


def test_npz_clips_and_bad_clips(tmp_path):
    np.savez(tmp_path / "c.npz", frames=np.zeros((3, 4, 6, 3), np.uint8))
    clip = load_clip(tmp_path / "c.npz")
    assert clip.frames.shape == (3, 4, 6, 3) and clip.fps is None
    np.savez(tmp_path / "bad.npz", other=np.zeros(3))
    with pytest.raises(ValueError, match="no 'frames'"):
        load_clip(tmp_path / "bad.npz")
    (tmp_path / "x.txt").write_text("x")
    with pytest.raises(ValueError, match="unsupported type"):
        load_clip(tmp_path / "x.txt")


def test_gif_rate_must_be_exact(tmp_path):
    with pytest.raises(ValueError, match="true speed"):
        write_gif(lambda i: np.zeros((4, 4, 3), np.uint8), 2, 6, tmp_path / "p.gif")
    write_gif(lambda i: np.full((4, 4, 3), 40 * i, np.uint8), 3, 5, tmp_path / "p.gif")
    with Image.open(tmp_path / "p.gif") as gif:
        assert gif.n_frames == 3 and gif.info["duration"] == 200
