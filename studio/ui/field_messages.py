"""Validation sentences shown next to the form field they concern.

Edit services return `EditResult.problems` keyed by field name; each form field shows its
sentence as the field's info line (plain text, so user input in a message is not rendered)
and is marked with the `field-problem` class (red frame and red info line, see app.CSS);
the problems that concern no single field go to the form's status line. A warning toast
says that nothing was saved, so a problem below the fold is not missed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import gradio as gr

from studio.services import GENERAL
from studio.ui.feedback import markdown_text, warn

PROBLEM_MARK = "⚠ "
PROBLEM_CLASS = "field-problem"


def hint(text: str | None) -> dict[str, Any]:
    """Keyword arguments that show a field's usual hint and clear a problem mark."""
    return {"info": text, "elem_classes": []}


def field_infos(problems: Mapping[str, str], fields: Sequence[str], hints: Mapping[str, str | None]) -> list:
    """One update per field: its problem (marked), or its usual hint."""
    return [
        gr.update(info=PROBLEM_MARK + problems[name], elem_classes=[PROBLEM_CLASS])
        if name in problems
        else gr.update(**hint(hints.get(name)))
        for name in fields
    ]


def general_problems(problems: Mapping[str, str], fields: Sequence[str]) -> str:
    """Problems not shown at a field, as Markdown (escaped)."""
    rest = [text for name, text in problems.items() if name == GENERAL or name not in fields]
    return "\n".join(f"⚠ {markdown_text(text)}" for text in rest)


def not_saved_text(problems: Mapping[str, str], what: str) -> str:
    """The toast's sentence: what was not saved and where the reasons are."""
    count = len(problems)
    where = "the field marked ⚠" if count == 1 else f"the {count} problems marked ⚠"
    return f"The {what} was not saved: fix {where}, then save again."


def warn_not_saved(problems: Mapping[str, str], what: str) -> None:
    warn(not_saved_text(problems, what))
