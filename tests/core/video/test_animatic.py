import subprocess

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from core.progress import Cancelled
from core.script import CameraMotion, Character, DialogueLine, Scene, Script, Shot
from core.video.animatic import AnimaticSettings, build_timeline, render_animatic

SIZE = (64, 36)  # (W, H): small and even so encoding takes milliseconds


def _keyframe(path, seed, size=SIZE):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0 : size[1], 0 : size[0]]
    base = rng.integers(0, 255, 3)
    image = np.stack([(x * 4 + base[0]) % 256, (y * 6 + base[1]) % 256, np.full_like(x, base[2])], -1)
    Image.fromarray(image.astype(np.uint8)).save(path)
    return path


def _script(durations, motions=None, dialogue_every=0):
    motions = motions or [CameraMotion.STATIC] * len(durations)
    shots = []
    for i, (d, m) in enumerate(zip(durations, motions, strict=True)):
        lines = (
            [DialogueLine(character="Mara", text=f"Line {i}.")]
            if dialogue_every and i % dialogue_every == 0
            else []
        )
        shots.append(
            Shot(
                plot=f"Shot {i}.", characters=["Mara"] if lines else [], motion=m, duration=d, dialogue=lines
            )
        )
    half = len(shots) // 2
    return Script(
        title="Harbour",
        logline="A short test film.",
        cast=[Character(name="Mara")],
        scenes=[Scene(heading="Beach", shots=shots[:half]), Scene(heading="Dock", shots=shots[half:])],
    )


def _keyframes(tmp_path, n):
    return {i: _keyframe(tmp_path / f"k{i}.png", i) for i in range(n)}


def _probe(path):
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    frames = [np.frombuffer(f, np.uint8).reshape(meta["size"][1], meta["size"][0], 3) for f in reader]
    info = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-i", str(path)], capture_output=True, text=True
    ).stderr
    return meta, frames, info


def test_duration_is_the_sum_of_shot_durations():
    durations = [1.0, 2.5, 0.75, 3.0]
    script = _script(durations)
    timeline = build_timeline(
        script, {}, None, AnimaticSettings(fps=24, size=SIZE, title_seconds=1.5, missing="placeholder")
    )
    assert timeline.duration == pytest.approx(sum(durations) + 1.5)
    no_title = build_timeline(
        script, {}, None, AnimaticSettings(fps=24, size=SIZE, title_card=False, missing="placeholder")
    )
    assert no_title.num_frames == round(sum(durations) * 24)


def test_frame_rounding_never_accumulates():
    script = _script([1 / 3] * 12)  # 8 frames each at 24 fps, but 1/3 s is not a frame multiple at 25
    timeline = build_timeline(
        script, {}, None, AnimaticSettings(fps=25, size=SIZE, title_card=False, missing="placeholder")
    )
    assert timeline.num_frames == round(12 / 3 * 25)
    lengths = [s.end - s.start for s in timeline.segments]
    assert set(lengths) <= {8, 9}


def test_mp4_decodes_with_the_right_size_fps_and_frame_count(tmp_path):
    durations = [1.0, 0.5, 1.5]
    script = _script(
        durations, [CameraMotion.PAN_LEFT, CameraMotion.ZOOM_IN, CameraMotion.STATIC], dialogue_every=2
    )
    settings = AnimaticSettings(fps=12, size=SIZE, title_seconds=0.5)
    result = render_animatic(
        script, _keyframes(tmp_path, 3), tmp_path / "a.mp4", gif_path=tmp_path / "a.gif", settings=settings
    )
    meta, frames, info = _probe(result.video_path)
    assert tuple(meta["size"]) == SIZE
    assert meta["fps"] == pytest.approx(12)
    assert len(frames) == round((sum(durations) + 0.5) * 12) == result.num_frames
    assert "h264" in info and "yuv420p" in info
    assert result.duration == pytest.approx(sum(durations) + 0.5)
    assert result.shot_starts == [0.5, 1.5, 2.0]
    gif = Image.open(result.gif_path)
    assert gif.format == "GIF" and gif.n_frames >= 3
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".png")) == ["a.gif", "a.mp4"]


def test_moviepy_reads_it_back(tmp_path):
    from moviepy import VideoFileClip

    script = _script([1.0, 1.0])
    result = render_animatic(
        script, _keyframes(tmp_path, 2), tmp_path / "a.mp4", settings=AnimaticSettings(fps=10, size=SIZE)
    )
    with VideoFileClip(str(result.video_path)) as clip:
        assert clip.size == list(SIZE) or tuple(clip.size) == SIZE
        assert clip.fps == pytest.approx(10)
        assert clip.duration == pytest.approx(2.0 + 2.0, abs=0.11)  # two shots + the 2 s title card


def test_odd_sizes_become_even(tmp_path):
    keyframes = {0: _keyframe(tmp_path / "odd.png", 0, size=(45, 27))}
    timeline = build_timeline(_script([1.0]), keyframes)
    assert timeline.size == (44, 26)


def test_camera_motion_and_crossfades(tmp_path):
    script = _script([2.0, 2.0], [CameraMotion.STATIC, CameraMotion.PAN_RIGHT])
    settings = AnimaticSettings(fps=10, size=SIZE, title_card=False, crossfade_seconds=0.6)
    timeline = build_timeline(script, _keyframes(tmp_path, 2), None, settings)
    first, second = timeline.segments
    # the static shot holds its picture; the pan changes from frame to frame
    assert np.array_equal(timeline.frame(0), timeline.frame(10))
    assert not np.array_equal(timeline.frame(25), timeline.frame(35))
    # a 6-frame fade centred on the cut at frame 20: frames 17..22 mix, weight rising linearly
    for index in range(17, 23):
        a = timeline._segment_frame(0, index).astype(float)
        b = timeline._segment_frame(1, index).astype(float)
        alpha = (index - 17 + 0.5) / 6
        assert np.abs(timeline.frame(index) - (a + alpha * (b - a))).max() <= 1
    assert np.array_equal(timeline.frame(16), timeline._segment_frame(0, 16))
    assert np.array_equal(timeline.frame(23), timeline._segment_frame(1, 23))
    cut = build_timeline(
        script,
        _keyframes(tmp_path, 2),
        None,
        AnimaticSettings(fps=10, size=SIZE, title_card=False, transition="cut"),
    )
    assert np.array_equal(cut.frame(19), cut._segment_frame(0, 19))
    assert np.array_equal(cut.frame(20), cut._segment_frame(1, 20))
    assert first.end == second.start == 20


def test_rendered_clips_replace_keyframes(tmp_path):
    clip = np.zeros((4, SIZE[1], SIZE[0], 3), np.uint8)
    for t in range(4):
        clip[t] = 50 * (t + 1)
    np.savez(tmp_path / "c.npz", frames=clip)
    script = _script([1.0, 1.0])
    settings = AnimaticSettings(fps=8, size=SIZE, title_card=False, transition="cut", clip_fps=4)
    timeline = build_timeline(script, _keyframes(tmp_path, 2), {(1, 0): tmp_path / "c.npz"}, settings)
    # shot 2 plays the clip at 4 fps: frame t/8 s shows clip frame floor(t/2)
    assert timeline.frame(8).mean() == pytest.approx(50)
    assert timeline.frame(10).mean() == pytest.approx(100)
    assert timeline.frame(15).mean() == pytest.approx(200)  # the clip's last frame holds


def test_missing_keyframes_are_named(tmp_path):
    script = _script([1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match=r"scene 2, shot 1"):
        build_timeline(script, {0: _keyframe(tmp_path / "k.png", 0)}, None, AnimaticSettings(size=SIZE))
    timeline = build_timeline(
        script, {0: tmp_path / "k.png"}, None, AnimaticSettings(size=SIZE, missing="placeholder")
    )
    assert timeline.num_frames == round(5.0 * 24)
    with pytest.raises(ValueError, match="not in the script"):
        build_timeline(
            script, {7: tmp_path / "k.png"}, None, AnimaticSettings(size=SIZE, missing="placeholder")
        )


def test_cancellation_leaves_no_file(tmp_path):
    script = _script([1.0, 1.0])
    keyframes = _keyframes(tmp_path, 2)
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 10

    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(Cancelled):
        render_animatic(
            script,
            keyframes,
            out / "a.mp4",
            gif_path=out / "a.gif",
            settings=AnimaticSettings(size=SIZE),
            cancel_check=cancel,
        )
    assert list(out.iterdir()) == []


def test_cancelling_during_the_gif_removes_the_video_too(tmp_path):
    script = _script([1.0])
    keyframes = _keyframes(tmp_path, 1)
    progress = []
    out = tmp_path / "out"
    out.mkdir()
    settings = AnimaticSettings(fps=10, size=SIZE, title_card=False)

    def cancel():
        return bool(progress) and progress[-1][0] > 10  # past the 10 video frames: inside the GIF

    with pytest.raises(Cancelled):
        render_animatic(
            script,
            keyframes,
            out / "a.mp4",
            gif_path=out / "a.gif",
            settings=settings,
            progress=lambda p: progress.append((p.done, p.total)),
            cancel_check=cancel,
        )
    assert list(out.iterdir()) == []


def test_a_broken_keyframe_fails_cleanly(tmp_path):
    (tmp_path / "bad.png").write_bytes(b"not an image")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ValueError, match="not a PNG"):
        render_animatic(
            _script([1.0]), {0: tmp_path / "bad.png"}, out / "a.mp4", settings=AnimaticSettings(size=SIZE)
        )
    assert list(out.iterdir()) == []


def test_progress_reaches_the_total(tmp_path):
    seen = []
    render_animatic(
        _script([0.5, 0.5]),
        _keyframes(tmp_path, 2),
        tmp_path / "a.mp4",
        gif_path=tmp_path / "a.gif",
        settings=AnimaticSettings(fps=10, size=SIZE),
        progress=lambda p: seen.append((p.done, p.total)),
    )
    done, total = seen[-1]
    assert done == total and total > 10
    assert all(b[0] >= a[0] for a, b in zip(seen, seen[1:], strict=False) if a[1] == b[1])


def test_long_animatics_get_a_time_lapse_preview_that_shows_every_shot(tmp_path):
    script = _script([2.0] * 30)
    timeline = build_timeline(
        script, {}, None, AnimaticSettings(fps=12, size=SIZE, title_card=False, missing="placeholder")
    )
    indices = timeline.preview_indices(5, max_seconds=10)
    assert 50 <= len(indices) <= 50 + 30
    for segment in timeline.segments:
        assert any(segment.start <= i < segment.end for i in indices)
