"""The studio a page talks to, opened on first use.

Building the page must not touch the data folder or load anything (app.py is imported by
tools, tests and Hugging Face Spaces just to get `demo`), so `build_demo` gets a
`StudioHandle` instead of a `StudioContext`. `launch` configures it from the command line and
opens it before serving; a page served some other way (`gradio app.py`) opens it at the
first request, with settings from the environment (STUDIO_DATA_DIR, STUDIO_BUNDLE, ...).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from studio.config import StudioSettings, load_settings
from studio.context import StudioContext, open_studio
from studio.ui.served_files import forget_served_copy

logger = logging.getLogger(__name__)


def settings_from_environment() -> StudioSettings:
    """Settings from STUDIO_* variables only (argv may belong to another program)."""
    return load_settings([])


class StudioHandle:
    """Holds the settings and, once opened, the one `StudioContext` of this process."""

    def __init__(
        self,
        settings: StudioSettings | None = None,
        settings_factory: Callable[[], StudioSettings] = settings_from_environment,
    ):
        self._settings = settings
        self._settings_factory = settings_factory
        self._studio: StudioContext | None = None
        self._lock = threading.Lock()

    @property
    def is_open(self) -> bool:
        return self._studio is not None

    @property
    def settings(self) -> StudioSettings:
        with self._lock:
            if self._settings is None:
                self._settings = self._settings_factory()
            return self._settings

    def configure(self, settings: StudioSettings) -> None:
        """Use these settings (before the studio is opened)."""
        with self._lock:
            if self._studio is not None:
                raise RuntimeError("the studio is already open; configure it before the first request")
            self._settings = settings

    def get(self) -> StudioContext:
        """The studio, opened now if this is the first use."""
        settings = self.settings
        with self._lock:
            if self._studio is None:
                self._studio = open_studio(settings)
                # A deleted media file takes the web server's cached copy with it.
                self._studio.media.removal_hooks.append(forget_served_copy)
                logger.info("studio opened on %s", settings.data_dir)
            return self._studio

    def close(self) -> None:
        with self._lock:
            if self._studio is not None:
                self._studio.close()
                self._studio = None
