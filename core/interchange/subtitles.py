"""Subtitles of the dialogue, timed to the animatic: SubRip (.srt) and WebVTT (.vtt).

One cue per dialogue line, on screen exactly while the animatic shows it
(`core.interchange.timing`): while its caption is up, or while it is spoken when the
animatic has a scratch voice track. A cue reads "Mara: words" (SRT) or "<v Mara>words"
(WebVTT's voice span); a parenthetical is not shown, as on screen.
"""

from __future__ import annotations

import datetime

import srt

from core.interchange.timing import StoryTiming


def _delta(timing: StoryTiming, frame: int) -> datetime.timedelta:
    # whole milliseconds: both formats store times to the millisecond
    return datetime.timedelta(milliseconds=round(frame * 1000 / timing.fps))


def srt_text(timing: StoryTiming) -> str:
    """The SubRip file of every dialogue line (empty when the script has no dialogue)."""
    cues = [
        srt.Subtitle(
            index=number,
            start=_delta(timing, line.start),
            end=_delta(timing, line.end),
            content=f"{line.character}: {line.text}",
        )
        for number, line in enumerate((line for line in timing.lines if line.end > line.start), start=1)
    ]
    return srt.compose(cues, reindex=False)


def _vtt_time(timing: StoryTiming, frame: int) -> str:
    milliseconds = round(frame * 1000 / timing.fps)
    hours, rest = divmod(milliseconds, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def vtt_text(timing: StoryTiming) -> str:
    """The WebVTT file of every dialogue line."""
    blocks = ["WEBVTT"]
    for line in timing.lines:
        if line.end <= line.start:
            continue
        # "-->" cannot appear in a cue's text; the escaped ">" keeps it out
        blocks.append(
            f"{_vtt_time(timing, line.start)} --> {_vtt_time(timing, line.end)}\n"
            f"<v {_vtt_escape(line.character)}>{_vtt_escape(' '.join(line.text.split()))}"
        )
    return "\n\n".join(blocks) + "\n"
