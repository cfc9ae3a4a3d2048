"""The scratch voice track: every dialogue line read in its character's synthetic voice.

`scratch_track` speaks each line (`core.interchange.voice`) and lays the lines of a shot one
after another: `LEAD_SECONDS` of quiet, a line, `GAP_SECONDS`, the next line, ...,
`TAIL_SECONDS`. A shot is held at least that long (its new duration, never shorter than the
script's), so the animatic never cuts a line off. Each line's caption comes up when the line
starts and stays until the next one starts (the first from the shot's first frame, the last
to its end): `caption_starts` and `line_spans` give the animatic and the subtitles
(`core.interchange.timing`) the same times.

`mix` puts the lines on the animatic's time line (title card included) and, optionally, a
music or ambience bed under them: looped to the animatic's length, at `MUSIC_GAIN`, ducked to
`DUCKED_GAIN` while someone speaks. The result is float32 stereo at the voice's sample rate,
exactly as long as the video; `write_wav` stores it as 16-bit PCM for the encoder.
"""

from __future__ import annotations

import logging
import subprocess
import wave
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.interchange.timing import StoryTiming
from core.interchange.voice import VoiceSettings, default_voice
from core.script import MAX_SHOT_SECONDS, Script

logger = logging.getLogger(__name__)

LEAD_SECONDS = 0.25
GAP_SECONDS = 0.3
TAIL_SECONDS = 0.4
MUSIC_GAIN = 0.25  # about -12 dB under the voices
DUCKED_GAIN = 0.1  # about -20 dB while a line is spoken
_DUCK_RAMP_SECONDS = 0.08
MAX_MUSIC_SECONDS = 1800.0  # a bed longer than half an hour is cut there (and looped)

# speak(text, settings) -> (float32 mono samples, sample rate); EspeakVoice().speak in practice
Speaker = Callable[[str, VoiceSettings], tuple[np.ndarray, int]]


@dataclass(frozen=True)
class SpokenLine:
    shot: int  # story-order index
    line: int  # position in the shot's dialogue
    start: float  # seconds from the shot's start
    samples: np.ndarray  # float32 mono


@dataclass(frozen=True)
class ScratchTrack:
    sample_rate: int
    durations: dict[int, float]  # story-order index -> seconds the shot is held
    lines: list[SpokenLine] = field(default_factory=list)
    caption_starts: dict[int, list[float]] = field(default_factory=dict)  # seconds from the shot's start
    line_spans: dict[int, list[tuple[float, float]]] = field(default_factory=dict)

    def retimed(self, script: Script) -> Script:
        """`script` with every shot held as long as its lines need (the animatic's timing)."""
        data = script.model_dump()
        index = 0
        for scene in data["scenes"]:
            for shot in scene["shots"]:
                shot["duration"] = self.durations[index]
                index += 1
        return Script.model_validate(data)

    def mix(self, timing: StoryTiming, music: np.ndarray | None = None) -> np.ndarray:
        """The whole track on the animatic's time line: (samples, 2) float32 in [-1, 1]."""
        rate = self.sample_rate
        total = round(timing.num_frames / timing.fps * rate)
        voice = np.zeros(total, dtype=np.float32)
        speaking = np.zeros(total, dtype=np.float32)
        for spoken in self.lines:
            shot = timing.shots[spoken.shot]
            begin = round((shot.start / timing.fps + spoken.start) * rate)
            stop = min(total, begin + len(spoken.samples), round(shot.end / timing.fps * rate))
            if stop <= begin:
                continue
            voice[begin:stop] += spoken.samples[: stop - begin]
            speaking[begin:stop] = 1.0
        mixed = voice
        if music is not None and len(music):
            bed = np.resize(np.asarray(music, dtype=np.float32), total)  # loops the bed to the length
            ramp = max(1, round(_DUCK_RAMP_SECONDS * rate))
            smooth = np.convolve(speaking, np.ones(ramp, dtype=np.float32) / ramp, mode="same")
            gain = MUSIC_GAIN + (DUCKED_GAIN - MUSIC_GAIN) * np.clip(smooth, 0.0, 1.0)
            mixed = voice + bed * gain
        mixed = np.clip(mixed, -1.0, 1.0)
        return np.stack([mixed, mixed], axis=1)


def scratch_track(
    script: Script, voices: Mapping[str, VoiceSettings], speak: Speaker, sample_rate: int
) -> ScratchTrack:
    """Speak every line of `script` (voices by character name, case-insensitive; a character
    without one gets `default_voice`) and time the shots around the lines."""
    by_name = {name.casefold(): settings for name, settings in voices.items()}
    durations: dict[int, float] = {}
    lines: list[SpokenLine] = []
    caption_starts: dict[int, list[float]] = {}
    spans: dict[int, list[tuple[float, float]]] = {}
    for index, (s, k, shot) in enumerate(script.shots()):
        if not shot.dialogue:
            durations[index] = shot.duration
            continue
        cursor = LEAD_SECONDS
        starts: list[float] = []
        for j, line in enumerate(shot.dialogue):
            settings = by_name.get(line.character.casefold()) or default_voice(line.character)
            samples, rate = speak(line.text, settings)
            if rate != sample_rate:
                raise ValueError(f"The voice spoke at {rate} Hz but the track is at {sample_rate} Hz.")
            if j:
                cursor += GAP_SECONDS
            starts.append(round(cursor, 3))
            lines.append(SpokenLine(index, j, starts[-1], samples))
            cursor += len(samples) / rate
        needed = round(cursor + TAIL_SECONDS, 2)
        if needed > MAX_SHOT_SECONDS:
            logger.warning(
                "Scene %d, shot %d needs %.1f s for its lines but a shot lasts at most %g s; the last "
                "words are cut. Split the dialogue over more shots.",
                s + 1,
                k + 1,
                needed,
                MAX_SHOT_SECONDS,
            )
        duration = min(MAX_SHOT_SECONDS, max(shot.duration, needed))
        durations[index] = duration
        caption_starts[index] = [0.0, *starts[1:]]
        edges = [*caption_starts[index], duration]
        spans[index] = list(zip(edges[:-1], edges[1:], strict=True))
    return ScratchTrack(sample_rate, durations, lines, caption_starts, spans)


def load_music(path: str | Path, sample_rate: int, max_seconds: float = MAX_MUSIC_SECONDS) -> np.ndarray:
    """A music or ambience file (any format ffmpeg reads) as float32 mono at `sample_rate`.

    Decoded by the ffmpeg binary of imageio-ffmpeg (moviepy's own reader returned silence for
    mono WAV files here); at most `max_seconds` are read, the mix loops them.
    """
    import imageio_ffmpeg

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"The music file {str(path)!r} does not exist; upload it again.")
    command = [
        imageio_ffmpeg.get_ffmpeg_exe(),
        "-v",
        "error",
        "-nostdin",
        "-i",
        str(path),
        "-t",
        str(max_seconds),
        "-vn",
        "-f",
        "s16le",
        "-ac",
        "1",
        "-ar",
        str(sample_rate),
        "-",
    ]
    done = subprocess.run(command, capture_output=True, check=False)
    samples = np.frombuffer(done.stdout, dtype="<i2")
    if done.returncode != 0 or not len(samples):
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no audio in it"]
        raise ValueError(
            f"The music file {path.name!r} could not be read as audio ({reason[0]}); use an MP3, WAV, OGG or "
            "M4A file."
        )
    return samples.astype(np.float32) / 32768.0


def write_wav(samples: np.ndarray, sample_rate: int, path: str | Path) -> Path:
    """Store (samples, channels) float audio in [-1, 1] as a 16-bit PCM WAV file."""
    path = Path(path)
    samples = np.atleast_2d(np.asarray(samples, dtype=np.float32).T).T
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).round().astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(pcm.shape[1])
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm.tobytes())
    return path
