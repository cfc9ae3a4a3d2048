"""The studio in a real browser: Debian's Chromium driven by Playwright against `python app.py`
with a temporary data folder and the embedded default bundle (assets/bundle), as on a Space.

One walk through the product: create a project, add a character with a face photo, write a
scene with two shots, generate the storyboard, regenerate one shot, upload your own panel as a
shot's keyframe (a locked version), delete a shot and bring it back with Undo, start a clip
render and cancel it (the page says what was kept; no half-written file is left), build the
animatic and watch its <video> play, reload, then export the project's backup ZIP and restore
it by importing it in the Projects tab (its shots and keyframe versions come back). A
screenshot of every tab is saved (to $STUDIO_SCREENSHOTS_DIR when set, else the test's temp
folder) so a person can look at the layout.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
FACE_PHOTO = ROOT / "assets" / "samples" / "short" / "cast" / "Robin_0.png"
OWN_PANEL = ROOT / "assets" / "samples" / "short" / "cast" / "Victor_0.png"  # any photo serves as a panel
START_TIMEOUT = 180.0  # seconds for the app to answer (imports torch and gradio on a busy machine)
STEP_TIMEOUT_MS = 180_000  # generation and encoding on 2 CPU cores
TABS = ["Projects", "Cast", "Script", "References", "Storyboard", "Video", "Export", "Settings"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_up(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"app.py exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(1.0)
    pytest.fail(f"app.py did not answer within {START_TIMEOUT:.0f} s:\n{log.read_text()[-4000:]}")


@pytest.fixture(scope="module")
def studio_app(tmp_path_factory):
    """(url, log path) of `python app.py` on a free port with a fresh data folder and the default bundle."""
    if not CHROMIUM.is_file():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium (apt install chromium).")
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    root = tmp_path_factory.mktemp("browser")
    port = _free_port()
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("GRADIO_SERVER", "STUDIO_"))
    }
    env.update(GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1")
    log = root / "app.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "app.py",
                "--data-dir",
                str(root / "data"),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_until_up(url, process, log)
        yield url, log
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


@pytest.fixture
def screenshots(tmp_path) -> Path:
    folder = Path(os.environ.get("STUDIO_SCREENSHOTS_DIR") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _settle(page) -> None:
    """Wait until no component is waiting for a callback (Gradio marks them `.pending`)."""
    page.wait_for_timeout(300)
    page.wait_for_function(
        "() => document.querySelectorAll('.pending').length === 0", timeout=STEP_TIMEOUT_MS
    )


def _open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()
    _settle(page)


def _project_id(page) -> str:
    found = re.search(r"[?&]project=(\d+)", page.url)
    assert found, page.url
    return found.group(1)


def _files_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_a_storyboard_from_scratch_to_a_playing_animatic(studio_app, screenshots, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    url, log = studio_app
    data = log.parent / "data"  # the app's --data-dir
    expect.set_options(timeout=STEP_TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(STEP_TIMEOUT_MS)
        try:
            page.goto(url)
            page.wait_for_selector("#create-project")
            _settle(page)

            # a project
            page.locator("#new-project-name input").fill("Harbour Night")
            page.locator("#create-project").click()
            expect(page.locator("#current-project")).to_contain_text("Harbour Night")
            _settle(page)
            # the open project is in the address, so a reload or a bookmark opens it again
            expect(page).to_have_url(re.compile(r"[?&]project=\d+"))

            # a character with a face photo
            _open_tab(page, "Cast")
            page.locator("#character-name input").fill("Mara")
            page.locator("#character-description textarea").fill("A tall woman with short grey hair.")
            page.locator("#save-character").click()
            expect(page.locator("#character-choice input")).to_have_value("Mara (0 photos)")
            _settle(page)  # the save's callback has finished before the photo is uploaded
            page.locator("#face-upload input[type=file]").set_input_files(str(FACE_PHOTO))
            expect(page.locator("#character-choice input")).to_have_value("Mara (1 photo)")
            expect(page.locator("#face-photos img")).to_have_count(1)
            _settle(page)

            # a scene with two shots
            _open_tab(page, "Script")
            page.locator("#scene-heading input").fill("EXT. HARBOUR - NIGHT")
            page.locator("#save-scene").click()
            expect(page.locator("#scene-choice input")).to_have_value("Scene 1: EXT. HARBOUR - NIGHT")
            _settle(page)
            for plot in ["Mara waits on the pier.", "Mara looks at the dark sea."]:
                page.locator("#shot-choice input").click()
                page.get_by_role("option", name="+ New shot").click()
                _settle(page)
                expect(page.locator("#shot-plot textarea")).to_have_value("")
                page.locator("#shot-plot textarea").fill(plot)
                page.locator("#shot-characters input").click()
                page.get_by_role("option", name="Mara").click()
                if plot.startswith("Mara waits"):
                    # a zero duration is a sentence by the Duration field; the form stays usable
                    page.locator("#shot-duration input").fill("0")
                    page.locator("#save-shot").click()
                    expect(page.locator("#shot-duration")).to_contain_text("must last more than 0 seconds")
                    expect(page.locator("#shot-duration")).to_have_class(re.compile(r"\bfield-problem\b"))
                    _settle(page)
                    assert page.locator(".error").count() == 0
                    page.locator("#shot-duration input").fill("3")
                page.locator("#save-shot").click()
                expect(page.locator("#script-overview")).to_contain_text(plot)
                _settle(page)

            # generate, then regenerate one shot
            _open_tab(page, "Storyboard")
            page.locator("#generate-all").click()
            expect(page.locator("#storyboard-status")).to_contain_text("Generation: done.")
            _settle(page)
            expect(page.locator("#storyboard-gallery img")).to_have_count(2)
            page.locator("#storyboard-gallery img").first.click()
            expect(page.locator("#shot-panel")).to_contain_text("Shot 1")
            _settle(page)
            expect(page.locator("#versions img")).to_have_count(1)
            page.locator("#regenerate-shot").click()
            expect(page.locator("#storyboard-status")).to_contain_text("Generation: done.")
            expect(page.locator("#versions img")).to_have_count(2)
            _settle(page)

            # your own panel as shot 1's keyframe: a third version, current and locked
            page.locator("#panel-upload input[type=file]").set_input_files(str(OWN_PANEL))
            expect(page.locator("#versions img")).to_have_count(3)
            expect(page.locator("#shot-panel")).to_contain_text("Current keyframe: your panel · 🔒 locked")
            expect(page.locator("#lock-shot input[type=checkbox]")).to_be_checked()
            expect(page.locator("#storyboard-gallery")).to_contain_text("your panel · locked")
            _settle(page)

            # delete shot 2 in the Script tab, then Undo brings it back with its keyframe
            second = "Mara looks at the dark sea."
            _open_tab(page, "Script")
            page.locator("#shot-choice input").click()
            page.get_by_role("option", name=re.compile(re.escape(second))).click()
            _settle(page)
            expect(page.locator("#shot-plot textarea")).to_have_value(second)
            page.get_by_role("button", name="Delete shot").click()
            expect(page.locator("#script-overview")).not_to_contain_text(second)
            undo = page.locator("#undo-script")
            expect(undo).to_have_text(f"Undo: delete shot 2 of scene 1 ({second})")
            _settle(page)
            undo.click()
            expect(page.locator("#script-overview")).to_contain_text(second)
            expect(undo).to_be_hidden()
            _settle(page)
            _open_tab(page, "Storyboard")
            expect(page.locator("#storyboard-gallery")).to_contain_text(
                re.compile(re.escape(second) + r" · seed \d+")
            )

            # a clip render for shot 2, cancelled from the page: it says what was kept, no half-written file
            _open_tab(page, "Video")
            page.locator("#clip-shots").get_by_label(re.compile(re.escape(second))).check()
            clip_status = page.locator(".prose").filter(has_text=re.compile(r"Clips: ")).last
            page.locator("#render-clips").click()
            expect(clip_status).to_contain_text("Rendering the clip of shot 2")
            page.locator("#render-clips + button", has_text="Cancel").click()
            expect(clip_status).to_contain_text(
                re.compile(
                    r"Clips: cancelled — Cancelled (before the first clip was finished; nothing was saved"
                    r"|; the 1 clip finished before was kept)"
                )
            )
            _settle(page)
            kept = 0 if "nothing was saved" in clip_status.inner_text() else 1
            page.locator("#clip-choice input").click()
            expect(page.get_by_role("option")).to_have_count(kept)
            page.keyboard.press("Escape")
            assert _files_in(data / "work") == [], _files_in(data / "work")
            assert len(list((data / "media").rglob("*.mp4"))) == kept

            # the animatic plays
            _open_tab(page, "Video")
            page.locator("#build-animatic").click()
            expect(page.locator("#animatic-status")).to_contain_text("Animatic: done.")
            video = page.locator("#animatic-player video")
            expect(video).to_have_count(1)
            playing = video.evaluate(
                """async video => {
                    video.muted = true;
                    await video.play();
                    const start = video.currentTime;
                    await new Promise(resolve => setTimeout(resolve, 1500));
                    return {start, now: video.currentTime, readyState: video.readyState, paused: video.paused};
                }"""
            )
            assert playing["readyState"] >= 2 and playing["now"] > playing["start"], playing

            # reloading keeps the project open (its id is in the address)
            page.reload()
            page.wait_for_selector("#create-project")
            _settle(page)
            expect(page.locator("#current-project")).to_contain_text("Harbour Night")

            # the backup ZIP from the Export tab, restored as a new project by importing it
            _open_tab(page, "Export")
            page.locator("#export-zip").click()
            link = page.locator("a[download$='.zip']")  # the Backup ZIP field's download link
            expect(link).to_have_count(1)
            with page.expect_download() as download:
                link.click()
            backup = tmp_path / download.value.suggested_filename
            download.value.save_as(backup)
            assert backup.suffix == ".zip" and backup.stat().st_size > 0, backup
            original = _project_id(page)
            _open_tab(page, "Projects")
            page.get_by_text("Import a script (JSON, Fountain, MovieBench) or a backup ZIP").click()
            page.locator("#script-file input[type=file]").set_input_files(str(backup))
            expect(page.locator("#script-file .file-preview")).to_contain_text("backup")  # uploaded
            _settle(page)
            page.locator("#import-script").click()
            expect(page).not_to_have_url(re.compile(rf"[?&]project={original}(&|$)"))
            expect(page.locator("#current-project")).to_contain_text("1 scene · 2 shots · 1 character")
            _settle(page)
            _open_tab(page, "Storyboard")
            expect(page.locator("#storyboard-gallery")).to_contain_text("your panel · locked")
            expect(page.locator("#storyboard-gallery")).to_contain_text(
                re.compile(re.escape(second) + r" · seed \d+")
            )
            page.locator("#storyboard-gallery img").first.click()
            expect(page.locator("#shot-panel")).to_contain_text("Current keyframe: your panel · 🔒 locked")
            expect(page.locator("#versions img")).to_have_count(3)
            _settle(page)

            for name in TABS:
                _open_tab(page, name)
                page.screenshot(
                    path=str(screenshots / f"{TABS.index(name)}-{name.lower()}.png"), full_page=True
                )
        except Exception:
            page.screenshot(path=str(screenshots / "failure.png"), full_page=True)
            (screenshots / "failure.html").write_text(page.content())
            raise
        finally:
            browser.close()
    assert "a studio callback failed" not in log.read_text(), log.read_text()[-4000:]
