"""What every tab shares: the studio handle, the open project (per browser tab, in gr.State)
and who the user is.

The open project is a small dict `{"id": project id or None, "stamp": n}` in a `gr.State`.
Tabs refresh on its `.change` event; the stamp changes on every (re)open, so reopening or
re-importing the same project refreshes the tabs as well.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import gradio as gr

from studio.context import StudioContext
from studio.errors import StudioError
from studio.ui.handle import StudioHandle

_stamps = itertools.count(1)
NO_PROJECT: dict[str, Any] = {"id": None, "stamp": 0}


def project_ref(project_id: int | None) -> dict[str, Any]:
    """A new value for the open-project state (always different from the previous one)."""
    return {"id": project_id, "stamp": next(_stamps)}


def project_id_of(ref: dict[str, Any] | None) -> int | None:
    return (ref or {}).get("id")


def require_project_id(ref: dict[str, Any] | None) -> int:
    project_id = project_id_of(ref)
    if project_id is None:
        raise StudioError("No project is open; open or create one in the Projects tab first.")
    return project_id


@dataclass
class Shell:
    handle: StudioHandle
    demo: gr.Blocks
    project: gr.State

    def studio(self) -> StudioContext:
        return self.handle.get()

    def owner(self, request: gr.Request | None) -> str:
        """The logged-in user (with --auth), else the single local user."""
        return self.studio().owner_of(getattr(request, "username", None) if request is not None else None)
