"""The app from an installed package: the built wheel, in a fresh virtual environment that
reuses this one's packages (torch and the rest), started with `vaeapp app` from an empty
folder, answers on this machine only and serves its shipped models and settings."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

from testkit.app_server import REPO, free_port
from tests.reliability.test_exposure import non_loopback_address

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed; returns its `vaeapp` command."""
    root = tmp_path_factory.mktemp("install")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(root / "dist"), str(REPO)],
        check=True, timeout=300,
    )  # fmt: skip
    (wheel,) = (root / "dist").glob("vaeapp-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "vaeapp/ui/app.py" in names and "vaeapp/ui/streamlit_config.toml" in names
    assert "vaeapp/assets/digits-16d/checkpoint.pt" in names
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    site = next(venv.glob("lib/python*/site-packages"))
    (site / "reuse.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")  # torch etc.
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # else pip sees a vaeapp
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--no-deps", "--no-index", "-q", str(wheel)],
        check=True, timeout=300, env=clean,
    )  # fmt: skip
    script = venv / "bin" / "vaeapp"
    return script


def test_vaeapp_app_from_an_empty_folder_answers_on_localhost_only(
    installed: Path, tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    port = free_port()
    env = {
        key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VAEAPP_RUNS")
    }
    server = subprocess.Popen(
        [str(installed), "app", "--port", str(port)],
        cwd=empty,
        env={**env, "VAEAPP_DATA": str(tmp_path / "data")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1):
                    break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "app did not start"
                time.sleep(0.3)
        outside = non_loopback_address()
        if outside is not None:
            with pytest.raises(OSError):
                socket.create_connection((outside, port), timeout=2).close()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as page:
            assert page.status == 200
        assert list(empty.iterdir()) == []  # nothing written where it was started
    finally:
        server.terminate()
        server.wait(timeout=15)
