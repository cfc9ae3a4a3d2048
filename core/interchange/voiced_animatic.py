"""The animatic with a scratch voice track: every line read aloud, shots held for their lines.

`render_voiced_animatic` speaks the dialogue (`core.interchange.scratch_track`), holds every
shot at least as long as its lines, mixes an optional music/ambience file under them and
encodes the animatic (`core.video.animatic`) with the track as AAC audio. It returns the
retimed script and its `StoryTiming`, so the storyboard PDF, the subtitles and the editing
timelines can follow the new timing.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from core.interchange.scratch_track import ScratchTrack, load_music, scratch_track, write_wav
from core.interchange.timing import StoryTiming, story_timing
from core.interchange.voice import EspeakVoice, VoiceSettings
from core.progress import CancelCheck, ProgressCallback, raise_if_cancelled
from core.script import Script
from core.video.animatic import AnimaticResult, AnimaticSettings, ShotKey, render_animatic

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class VoicedAnimatic:
    result: AnimaticResult
    script: Script  # the script with the durations the animatic used
    timing: StoryTiming  # shots and dialogue lines on the animatic's frames
    track: ScratchTrack


def voiced_timing(
    script: Script, voices: Mapping[str, VoiceSettings], settings: AnimaticSettings | None = None
) -> tuple[Script, StoryTiming, ScratchTrack]:
    """Speak the lines and time the story around them (no video is made)."""
    settings = settings or AnimaticSettings()
    speaker = EspeakVoice()
    track = scratch_track(script, voices, speaker.speak, speaker.sample_rate)
    retimed = track.retimed(script)
    lead_in = settings.title_seconds if settings.title_card else 0.0
    timing = story_timing(retimed, fps=settings.fps, lead_in=lead_in, line_spans=track.line_spans)
    return retimed, timing, track


def render_voiced_animatic(
    script: Script,
    keyframes: Mapping[ShotKey, str | Path],
    video_path: str | Path,
    *,
    voices: Mapping[str, VoiceSettings] | None = None,
    music_path: str | Path | None = None,
    clips: Mapping[ShotKey, str | Path] | None = None,
    gif_path: str | Path | None = None,
    settings: AnimaticSettings | None = None,
    progress: ProgressCallback | None = None,
    cancel_check: CancelCheck | None = None,
) -> VoicedAnimatic:
    """Encode the animatic of `script` with its scratch voice track (see the module docstring)."""
    video_path = Path(video_path)
    settings = settings or AnimaticSettings()
    retimed, timing, track = voiced_timing(script, voices or {}, settings)
    raise_if_cancelled(cancel_check, "The animatic export")
    music = load_music(music_path, track.sample_rate) if music_path is not None else None
    audio = track.mix(timing, music)
    # beside the video (the caller's work folder), removed whatever happens
    wav = video_path.parent / f".{video_path.stem}.{secrets.token_hex(4)}.scratch.wav"
    try:
        write_wav(audio, track.sample_rate, wav)
        result = render_animatic(
            retimed,
            keyframes,
            video_path,
            clips=clips,
            gif_path=gif_path,
            settings=settings,
            progress=progress,
            cancel_check=cancel_check,
            audio_path=wav,
            caption_starts=track.caption_starts,
        )
    finally:
        wav.unlink(missing_ok=True)
    logger.info("Scratch voice track: %d lines, %.1f s.", len(track.lines), len(audio) / track.sample_rate)
    return VoicedAnimatic(result=result, script=retimed, timing=timing, track=track)
