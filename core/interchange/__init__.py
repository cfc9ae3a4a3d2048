"""Interchange with screenwriting and editing tools. No UI and no database here.

* `fdx`             - Final Draft (.fdx) import and export (parsed safely with defusedxml);
* `fountain_writer` - scripts written as Fountain screenplays;
* `screenplay`      - the paragraph form both share (headings, action, speeches, transitions);
* `timing`          - when each shot and dialogue line is on screen in the animatic;
* `editorial`       - OpenTimelineIO timelines, written as .otio, CMX 3600 EDL or FCP XML;
* `shot_list`       - the CSV shot list;
* `subtitles`       - SRT and WebVTT subtitles of the dialogue;
* `voice`           - offline synthetic voices (eSpeak NG from the espeakng-loader wheel);
* `scratch_track`   - every dialogue line spoken, shots held for their lines, music mixed under;
* `voiced_animatic` - the animatic MP4 with that track as AAC audio;
* `formats`         - which file imports how, and `export_text` for every export format;
* `__main__`        - the command line (`python -m core.interchange import|export ...`).
"""
