"""MovieDreamer Studio entry point: builds the Gradio app and launches it.

Importing this module builds the page layout only; no model is loaded and no database is
opened until the app is launched (`python app.py`). Hugging Face Spaces runs this file.
"""

from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from studio.ui.app import build_demo, launch  # noqa: E402

demo = build_demo()

if __name__ == "__main__":
    launch(demo)
