"""Editing timelines (OTIO, EDL, FCP XML), the CSV shot list and subtitles, timed like the animatic."""

import csv
import io

import opentimelineio as otio
import pytest
import srt
import webvtt

from core.interchange.editorial import editorial_timeline, timeline_text
from core.interchange.shot_list import shot_list_csv
from core.interchange.subtitles import srt_text, vtt_text
from core.interchange.timing import story_timing
from core.video.animatic import AnimaticSettings, build_timeline, render_animatic

from .conftest import SIZE

FPS = 24


def _seconds(stamp: str) -> float:
    # webvtt-py's start_in_seconds drops the milliseconds; read its HH:MM:SS.mmm text instead
    hours, minutes, seconds = stamp.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def _clips(timeline):
    return [item for item in timeline.tracks[0] if isinstance(item, otio.schema.Clip)]


def test_otio_reads_back_with_one_clip_per_shot_and_the_right_durations(storyboard, keyframes):
    timing = story_timing(storyboard, fps=FPS)
    text = timeline_text(editorial_timeline(storyboard, timing, keyframes), "otio")
    back = otio.adapters.read_from_string(text, adapter_name="otio_json")
    clips = _clips(back)
    assert [clip.name for clip in clips] == ["S01 SH001", "S01 SH002", "S02 SH001"]
    assert [clip.duration().to_seconds() for clip in clips] == [2.0, 3.5, 2.25]
    # after a 2 s title gap, each clip starts where the animatic starts its shot
    assert [clip.range_in_parent().start_time.to_seconds() for clip in clips] == [2.0, 4.0, 7.5]
    assert clips[0].media_reference.target_url == keyframes[0].resolve().as_uri()
    marker_names = [m.name for m in clips[1].markers]
    assert marker_names == ["Mara steps off the bus.", "MARA: Ten years.", "MARA: It still smells of diesel."]
    assert clips[2].metadata["moviedreamer"]["dialogue"][0]["parenthetical"] == "without looking up"


def test_edl_parses_with_the_cmx_adapter(storyboard, keyframes):
    timing = story_timing(storyboard, fps=FPS)
    text = timeline_text(editorial_timeline(storyboard, timing, keyframes), "edl")
    back = otio.adapters.read_from_string(text, adapter_name="cmx_3600", rate=FPS)
    clips = _clips(back)
    assert [clip.name for clip in clips] == ["S01 SH001", "S01 SH002", "S02 SH001"]
    assert [clip.duration().value for clip in clips] == [48, 84, 54]
    assert [clip.metadata["cmx_3600"]["reel"] for clip in clips] == ["SHOT0001", "SHOT0002", "SHOT0003"]
    assert "MARA: TEN YEARS." in text  # dialogue as locator comments


def test_fcp_xml_parses_with_the_fcp_adapter(storyboard, keyframes):
    timing = story_timing(storyboard, fps=FPS)
    text = timeline_text(editorial_timeline(storyboard, timing, keyframes), "fcpxml")
    back = otio.adapters.read_from_string(text, adapter_name="fcp_xml")
    clips = _clips(back)
    assert [clip.name for clip in clips] == ["S01 SH001", "S01 SH002", "S02 SH001"]
    assert [clip.duration().value for clip in clips] == [48, 84, 54]
    assert [m.name for m in clips[2].markers] == ["Tomas mends a net.", "TOMAS: You're late, girl."]


def test_srt_and_vtt_match_the_animatic(tmp_path, storyboard, keyframes):
    settings = AnimaticSettings(fps=FPS, size=SIZE, transition="cut")
    result = render_animatic(storyboard, keyframes, tmp_path / "a.mp4", settings=settings)
    timing = story_timing(storyboard, fps=FPS, lead_in=settings.title_seconds)
    cues = list(srt.parse(srt_text(timing)))
    assert [c.content for c in cues] == [
        "Mara: Ten years.",
        "Mara: It still smells of diesel.",
        "Tomas: You're late, girl.",
    ]
    starts = [c.start.total_seconds() for c in cues]
    ends = [c.end.total_seconds() for c in cues]
    # the first line of a shot starts with the shot, the last ends with it
    assert starts[0] == pytest.approx(result.shot_starts[1], abs=1e-3)
    assert ends[1] == pytest.approx(result.shot_starts[2], abs=1e-3)
    assert starts[2] == pytest.approx(result.shot_starts[2], abs=1e-3)
    assert ends[2] == pytest.approx(result.duration, abs=1e-3)
    # each cue is on screen exactly while the animatic shows its caption: the picture of the
    # two-line shot changes (the caption does) on the frame the second cue starts
    frames = build_timeline(storyboard, keyframes, settings=settings)
    segment = frames.segments[2]  # title, shot 1, shot 2
    changes = [
        i for i in range(segment.start + 1, segment.end) if (frames.frame(i) != frames.frame(i - 1)).any()
    ]
    assert [i / FPS for i in changes] == pytest.approx([starts[1]], abs=1e-3)
    vtt = webvtt.from_buffer(io.StringIO(vtt_text(timing)))
    assert [_seconds(c.start) for c in vtt] == pytest.approx(starts, abs=1e-3)
    assert [_seconds(c.end) for c in vtt] == pytest.approx(ends, abs=1e-3)
    assert [c.voice for c in vtt] == ["Mara", "Mara", "Tomas"]


def test_csv_shot_list_has_a_row_per_shot_with_timecodes(storyboard, keyframes):
    timing = story_timing(storyboard, fps=FPS, lead_in=0)
    rows = list(csv.DictReader(io.StringIO(shot_list_csv(storyboard, timing, keyframes))))
    assert [row["name"] for row in rows] == ["S01 SH001", "S01 SH002", "S02 SH001"]
    assert [row["start"] for row in rows] == ["00:00:00:00", "00:00:02:00", "00:00:05:12"]
    assert [row["duration_seconds"] for row in rows] == ["2.000", "3.500", "2.250"]
    assert rows[1]["dialogue"] == "Mara (V.O.): Ten years.\nMara: It still smells of diesel."
    assert rows[2]["media"] == str(keyframes[2])


def test_durations_override_the_script_and_shift_every_later_shot(storyboard):
    timing = story_timing(storyboard, fps=FPS, lead_in=0, durations={0: 4.0})
    assert [(s.start, s.end) for s in timing.shots] == [(0, 96), (96, 180), (180, 234)]
    with pytest.raises(ValueError, match="number shots 1 to 3"):
        story_timing(storyboard, durations={7: 1.0})


def test_csv_cells_that_a_spreadsheet_would_run_as_formulas_are_text(storyboard):
    data = storyboard.model_dump()
    data["scenes"][0]["shots"][0]["plot"] = '=HYPERLINK("http://example.invalid","click")'
    data["scenes"][0]["shots"][0]["notes"] = "@SUM(1+1)"
    script = type(storyboard).model_validate(data)
    rows = list(csv.DictReader(io.StringIO(shot_list_csv(script, story_timing(script)))))
    assert rows[0]["plot"] == '\'=HYPERLINK("http://example.invalid","click")'
    assert rows[0]["notes"] == "'@SUM(1+1)"
    assert rows[1]["plot"] == "Mara steps off the bus."
