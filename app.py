"""MovieDreamer Studio entry point: builds the Gradio app and launches it.

Importing this module builds the page layout only; no model is loaded, no database opened
and no folder created until the app is launched (`python app.py [--data-dir DIR] [--auth
user:pass] ...`, see `python app.py --help`). Hugging Face Spaces runs this file.
"""

from __future__ import annotations

import logging

from studio.offline import stay_offline

# Before Gradio, diffusers or onnxruntime are imported: some of them read these at import.
stay_offline()

from studio.ui.app import build_demo, launch  # noqa: E402

demo = build_demo()

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    launch(demo)
