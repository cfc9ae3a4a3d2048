"""The one error a video can fail with: a sentence saying what was wrong and what to do.

The pipeline catches `VideoError` per video, records it in the run report and goes on with
the other videos; anything else is a bug and is reported with its traceback in the log.
"""

from __future__ import annotations


class VideoError(ValueError):
    """One video cannot go through a stage (unreadable file, no VLM configured, invalid LLM output...)."""
