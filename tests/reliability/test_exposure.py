"""What the app exposes: served on this machine only, XSRF protection on, uploads capped.

The settings are read back through Streamlit itself (`streamlit config show` in the repository),
and a server started the way README says is probed from a non-loopback address.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from testkit.app_server import REPO, free_port, wait_until_serving

CONFIG_LINES = {
    "server.address": 'address = "localhost"',
    "server.enableXsrfProtection": "enableXsrfProtection = true",
    "server.maxUploadSize": "maxUploadSize = 10",
    "client.showErrorDetails": 'showErrorDetails = "type"',
    "browser.gatherUsageStats": "gatherUsageStats = false",
}


def effective_config() -> str:
    shown = subprocess.run(
        [sys.executable, "-m", "streamlit", "config", "show"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return shown.stdout


def test_streamlit_reads_the_safe_settings() -> None:
    active = {line.strip() for line in effective_config().splitlines() if not line.startswith("#")}
    for setting, line in CONFIG_LINES.items():
        assert line in active, f"{setting} is not in effect"


def non_loopback_address() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") or address == "0.0.0.0" else address


@pytest.mark.slow
def test_app_started_as_readme_says_answers_on_localhost_only(tmp_path: Path) -> None:
    outside = non_loopback_address()
    if outside is None:
        pytest.skip("this machine has no non-loopback IPv4 address to probe from")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "VAEAPP_RUNS": str(tmp_path)},
    )
    try:
        wait_until_serving(server, f"http://localhost:{port}")
        with pytest.raises(OSError):
            socket.create_connection((outside, port), timeout=2).close()
    finally:
        server.terminate()
        server.wait(timeout=10)
