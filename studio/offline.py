"""No outbound traffic: the switches that keep the libraries the studio loads from phoning home.

The studio promises that it opens no network connection except the ones its users make to
it. Two libraries it loads would otherwise try:

* onnxruntime (imported by diffusers whenever a pipeline folder is loaded, because diffusers
  looks up every class a pipeline may hold, including its ONNX model class; and by
  insightface) starts a 1DS telemetry uploader in native threads at import. They resolve
  mobile.events.data.microsoft.com 9 s after the import and again with growing pauses.
  `onnxruntime.disable_telemetry_events()` after the import does not stop those threads
  (measured with strace); the variable ORT_DISABLE_TELEMETRY read at import does, so it must
  be set before onnxruntime is first imported.
* Hugging Face libraries send usage pings unless HF_HUB_DISABLE_TELEMETRY is set, and fetch
  models unless HF_HUB_OFFLINE is set (every studio path is local anyway).
* Gradio sends analytics unless GRADIO_ANALYTICS_ENABLED is False.

`stay_offline()` sets them all. app.py calls it before it imports anything else of the studio,
and `open_studio` calls it again before any model is loaded, for other entry points.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import MutableMapping

logger = logging.getLogger(__name__)

# Set whatever the environment says: these only ever switch reporting off.
FORCED = {
    "ORT_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
}
# Defaults a developer may still override on purpose (e.g. to fetch a model by hand).
DEFAULTS = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
}
# Modules whose telemetry starts at import, so the variables come too late once they are loaded.
STARTS_AT_IMPORT = ("onnxruntime",)


def stay_offline(environ: MutableMapping[str, str] | None = None) -> None:
    """Set the variables above in `environ` (default: this process's environment)."""
    env = os.environ if environ is None else environ
    for key, value in FORCED.items():
        env[key] = value
    for key, value in DEFAULTS.items():
        env.setdefault(key, value)
    if environ is None:
        late = [name for name in STARTS_AT_IMPORT if name in sys.modules]
        if late:
            # Someone imported it before the studio could switch its telemetry off; say so
            # instead of pretending the promise holds.
            logger.warning(
                "%s was imported before the studio switched its telemetry off; start the studio with "
                "`python app.py` (or set ORT_DISABLE_TELEMETRY=1) so that it makes no outbound connection",
                ", ".join(late),
            )
