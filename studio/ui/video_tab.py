"""Video tab: render chosen shots to clips, build the animatic and play both."""

from __future__ import annotations

import gradio as gr

from studio import services
from studio.services.clips import DEFAULT_CLIP_STEPS, DEFAULT_MAX_SEGMENTS
from studio.ui.choices import shot_label
from studio.ui.feedback import guarded, inform, warn
from studio.ui.jobs import cancel_jobs, job_status, start_job
from studio.ui.shell import Shell, project_id_of, require_project_id

CLIP_KINDS = (services.ClipPlan.kind,)
ANIMATIC_KINDS = (services.AnimaticPlan.kind,)


def clip_choices(clips: list[services.ClipView]) -> list[tuple[str, int]]:
    return [
        (
            f"Shot {clip.number} · {clip.render.created_at:%Y-%m-%d %H:%M}"
            + ("" if clip.current else " (older keyframe)"),
            clip.render.id,
        )
        for clip in clips
    ]


def build(shell: Shell) -> None:
    with gr.Tab("Video", id="video") as tab:
        with gr.Row():
            with gr.Column(scale=3):
                gr.Markdown(
                    "### Animatic\nThe whole storyboard as a timed video: each shot's clip where one was "
                    "rendered from its current keyframe, otherwise the keyframe with its camera move."
                )
                with gr.Row():
                    transition = gr.Radio(
                        [("Crossfade", "crossfade"), ("Cut", "cut")], value="crossfade", label="Between shots"
                    )
                    with gr.Column():
                        captions = gr.Checkbox(value=True, label="Dialogue captions")
                        title_card = gr.Checkbox(value=True, label="Title card")
                        use_clips = gr.Checkbox(value=True, label="Use rendered clips")
                with gr.Row():
                    build_animatic = gr.Button("Build animatic", variant="primary", elem_id="build-animatic")
                    cancel_animatic = gr.Button("Cancel", variant="stop")
                animatic_status = gr.Markdown(elem_id="animatic-status")
                player = gr.Video(label="Animatic", interactive=False, elem_id="animatic-player", height=320)
                with gr.Accordion("GIF preview", open=False):
                    gif = gr.Image(
                        label="GIF preview", interactive=False, type="filepath", elem_id="animatic-gif"
                    )
            with gr.Column(scale=2):
                gr.Markdown(
                    "### Clips\nImage-to-video from each chosen shot's keyframe (needs a bundle with a "
                    "video model)."
                )
                shots = gr.CheckboxGroup(label="Shots to render", choices=[], elem_id="clip-shots")
                with gr.Accordion("Clip settings", open=False):
                    steps = gr.Slider(
                        1, 50, value=DEFAULT_CLIP_STEPS, step=1, label="Denoising steps per clip"
                    )
                    max_segments = gr.Slider(
                        1,
                        12,
                        value=DEFAULT_MAX_SEGMENTS,
                        step=1,
                        label="At most this many chained segments per clip",
                    )
                    connect = gr.Checkbox(value=True, label="End each clip on the next shot's keyframe")
                with gr.Row():
                    render = gr.Button("Render clips", variant="primary", elem_id="render-clips")
                    cancel_clips = gr.Button("Cancel", variant="stop")
                clip_status = gr.Markdown()
                clip_choice = gr.Dropdown(label="Play a clip", choices=[], elem_id="clip-choice")
                clip_player = gr.Video(label="Clip", interactive=False, height=200)
                clip_strip = gr.Gallery(
                    label="The clip's frames (first to last)",
                    columns=6,
                    height="auto",
                    object_fit="contain",
                    allow_preview=True,
                    interactive=False,
                    elem_id="clip-strip",
                )
        clip_paths = gr.State({})

    def refresh_outputs(owner: str, ref) -> list:
        project_id = project_id_of(ref)
        if project_id is None:
            return [
                gr.CheckboxGroup(choices=[], value=[]),
                gr.Dropdown(choices=[], value=None),
                {},
                None,
                None,
                None,
                [],
            ]
        studio = shell.studio()
        view = studio.call(services.open_project, owner=owner, project_id=project_id)
        with_keyframes = [(shot_label(s), s.shot.id) for s in view.shots if s.keyframe is not None]
        clips = studio.call(services.list_clips, owner=owner, project_id=project_id)
        animatic = studio.call(services.latest_animatic, owner=owner, project_id=project_id)
        return [
            gr.CheckboxGroup(choices=with_keyframes, value=[]),
            gr.Dropdown(choices=clip_choices(clips), value=None),
            {clip.render.id: str(clip.path) for clip in clips},
            None,
            str(animatic.video_path) if animatic else None,
            str(animatic.gif_path) if animatic and animatic.gif_path else None,
            [],
        ]

    refreshed = [shots, clip_choice, clip_paths, clip_player, player, gif, clip_strip]

    @guarded
    def refresh(ref, request: gr.Request):
        return refresh_outputs(shell.owner(request), ref)

    tab.select(refresh, [shell.project], refreshed)
    shell.project.change(refresh, [shell.project], refreshed)

    @guarded
    def play_clip(ref, paths: dict, render_id, request: gr.Request):
        if render_id is None or render_id not in paths:
            return None, []
        frames = shell.studio().call(
            services.clip_frames,
            owner=shell.owner(request),
            project_id=require_project_id(ref),
            render_id=render_id,
        )
        return paths[render_id], [(frame.image, frame.caption) for frame in frames]

    clip_choice.input(play_clip, [shell.project, clip_paths, clip_choice], [clip_player, clip_strip])

    @guarded
    def render_clips(
        ref,
        shot_ids,
        steps_value,
        segments_value,
        connect_value,
        request: gr.Request,
        progress=gr.Progress(),  # noqa: B008 - Gradio's idiom: it injects the tracker
    ):
        owner = shell.owner(request)
        project_id = require_project_id(ref)
        studio = shell.studio()
        plan = studio.call(
            services.plan_clips,
            owner=owner,
            project_id=project_id,
            shot_ids=list(shot_ids or []),
            num_inference_steps=int(steps_value),
            max_segments=int(segments_value),
            connect_next=bool(connect_value),
        )
        yield "**Rendering clips…**", gr.update()
        final = None
        last_clip = gr.update()
        work = services.clip_job(plan, media=studio.media, models=studio.models)
        for event in start_job(
            studio, owner=owner, project_id=project_id, kind=plan.kind, model=plan.model_key, work=work
        ):
            final = event
            if isinstance(event.preview, services.ClipMade):
                last_clip = str(event.preview.path)
            progress(event.progress, desc=event.message)
            yield job_status(event, "Clips"), last_clip
        if final is not None and final.status == "failed":
            warn(final.message)

    @guarded
    def refresh_clip_list(ref, request: gr.Request):
        project_id = project_id_of(ref)
        if project_id is None:
            return gr.Dropdown(choices=[], value=None), {}, []
        clips = shell.studio().call(services.list_clips, owner=shell.owner(request), project_id=project_id)
        paths = {clip.render.id: str(clip.path) for clip in clips}
        return gr.Dropdown(choices=clip_choices(clips), value=None), paths, []

    render.click(
        render_clips,
        [shell.project, shots, steps, max_segments, connect],
        [clip_status, clip_player],
        show_progress_on=[clip_status],
    ).then(refresh_clip_list, [shell.project], [clip_choice, clip_paths, clip_strip])

    @guarded
    def make_animatic(
        ref,
        transition_value,
        captions_value,
        title_value,
        clips_value,
        request: gr.Request,
        progress=gr.Progress(),  # noqa: B008 - Gradio's idiom: it injects the tracker
    ):
        owner = shell.owner(request)
        project_id = require_project_id(ref)
        studio = shell.studio()
        plan = studio.call(
            services.plan_animatic,
            owner=owner,
            project_id=project_id,
            use_clips=bool(clips_value),
            transition=transition_value,
            captions=bool(captions_value),
            title_card=bool(title_value),
        )
        for warning in plan.warnings:
            warn(warning)
        yield "**Building the animatic…**", gr.update(), gr.update()
        final = None
        work = services.animatic_job(plan, media=studio.media)
        for event in start_job(
            studio, owner=owner, project_id=project_id, kind=plan.kind, model=plan.model_key, work=work
        ):
            final = event
            progress(event.progress, desc=event.message)
            if isinstance(event.preview, services.AnimaticView) and not event.finished:
                view = event.preview
                yield (
                    job_status(event, "Animatic"),
                    str(view.video_path),
                    str(view.gif_path) if view.gif_path else None,
                )
            else:
                yield job_status(event, "Animatic"), gr.update(), gr.update()
        if final is not None and final.status == "failed":
            warn(final.message)
        elif final is not None and final.status == "done":
            inform("The animatic is ready; it is also in the Export tab.")

    build_animatic.click(
        make_animatic,
        [shell.project, transition, captions, title_card, use_clips],
        [animatic_status, player, gif],
        show_progress_on=[animatic_status],
    )

    def canceller(kinds: tuple[str, ...], what: str):
        @guarded
        def cancel(ref, request: gr.Request):
            asked = cancel_jobs(
                shell.studio(), owner=shell.owner(request), project_id=require_project_id(ref), kinds=kinds
            )
            inform(f"Stopping the {what}." if asked else f"No {what} is running for this project.")

        return cancel

    cancel_clips.click(canceller(CLIP_KINDS, "clip render"), [shell.project], None)
    cancel_animatic.click(canceller(ANIMATIC_KINDS, "animatic"), [shell.project], None)
