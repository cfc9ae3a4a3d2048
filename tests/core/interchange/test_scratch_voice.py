"""The scratch voice track: eSpeak NG voices, shots held for their lines, AAC audio in the MP4."""

import subprocess

import imageio_ffmpeg
import numpy as np
import pytest
import srt

from core.interchange.scratch_track import GAP_SECONDS, LEAD_SECONDS, TAIL_SECONDS, scratch_track, write_wav
from core.interchange.subtitles import srt_text
from core.interchange.voice import EspeakVoice, VoiceSettings, default_voice, variants
from core.interchange.voiced_animatic import render_voiced_animatic
from core.script import Character, DialogueLine, Scene, Script, Shot
from core.video.animatic import AnimaticSettings, build_timeline

from .conftest import SIZE

RATE = 22050
SILENCE_RMS = 1e-3


def _rms(samples):
    return float(np.sqrt(np.mean(np.square(samples)))) if len(samples) else 0.0


def _fundamental(samples, rate):
    """The median pitch (Hz) over the loudest 40 ms windows, by autocorrelation (60-400 Hz)."""
    size = int(0.04 * rate)
    windows = [samples[i : i + size] for i in range(0, len(samples) - size, size)]
    loud = sorted(windows, key=_rms)[-8:]
    pitches = []
    for window in loud:
        window = window - window.mean()
        correlation = np.correlate(window, window, mode="full")[size - 1 :]
        lags = np.arange(rate // 400, rate // 60)
        pitches.append(rate / lags[np.argmax(correlation[lags])])
    return float(np.median(pitches))


def _decoded_audio(path):
    """The MP4's audio decoded to mono float samples at RATE (ffmpeg of imageio-ffmpeg)."""
    raw = subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-v",
            "error",
            "-i",
            str(path),
            "-vn",
            "-f",
            "s16le",
            "-ac",
            "1",
            "-ar",
            str(RATE),
            "-",
        ],
        capture_output=True,
        check=True,
    ).stdout
    return np.frombuffer(raw, "<i2").astype(np.float32) / 32768


def _streams(path):
    probe = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-i", str(path)], capture_output=True, text=True)
    return [line.strip() for line in probe.stderr.splitlines() if "Stream #" in line]


def test_espeak_speaks_offline_and_settings_change_the_voice():
    voice = EspeakVoice()
    low, rate = voice.speak("The ferry leaves at nine.", VoiceSettings(variant="m1", pitch=20, speed=150))
    high, _ = voice.speak("The ferry leaves at nine.", VoiceSettings(variant="m1", pitch=80, speed=150))
    fast, _ = voice.speak("The ferry leaves at nine.", VoiceSettings(variant="m1", pitch=20, speed=300))
    assert rate == RATE
    assert _rms(low) > 0.02 and 0.8 < len(low) / rate < 4.0
    assert len(fast) < 0.75 * len(low)  # speed is words per minute
    # a higher pitch raises the fundamental of the voiced sounds
    assert _fundamental(high, rate) > 1.2 * _fundamental(low, rate)
    assert {"m1", "f2", "whisper"} <= set(variants())


def test_unknown_voices_and_settings_are_refused_with_sentences():
    with pytest.raises(ValueError, match="has no voice 'xx-none\\+m1'"):
        EspeakVoice().speak("Hello.", VoiceSettings(voice="xx-none"))
    with pytest.raises(ValueError, match="give a pitch from 0 to 99"):
        VoiceSettings(pitch=120)
    with pytest.raises(ValueError, match="words per minute"):
        VoiceSettings(speed=10)


def test_default_voices_are_stable_and_differ_between_characters():
    assert default_voice("Mara") == default_voice("MARA")
    names = ["Mara", "Tomas", "Jonah", "Priya", "Dev", "Lena"]
    assert len({default_voice(name) for name in names}) == len(names)


def _dialogue_script():
    return Script(
        title="Harbour",
        cast=[Character(name="Mara"), Character(name="Tomas")],
        scenes=[
            Scene(
                heading="INT. LIGHTHOUSE - NIGHT",
                shots=[
                    Shot(plot="The lamp turns.", duration=1.5),
                    Shot(
                        plot="Mara and Tomas argue.",
                        characters=["Mara", "Tomas"],
                        duration=1.0,
                        dialogue=[
                            DialogueLine(
                                character="Mara", text="Ten years, and the place still smells of diesel."
                            ),
                            DialogueLine(character="Tomas", text="You're late, girl."),
                        ],
                    ),
                    Shot(plot="The lamp turns again.", duration=1.0),
                ],
            )
        ],
    )


def test_shots_are_held_as_long_as_their_lines():
    script = _dialogue_script()
    voice = EspeakVoice()
    track = scratch_track(
        script, {"Tomas": VoiceSettings(variant="m3", pitch=30)}, voice.speak, voice.sample_rate
    )
    first, second = [line for line in track.lines]
    spoken = (len(first.samples) + len(second.samples)) / RATE
    assert track.durations[0] == 1.5 and track.durations[2] == 1.0  # no lines: as written
    assert track.durations[1] == pytest.approx(LEAD_SECONDS + spoken + GAP_SECONDS + TAIL_SECONDS, abs=0.01)
    assert track.durations[1] > 2.5  # longer than the 1 s the script gave it
    assert second.start == pytest.approx(LEAD_SECONDS + len(first.samples) / RATE + GAP_SECONDS, abs=1e-3)
    assert track.caption_starts[1] == [0.0, second.start]
    assert track.retimed(script).scenes[0].shots[1].duration == track.durations[1]


def test_voiced_animatic_has_aac_audio_as_long_as_its_video_and_speaks_in_the_right_shot(tmp_path, keyframes):
    script = _dialogue_script()
    settings = AnimaticSettings(fps=24, size=SIZE, transition="cut")
    voiced = render_voiced_animatic(script, keyframes, tmp_path / "a.mp4", settings=settings)
    streams = _streams(tmp_path / "a.mp4")
    assert any("Audio: aac" in line for line in streams), streams
    audio = _decoded_audio(tmp_path / "a.mp4")
    assert len(audio) / RATE == pytest.approx(voiced.result.duration, abs=1 / 24)
    bounds = [*voiced.result.shot_starts, voiced.result.duration]
    rms = [
        _rms(audio[round(a * RATE) : round(b * RATE)]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)
    ]
    assert rms[1] > 0.02  # the shot that speaks is audible
    assert rms[0] < SILENCE_RMS and rms[2] < SILENCE_RMS  # the quiet ones are silent
    # the animatic's timing follows the held shot, and the subtitles follow the animatic
    assert voiced.result.shot_starts[2] - voiced.result.shot_starts[1] == pytest.approx(
        voiced.track.durations[1], abs=1 / 24
    )
    cues = list(srt.parse(srt_text(voiced.timing)))
    second_start = voiced.result.shot_starts[1] + voiced.track.caption_starts[1][1]
    assert cues[0].start.total_seconds() == pytest.approx(voiced.result.shot_starts[1], abs=1e-3)
    assert cues[1].start.total_seconds() == pytest.approx(second_start, abs=1 / 24)
    # (shot_starts are exact seconds; the frames start on the nearest 1/24 s)
    assert cues[1].end.total_seconds() == pytest.approx(voiced.result.shot_starts[2], abs=1 / 48)
    # ... and the caption in the picture changes on the frame the second subtitle starts
    timeline = build_timeline(
        voiced.script, keyframes, settings=settings, caption_starts=voiced.track.caption_starts
    )
    segment = timeline.segments[2]
    changes = [
        i for i in range(segment.start + 1, segment.end) if (timeline.frame(i) != timeline.frame(i - 1)).any()
    ]
    assert [i / 24 for i in changes] == pytest.approx([cues[1].start.total_seconds()], abs=1e-3)
    # the second line is spoken after its caption comes up
    line_two = audio[round(cues[1].start.total_seconds() * RATE) : round(cues[1].end.total_seconds() * RATE)]
    assert _rms(line_two) > 0.02


def test_music_plays_under_the_whole_animatic_and_ducks_under_voices(tmp_path, keyframes):
    seconds = np.arange(int(2.0 * RATE)) / RATE
    write_wav(0.5 * np.sin(2 * np.pi * 220 * seconds), RATE, tmp_path / "bed.wav")
    settings = AnimaticSettings(fps=24, size=SIZE, transition="cut", title_card=False)
    voiced = render_voiced_animatic(
        _dialogue_script(), keyframes, tmp_path / "m.mp4", settings=settings, music_path=tmp_path / "bed.wav"
    )
    audio = _decoded_audio(tmp_path / "m.mp4")
    bounds = [*voiced.result.shot_starts, voiced.result.duration]
    quiet_first = audio[round(0.2 * RATE) : round((bounds[1] - 0.2) * RATE)]
    quiet_last = audio[round((bounds[2] + 0.2) * RATE) : round((bounds[3] - 0.2) * RATE)]
    # looped past its 2 s, at about 0.5 * 0.25 / sqrt(2) RMS
    assert _rms(quiet_first) == pytest.approx(0.5 * 0.25 / np.sqrt(2), rel=0.2)
    assert _rms(quiet_last) == pytest.approx(0.5 * 0.25 / np.sqrt(2), rel=0.2)


def test_a_music_file_that_is_not_audio_is_refused_with_a_sentence(tmp_path):
    from core.interchange.scratch_track import load_music

    bad = tmp_path / "notes.mp3"
    bad.write_text("these are not sounds")
    with pytest.raises(ValueError, match="could not be read as audio .*use an MP3, WAV, OGG or M4A file"):
        load_music(bad, RATE)


def test_a_line_sounds_the_same_every_time_it_is_spoken_in_one_process():
    # eSpeak NG alone varies a line's length by a few milliseconds from call to call; the
    # timing of the animatic, the PDF and the exports must not
    voice = EspeakVoice()
    settings = VoiceSettings(variant="f3", pitch=61, speed=171)
    first, _ = voice.speak("The lamp has gone out, open the door!", settings)
    again, _ = voice.speak("The lamp has gone out, open the door!", settings)
    assert np.array_equal(first, again)
