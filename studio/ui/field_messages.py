"""Validation sentences shown next to the form field they concern.

Edit services return `EditResult.problems` keyed by field name; each form field shows its
sentence as the field's info line (plain text, so user input in a message is not rendered),
and the problems that concern no single field go to the form's status line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import gradio as gr

from studio.services import GENERAL
from studio.ui.feedback import markdown_text

PROBLEM_MARK = "⚠ "


def field_infos(problems: Mapping[str, str], fields: Sequence[str], hints: Mapping[str, str]) -> list:
    """One update per field: its problem (marked), or its usual hint."""
    return [
        gr.update(info=PROBLEM_MARK + problems[name] if name in problems else hints.get(name))
        for name in fields
    ]


def general_problems(problems: Mapping[str, str], fields: Sequence[str]) -> str:
    """Problems not shown at a field, as Markdown (escaped)."""
    rest = [text for name, text in problems.items() if name == GENERAL or name not in fields]
    return "\n".join(f"⚠ {markdown_text(text)}" for text in rest)
