"""The Cast tab: the cast library (save a character, add it to another project) and Undo."""

from __future__ import annotations

from studio.services import create_project, open_project


def fn(demo, name):
    [found] = [f for f in demo.fns.values() if getattr(f.fn, "__name__", None) == name]
    return found


def shown(found, updates) -> dict:
    return {
        c.elem_id: (dict(u.constructor_args) if hasattr(u, "constructor_args") else u)
        for c, u in zip(found.outputs, updates, strict=True)
        if c.elem_id
    }


def test_a_character_saved_to_the_library_is_added_to_another_project(page):
    demo, studio, view = page
    owner = studio.owner_of(None)
    save = fn(demo, "save_to_cast_library")
    after = shown(save, save.fn({"id": view.project.id, "stamp": 1}, view.cast[0].character.id, request=None))
    [(label, entry_id)] = after["library-choice"]["choices"]
    assert label == "Mara (2 photos)"
    sequel = studio.call(create_project, owner=owner, name="Sequel")
    add = fn(demo, "add_from_cast_library")
    after = shown(add, add.fn({"id": sequel.id, "stamp": 2}, entry_id, request=None))
    cast = studio.call(open_project, owner=owner, project_id=sequel.id).cast
    assert [(c.character.name, len(c.photos)) for c in cast] == [("Mara", 2)]
    assert after["character-choice"]["value"] == cast[0].character.id


def test_a_removed_character_comes_back_with_undo(page):
    demo, studio, view = page
    owner = studio.owner_of(None)
    from studio.services import add_character

    ada = studio.call(add_character, owner=owner, project_id=view.project.id, name="Ada").value
    remove = fn(demo, "remove_character")
    after = shown(remove, remove.fn({"id": view.project.id, "stamp": 1}, ada.id, request=None))
    assert after["undo-cast"] == {"value": "Undo: delete Ada", "visible": True}
    undo = fn(demo, "undo_cast_removal")
    undo.fn({"id": view.project.id, "stamp": 1}, None, request=None)
    assert [
        c.character.name for c in studio.call(open_project, owner=owner, project_id=view.project.id).cast
    ] == ["Mara", "Tom", "Ada"]
