"""Export tab: the project for screenwriting and editing tools, the animatic's
scratch voice track, and a new draft of the screenplay re-synced into the project."""

from __future__ import annotations

import gradio as gr

from studio.errors import StudioError
from studio.services import interchange, voices
from studio.ui.feedback import guarded, inform, markdown_list
from studio.ui.served_files import discard_upload
from studio.ui.shell import Shell, require_project_id
from studio.ui.upload_field import UploadField

FORMATS = [
    ("Final Draft screenplay (.fdx)", "fdx"),
    ("Fountain screenplay (.fountain)", "fountain"),
    ("OpenTimelineIO timeline (.otio)", "otio"),
    ("CMX 3600 EDL (.edl)", "edl"),
    ("Final Cut Pro XML (.xml)", "fcpxml"),
    ("Shot list (.csv)", "csv"),
    ("Subtitles (.srt)", "srt"),
    ("Subtitles (.vtt)", "vtt"),
]


def build(shell: Shell) -> None:
    with gr.Row():
        with gr.Column():
            kind = gr.Dropdown(label="For other tools", choices=FORMATS, value="fdx", elem_id="export-format")
            export = gr.Button("Export", elem_id="export-interchange")
            export_file = gr.File(label="Export", interactive=False)
        with (
            gr.Column(),
            gr.Accordion("Scratch voice track (the animatic reads the dialogue aloud)", open=False),
        ):
            enabled = gr.Checkbox(
                label="Read every line in its character's voice (set voices in the Cast tab)",
                elem_id="scratch-voice",
            )
            music = UploadField(
                label="Music or ambience under the voices (optional)",
                type="filepath",
                file_types=list(voices.MUSIC_SUFFIXES),
                elem_id="music-upload",
            )
            clear = gr.Checkbox(label="Remove the current music")
            save_voice = gr.Button("Save", elem_id="save-scratch-voice")
    with gr.Accordion("New draft of the screenplay (keeps the shots that still match)", open=False):
        draft = UploadField(
            label="Revised screenplay (.fdx, .fountain or MovieBench .json)",
            type="filepath",
            file_types=[".fdx", ".fountain", ".json"],
            elem_id="draft-upload",
        )
        compare = gr.Button("Compare with the project", elem_id="compare-draft")
        summary = gr.Markdown(elem_id="draft-summary")
        confirm = gr.Checkbox(
            label="Delete the shots the new draft no longer has (Undo in the Script tab brings them back)",
            elem_id="confirm-removal",
        )
        apply = gr.Button("Apply the new draft", variant="primary", elem_id="apply-draft")

    @guarded
    def export_for_tools(ref, kind_value, request: gr.Request):
        path = shell.studio().call(
            interchange.export_interchange,
            owner=shell.owner(request),
            project_id=require_project_id(ref),
            kind=kind_value,
        )
        return str(path)

    @guarded
    def save_scratch_voice(ref, enabled_value, music_path, clear_value, request: gr.Request):
        try:
            shell.studio().call(
                voices.set_scratch_voice,
                owner=shell.owner(request),
                project_id=require_project_id(ref),
                enabled=enabled_value,
                music=music_path,
                clear_music=bool(clear_value) and not music_path,
            )
        finally:
            discard_upload(music_path)
        inform(
            "The next animatic reads the dialogue aloud." if enabled_value else "The next animatic is silent."
        )
        return None, False

    def read_draft(path) -> object:
        if not path:
            raise StudioError("Upload the new draft of the screenplay first.")
        return interchange.parse_screenplay_upload(path, title=None)

    @guarded
    def compare_draft(ref, path, request: gr.Request):
        script = read_draft(path)
        preview = shell.studio().call(
            interchange.preview_resync,
            owner=shell.owner(request),
            project_id=require_project_id(ref),
            script=script,
        )
        parts = [
            f"**{preview.kept}** shot(s) stay with their keyframes; **{len(preview.added)}** new; "
            f"**{len(preview.removed)}** no longer in the draft."
        ]
        for title, lines in (
            ("Rewritten", preview.changed),
            ("New", preview.added),
            ("No longer in the draft (confirm to delete)", preview.removed),
            ("New cast", preview.new_characters),
        ):
            if lines:
                parts.append(f"{title}:\n\n{markdown_list(lines)}")
        return "\n\n".join(parts)

    @guarded
    def apply_draft(ref, path, confirm_value, request: gr.Request):
        try:
            script = read_draft(path)
            preview = shell.studio().call(
                interchange.resync_project,
                owner=shell.owner(request),
                project_id=require_project_id(ref),
                script=script,
                confirm_removal=bool(confirm_value),
            )
        finally:
            if path:
                discard_upload(path)
        inform(
            f"Applied the new draft: {preview.kept} shot(s) kept, {len(preview.added)} added, "
            f"{len(preview.removed)} deleted."
        )
        # the Script and Storyboard tabs read the project again when they are opened
        return None, "", False

    export.click(export_for_tools, [shell.project, kind], [export_file])
    save_voice.click(save_scratch_voice, [shell.project, enabled, music, clear], [music, clear])
    compare.click(compare_draft, [shell.project, draft], [summary])
    apply.click(apply_draft, [shell.project, draft, confirm], [draft, summary, confirm])

    @guarded
    def load_scratch_voice(ref, request: gr.Request):
        if not ref:
            return gr.update(), gr.update()
        state = shell.studio().call(
            voices.scratch_voice_state, owner=shell.owner(request), project_id=require_project_id(ref)
        )
        label = f"Remove the current music ({state[1]})" if state[1] else "Remove the current music (none)"
        return state[0], gr.Checkbox(value=False, label=label)

    shell.project.change(load_scratch_voice, [shell.project], [enabled, clear])
