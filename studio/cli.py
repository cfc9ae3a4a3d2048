"""`moviedreamer-studio`: the installed command that launches the studio.

It does what `python app.py` does in a clone (same flags and environment variables, see
`moviedreamer-studio --help`), so an installed package needs no checkout to serve the studio.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from studio.offline import stay_offline


def main(argv: Sequence[str] | None = None) -> None:
    # Before Gradio, diffusers or onnxruntime are imported: some of them read these at import.
    stay_offline()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from studio.ui.app import build_demo, launch

    launch(build_demo(), None if argv is None else list(argv))


if __name__ == "__main__":
    main()
