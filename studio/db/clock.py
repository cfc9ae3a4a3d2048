"""The one clock every row's timestamps come from.

sqlmodel's datetime columns store aware datetimes as UTC and give them back in UTC (SQLite
itself has no time zones), so rows hold aware UTC times and comparisons between fresh and
re-read objects work.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Now, in UTC, with tzinfo."""
    return datetime.now(UTC)
