"""Projects tab: the project list with thumbnails, create, open, rename, duplicate, delete (with
a confirmation step), import a script file, open a sample project."""

from __future__ import annotations

import gradio as gr

from studio import services
from studio.errors import StudioError
from studio.ui.feedback import guarded, inform, markdown_text
from studio.ui.placeholders import placeholder_card
from studio.ui.served_files import discard_upload
from studio.ui.shell import Shell, project_id_of, project_ref, require_project_id
from studio.ui.upload_field import UploadField

FORMATS = [
    ("Recognise it", "auto"),
    ("JSON", "json"),
    ("Fountain", "fountain"),
    ("MovieBench", "moviebench"),
    ("Final Draft", "fdx"),
]
TARGETS = [("A new project", "new"), ("The open project (replaces its script)", "replace")]


def project_gallery(summaries: list[services.ProjectSummary]) -> list[tuple[object, str]]:
    """Gallery items: the first keyframe, or a card with the name, and a caption."""
    items = []
    for summary in summaries:
        caption = f"{summary.name} · {summary.num_shots} shot{'s' if summary.num_shots != 1 else ''}"
        picture = (
            str(summary.thumbnail)
            if summary.thumbnail
            else placeholder_card(
                summary.name,
                f"{summary.num_scenes} scenes, {summary.num_characters} characters, no keyframes yet",
            )
        )
        items.append((picture, caption))
    return items


def page_text(shown: services.ProjectPage) -> str:
    """Where the page sits in the list, e.g. "Projects 25-48 of 974"."""
    if shown.total == 0:
        return "No projects yet."
    first = shown.page * shown.per_page + 1
    return f"Projects {first}–{first + len(shown.summaries) - 1} of {shown.total}"


def current_project_markdown(project: services.ProjectView | None) -> str:
    if project is None:
        return "No project is open. Click a project below, create one, open a sample or import a script."
    p = project.project
    line = f"### {markdown_text(p.name)}"
    if p.logline:
        line += f"\n{markdown_text(p.logline)}"
    counts = [(len(project.scenes), "scene"), (len(project.shots), "shot"), (len(project.cast), "character")]
    return line + "\n\n" + " · ".join(f"{n} {word}{'s' if n != 1 else ''}" for n, word in counts)


def build(shell: Shell) -> None:
    with gr.Tab("Projects", id="projects") as tab:
        current = gr.Markdown(current_project_markdown(None), elem_id="current-project")
        with gr.Row():
            with gr.Column(scale=3):
                gallery = gr.Gallery(
                    label="Your projects — click one to open it",
                    columns=4,
                    height=420,
                    allow_preview=False,
                    fit_columns=False,
                    object_fit="contain",
                    elem_id="project-gallery",
                )
                with gr.Row():
                    newer = gr.Button("◀ Newer", size="sm", elem_id="projects-newer")
                    page_label = gr.Markdown(elem_id="projects-page")
                    older = gr.Button("Older ▶", size="sm", elem_id="projects-older")
            with gr.Column(scale=2):
                with gr.Group():
                    new_name = gr.Textbox(
                        label="New project name",
                        placeholder="The Lighthouse",
                        max_lines=1,
                        elem_id="new-project-name",
                    )
                    create = gr.Button("Create project", variant="primary", elem_id="create-project")
                with gr.Accordion("Open a sample project", open=False):
                    sample = gr.Dropdown(label="Sample", choices=[], elem_id="sample-choice")
                    open_sample = gr.Button("Open sample", elem_id="open-sample")
                with gr.Accordion("Import a script (JSON, Fountain, MovieBench) or a backup ZIP", open=False):
                    upload = UploadField(
                        label="Script file, or a project's backup ZIP",
                        file_types=[".json", ".fountain", ".spmd", ".txt", ".fdx", ".zip"],
                        type="filepath",
                        elem_id="script-file",
                    )
                    fmt = gr.Radio(FORMATS, value="auto", label="Format")
                    target = gr.Radio(TARGETS, value="new", label="Import into")
                    do_import = gr.Button("Import", elem_id="import-script")
                with gr.Accordion("Open project: rename, duplicate, delete", open=False):
                    rename_to = gr.Textbox(label="New name", max_lines=1)
                    rename = gr.Button("Rename")
                    duplicate = gr.Button("Duplicate")
                    delete = gr.Button("Delete…", variant="stop")
                    with gr.Group(visible=False) as confirm_box:
                        confirm_text = gr.Markdown()
                        with gr.Row():
                            confirm = gr.Button("Delete for good", variant="stop", elem_id="confirm-delete")
                            keep = gr.Button("Keep it")
        project_ids = gr.State([])
        page = gr.State(0)

    def listing(owner: str, page_number: int) -> tuple[list, list[int], int, str]:
        """One page of the project list (a thousand projects load as fast as ten)."""
        shown = shell.studio().call(services.list_project_page, owner=owner, page=page_number or 0)
        return (
            project_gallery(shown.summaries),
            [s.id for s in shown.summaries],
            shown.page,
            page_text(shown),
        )

    def view_of(owner: str, project_id: int | None) -> services.ProjectView | None:
        if project_id is None:
            return None
        return shell.studio().call(services.open_project, owner=owner, project_id=project_id)

    @guarded
    def refresh(ref, page_number, request: gr.Request):
        owner = shell.owner(request)
        items, ids, page_number, label = listing(owner, page_number)
        try:
            view = view_of(owner, project_id_of(ref))
        except StudioError:
            view = None  # deleted in another tab
        samples = shell.studio().call(services.list_samples)
        choices = [
            (s.title if f"{s.num_shots} shots" in s.title else f"{s.title} ({s.num_shots} shots)", s.name)
            for s in samples
        ]
        return items, ids, page_number, label, current_project_markdown(view), gr.Dropdown(choices=choices)

    outputs = [gallery, project_ids, page, page_label, current, sample]
    shell.demo.load(refresh, [shell.project, page], outputs)
    tab.select(refresh, [shell.project, page], outputs)
    shell.project.change(refresh, [shell.project, page], outputs)

    def pager(step: int):
        @guarded
        def turn_page(page_number, request: gr.Request):
            items, ids, page_number, label = listing(shell.owner(request), max(0, (page_number or 0) + step))
            return items, ids, page_number, label

        return turn_page

    newer.click(pager(-1), [page], [gallery, project_ids, page, page_label])
    older.click(pager(+1), [page], [gallery, project_ids, page, page_label])

    @guarded
    def open_selected(ids: list[int], evt: gr.SelectData, request: gr.Request):
        project_id = ids[evt.index]
        project = shell.studio().call(services.get_project, owner=shell.owner(request), project_id=project_id)
        inform(f"Opened {project.name}.")
        return project_ref(project.id)

    gallery.select(open_selected, [project_ids], [shell.project])

    @guarded
    def create_project(name: str, request: gr.Request):
        project = shell.studio().call(services.create_project, owner=shell.owner(request), name=name)
        inform(f"Created {project.name}; add its cast and script in the next tabs.")
        return project_ref(project.id), ""

    create.click(create_project, [new_name], [shell.project, new_name])
    new_name.submit(create_project, [new_name], [shell.project, new_name])

    @guarded
    def open_sample_project(name: str | None, request: gr.Request):
        if not name:
            raise StudioError("Choose a sample first.")
        report = shell.studio().call(services.open_sample, owner=shell.owner(request), name=name)
        for note in report.notes:
            inform(note)
        inform(f"Opened the sample as a new project, {report.project.name}.")
        return project_ref(report.project.id)

    open_sample.click(open_sample_project, [sample], [shell.project])

    @guarded
    def import_script(path: str | None, fmt_value: str, target_value: str, ref, request: gr.Request):
        if not path:
            raise StudioError("Choose a script file to import first.")
        project_id = require_project_id(ref) if target_value == "replace" else None
        try:
            report = shell.studio().call(
                services.import_script_source,
                owner=shell.owner(request),
                path=path,
                fmt=None if fmt_value == "auto" else fmt_value,
                project_id=project_id,
                replace=project_id is not None,
            )
        finally:
            discard_upload(path)  # imported or refused, the uploaded file is done with
        for note in report.notes:
            inform(note)
        inform(
            f"Imported {report.num_scenes} scenes, {report.num_shots} shots and {report.num_characters} "
            f"characters into {report.project.name}."
        )
        return project_ref(report.project.id), None

    do_import.click(import_script, [upload, fmt, target, shell.project], [shell.project, upload])

    @guarded
    def rename_project(name: str, ref, request: gr.Request):
        project = shell.studio().call(
            services.rename_project, owner=shell.owner(request), project_id=require_project_id(ref), name=name
        )
        inform(f"Renamed to {project.name}.")
        return project_ref(project.id), ""

    rename.click(rename_project, [rename_to, shell.project], [shell.project, rename_to])

    @guarded
    def duplicate_project(ref, request: gr.Request):
        copy = shell.studio().call(
            services.duplicate_project, owner=shell.owner(request), project_id=require_project_id(ref)
        )
        inform(f"Made {copy.name} and opened it.")
        return project_ref(copy.id)

    duplicate.click(duplicate_project, [shell.project], [shell.project])

    @guarded
    def ask_delete(ref, request: gr.Request):
        project = shell.studio().call(
            services.get_project, owner=shell.owner(request), project_id=require_project_id(ref)
        )
        text = (
            f"Delete **{markdown_text(project.name)}** with its cast, script, keyframes and videos? "
            "This cannot be undone."
        )
        return gr.Group(visible=True), text

    delete.click(ask_delete, [shell.project], [confirm_box, confirm_text])
    keep.click(lambda: gr.Group(visible=False), None, [confirm_box])

    @guarded
    def delete_project(ref, request: gr.Request):
        owner = shell.owner(request)
        project_id = require_project_id(ref)
        project = shell.studio().call(services.get_project, owner=owner, project_id=project_id)
        shell.studio().call(services.delete_project, owner=owner, project_id=project_id)
        inform(f"Deleted {project.name}.")
        return project_ref(None), gr.Group(visible=False)

    confirm.click(delete_project, [shell.project], [shell.project, confirm_box])
