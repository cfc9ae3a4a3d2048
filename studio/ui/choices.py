"""Labels the widgets show for rows (dropdown choices, gallery captions).

Gradio renders choice labels and gallery captions as plain text, so user text is shown as it
is here (never through Markdown or HTML).
"""

from __future__ import annotations

from studio.services import CharacterView, ProjectView, SceneView, ShotView

NEW = -1  # the "+ New ..." entry of a dropdown
_PLOT_CHARS = 60


def _short(text: str, limit: int = _PLOT_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def scene_label(scene: SceneView) -> str:
    return f"Scene {scene.scene.position + 1}: {_short(scene.scene.heading, 50)}"


def shot_label(shot: ShotView) -> str:
    lock = " 🔒" if shot.shot.locked else ""
    return f"{shot.number} · {_short(shot.shot.plot)}{lock}"


def character_label(character: CharacterView) -> str:
    count = len(character.photos)
    return f"{character.character.name} ({count} photo{'s' if count != 1 else ''})"


def scene_choices(view: ProjectView | None, *, new: str | None = None) -> list[tuple[str, int]]:
    choices = [(scene_label(scene), scene.scene.id) for scene in (view.scenes if view else ())]
    return choices + ([(new, NEW)] if new else [])


def shot_choices(
    view: ProjectView | None, scene_id: int | None = None, *, new: str | None = None
) -> list[tuple[str, int]]:
    shots = (
        []
        if view is None
        else (
            view.shots
            if scene_id is None
            else [s for scene in view.scenes if scene.scene.id == scene_id for s in scene.shots]
        )
    )
    return [(shot_label(shot), shot.shot.id) for shot in shots] + ([(new, NEW)] if new else [])


def character_choices(view: ProjectView | None, *, new: str | None = None) -> list[tuple[str, int]]:
    choices = [(character_label(c), c.character.id) for c in (view.cast if view else ())]
    return choices + ([(new, NEW)] if new else [])
