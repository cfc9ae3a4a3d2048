"""Cast tab: characters (name, description sentences) and their face photos.

Uploading a photo validates and stores it, then runs the bundle's face step when the bundle
has a face encoder: the gallery then shows the face crop instead of the whole photo.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from studio import services
from studio.errors import StudioError
from studio.services import stale_forms
from studio.services.face_analysis import WHOLE_IMAGE
from studio.ui import voice_panel
from studio.ui.choices import NEW, character_choices
from studio.ui.feedback import guarded, inform, warn
from studio.ui.field_messages import field_infos, general_problems, hint, warn_not_saved
from studio.ui.served_files import discard_upload
from studio.ui.shell import Shell, project_id_of, require_project_id
from studio.ui.undo_button import undo_button
from studio.ui.upload_field import UploadField

FIELDS = ("name", "description")
HINTS = {
    "name": "As the script names them; renaming updates every shot and line.",
    "description": "One sentence per line, e.g. 'A tall woman with short grey hair.'",
}


def photo_caption(number: int, detector: str | None, analysed: bool) -> str:
    """What the face step did with photo `number`, in the words of its toast."""
    if not analysed:
        return f"Photo {number}"
    if detector == WHOLE_IMAGE:
        return f"Photo {number} · no face found, the whole photo is used"
    return f"Photo {number} · face found ({detector})"


def photo_items(character: services.CharacterView | None) -> list[tuple[str, str]]:
    """Gallery items: the face crop when analysed, else the photo; captions say which."""
    items = []
    for number, photo in enumerate(character.photos if character else (), start=1):
        analysed = photo.crop is not None
        caption = photo_caption(number, photo.photo.detector, analysed)
        items.append((str(photo.crop if analysed else photo.path), caption))
    return items


def cast_rows(view: services.ProjectView | None) -> list[list[object]]:
    return [
        [c.character.name, len(c.photos), " ".join(c.character.description)]
        for c in (view.cast if view else ())
    ]


def find_character(
    view: services.ProjectView | None, character_id: int | None
) -> services.CharacterView | None:
    if view is None or character_id in (None, NEW):
        return None
    return next((c for c in view.cast if c.character.id == character_id), None)


def build(shell: Shell) -> None:
    with gr.Tab("Cast", id="cast") as tab:
        with gr.Row():
            with gr.Column(scale=2):
                character = gr.Dropdown(
                    label="Character",
                    choices=[("+ New character", NEW)],
                    value=NEW,
                    elem_id="character-choice",
                )
                name = gr.Textbox(label="Name", info=HINTS["name"], max_lines=1, elem_id="character-name")
                description = gr.Textbox(
                    label="Description", info=HINTS["description"], lines=4, elem_id="character-description"
                )
                status = gr.Markdown()
                with gr.Row():
                    save = gr.Button("Add character", variant="primary", elem_id="save-character")
                    remove = gr.Button("Remove character", variant="stop")
                table = gr.Dataframe(
                    headers=["Name", "Photos", "Description"],
                    datatype=["str", "number", "str"],
                    interactive=False,
                    label="Cast",
                    wrap=True,
                    column_widths=["25%", "15%", "60%"],
                )
            with gr.Column(scale=3):
                photos = gr.Gallery(
                    label="Face photos",
                    columns=4,
                    height=300,
                    allow_preview=False,
                    fit_columns=False,
                    object_fit="contain",
                    elem_id="face-photos",
                )
                upload = UploadField(
                    label="Add face photos (PNG, JPEG or WEBP)",
                    file_count="multiple",
                    file_types=[".png", ".jpg", ".jpeg", ".webp"],
                    type="filepath",
                    elem_id="face-upload",
                )
                remove_photo = gr.Button("Remove the selected photo")
                undo = gr.Button("Undo the last removal", visible=False, elem_id="undo-cast")
                with gr.Accordion("Cast library: your characters, for any project", open=False):
                    library = gr.Dropdown(label="Library character", choices=[], elem_id="library-choice")
                    with gr.Row():
                        from_library = gr.Button("Add to this project", elem_id="add-from-library")
                        to_library = gr.Button(
                            "Save the chosen character to the library", elem_id="save-to-library"
                        )
                        drop_library = gr.Button("Remove from the library")
                voice_panel.build(shell, character)
        photo_ids = gr.State([])
        chosen_photo = gr.State(None)
        # What the form showed when it was loaded (studio.services.stale_forms).
        loaded = gr.State(None)

    def project_view(owner: str, ref) -> services.ProjectView | None:
        project_id = project_id_of(ref)
        if project_id is None:
            return None
        return shell.studio().call(services.open_project, owner=owner, project_id=project_id)

    def form(view, character_id):
        """Every output of the tab for the chosen character (NEW: an empty form)."""
        chosen = find_character(view, character_id)
        value = chosen.character.id if chosen else NEW
        return [
            gr.Dropdown(choices=character_choices(view, new="+ New character"), value=value),
            gr.Textbox(value=chosen.character.name if chosen else "", **hint(HINTS["name"])),
            gr.Textbox(
                value="\n".join(chosen.character.description) if chosen else "", **hint(HINTS["description"])
            ),
            gr.Button(value="Save changes" if chosen else "Add character"),
            cast_rows(view),
            photo_items(chosen),
            [p.photo.id for p in chosen.photos] if chosen else [],
            None,
            "",
            undo_button(
                None
                if view is None
                else shell.studio().call(
                    services.last_deletion,
                    owner=view.project.owner,
                    project_id=view.project.id,
                    kinds=services.CAST_KINDS,
                )
            ),
            stale_forms.character_fingerprint(chosen.character) if chosen else None,
            gr.Dropdown(choices=library_choices(view), value=None),
        ]

    def library_choices(view) -> list[tuple[str, int]]:
        if view is None:
            return []
        entries = shell.studio().call(services.list_cast_library, owner=view.project.owner)
        return [
            (f"{e.name} ({len(e.photos)} photo{'s' if len(e.photos) != 1 else ''})", e.id) for e in entries
        ]

    outputs = [
        character,
        name,
        description,
        save,
        table,
        photos,
        photo_ids,
        chosen_photo,
        status,
        undo,
        loaded,
        library,
    ]

    @guarded
    def refresh(ref, character_id, request: gr.Request):
        return form(project_view(shell.owner(request), ref), character_id)

    @guarded
    def on_project(ref, request: gr.Request):
        return form(project_view(shell.owner(request), ref), NEW)

    tab.select(refresh, [shell.project, character], outputs)
    shell.project.change(on_project, [shell.project], outputs)
    character.input(refresh, [shell.project, character], outputs)

    @guarded
    def save_character(ref, character_id, name_value, description_value, loaded_value, request: gr.Request):
        owner = shell.owner(request)
        project_id = require_project_id(ref)
        if character_id in (None, NEW):
            result = shell.studio().call(
                services.add_character,
                owner=owner,
                project_id=project_id,
                name=name_value,
                description=description_value,
            )
        else:
            result = shell.studio().call(
                services.edit_character,
                owner=owner,
                character_id=character_id,
                name=name_value,
                description=description_value,
                expected=loaded_value,
            )
        if not result.ok:
            updates = [gr.update()] * len(outputs)
            infos = field_infos(result.problems, FIELDS, HINTS)
            updates[1], updates[2] = infos
            updates[outputs.index(status)] = general_problems(result.problems, FIELDS)
            warn_not_saved(result.problems, "character")
            return updates
        inform(f"Saved {result.value.name}.")
        return form(project_view(owner, ref), result.value.id)

    save.click(save_character, [shell.project, character, name, description, loaded], outputs)

    @guarded
    def remove_character(ref, character_id, request: gr.Request):
        owner = shell.owner(request)
        if character_id in (None, NEW):
            raise StudioError("Choose the character to remove first.")
        deleted = shell.studio().call(services.remove_character, owner=owner, character_id=character_id)
        inform(f"Removed {deleted.label}. 'Undo' brings them back.")
        return form(project_view(owner, ref), NEW)

    remove.click(remove_character, [shell.project, character], outputs)

    @guarded
    def add_photos(ref, character_id, files: list[str] | None, request: gr.Request):
        owner = shell.owner(request)
        studio = shell.studio()
        if character_id in (None, NEW):
            raise StudioError(
                "Add the character first (name and description), then upload their face photos."
            )
        for path in files or []:
            try:
                upload_result = studio.call(
                    services.add_face_photo,
                    owner=owner,
                    character_id=character_id,
                    upload=path,
                    filename=Path(path).name,
                )
            except StudioError as error:
                warn(str(error))
                continue
            finally:
                # Stored as a clean PNG or refused: the original (EXIF, GPS...) must not stay on disk.
                discard_upload(path)
            for note in upload_result.notes:
                inform(note)
            analysis = services.analyse_face_photo(
                session_factory=studio.session,
                media=studio.media,
                models=studio.models,
                owner=owner,
                photo_id=upload_result.value.id,
            )
            for note in analysis.notes:
                inform(note)
        return form(project_view(owner, ref), character_id) + [None]

    upload.upload(add_photos, [shell.project, character, upload], outputs + [upload])

    def choose_photo(ids: list[int], evt: gr.SelectData):
        return ids[evt.index] if evt.index is not None and evt.index < len(ids) else None

    photos.select(choose_photo, [photo_ids], [chosen_photo])

    @guarded
    def remove_chosen_photo(ref, character_id, photo_id, request: gr.Request):
        owner = shell.owner(request)
        if photo_id is None:
            raise StudioError("Click the photo to remove first.")
        deleted = shell.studio().call(services.remove_face_photo, owner=owner, photo_id=photo_id)
        inform(f"Removed {deleted.label}. 'Undo' brings it back.")
        return form(project_view(owner, ref), character_id)

    remove_photo.click(remove_chosen_photo, [shell.project, character, chosen_photo], outputs)

    @guarded
    def undo_cast_removal(ref, character_id, request: gr.Request):
        owner = shell.owner(request)
        last = shell.studio().call(
            services.last_deletion, owner=owner, project_id=require_project_id(ref), kinds=services.CAST_KINDS
        )
        if last is None:
            raise StudioError("There is no removal to undo in this cast.")
        shell.studio().call(services.undo_deletion, owner=owner, deletion_id=last.id)
        inform(f"Brought back {last.label}.")
        view = project_view(owner, ref)
        return form(view, character_id if find_character(view, character_id) else NEW)

    undo.click(undo_cast_removal, [shell.project, character], outputs)

    @guarded
    def save_to_cast_library(ref, character_id, request: gr.Request):
        owner = shell.owner(request)
        if character_id in (None, NEW):
            raise StudioError("Choose the character to keep in your library first.")
        entry = shell.studio().call(services.save_to_library, owner=owner, character_id=character_id)
        inform(f"{entry.name} is in your cast library now; add them to any project from there.")
        return form(project_view(owner, ref), character_id)

    @guarded
    def add_from_cast_library(ref, entry_id, request: gr.Request):
        owner = shell.owner(request)
        if entry_id is None:
            raise StudioError("Choose a character of your library first.")
        added = shell.studio().call(
            services.add_from_library, owner=owner, entry_id=entry_id, project_id=require_project_id(ref)
        )
        inform(f"Added {added.name} from your library, with their photos.")
        return form(project_view(owner, ref), added.id)

    @guarded
    def remove_from_cast_library(ref, entry_id, character_id, request: gr.Request):
        owner = shell.owner(request)
        if entry_id is None:
            raise StudioError("Choose the library character to remove first.")
        name = shell.studio().call(services.remove_from_library, owner=owner, entry_id=entry_id)
        inform(f"Removed {name} from your library; projects keep their own copy.")
        return form(project_view(owner, ref), character_id)

    to_library.click(save_to_cast_library, [shell.project, character], outputs)
    from_library.click(add_from_cast_library, [shell.project, library], outputs)
    drop_library.click(remove_from_cast_library, [shell.project, library, character], outputs)
