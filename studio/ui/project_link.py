"""Every open project has its own address: `...?project=<id>`.

Opening a project writes its id into the page's address (history.replaceState, no reload),
so reloading the page, a bookmark or the same address in a second browser tab opens that
project again; opening none removes the parameter. On page load the parameter is read and
the project opened, after the usual ownership check: an id that does not exist or belongs
to another user opens nothing and says so.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from studio import services
from studio.errors import StudioError
from studio.ui.feedback import guarded, warn
from studio.ui.shell import NO_PROJECT, Shell, project_id_of, project_ref

PARAMETER = "project"
# Runs in the browser after each (re)open: mirror the open project's id into the address bar.
SET_ADDRESS = f"""
(id) => {{
    const url = new URL(window.location.href);
    if (id) {{ url.searchParams.set("{PARAMETER}", id); }} else {{ url.searchParams.delete("{PARAMETER}"); }}
    if (url.href !== window.location.href) {{ window.history.replaceState(window.history.state, "", url); }}
    return [];
}}
"""


def project_id_from_address(value: str | None) -> int | None:
    """The project id a `project=` parameter names; None when absent; StudioError when unreadable."""
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    if not text.isdigit() or len(text) > 18:
        raise StudioError(
            f"The address names the project {text!r}, which is no project number; open a project "
            "from the Projects tab."
        )
    return int(text)


def build(shell: Shell) -> None:
    address_id = gr.Textbox(visible=False, elem_id="project-address")

    @guarded
    def open_from_address(request: gr.Request) -> dict[str, Any]:
        params = getattr(request, "query_params", None) or {}
        try:
            project_id = project_id_from_address(params.get(PARAMETER))
            if project_id is None:
                return dict(NO_PROJECT)
            project = shell.studio().call(
                services.get_project, owner=shell.owner(request), project_id=project_id
            )
        except StudioError as error:
            warn(f"The project in this page's address was not opened: {error}")
            return dict(NO_PROJECT)
        return project_ref(project.id)

    def address_of(ref) -> str:
        project_id = project_id_of(ref)
        return "" if project_id is None else str(project_id)

    shell.demo.load(open_from_address, None, [shell.project])
    shell.project.change(address_of, [shell.project], [address_id]).then(
        None, [address_id], None, js=SET_ADDRESS
    )
