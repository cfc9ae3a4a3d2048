"""The launched studio sends security headers and throttles wrong passwords."""

from __future__ import annotations

import httpx
import pytest
from starlette.middleware import Middleware

from studio.config import StudioSettings
from studio.ui.app import build_demo, launch_options
from studio.ui.handle import StudioHandle
from studio.ui.http_guard import SPACE_FRAMING, LoginAttempts, LoginThrottle, frame_ancestors_for
from tests.studio.test_browser import _free_port


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def served(tmp_path_factory, clock):
    """(base url) of the studio launched with its own launch options and a login."""
    settings = StudioSettings(
        data_dir=tmp_path_factory.mktemp("guard") / "data", auth=(("ann", "right-pw"),), port=_free_port()
    )
    handle = StudioHandle(settings)
    demo = build_demo(handle)
    options = launch_options(settings, environ={})
    # The same middlewares, with a clock the test can move.
    options["app_kwargs"]["middleware"] = [
        m if m.cls is not LoginThrottle else Middleware(LoginThrottle, attempts=LoginAttempts(clock=clock))
        for m in options["app_kwargs"]["middleware"]
    ]
    handle.get()
    demo.queue().launch(prevent_thread_lock=True, **options)
    try:
        yield demo.local_url.rstrip("/")
    finally:
        demo.close()
        handle.close()


def test_every_response_carries_the_security_headers(served):
    for path in ("/", "/config", "/login", "/gradio_api/info"):
        response = httpx.get(served + path, timeout=30)
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert response.headers["x-frame-options"] == "DENY", path
        assert response.headers["content-security-policy"] == "frame-ancestors 'none'", path
        assert response.headers["referrer-policy"] == "no-referrer", path


def test_a_space_may_be_framed_by_huggingface_only():
    assert frame_ancestors_for({"SPACE_ID": "someone/studio"}) == SPACE_FRAMING
    assert frame_ancestors_for({}) == "'none'"


def test_thirty_wrong_passwords_are_not_thirty_guesses(served, clock):
    statuses = [
        httpx.post(
            served + "/login", data={"username": "ann", "password": f"guess-{i}"}, timeout=30
        ).status_code
        for i in range(30)
    ]
    assert statuses == [400] * 5 + [429] * 25  # only 5 passwords were checked
    refused = httpx.post(served + "/login", data={"username": "ann", "password": "right-pw"}, timeout=30)
    assert refused.status_code == 429  # not even the right one, while locked
    detail = refused.json()["detail"]
    assert detail.startswith("Too many wrong passwords from this address; wait ") and "try again" in detail
    # Refused attempts do not extend the lockout: only checked passwords count.
    assert refused.headers["retry-after"] == "30"

    clock.now += 31
    assert (
        httpx.post(
            served + "/login", data={"username": "ann", "password": "right-pw"}, timeout=30
        ).status_code
        == 200
    )
    # A good login clears the count: the next mistake is checked again.
    assert (
        httpx.post(served + "/login", data={"username": "ann", "password": "nope"}, timeout=30).status_code
        == 400
    )


def test_the_lockout_doubles_with_each_checked_failure_up_to_its_cap():
    clock = Clock()
    attempts = LoginAttempts(max_failures=2, lockout_seconds=10, max_lockout_seconds=25, clock=clock)
    attempts.failed("a")
    assert attempts.wait_seconds("a") == 0
    attempts.failed("a")
    assert attempts.wait_seconds("a") == 10 and attempts.wait_seconds("b") == 0
    clock.now += 10
    attempts.failed("a")
    assert attempts.wait_seconds("a") == 20
    clock.now += 20
    attempts.failed("a")
    assert attempts.wait_seconds("a") == 25
