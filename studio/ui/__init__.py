"""The studio's Gradio layout and its thin callbacks (everything else lives in services)."""
