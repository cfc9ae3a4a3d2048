"""HTTP hardening around the Gradio app: security headers on every response and a login throttle.

Both are plain ASGI middlewares handed to Gradio's FastAPI app (`launch(app_kwargs=...)`):

* `SecurityHeaders` sets `X-Content-Type-Options: nosniff` (a browser never guesses an
  uploaded file's type), `Referrer-Policy: no-referrer`, and forbids other sites to frame the
  studio (`Content-Security-Policy: frame-ancestors 'none'` plus `X-Frame-Options: DENY` for
  old browsers), so a page elsewhere cannot overlay it to steal clicks. A Hugging Face Space
  is shown inside huggingface.co, so there the one framing origin allowed is huggingface.co.
* `LoginThrottle` counts wrong passwords per client address. After `max_failures` of them
  within `window_seconds`, that address gets 429 with a sentence for `lockout_seconds`
  (doubling with every failure after that, up to `max_lockout_seconds`) without the password
  being checked, so guessing runs at a few tries per minute instead of ~100 per second. A
  correct login clears the count. Nothing sleeps: a blocked request is answered at once.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

DENY_FRAMING = "'none'"
SPACE_FRAMING = "https://huggingface.co"


def frame_ancestors_for(environ: Mapping[str, str]) -> str:
    """Who may frame the studio: nobody, except huggingface.co for a Space (SPACE_ID is set there)."""
    return SPACE_FRAMING if environ.get("SPACE_ID") else DENY_FRAMING


class SecurityHeaders:
    """Adds the headers of the module docstring to every HTTP response."""

    def __init__(self, app, frame_ancestors: str = DENY_FRAMING):
        self.app = app
        headers = [
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"content-security-policy", f"frame-ancestors {frame_ancestors}".encode()),
        ]
        if frame_ancestors == DENY_FRAMING:
            headers.append((b"x-frame-options", b"DENY"))
        self.headers = headers
        self.names = {name for name, _ in headers}

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in self.names]
                message = {**message, "headers": kept + self.headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


@dataclass
class _Record:
    failures: int = 0
    first_failure: float = 0.0
    blocked_until: float = 0.0


@dataclass
class LoginAttempts:
    """Wrong-password counts per client address (thread-safe; see the module docstring)."""

    max_failures: int = 5
    window_seconds: float = 15 * 60
    lockout_seconds: float = 30.0
    max_lockout_seconds: float = 15 * 60
    clock: Callable[[], float] = time.monotonic
    _records: dict[str, _Record] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_seconds(self, client: str) -> float:
        """How long `client` must wait before its next login attempt is checked (0: now)."""
        with self._lock:
            record = self._records.get(client)
            return max(0.0, record.blocked_until - self.clock()) if record else 0.0

    def failed(self, client: str) -> None:
        now = self.clock()
        with self._lock:
            self._forget_old(now)
            record = self._records.setdefault(client, _Record(first_failure=now))
            record.failures += 1
            over = record.failures - self.max_failures
            if over >= 0:
                record.blocked_until = now + min(self.max_lockout_seconds, self.lockout_seconds * 2**over)
                logger.warning(
                    "login from %s locked for %.0f s after %d wrong passwords",
                    client,
                    record.blocked_until - now,
                    record.failures,
                )

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._records.pop(client, None)

    def _forget_old(self, now: float) -> None:
        for client, record in list(self._records.items()):
            if now - record.first_failure > self.window_seconds and now >= record.blocked_until:
                del self._records[client]


def too_many_attempts(seconds: float) -> str:
    return (
        f"Too many wrong passwords from this address; wait {max(1, round(seconds))} seconds and "
        "try again with the right password."
    )


class LoginThrottle:
    """Refuses POST .../login from a client with too many wrong passwords (module docstring)."""

    def __init__(self, app, attempts: LoginAttempts | None = None):
        self.app = app
        self.attempts = attempts or LoginAttempts()

    async def __call__(self, scope, receive, send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or not scope["path"].rstrip("/").endswith("/login")
        ):
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("unknown", 0))[0]
        wait = self.attempts.wait_seconds(client)
        if wait > 0:
            body = json.dumps({"detail": too_many_attempts(wait)}).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 429,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                        (b"retry-after", str(max(1, round(wait))).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        status: list[int] = []

        async def watch(message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        await self.app(scope, receive, watch)
        if status and status[0] == 200:
            self.attempts.succeeded(client)
        elif status and status[0] in (400, 401):
            self.attempts.failed(client)
