"""The studio makes no outbound connection: `python app.py` runs under strace while a script is
imported over HTTP, a storyboard is generated with the embedded bundle (which imports
onnxruntime through diffusers) and a file given as a URL is sent to an upload; afterwards
every connect/sendto/sendmsg of the server, native threads included, must have gone to
loopback and no name lookup may have been attempted.

strace sees what a Python audit hook cannot: onnxruntime's telemetry resolves its host from
native threads, without going through Python's socket module.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from studio.offline import DEFAULTS, FORCED, stay_offline
from tests.studio.test_browser import _free_port, _wait_until_up

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "assets" / "samples" / "short" / "script.json"
# onnxruntime's uploader first resolves its host ~9 s after the import, then after ~15 s and
# ~23 s (measured); the import happens when the generation loads the bundle.
TELEMETRY_WINDOW = 30.0
URL_FILE = {"path": "https://example.com/face.png", "meta": {"_type": "gradio.FileData"}}

_ADDRESS = re.compile(r'inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6, "([^"]+)"')
_PORT = re.compile(r"sin6?_port=htons\((\d+)\)")


def test_stay_offline_switches_telemetry_off_and_keeps_a_deliberate_hub_setting():
    env = {"ORT_DISABLE_TELEMETRY": "0", "GRADIO_ANALYTICS_ENABLED": "True", "HF_HUB_OFFLINE": "0"}
    stay_offline(env)
    assert {key: env[key] for key in FORCED} == FORCED
    assert env["HF_HUB_OFFLINE"] == "0" and env["TRANSFORMERS_OFFLINE"] == DEFAULTS["TRANSFORMERS_OFFLINE"]


def outbound_attempts(trace: str) -> list[str]:
    """strace lines that reach beyond loopback or look a host name up (DNS, port 53).

    Connections to local daemons (nscd answers user look-ups too) are not outbound.
    """
    found = []
    for line in trace.splitlines():
        if "AF_INET" not in line:
            continue
        ports = [int(port) for port in _PORT.findall(line)]
        addresses = [v4 or v6 for v4, v6 in _ADDRESS.findall(line)]
        remote = [
            a
            for a in addresses
            if not (ipaddress.ip_address(a).is_loopback or ipaddress.ip_address(a).is_unspecified)
        ]
        if remote or 53 in ports:
            found.append(line)
    return found


def test_the_trace_reader_finds_a_dns_lookup_and_ignores_loopback():
    trace = (
        '12 connect(8, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("10.255.255.53")}, 16) = 0\n'
        '12 connect(9, {sa_family=AF_INET, sin_port=htons(7860), sin_addr=inet_addr("127.0.0.1")}, 16) = 0\n'
        "13 connect(5, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), "
        'inet_pton(AF_INET6, "2606:4700::6810:85e5", &sin6_addr), sin6_scope_id=0}, 28) = -1\n'
        '14 connect(6, {sa_family=AF_UNIX, sun_path="/var/run/nscd/socket"}, 110) = -1 ENOENT\n'
        '15 sendto(4, "...", 20, 0, {sa_family=AF_NETLINK, nl_pid=0, nl_groups=00000000}, 12) = 20\n'
    )
    assert [line.split()[0] for line in outbound_attempts(trace)] == ["12", "13"]


def _small_script(folder: Path) -> Path:
    """The short sample cut to its first two shots, without photos (an upload has none)."""
    data = json.loads(SAMPLE.read_text(encoding="utf-8"))
    for member in data["cast"]:
        member.pop("photos", None)
    scene = data["scenes"][0]
    scene["shots"] = scene["shots"][:2]
    data["scenes"] = [scene]
    data["title"] = "Offline check"
    path = folder / "offline.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _stop_group(process: subprocess.Popen) -> None:
    """Stop strace and the app it runs (one process group), forcibly if they do not stop."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            continue
        # strace is gone; the app may still be shutting down in the group.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.killpg(process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)


@pytest.mark.slow
def test_the_launched_app_opens_no_outbound_socket_while_it_generates(tmp_path):
    strace = shutil.which("strace")
    if strace is None:
        pytest.skip("strace is not installed (apt-get install strace); scripts/test.sh installs it.")
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    port = _free_port()
    # The app must switch telemetry off itself: nothing of the kind comes from the caller.
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GRADIO_", "STUDIO_", "HF_", "ORT_", "TRANSFORMERS_"))
        and key != "DO_NOT_TRACK"
    }
    trace_file, log = tmp_path / "trace.txt", tmp_path / "app.log"
    command = [
        strace,
        "-f",
        "-qq",
        "--seccomp-bpf",
        "-e",
        "trace=connect,sendto,sendmsg,sendmmsg",
        "-s",
        "0",
        "-o",
        str(trace_file),
        sys.executable,
        "app.py",
        "--data-dir",
        str(tmp_path / "data"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    with open(log, "wb") as output:
        # Its own process group: stopping strace alone would detach it and leave the app running.
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        url = f"http://127.0.0.1:{port}/"
        _wait_until_up(url, process, log)
        client = Client(url, verbose=False)
        client.predict(handle_file(str(_small_script(tmp_path))), "json", "new", api_name="/import_script")
        started = time.monotonic()
        board = client.predict("policy", None, api_name="/generate_storyboard")
        assert len(board[0]) == 2, board  # two keyframes: the bundle was loaded and ran
        with pytest.raises(AppError):
            client.predict(URL_FILE, "auto", "new", api_name="/import_script")
        time.sleep(max(0.0, TELEMETRY_WINDOW - (time.monotonic() - started)))
        assert process.poll() is None, log.read_text()[-4000:]
    finally:
        _stop_group(process)
    trace = trace_file.read_text()
    assert "connect(" in trace  # the trace did record the server's own loopback traffic
    assert outbound_attempts(trace) == []
