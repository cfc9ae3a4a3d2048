"""The Gradio Blocks app: the page layout (one module per tab) and its launch.

`build_demo()` only lays out widgets and wires callbacks: it opens no database, creates no
folder and loads no model, so importing app.py is cheap and safe. The studio (database,
media, job runner, model cache) is opened by `launch` before serving, or at the first
request when the page is served some other way (see studio.ui.handle).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence

import gradio as gr
from starlette.middleware import Middleware

from studio.config import DEFAULT_HOST, DEFAULT_PORT, StudioSettings, load_settings
from studio.errors import StudioError
from studio.ui import (
    cast_tab,
    export_tab,
    project_link,
    projects_tab,
    references_tab,
    script_tab,
    settings_tab,
    storyboard_tab,
    video_tab,
)
from studio.ui.handle import StudioHandle
from studio.ui.http_guard import LoginThrottle, SecurityHeaders, frame_ancestors_for
from studio.ui.served_files import OwnerOnlyFiles
from studio.ui.shell import NO_PROJECT, Shell

logger = logging.getLogger(__name__)

TITLE = "MovieDreamer Studio"
HEADER = (
    "# MovieDreamer Studio\n"
    "Write a movie scene by scene, upload your cast's face photos, and get a coherent storyboard you can "
    "regenerate shot by shot and turn into video."
)
# Waiting requests beyond this are refused by Gradio's queue instead of piling up memory.
QUEUE_MAX_SIZE = 32
# (every, older than) in seconds: Gradio deletes the uploads and cached copies this page made
# (and all of them when the server stops); callbacks delete uploads as soon as they are done.
DELETE_CACHE = (3600, 3600)
CSS = """
#storyboard-status, #animatic-status {min-height: 1.5em}
.field-problem {box-shadow: 0 0 0 2px var(--error-border-color, #ef4444); border-radius: var(--block-radius)}
.field-problem [data-testid="block-info"], .field-problem .info-text
  {color: var(--error-text-color, #b91c1c) !important; font-weight: 600}
"""


def build_demo(handle: StudioHandle | None = None) -> gr.Blocks:
    """Build the page around `handle` (default: settings from the environment at first use)."""
    handle = handle or StudioHandle()
    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=DELETE_CACHE) as demo:
        gr.Markdown(HEADER)
        project = gr.State(dict(NO_PROJECT))
        shell = Shell(handle=handle, demo=demo, project=project)
        with gr.Tabs():
            projects_tab.build(shell)
            cast_tab.build(shell)
            script_tab.build(shell)
            references_tab.build(shell)
            storyboard_tab.build(shell)
            video_tab.build(shell)
            export_tab.build(shell)
            settings_tab.build(shell)
        project_link.build(shell)
    # launch() needs the handle of this page; Blocks objects take attributes.
    demo.studio_handle = handle
    return demo


def launch_options(
    settings: StudioSettings, environ: Mapping[str, str], handle: StudioHandle | None = None
) -> dict:
    """Keyword arguments of Blocks.launch for `settings` (with `handle`: media served to owners only).

    The studio's --host/--port (or STUDIO_HOST/PORT) win; when they are left at their defaults,
    GRADIO_SERVER_NAME / GRADIO_SERVER_PORT are honoured by Gradio itself.
    """
    options = {
        "share": False,
        "show_error": False,
        "max_file_size": settings.max_upload_bytes,
        # Media are served from the data folder only; uploads go to Gradio's own cache.
        "allowed_paths": [str(settings.media_root.resolve())],
        "auth": list(settings.auth) or None,
        "auth_message": "MovieDreamer Studio: log in to see your projects." if settings.auth else None,
        "ssr_mode": False,
        "css": CSS,
        # Security headers on every response and a throttle on wrong passwords (studio.ui.http_guard).
        "app_kwargs": {
            "middleware": [
                Middleware(SecurityHeaders, frame_ancestors=frame_ancestors_for(environ)),
                Middleware(LoginThrottle),
            ]
        },
    }
    if handle is not None:
        options["app_kwargs"]["middleware"].append(Middleware(OwnerOnlyFiles, handle=handle))
    if settings.host != DEFAULT_HOST or "GRADIO_SERVER_NAME" not in environ:
        options["server_name"] = settings.host
    if settings.port != DEFAULT_PORT or "GRADIO_SERVER_PORT" not in environ:
        options["server_port"] = settings.port
    return options


def launch(
    demo: gr.Blocks, argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
) -> None:
    """Open the studio from the command line / environment and serve `demo` until stopped."""
    env = os.environ if environ is None else environ
    try:
        settings = load_settings(argv, env)
    except StudioError as error:
        # A wrong flag or variable: say which, without a traceback.
        raise SystemExit(f"MovieDreamer Studio cannot start: {error}") from None
    handle: StudioHandle = demo.studio_handle
    handle.configure(settings)
    handle.get()
    try:
        demo.queue(default_concurrency_limit=1, max_size=QUEUE_MAX_SIZE).launch(
            **launch_options(settings, env, handle)
        )
    finally:
        handle.close()
