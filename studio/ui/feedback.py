"""How the page tells users what happened: toasts and status text, never a traceback.

* `guarded(fn)` wraps a callback: a `StudioError` becomes an error toast with its sentence
  (and its list of problems); anything else is logged with its traceback and shown as one
  generic sentence. Generator callbacks stay generators (Gradio streams them).
* Every text that may contain user input is escaped before Gradio renders it: toasts render
  HTML (`toast_text`), Markdown renders Markdown and HTML (`markdown_text`).
"""

from __future__ import annotations

import functools
import html
import inspect
import logging
import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import gradio as gr

from studio.errors import StudioError

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

UNEXPECTED = "Something went wrong on the studio's side; the studio log has the details. Try again."
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")


def toast_text(text: str) -> str:
    """Text for gr.Info / gr.Warning / gr.Error, which render HTML."""
    return html.escape(str(text), quote=True)


def markdown_text(text: str) -> str:
    """User text safe inside gr.Markdown: HTML escaped, Markdown syntax neutralised, lines kept."""
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(str(text), quote=False))
    return escaped.replace("\n", "  \n")


def markdown_list(lines: Iterable[str]) -> str:
    return "\n".join(f"* {markdown_text(line)}" for line in lines)


def error_text(error: StudioError) -> str:
    """The sentence and, when there are several, its problems as one toast text."""
    parts = [str(error)] + [f"• {problem}" for problem in error.problems[:12]]
    if len(error.problems) > 12:
        parts.append(f"• ... and {len(error.problems) - 12} more.")
    return "<br>".join(toast_text(part) for part in parts)


def warn(text: str) -> None:
    gr.Warning(toast_text(text))


def inform(text: str) -> None:
    gr.Info(toast_text(text))


def _raise_for(error: Exception) -> None:
    if isinstance(error, gr.Error):
        raise error
    if isinstance(error, StudioError):
        raise gr.Error(error_text(error), print_exception=False) from None
    logger.exception("a studio callback failed")
    raise gr.Error(UNEXPECTED, print_exception=False) from None


def guarded(fn: F) -> F:
    """Turn the callback's errors into toasts (see the module docstring)."""
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def streaming(*args: Any, **kwargs: Any):
            try:
                yield from fn(*args, **kwargs)
            except Exception as error:  # noqa: BLE001 - every failure becomes a toast
                _raise_for(error)

        return streaming  # type: ignore[return-value]

    @functools.wraps(fn)
    def plain(*args: Any, **kwargs: Any):
        try:
            return fn(*args, **kwargs)
        except Exception as error:  # noqa: BLE001 - every failure becomes a toast
            _raise_for(error)

    return plain  # type: ignore[return-value]
