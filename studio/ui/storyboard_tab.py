"""Storyboard tab: generate every keyframe (streamed into the gallery as each one is made),
cancel, regenerate one shot or one scene, lock shots, browse and restore versions, and use
the artist's own panel (an uploaded sketch or photo) as a shot's keyframe."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from studio import services
from studio.errors import StudioError
from studio.services.generation import JOB_KINDS
from studio.ui.feedback import guarded, inform, markdown_text, warn
from studio.ui.jobs import cancel_jobs, job_status, start_job
from studio.ui.placeholders import placeholder_card
from studio.ui.shell import Shell, project_id_of, require_project_id
from studio.ui.upload_field import UploadField

SEED_CHOICES = [
    ("Project seed policy (Settings)", "policy"),
    ("New random seeds", "new"),
    ("This seed", "fixed"),
]
REGENERATE_SEEDS = [("New random seed", "new"), ("This seed", "fixed")]
PANEL_HINT = "Click a keyframe to regenerate, lock or restore that shot."


def version_origin(version) -> str:
    """How a keyframe version was made, in a few words: "seed 12", "your panel", "imported"."""
    if version.params.get("source") == "upload":
        return "your panel"
    return f"seed {version.seed}" if version.seed is not None else "imported"


LOCK_MARK = "🔒"


def shot_caption(shot: services.ShotView) -> str:
    """The thumbnail's caption; a locked shot's starts with the lock mark, so it shows at a glance."""
    parts = [f"{LOCK_MARK} {shot.number}" if shot.shot.locked else f"{shot.number}", shot.shot.plot]
    if shot.keyframe is not None:
        parts.append(version_origin(shot.keyframe))
    if shot.shot.locked:
        parts.append("locked")
    return " · ".join(parts)


def storyboard_items(view: services.ProjectView | None) -> tuple[list[tuple[object, str]], list[int]]:
    """Gallery items for every shot in story order (a card for shots without a keyframe) and their ids."""
    items, ids = [], []
    for shot in view.shots if view else ():
        picture = (
            str(shot.keyframe_path)
            if shot.keyframe_path
            else placeholder_card(f"Shot {shot.number}", "Not generated yet. " + shot.shot.plot)
        )
        items.append((picture, shot_caption(shot)))
        ids.append(shot.shot.id)
    return items, ids


def with_keyframe(
    items: list[tuple[object, str]], ids: list[int], made: services.KeyframeMade, plot: str
) -> list[tuple[object, str]]:
    """The gallery items with the shot's picture replaced by the keyframe just made."""
    if made.shot_id not in ids:
        return items  # deleted while the job ran
    updated = list(items)
    updated[ids.index(made.shot_id)] = (str(made.path), f"{made.number} · {plot} · seed {made.seed}")
    return updated


def shot_panel(view: services.ProjectView | None, shot_id: int | None) -> str:
    shot = next((s for s in (view.shots if view else ()) if s.shot.id == shot_id), None)
    if shot is None:
        return PANEL_HINT
    s = shot.shot
    lines = [
        f"**Shot {shot.number}** — {markdown_text(s.plot)}",
        f"{markdown_text(s.size)}, {markdown_text(s.angle)}, {markdown_text(s.motion)}, {s.duration:g} s",
    ]
    if s.characters:
        lines.append("With " + markdown_text(", ".join(s.characters)))
    for line in s.dialogue:
        paren = f" ({markdown_text(line['parenthetical'])})" if line.get("parenthetical") else ""
        lines.append(
            f"**{markdown_text(str(line.get('character', '')).upper())}**{paren}: "
            f"{markdown_text(line.get('text', ''))}"
        )
    if s.notes:
        lines.append(f"*Notes:* {markdown_text(s.notes)}")
    if shot.keyframe is not None:
        lines.append(
            f"Current keyframe: {version_origin(shot.keyframe)}"
            + (f" · {LOCK_MARK} locked" if s.locked else "")
        )
    return "  \n".join(lines)


def build(shell: Shell) -> None:
    with gr.Tab("Storyboard", id="storyboard") as tab:
        with gr.Row(equal_height=True):
            generate_all = gr.Button(
                "Generate storyboard", variant="primary", elem_id="generate-all", scale=2
            )
            cancel = gr.Button("Cancel", variant="stop", elem_id="cancel-generation", scale=1)
            with gr.Accordion("Seeds for the whole storyboard", open=False):
                seed_mode = gr.Radio(SEED_CHOICES, value="policy", label="Seeds", show_label=False)
                seed = gr.Number(label="Seed", value=0, precision=0)  # no Gradio minimum: see check_seed
        status = gr.Markdown(elem_id="storyboard-status")
        notice = gr.Markdown(elem_id="bundle-notice")
        gallery = gr.Gallery(
            label="Storyboard (story order; locked shots are kept)",
            columns=4,
            height=460,
            allow_preview=False,
            fit_columns=False,
            object_fit="contain",
            elem_id="storyboard-gallery",
        )
        with gr.Row():
            with gr.Column(scale=2):
                panel = gr.Markdown(PANEL_HINT, elem_id="shot-panel")
                large = gr.Image(
                    label="Keyframe",
                    interactive=False,
                    visible=False,
                    elem_id="shot-large",
                    buttons=["fullscreen", "download"],
                )
                with gr.Row():
                    earlier = gr.Button("◀ Move earlier", elem_id="move-earlier")
                    later = gr.Button("Move later ▶", elem_id="move-later")
                with gr.Row():
                    regenerate_shot = gr.Button("Regenerate this shot", elem_id="regenerate-shot")
                    regenerate_scene = gr.Button("Regenerate its scene", elem_id="regenerate-scene")
                with gr.Row():
                    regen_mode = gr.Radio(REGENERATE_SEEDS, value="new", label="Seed for regenerating")
                    regen_seed = gr.Number(label="Seed", value=0, precision=0)
                locked = gr.Checkbox(
                    label="Locked: keep this keyframe when regenerating", elem_id="lock-shot"
                )
                own_panel = UploadField(
                    label="Use your own panel for this shot (a sketch or photo: PNG, JPEG or WEBP)",
                    file_types=[".png", ".jpg", ".jpeg", ".webp"],
                    type="filepath",
                    elem_id="panel-upload",
                )
            with gr.Column(scale=3):
                versions = gr.Gallery(
                    label="Versions of this shot — click one, then restore it",
                    columns=5,
                    height=200,
                    allow_preview=False,
                    fit_columns=False,
                    object_fit="contain",
                    elem_id="versions",
                )
                restore = gr.Button("Restore the selected version")
        shot_ids = gr.State([])
        chosen_shot = gr.State(None)
        version_ids = gr.State([])
        chosen_version = gr.State(None)

    def project_view(owner: str, ref) -> services.ProjectView | None:
        project_id = project_id_of(ref)
        return (
            None
            if project_id is None
            else shell.studio().call(services.open_project, owner=owner, project_id=project_id)
        )

    def panel_outputs(owner: str, view, shot_id) -> list:
        exists = view is not None and any(s.shot.id == shot_id for s in view.shots)
        shot = next((s for s in view.shots if s.shot.id == shot_id), None) if exists else None
        version_list = (
            shell.studio().call(services.list_keyframe_versions, owner=owner, shot_id=shot_id)
            if exists
            else []
        )
        items = [
            (
                str(v.path),
                f"v{v.number} · {version_origin(v.version)}" + (" · current" if v.is_current else ""),
            )
            for v in version_list
        ]
        picture = str(shot.keyframe_path) if shot is not None and shot.keyframe_path else None
        return [
            shot_panel(view, shot_id),
            gr.Image(value=picture, visible=picture is not None),
            gr.Checkbox(value=bool(shot and shot.shot.locked)),
            items,
            [v.version.id for v in version_list],
            None,
            shot_id if exists else None,
        ]

    panel_widgets = [panel, large, locked, versions, version_ids, chosen_version, chosen_shot]
    board = [gallery, shot_ids]

    def board_outputs(view) -> list:
        items, ids = storyboard_items(view)
        return [items, ids]

    def notice_of(view) -> str:
        setting = view.project.settings.bundle_path if view is not None else None
        return services.bundle_notice(shell.studio().models, setting)

    @guarded
    def refresh(ref, shot_id, request: gr.Request):
        owner = shell.owner(request)
        view = project_view(owner, ref)
        return board_outputs(view) + panel_outputs(owner, view, shot_id)

    @guarded
    def on_project(ref, request: gr.Request):
        owner = shell.owner(request)
        view = project_view(owner, ref)
        return board_outputs(view) + panel_outputs(owner, view, None) + ["", notice_of(view)]

    @guarded
    def on_tab(ref, shot_id, request: gr.Request):
        owner = shell.owner(request)
        view = project_view(owner, ref)
        return board_outputs(view) + panel_outputs(owner, view, shot_id) + [notice_of(view)]

    tab.select(on_tab, [shell.project, chosen_shot], board + panel_widgets + [notice])
    shell.project.change(on_project, [shell.project], board + panel_widgets + [status, notice])

    @guarded
    def choose_shot(ref, ids: list[int], evt: gr.SelectData, request: gr.Request):
        owner = shell.owner(request)
        shot_id = ids[evt.index] if evt.index is not None and evt.index < len(ids) else None
        return panel_outputs(owner, project_view(owner, ref), shot_id)

    gallery.select(choose_shot, [shell.project, shot_ids], panel_widgets)

    # -- generation (streaming) -----------------------------------------------------------

    def stream(ref, request, progress, **plan_args):
        owner = shell.owner(request)
        project_id = require_project_id(ref)
        studio = shell.studio()
        plan = studio.call(services.plan_generation, owner=owner, project_id=project_id, **plan_args)
        for warning in plan.warnings:
            warn(warning)
        view = project_view(owner, ref)
        items, ids = storyboard_items(view)
        plots = {s.shot.id: s.shot.plot for s in view.shots}
        count = len(plan.targets)
        yield items, ids, f"**Generating {count} keyframe{'s' if count != 1 else ''}…**"
        work = services.generation_job(plan, media=studio.media, models=studio.models)
        final = None
        for event in start_job(
            studio, owner=owner, project_id=project_id, kind=plan.kind, model=plan.model_key, work=work
        ):
            final = event
            if isinstance(event.preview, services.KeyframeMade):
                items = with_keyframe(items, ids, event.preview, plots.get(event.preview.shot_id, ""))
            progress(event.progress, desc=event.message)
            yield items, ids, job_status(event, "Generation")
        if final is not None and final.status == "failed":
            warn(final.message)
        for skipped in final.result.get("skipped", []) if final is not None else []:
            warn(skipped)
        items, ids = storyboard_items(project_view(owner, ref))
        yield items, ids, job_status(final, "Generation") if final is not None else ""

    @guarded
    def generate_storyboard(ref, mode, seed_value, request: gr.Request, progress=gr.Progress()):  # noqa: B008 - Gradio's idiom: it injects the tracker
        yield from stream(ref, request, progress, scope="storyboard", seed_mode=mode, seed=seed_value)

    @guarded
    def regenerate_one(ref, shot_id, mode, seed_value, request: gr.Request, progress=gr.Progress()):  # noqa: B008 - Gradio's idiom: it injects the tracker
        if shot_id is None:
            raise StudioError("Click the keyframe of the shot to regenerate first.")
        yield from stream(
            ref, request, progress, scope="shot", shot_id=shot_id, seed_mode=mode, seed=seed_value
        )

    @guarded
    def regenerate_its_scene(ref, shot_id, mode, seed_value, request: gr.Request, progress=gr.Progress()):  # noqa: B008 - Gradio's idiom: it injects the tracker
        if shot_id is None:
            raise StudioError("Click a keyframe of the scene to regenerate first.")
        view = project_view(shell.owner(request), ref)
        shot = next((s for s in view.shots if s.shot.id == shot_id), None)
        if shot is None:
            raise StudioError("That shot was deleted; click another keyframe.")
        yield from stream(
            ref,
            request,
            progress,
            scope="scene",
            scene_id=shot.shot.scene_id,
            seed_mode=mode,
            seed=seed_value,
        )

    streaming = {"show_progress_on": [status]}
    after = {"fn": refresh, "inputs": [shell.project, chosen_shot], "outputs": board + panel_widgets}
    generate_all.click(
        generate_storyboard, [shell.project, seed_mode, seed], board + [status], **streaming
    ).then(**after)
    regenerate_shot.click(
        regenerate_one, [shell.project, chosen_shot, regen_mode, regen_seed], board + [status], **streaming
    ).then(**after)
    regenerate_scene.click(
        regenerate_its_scene,
        [shell.project, chosen_shot, regen_mode, regen_seed],
        board + [status],
        **streaming,
    ).then(**after)

    @guarded
    def cancel_generation(ref, request: gr.Request):
        asked = cancel_jobs(
            shell.studio(),
            owner=shell.owner(request),
            project_id=require_project_id(ref),
            kinds=JOB_KINDS.values(),
        )
        inform(
            "Stopping after the keyframe being made; finished keyframes are kept."
            if asked
            else "No generation is running for this project."
        )

    cancel.click(cancel_generation, [shell.project], None)

    # -- lock and versions ------------------------------------------------------------------

    @guarded
    def set_locked(ref, shot_id, value: bool, request: gr.Request):
        owner = shell.owner(request)
        if shot_id is None:
            raise StudioError("Click the keyframe of the shot to lock first.")
        try:
            shell.studio().call(services.set_shot_locked, owner=owner, shot_id=shot_id, locked=value)
        except StudioError as error:
            warn(str(error))
        view = project_view(owner, ref)
        return board_outputs(view) + panel_outputs(owner, view, shot_id)

    locked.input(set_locked, [shell.project, chosen_shot, locked], board + panel_widgets)

    def mover(step: int):
        @guarded
        def move_in_story(ref, shot_id, request: gr.Request):
            owner = shell.owner(request)
            if shot_id is None:
                raise StudioError("Click the keyframe of the shot to move first.")
            shell.studio().call(services.move_shot_in_story, owner=owner, shot_id=shot_id, step=step)
            view = project_view(owner, ref)
            return board_outputs(view) + panel_outputs(owner, view, shot_id)

        return move_in_story

    earlier.click(mover(-1), [shell.project, chosen_shot], board + panel_widgets)
    later.click(mover(+1), [shell.project, chosen_shot], board + panel_widgets)

    @guarded
    def use_own_panel(ref, shot_id, path: str | None, request: gr.Request):
        owner = shell.owner(request)
        if shot_id is None:
            raise StudioError(
                "Click the keyframe of the shot your panel is for first, then upload the panel."
            )
        if path:
            studio = shell.studio()
            result = services.upload_keyframe(
                session_factory=studio.session,
                media=studio.media,
                models=studio.models,
                owner=owner,
                shot_id=shot_id,
                upload=path,
                filename=Path(path).name,
            )
            for note in result.notes:
                inform(note)
        view = project_view(owner, ref)
        return board_outputs(view) + panel_outputs(owner, view, shot_id) + [None]

    own_panel.upload(
        use_own_panel, [shell.project, chosen_shot, own_panel], board + panel_widgets + [own_panel]
    )

    def choose_version(ids: list[int], evt: gr.SelectData):
        return ids[evt.index] if evt.index is not None and evt.index < len(ids) else None

    versions.select(choose_version, [version_ids], [chosen_version])

    @guarded
    def restore_version(ref, shot_id, version_id, request: gr.Request):
        owner = shell.owner(request)
        if version_id is None:
            raise StudioError("Click the version to restore first.")
        shell.studio().call(services.restore_keyframe_version, owner=owner, keyframe_id=version_id)
        inform("Restored that version as the shot's keyframe.")
        view = project_view(owner, ref)
        return board_outputs(view) + panel_outputs(owner, view, shot_id)

    restore.click(restore_version, [shell.project, chosen_shot, chosen_version], board + panel_widgets)
