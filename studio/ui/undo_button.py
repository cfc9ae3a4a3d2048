"""The Undo button of the Script and Cast tabs: it says what it brings back and hides while
there is nothing to undo (the deletions themselves live in studio.services.undo)."""

from __future__ import annotations

import gradio as gr

from studio import services

_LABEL_CHARS = 70


def undo_button(last: services.DeletionView | None):
    """An update of the Undo button for the newest deletion that can be undone (or none)."""
    if last is None:
        return gr.Button(visible=False)
    label = last.label if len(last.label) <= _LABEL_CHARS else last.label[: _LABEL_CHARS - 1] + "…"
    return gr.Button(value=f"Undo: delete {label}", visible=True)
