"""References tab: few-shot frames (look, place or continuity references) for generation."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from studio import services
from studio.errors import StudioError
from studio.ui.feedback import guarded, inform, warn
from studio.ui.served_files import discard_upload
from studio.ui.shell import Shell, project_id_of, require_project_id
from studio.ui.upload_field import UploadField

INTRO = (
    "Reference frames show the model the look you want (palette, grade, places). Every generation of this "
    "project reads them as few-shot context."
)


def reference_items(references: list[services.ReferenceView]) -> list[tuple[str, str]]:
    return [
        (str(r.path), r.reference.caption or r.reference.original_name or f"Reference {i}")
        for i, r in enumerate(references, start=1)
    ]


def build(shell: Shell) -> None:
    with gr.Tab("References", id="references") as tab:
        gr.Markdown(INTRO)
        with gr.Row():
            with gr.Column(scale=3):
                gallery = gr.Gallery(
                    label="Reference frames — click one to select it",
                    columns=4,
                    height=380,
                    allow_preview=False,
                    fit_columns=False,
                    object_fit="contain",
                    elem_id="reference-gallery",
                )
                remove = gr.Button("Remove the selected frame", variant="stop")
            with gr.Column(scale=2):
                caption = gr.Textbox(label="Caption for the next upload (optional)", max_lines=1)
                upload = UploadField(
                    label="Add reference frames (PNG, JPEG or WEBP)",
                    file_count="multiple",
                    file_types=[".png", ".jpg", ".jpeg", ".webp"],
                    type="filepath",
                    elem_id="reference-upload",
                )
        ids = gr.State([])
        chosen = gr.State(None)

    def listing(owner: str, ref) -> list:
        project_id = project_id_of(ref)
        references = (
            []
            if project_id is None
            else shell.studio().call(services.list_reference_frames, owner=owner, project_id=project_id)
        )
        return [reference_items(references), [r.reference.id for r in references], None]

    @guarded
    def refresh(ref, request: gr.Request):
        return listing(shell.owner(request), ref)

    outputs = [gallery, ids, chosen]
    tab.select(refresh, [shell.project], outputs)
    shell.project.change(refresh, [shell.project], outputs)

    @guarded
    def add(ref, files: list[str] | None, caption_value: str, request: gr.Request):
        owner = shell.owner(request)
        project_id = require_project_id(ref)
        added = 0
        for path in files or []:
            try:
                result = shell.studio().call(
                    services.add_reference_frame,
                    owner=owner,
                    project_id=project_id,
                    upload=path,
                    filename=Path(path).name,
                    caption=caption_value or "",
                )
            except StudioError as error:
                warn(str(error))
                continue
            finally:
                # Stored as a clean PNG or refused: the original (EXIF, GPS...) must not stay on disk.
                discard_upload(path)
            added += 1
            for note in result.notes:
                inform(note)
        if added:
            inform(f"Added {added} reference frame{'s' if added != 1 else ''}.")
        return listing(owner, ref) + [None, ""]

    upload.upload(add, [shell.project, upload, caption], outputs + [upload, caption])

    def choose(frame_ids: list[int], evt: gr.SelectData):
        return frame_ids[evt.index] if evt.index is not None and evt.index < len(frame_ids) else None

    gallery.select(choose, [ids], [chosen])

    @guarded
    def remove_chosen(ref, reference_id, request: gr.Request):
        owner = shell.owner(request)
        if reference_id is None:
            raise StudioError("Click the reference frame to remove first.")
        shell.studio().call(services.remove_reference_frame, owner=owner, reference_id=reference_id)
        return listing(owner, ref)

    remove.click(remove_chosen, [shell.project, chosen], outputs)
