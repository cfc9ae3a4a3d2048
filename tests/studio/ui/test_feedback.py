"""Errors become toasts with escaped sentences; user text never reaches HTML or Markdown raw."""

from __future__ import annotations

import inspect
import logging

import gradio as gr
import pytest

from studio.errors import StudioError
from studio.ui.feedback import UNEXPECTED, guarded, markdown_list, markdown_text, toast_text


def test_markdown_text_neutralises_html_and_markdown():
    hostile = "<img src=x onerror=alert(1)> **bold** [link](http://x) # head\nsecond"
    text = markdown_text(hostile)
    assert "<img" not in text and "&lt;img" in text
    assert "\\*\\*bold\\*\\*" in text and "\\[link\\]\\(http://x\\)" in text and "\\# head" in text
    assert text.endswith("  \nsecond")  # line break kept
    assert markdown_list(["a_b", "<c>"]) == "* a\\_b\n* &lt;c&gt;"


def test_toast_text_escapes_html():
    assert toast_text('<script>"x"</script>') == "&lt;script&gt;&quot;x&quot;&lt;/script&gt;"


def test_a_studio_error_becomes_an_escaped_toast_with_its_problems():
    @guarded
    def callback(name: str, request: gr.Request):
        raise StudioError(f"There is no sample called {name}.", problems=["line 1: a < b"])

    assert list(inspect.signature(callback).parameters) == ["name", "request"]  # Gradio injects by signature
    with pytest.raises(gr.Error) as raised:
        callback("<b>x</b>", None)
    assert raised.value.message == "There is no sample called &lt;b&gt;x&lt;/b&gt;.<br>• line 1: a &lt; b"


def test_an_unexpected_error_is_logged_and_shown_as_one_sentence(caplog):
    @guarded
    def callback():
        raise KeyError("internal detail")

    with caplog.at_level(logging.ERROR), pytest.raises(gr.Error) as raised:
        callback()
    assert raised.value.message == UNEXPECTED and "internal detail" not in raised.value.message
    assert "a studio callback failed" in caplog.text and "KeyError" in caplog.text


def test_streaming_callbacks_stay_generators():
    @guarded
    def stream(n: int):
        yield from range(n)
        raise StudioError("Stopped: the queue is full.")

    assert inspect.isgeneratorfunction(stream)
    seen = []
    with pytest.raises(gr.Error) as raised:
        for value in stream(3):
            seen.append(value)
    assert seen == [0, 1, 2] and raised.value.message == "Stopped: the queue is full."


def test_gradio_errors_pass_through():
    @guarded
    def callback():
        raise gr.Error("Already worded.")

    with pytest.raises(gr.Error, match="Already worded."):
        callback()
