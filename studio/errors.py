"""Errors the studio shows to its users.

Every exception raised on purpose by `studio/` derives from `StudioError` and carries a
message that is a full sentence saying what was wrong and what to do, so the UI can show
`str(error)` as it is and never a traceback.
"""

from __future__ import annotations


class StudioError(Exception):
    """A problem the user can fix; `str(error)` is the sentence to show."""

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.message = message
        # Several independent problems (e.g. every invalid field of an imported script), so the
        # UI can list them instead of one long sentence.
        self.problems: list[str] = list(problems or [])


class NotFoundError(StudioError, LookupError):
    """The row asked for does not exist (deleted in another tab, or a stale id)."""


class OwnershipError(StudioError, PermissionError):
    """The row belongs to a project of another user."""

    def __init__(self, message: str = "This project belongs to another user."):
        super().__init__(message)


class MediaError(StudioError, ValueError):
    """An upload or a media path was refused; nothing was written."""


class QueueFullError(StudioError):
    """Too many jobs are already waiting for the same model."""


class JobCancelledError(StudioError):
    """A job stopped because the user cancelled it."""
