"""The Gradio Blocks app: layout only; every callback calls one studio service."""

from __future__ import annotations

import gradio as gr

INTRO = """
# MovieDreamer Studio

Write a movie scene by scene, upload your cast's face photos, and get a coherent storyboard
of keyframes that you can regenerate shot by shot and turn into video.

The model library and the toy-cinema world are being built; the storyboard editor opens
here as soon as the generation pipeline and the default model bundle land.
"""


def build_demo() -> gr.Blocks:
    """Build the page. Loads no model and touches no database."""
    with gr.Blocks(title="MovieDreamer Studio", analytics_enabled=False) as demo:
        gr.Markdown(INTRO)
    return demo


def launch(demo: gr.Blocks) -> None:
    """Launch with the safe defaults: no share link, analytics off, uploads capped."""
    demo.queue(default_concurrency_limit=1, max_size=16).launch(
        share=False, max_file_size="20mb", show_error=False
    )
