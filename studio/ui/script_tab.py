"""Script tab: the project's logline and style, scenes and shots (add, edit, delete, reorder).

Every edit is validated by core.script through the services; a problem is shown as the info
line of the field it concerns (or under the form when it concerns no single field) and
nothing is saved until it is fixed.
"""

from __future__ import annotations

import gradio as gr

from core.script import CameraAngle, CameraMotion, ShotSize, TimeOfDay
from studio import services
from studio.errors import StudioError
from studio.services import stale_forms
from studio.ui.choices import NEW, scene_choices, shot_choices
from studio.ui.feedback import guarded, inform, markdown_list
from studio.ui.field_messages import PROBLEM_CLASS, field_infos, general_problems, hint, warn_not_saved
from studio.ui.shell import Shell, project_id_of, require_project_id
from studio.ui.undo_button import undo_button

SCENE_FIELDS = ("heading", "time_of_day", "elements", "style")
SCENE_HINTS = {
    "heading": "e.g. EXT. LIGHTHOUSE - NIGHT",
    "time_of_day": None,
    "elements": "What is in the place, one sentence per line.",
    "style": "Leave empty to use the project's style.",
}
# Fields with an info line; problems with the dialogue table go under the form.
SHOT_FIELDS = ("plot", "characters", "size", "angle", "motion", "duration", "notes")
SHOT_HINTS = {
    "plot": "One or two sentences: who does what, where.",
    "characters": "Who is in the frame (at most 5).",
    "size": None,
    "angle": None,
    "motion": None,
    "duration": "Seconds on screen (used by the animatic and the clips).",
    "notes": "For the team; no model reads them.",
}
OVERVIEW_HEADERS = ["#", "Scene", "Plot", "Characters", "Seconds", "Locked"]
OVERVIEW_WIDTHS = ["8%", "9%", "45%", "18%", "11%", "9%"]


def overview_rows(view: services.ProjectView | None) -> list[list[object]]:
    rows = []
    for scene in view.scenes if view else ():
        for shot in scene.shots:
            s = shot.shot
            rows.append(
                [
                    shot.number,
                    scene.scene.position + 1,
                    s.plot,
                    ", ".join(s.characters),
                    s.duration,
                    "yes" if s.locked else "",
                ]
            )
    return rows


def _scene(view, scene_id):
    return next((s for s in (view.scenes if view else ()) if s.scene.id == scene_id), None)


def _shot(view, shot_id):
    return next((s for s in (view.shots if view else ()) if s.shot.id == shot_id), None)


def build(shell: Shell) -> None:
    with gr.Tab("Script", id="script") as tab, gr.Row():
        with gr.Column(scale=2):
            with gr.Accordion("Logline and style", open=False):
                logline = gr.Textbox(label="Logline", max_lines=2)
                style = gr.Textbox(label="Style of the whole film", info="e.g. warm film grain", max_lines=2)
                details_status = gr.Markdown()
                save_details = gr.Button("Save logline and style")
            overview = gr.Dataframe(
                headers=OVERVIEW_HEADERS,
                interactive=False,
                wrap=True,
                column_widths=OVERVIEW_WIDTHS,
                label="Shots in story order",
                elem_id="script-overview",
            )
            problems = gr.Markdown(elem_id="script-problems")
            undo = gr.Button("Undo the last delete", visible=False, elem_id="undo-script")
        with gr.Column(scale=3):
            with gr.Group():
                scene = gr.Dropdown(
                    label="Scene", choices=[("+ New scene", NEW)], value=NEW, elem_id="scene-choice"
                )
                heading = gr.Textbox(
                    label="Heading", info=SCENE_HINTS["heading"], max_lines=1, elem_id="scene-heading"
                )
                with gr.Row():
                    time_of_day = gr.Dropdown(
                        label="Time of day", choices=[t.value for t in TimeOfDay], value="day"
                    )
                    scene_style = gr.Textbox(label="Scene style", info=SCENE_HINTS["style"], max_lines=1)
                elements = gr.Textbox(label="Scene elements", info=SCENE_HINTS["elements"], lines=2)
                scene_status = gr.Markdown()
                with gr.Row():
                    save_scene = gr.Button("Add scene", variant="primary", elem_id="save-scene")
                    scene_up = gr.Button("Move up")
                    scene_down = gr.Button("Move down")
                    delete_scene = gr.Button("Delete scene", variant="stop")
            with gr.Group():
                shot = gr.Dropdown(
                    label="Shot", choices=[("+ New shot", NEW)], value=NEW, elem_id="shot-choice"
                )
                plot = gr.Textbox(label="Plot", info=SHOT_HINTS["plot"], lines=2, elem_id="shot-plot")
                characters = gr.Dropdown(
                    label="Characters",
                    info=SHOT_HINTS["characters"],
                    choices=[],
                    multiselect=True,
                    elem_id="shot-characters",
                )
                with gr.Row():
                    size = gr.Dropdown(label="Shot size", choices=[v.value for v in ShotSize], value="medium")
                    angle = gr.Dropdown(
                        label="Camera angle", choices=[v.value for v in CameraAngle], value="eye-level"
                    )
                    motion = gr.Dropdown(
                        label="Camera motion", choices=[v.value for v in CameraMotion], value="static"
                    )
                    # No `minimum`: Gradio would refuse the value before the callback runs and
                    # turn every output into an error; core.script's rule is shown at the field.
                    duration = gr.Number(
                        label="Duration (s)", info=SHOT_HINTS["duration"], value=3.0, elem_id="shot-duration"
                    )
                dialogue = gr.Dataframe(
                    headers=["Character", "Line", "Parenthetical"],
                    type="array",
                    interactive=True,
                    label="Dialogue",
                    datatype=["str", "str", "str"],
                    column_count=3,
                    elem_id="shot-dialogue",
                )
                notes = gr.Textbox(label="Notes", info=SHOT_HINTS["notes"], max_lines=2)
                shot_status = gr.Markdown()
                with gr.Row():
                    save_shot = gr.Button("Add shot", variant="primary", elem_id="save-shot")
                    shot_up = gr.Button("Move up")
                    shot_down = gr.Button("Move down")
                    delete_shot = gr.Button("Delete shot", variant="stop")
            # What each form showed when it was loaded (studio.services.stale_forms): a save over
            # changes made in another tab is refused instead of overwriting them. Inside the tab:
            # a component between two tabs would shift the browser's tab labels.
            details_loaded, scene_loaded, shot_loaded = gr.State(None), gr.State(None), gr.State(None)

    scene_inputs = [heading, time_of_day, elements, scene_style]
    shot_inputs = [plot, characters, size, angle, motion, duration, notes]
    everything = [
        logline,
        style,
        overview,
        problems,
        scene,
        *scene_inputs,
        save_scene,
        scene_status,
        shot,
        *shot_inputs,
        dialogue,
        save_shot,
        shot_status,
        undo,
        details_loaded,
        scene_loaded,
        shot_loaded,
    ]

    def project_view(owner: str, ref) -> services.ProjectView | None:
        project_id = project_id_of(ref)
        return (
            None
            if project_id is None
            else shell.studio().call(services.open_project, owner=owner, project_id=project_id)
        )

    def scene_form(view, scene_id) -> list:
        chosen = _scene(view, scene_id)
        s = chosen.scene if chosen else None
        return [
            gr.Dropdown(choices=scene_choices(view, new="+ New scene"), value=s.id if s else NEW),
            gr.Textbox(value=s.heading if s else "", **hint(SCENE_HINTS["heading"])),
            gr.Dropdown(value=s.time_of_day if s else "day", **hint(None)),
            gr.Textbox(value="\n".join(s.elements) if s else "", **hint(SCENE_HINTS["elements"])),
            gr.Textbox(value=(s.style or "") if s else "", **hint(SCENE_HINTS["style"])),
            gr.Button(value="Save scene" if s else "Add scene"),
            "",
        ]

    def shot_form(view, scene_id, shot_id) -> list:
        chosen_scene = _scene(view, scene_id)
        in_scene = chosen_scene.shots if chosen_scene else ()
        chosen = next((s for s in in_scene if s.shot.id == shot_id), None)
        s = chosen.shot if chosen else None
        cast = [c.character.name for c in (view.cast if view else ())]
        return [
            gr.Dropdown(
                choices=shot_choices(view, scene_id, new="+ New shot")
                if chosen_scene
                else [("+ New shot", NEW)],
                value=s.id if s else NEW,
            ),
            gr.Textbox(value=s.plot if s else "", **hint(SHOT_HINTS["plot"])),
            gr.Dropdown(
                choices=cast, value=list(s.characters) if s else [], **hint(SHOT_HINTS["characters"])
            ),
            gr.Dropdown(value=s.size if s else "medium", **hint(None)),
            gr.Dropdown(value=s.angle if s else "eye-level", **hint(None)),
            gr.Dropdown(value=s.motion if s else "static", **hint(None)),
            gr.Number(value=s.duration if s else 3.0, **hint(SHOT_HINTS["duration"])),
            gr.Textbox(value=s.notes if s else "", **hint(SHOT_HINTS["notes"])),
            gr.Dataframe(
                value=[
                    [line.get("character", ""), line.get("text", ""), line.get("parenthetical", "")]
                    for line in (s.dialogue if s else [])
                ],
                elem_classes=[],
            ),
            gr.Button(value="Save shot" if s else "Add shot"),
            "",
        ]

    def loaded_shot_fingerprint(chosen_scene, shot_id) -> str | None:
        chosen = next((s for s in (chosen_scene.shots if chosen_scene else ()) if s.shot.id == shot_id), None)
        return stale_forms.shot_fingerprint(chosen.shot) if chosen else None

    def all_forms(owner: str, ref, scene_id, shot_id) -> list:
        view = project_view(owner, ref)
        # None (or an id deleted meanwhile) picks the first scene / shot; NEW keeps the empty form.
        if scene_id != NEW and _scene(view, scene_id) is None:
            scene_id = view.scenes[0].scene.id if view and view.scenes else NEW
        chosen_scene = _scene(view, scene_id)
        if (
            chosen_scene is not None
            and shot_id != NEW
            and not any(s.shot.id == shot_id for s in chosen_scene.shots)
        ):
            shot_id = chosen_scene.shots[0].shot.id if chosen_scene.shots else NEW
        project = view.project if view else None
        problems_text = ""
        if view is not None:
            found = shell.studio().call(services.validate_project, owner=owner, project_id=project.id)
            problems_text = (
                ("**The script has problems to fix before generating:**\n" + markdown_list(found))
                if found
                else ""
            )
        last = (
            None
            if view is None
            else shell.studio().call(
                services.last_deletion, owner=owner, project_id=project.id, kinds=services.SCRIPT_KINDS
            )
        )
        return [
            gr.Textbox(value=project.logline if project else "", **hint(None)),
            gr.Textbox(value=project.style if project else "", **hint("e.g. warm film grain")),
            overview_rows(view),
            problems_text,
            *scene_form(view, scene_id),
            *shot_form(view, scene_id, shot_id),
            undo_button(last),
            stale_forms.details_fingerprint(project) if project else None,
            stale_forms.scene_fingerprint(chosen_scene.scene) if chosen_scene else None,
            loaded_shot_fingerprint(chosen_scene, shot_id),
        ]

    @guarded
    def refresh(ref, scene_id, shot_id, request: gr.Request):
        return all_forms(shell.owner(request), ref, scene_id, shot_id)

    @guarded
    def on_project(ref, request: gr.Request):
        return all_forms(shell.owner(request), ref, None, None)

    tab.select(refresh, [shell.project, scene, shot], everything)
    shell.project.change(on_project, [shell.project], everything)

    @guarded
    def choose_scene(ref, scene_id, request: gr.Request):
        return all_forms(shell.owner(request), ref, scene_id, None)

    scene.input(choose_scene, [shell.project, scene], everything)
    shot.input(refresh, [shell.project, scene, shot], everything)

    # -- project details ------------------------------------------------------------------

    @guarded
    def save_project_details(ref, logline_value, style_value, loaded, request: gr.Request):
        result = shell.studio().call(
            services.update_project_details,
            owner=shell.owner(request),
            project_id=require_project_id(ref),
            logline=logline_value,
            style=style_value,
            expected=loaded,
        )
        if not result.ok:
            infos = field_infos(result.problems, ("logline", "style"), {"style": "e.g. warm film grain"})
            warn_not_saved(result.problems, "logline and style")
            return [*infos, general_problems(result.problems, ("logline", "style")), gr.update()]
        inform("Saved the logline and style.")
        return [
            gr.update(**hint(None)),
            gr.update(**hint("e.g. warm film grain")),
            "",
            stale_forms.details_fingerprint(result.value),
        ]

    save_details.click(
        save_project_details,
        [shell.project, logline, style, details_loaded],
        [logline, style, details_status, details_loaded],
    )

    # -- scenes ---------------------------------------------------------------------------

    @guarded
    def save_scene_form(
        ref, scene_id, shot_id, heading_v, tod_v, elements_v, style_v, loaded, request: gr.Request
    ):
        owner = shell.owner(request)
        project_id = require_project_id(ref)
        values = {"heading": heading_v, "time_of_day": tod_v, "elements": elements_v, "style": style_v}
        if scene_id in (None, NEW):
            result = shell.studio().call(services.add_scene, owner=owner, project_id=project_id, **values)
        else:
            result = shell.studio().call(
                services.edit_scene, owner=owner, scene_id=scene_id, expected=loaded, **values
            )
        if not result.ok:
            updates = [gr.update()] * len(everything)
            start = everything.index(heading)
            updates[start : start + 4] = field_infos(result.problems, SCENE_FIELDS, SCENE_HINTS)
            updates[everything.index(scene_status)] = general_problems(result.problems, SCENE_FIELDS)
            warn_not_saved(result.problems, "scene")
            return updates
        inform("Saved the scene.")
        return all_forms(owner, ref, result.value.id, shot_id if scene_id == result.value.id else None)

    save_scene.click(save_scene_form, [shell.project, scene, shot, *scene_inputs, scene_loaded], everything)

    def mover(step: int):
        @guarded
        def move_scene(ref, scene_id, shot_id, request: gr.Request):
            owner = shell.owner(request)
            chosen = _scene(project_view(owner, ref), scene_id)
            if chosen is None:
                raise StudioError("Choose the scene to move first.")
            shell.studio().call(
                services.move_scene, owner=owner, scene_id=scene_id, new_index=chosen.scene.position + step
            )
            return all_forms(owner, ref, scene_id, shot_id)

        return move_scene

    scene_up.click(mover(-1), [shell.project, scene, shot], everything)
    scene_down.click(mover(+1), [shell.project, scene, shot], everything)

    @guarded
    def delete_scene_now(ref, scene_id, request: gr.Request):
        owner = shell.owner(request)
        if scene_id in (None, NEW):
            raise StudioError("Choose the scene to delete first.")
        deleted = shell.studio().call(services.delete_scene, owner=owner, scene_id=scene_id)
        inform(f"Deleted {deleted.label}. 'Undo' brings it back.")
        return all_forms(owner, ref, None, None)

    delete_scene.click(delete_scene_now, [shell.project, scene], everything)

    # -- shots ----------------------------------------------------------------------------

    @guarded
    def save_shot_form(
        ref,
        scene_id,
        shot_id,
        plot_v,
        characters_v,
        size_v,
        angle_v,
        motion_v,
        duration_v,
        notes_v,
        dialogue_v,
        loaded,
        request: gr.Request,
    ):
        owner = shell.owner(request)
        if scene_id in (None, NEW):
            raise StudioError("Add or choose a scene first; every shot belongs to a scene.")
        # An emptied duration box is "" (not None, which would keep the old value), so the
        # script model says the duration is missing.
        fields = {
            "plot": plot_v or "",
            "characters": list(characters_v or []),
            "size": size_v,
            "angle": angle_v,
            "motion": motion_v,
            "duration": "" if duration_v is None else duration_v,
            "notes": notes_v or "",
            "dialogue": dialogue_v or [],
        }
        if shot_id in (None, NEW):
            result = shell.studio().call(services.add_shot, owner=owner, scene_id=scene_id, **fields)
        else:
            result = shell.studio().call(
                services.edit_shot, owner=owner, shot_id=shot_id, expected=loaded, **fields
            )
        if not result.ok:
            updates = [gr.update()] * len(everything)
            for name, update in zip(
                SHOT_FIELDS, field_infos(result.problems, SHOT_FIELDS, SHOT_HINTS), strict=True
            ):
                updates[everything.index(dict(zip(SHOT_FIELDS, shot_inputs, strict=True))[name])] = update
            updates[everything.index(dialogue)] = gr.update(
                elem_classes=[PROBLEM_CLASS] if "dialogue" in result.problems else []
            )
            updates[everything.index(shot_status)] = general_problems(result.problems, SHOT_FIELDS)
            warn_not_saved(result.problems, "shot")
            return updates
        inform("Saved the shot.")
        return all_forms(owner, ref, scene_id, result.value.id)

    save_shot.click(
        save_shot_form, [shell.project, scene, shot, *shot_inputs, dialogue, shot_loaded], everything
    )

    def shot_mover(step: int):
        @guarded
        def move_shot(ref, scene_id, shot_id, request: gr.Request):
            owner = shell.owner(request)
            chosen = _shot(project_view(owner, ref), shot_id)
            if chosen is None:
                raise StudioError("Choose the shot to move first.")
            shell.studio().call(
                services.move_shot, owner=owner, shot_id=shot_id, new_index=chosen.shot.position + step
            )
            return all_forms(owner, ref, scene_id, shot_id)

        return move_shot

    shot_up.click(shot_mover(-1), [shell.project, scene, shot], everything)
    shot_down.click(shot_mover(+1), [shell.project, scene, shot], everything)

    @guarded
    def delete_shot_now(ref, scene_id, shot_id, request: gr.Request):
        owner = shell.owner(request)
        if shot_id in (None, NEW):
            raise StudioError("Choose the shot to delete first.")
        deleted = shell.studio().call(services.delete_shot, owner=owner, shot_id=shot_id)
        inform(f"Deleted {deleted.label}. 'Undo' brings it back.")
        return all_forms(owner, ref, scene_id, None)

    delete_shot.click(delete_shot_now, [shell.project, scene, shot], everything)

    @guarded
    def undo_script_delete(ref, scene_id, shot_id, request: gr.Request):
        owner = shell.owner(request)
        last = shell.studio().call(
            services.last_deletion,
            owner=owner,
            project_id=require_project_id(ref),
            kinds=services.SCRIPT_KINDS,
        )
        if last is None:
            raise StudioError("There is no delete to undo in this script.")
        shell.studio().call(services.undo_deletion, owner=owner, deletion_id=last.id)
        inform(f"Brought back {last.label}.")
        return all_forms(owner, ref, scene_id, shot_id)

    undo.click(undo_script_delete, [shell.project, scene, shot], everything)
