"""What use cases hand back to the UI besides rows: field problems and upload notes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")

# Key of problems that concern no single field of the form being edited.
GENERAL = ""


@dataclass
class EditResult(Generic[T]):
    """What an edit service returns: the saved row, or the problems per form field.

    `problems` maps a field name ("plot", "duration", ...) to a sentence; `GENERAL` ("") holds
    problems not tied to one field. Nothing is saved when `problems` is not empty.
    """

    value: T | None = None
    problems: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def message(self) -> str:
        """All problems as one text (for a single status line)."""
        return "\n".join(f"{name}: {text}" if name else text for name, text in self.problems.items())


@dataclass(frozen=True)
class UploadResult(Generic[T]):
    """A stored upload and anything the user should know about it (sentences)."""

    value: T
    notes: tuple[str, ...] = field(default_factory=tuple)
