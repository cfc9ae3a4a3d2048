"""Export tab: the animatic MP4, a storyboard PDF, the script as JSON and the project's backup
ZIP, each offered as a download named after the project; below them the exports for other
tools, the scratch voice track and the re-sync of a new draft (studio.ui.interchange_panel)."""

from __future__ import annotations

import gradio as gr

from studio import services
from studio.errors import StudioError
from studio.ui import interchange_panel
from studio.ui.feedback import guarded
from studio.ui.shell import Shell, require_project_id

INTRO = (
    "Downloads of the open project. The backup ZIP holds the whole project (script, cast photos, "
    "references, every keyframe version with its seed and tokens, settings): import it in the Projects tab "
    "to restore it as a new project. It also opens as a sample folder (script.json, cast/, frames/)."
)


def build(shell: Shell) -> None:
    with gr.Tab("Export", id="export"):
        gr.Markdown(INTRO)
        with gr.Row():
            with gr.Column():
                animatic = gr.Button("Animatic (MP4)", elem_id="export-animatic")
                animatic_file = gr.File(label="Animatic", interactive=False)
            with gr.Column():
                pdf = gr.Button("Storyboard (PDF)", elem_id="export-pdf")
                pdf_file = gr.File(label="Storyboard PDF", interactive=False)
            with gr.Column():
                script = gr.Button("Script (JSON)", elem_id="export-json")
                script_file = gr.File(label="Script JSON", interactive=False)
            with gr.Column():
                frames = gr.Button("Backup (ZIP)", elem_id="export-zip")
                frames_file = gr.File(label="Backup ZIP", interactive=False)
        interchange_panel.build(shell)

    @guarded
    def latest_animatic(ref, request: gr.Request):
        view = shell.studio().call(
            services.latest_animatic, owner=shell.owner(request), project_id=require_project_id(ref)
        )
        if view is None:
            raise StudioError("There is no animatic yet; build it in the Video tab first.")
        return str(
            shell.studio().call(services.render_download, owner=shell.owner(request), render_id=view.video.id)
        )

    def exporter(service):
        @guarded
        def export(ref, request: gr.Request):
            studio = shell.studio()
            owner = shell.owner(request)
            render = studio.call(service, owner=owner, project_id=require_project_id(ref))
            return str(studio.call(services.render_download, owner=owner, render_id=render.id))

        return export

    animatic.click(latest_animatic, [shell.project], [animatic_file])
    pdf.click(exporter(services.export_storyboard_pdf), [shell.project], [pdf_file])
    script.click(exporter(services.export_script_json), [shell.project], [script_file])
    frames.click(exporter(services.export_keyframe_zip), [shell.project], [frames_file])
