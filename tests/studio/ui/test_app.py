"""Building the page opens nothing; launching uses the safe options and the studio settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import gradio as gr
import pytest

from studio.config import StudioSettings
from studio.ui.app import QUEUE_MAX_SIZE, build_demo, launch, launch_options
from studio.ui.handle import StudioHandle

ROOT = Path(__file__).resolve().parents[3]
TABS = ["Projects", "Cast", "Script", "References", "Storyboard", "Video", "Export", "Settings"]


def test_importing_app_touches_no_data_and_loads_no_model(tmp_path):
    """In a fresh interpreter, as Spaces and tools import it."""
    data_dir = tmp_path / "data"
    probe = (
        "import sys, json, app\n"
        "heavy = [m for m in ('torch', 'diffusers', 'transformers', 'open_clip', 'moviepy') if m in sys.modules]\n"
        "print(json.dumps({'heavy': heavy, 'open': app.demo.studio_handle.is_open,"
        " 'tabs': [b.label for b in app.demo.blocks.values() if type(b).__name__ == 'Tab']}))\n"
    )
    env = {**os.environ, "STUDIO_DATA_DIR": str(data_dir), "GRADIO_ANALYTICS_ENABLED": "False"}
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"heavy": [], "open": False, "tabs": TABS}
    assert not data_dir.exists()


def test_build_demo_does_not_open_the_studio(tmp_path):
    handle = StudioHandle(StudioSettings(data_dir=tmp_path / "data"))
    demo = build_demo(handle)
    assert isinstance(demo, gr.Blocks) and demo.studio_handle is handle
    assert not handle.is_open and not (tmp_path / "data").exists()
    assert demo.title == "MovieDreamer Studio"


def test_handle_opens_once_and_refuses_late_configuration(tmp_path):
    calls = []

    def settings():
        calls.append(1)
        return StudioSettings(data_dir=tmp_path / "lazy")

    handle = StudioHandle(settings_factory=settings)
    assert not (tmp_path / "lazy").exists() and calls == []
    studio = handle.get()
    try:
        assert handle.get() is studio and calls == [1]
        assert (tmp_path / "lazy" / "studio.sqlite3").is_file()
        with pytest.raises(RuntimeError):
            handle.configure(StudioSettings(data_dir=tmp_path / "other"))
    finally:
        handle.close()
    assert not handle.is_open


def test_launch_options_are_the_safe_ones(tmp_path):
    settings = StudioSettings(data_dir=tmp_path / "data", auth=(("ann", "pw"),), max_upload_bytes=5_000_000)
    options = launch_options(settings, environ={})
    assert options["share"] is False and options["show_error"] is False and options["ssr_mode"] is False
    assert options["auth"] == [("ann", "pw")]
    assert options["max_file_size"] == 5_000_000
    assert options["allowed_paths"] == [str((tmp_path / "data" / "media").resolve())]
    assert options["server_name"] == "127.0.0.1" and options["server_port"] == 7860
    assert launch_options(StudioSettings(data_dir=tmp_path), environ={})["auth"] is None


def test_gradio_server_variables_are_honoured_unless_studio_flags_say_otherwise(tmp_path):
    env = {"GRADIO_SERVER_NAME": "0.0.0.0", "GRADIO_SERVER_PORT": "9000"}
    options = launch_options(StudioSettings(data_dir=tmp_path), environ=env)
    assert "server_name" not in options and "server_port" not in options  # Gradio reads them itself
    explicit = launch_options(StudioSettings(data_dir=tmp_path, host="10.0.0.2", port=8080), environ=env)
    assert explicit["server_name"] == "10.0.0.2" and explicit["server_port"] == 8080


def test_launch_reads_flags_opens_the_studio_and_queues(tmp_path, monkeypatch):
    seen = {}

    def fake_launch(self, **options):
        seen["options"] = options
        seen["queue"] = (self._queue.default_concurrency_limit, self._queue.max_size)
        seen["open"] = self.studio_handle.is_open

    monkeypatch.setattr(gr.Blocks, "launch", fake_launch)
    demo = build_demo(StudioHandle())
    launch(
        demo, argv=["--data-dir", str(tmp_path / "d"), "--auth", "ann:pw", "--max-upload-mb", "2"], environ={}
    )
    assert seen["open"] is True and (tmp_path / "d" / "studio.sqlite3").is_file()
    assert seen["queue"] == (1, QUEUE_MAX_SIZE)
    assert seen["options"]["auth"] == [("ann", "pw")] and seen["options"]["max_file_size"] == 2 * 1024 * 1024
    assert not demo.studio_handle.is_open  # closed when the server stopped


def test_a_wrong_flag_stops_with_a_sentence(tmp_path):
    demo = build_demo(StudioHandle())
    with pytest.raises(SystemExit, match="cannot start: The login 'ann' is not of the form user:password"):
        launch(demo, argv=["--data-dir", str(tmp_path), "--auth", "ann"], environ={})
    assert not demo.studio_handle.is_open


def test_the_tabs_hold_only_tabs(tmp_path):
    """A component (even a gr.State) created between two tabs shifts the tab labels in the browser."""
    demo = build_demo(StudioHandle(StudioSettings(data_dir=tmp_path / "data")))
    [tabs] = [b for b in demo.blocks.values() if type(b).__name__ == "Tabs"]
    assert [type(child).__name__ for child in tabs.children] == ["Tab"] * len(TABS)
