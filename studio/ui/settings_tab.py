"""Settings tab: the open project's generation settings (bundle, steps, guidance, face guidance, seeds)."""

from __future__ import annotations

import gradio as gr

from studio import services
from studio.db import SeedPolicy
from studio.errors import StudioError
from studio.ui.feedback import guarded, inform, markdown_text
from studio.ui.field_messages import field_infos, general_problems, warn_not_saved
from studio.ui.shell import Shell, project_id_of, require_project_id

FIELDS = (
    "bundle_path",
    "num_inference_steps",
    "guidance_scale",
    "face_guidance_scale",
    "seed_policy",
    "seed",
)
HINTS = {
    "bundle_path": (
        "The bundles this studio offers: its default one and those in the folders its operator "
        "added with --bundles DIR (nothing is ever downloaded)."
    ),
    "num_inference_steps": "Denoising steps per keyframe; empty: the bundle's default.",
    "guidance_scale": "How strongly the script steers each keyframe; empty: the bundle's default.",
    "face_guidance_scale": "How strongly the cast's face photos steer who appears (1 = off; above 1 costs one more "
    "decoder pass per step); empty: the bundle's default.",
    "seed_policy": (
        "per-shot: shot 1 uses the seed, shot 2 the seed + 1, ... (as the command line's --seed; "
        "repeatable); fixed: the same seed everywhere; random: new each time."
    ),
    "seed": "The base seed of the per-shot and fixed policies.",
}
DEFAULT = "default"


def bundle_choices(models: services.ModelCache, current: str | None) -> list[tuple[str, str]]:
    """Dropdown choices: the offered bundles (label, value = path; the default's value is DEFAULT),
    plus the project's current folder if it is not offered any more (so the form shows the truth)."""
    choices = []
    for bundle in models.offered_bundles():
        label = f"Default bundle ({bundle.path})" if bundle.default else f"{bundle.name} ({bundle.path})"
        choices.append((label, DEFAULT if bundle.default else str(bundle.path)))
    if current and all(value != current for _, value in choices):
        choices.append((f"Not offered any more: {current}", current))
    return choices


def bundle_note(models: services.ModelCache, folder: str | None) -> str:
    try:
        path = models.bundle_path(folder)
    except StudioError as error:
        return f"⚠ {markdown_text(str(error))}"
    return f"Generation uses the bundle in {markdown_text(str(path))}"


def build(shell: Shell) -> None:
    with gr.Tab("Settings", id="settings") as tab:
        gr.Markdown(
            "Generation settings of the open project; every keyframe records the values it was made with."
        )
        with gr.Row():
            with gr.Column():
                bundle_path = gr.Dropdown(
                    label="Model bundle", choices=[], info=HINTS["bundle_path"], elem_id="bundle-choice"
                )
                bundle_status = gr.Markdown()
            with gr.Column():
                steps = gr.Number(label="Steps", info=HINTS["num_inference_steps"], precision=0, value=None)
                guidance = gr.Number(label="Guidance scale", info=HINTS["guidance_scale"], value=None)
                face_guidance = gr.Number(
                    label="Face guidance", info=HINTS["face_guidance_scale"], value=None
                )
                policy = gr.Dropdown(
                    [p.value for p in SeedPolicy],
                    value=SeedPolicy.PER_SHOT.value,
                    label="Seed policy",
                    info=HINTS["seed_policy"],
                )
                # No `minimum`: Gradio would refuse a negative seed before the callback and break
                # the form; the settings model's rule is shown at the field instead.
                seed = gr.Number(label="Seed", info=HINTS["seed"], precision=0, value=0)
        status = gr.Markdown()
        save = gr.Button("Save settings", variant="primary", elem_id="save-settings")

    widgets = [bundle_path, steps, guidance, face_guidance, policy, seed]

    @guarded
    def refresh(ref, request: gr.Request):
        project_id = project_id_of(ref)
        studio = shell.studio()
        if project_id is None:
            return [
                gr.Dropdown(
                    choices=bundle_choices(studio.models, None), value=DEFAULT, info=HINTS["bundle_path"]
                ),
                bundle_note(studio.models, None),
                None,
                None,
                None,
                SeedPolicy.PER_SHOT.value,
                0,
                "",
            ]
        project = studio.call(services.get_project, owner=shell.owner(request), project_id=project_id)
        s = project.settings
        return [
            gr.Dropdown(
                choices=bundle_choices(studio.models, s.bundle_path),
                value=s.bundle_path or DEFAULT,
                info=HINTS["bundle_path"],
            ),
            bundle_note(studio.models, s.bundle_path),
            s.num_inference_steps,
            s.guidance_scale,
            s.face_guidance_scale,
            s.seed_policy.value,
            s.seed,
            "",
        ]

    outputs = [bundle_path, bundle_status, steps, guidance, face_guidance, policy, seed, status]
    tab.select(refresh, [shell.project], outputs)
    shell.project.change(refresh, [shell.project], outputs)

    @guarded
    def save_settings(ref, choice, steps_v, guidance_v, face_v, policy_v, seed_v, request: gr.Request):
        studio = shell.studio()
        changes = {
            "bundle_path": None if choice in (None, DEFAULT) else choice,
            "num_inference_steps": None if steps_v is None else int(steps_v),
            "guidance_scale": guidance_v,
            "face_guidance_scale": face_v,
            "seed_policy": policy_v,
            "seed": seed_v,
        }
        result = studio.call(
            services.update_project_settings,
            owner=shell.owner(request),
            project_id=require_project_id(ref),
            **changes,
        )
        if not result.ok:
            warn_not_saved(result.problems, "settings")
            return [
                *field_infos(result.problems, FIELDS, HINTS),
                gr.update(),
                general_problems(result.problems, FIELDS),
            ]
        inform("Saved the settings.")
        return [*field_infos({}, FIELDS, HINTS), bundle_note(studio.models, changes["bundle_path"]), ""]

    save.click(save_settings, [shell.project, *widgets], [*widgets, bundle_status, status])
