"""The machine's limits: a port past 65535, a disk that fills while metrics are appended, a
decoder too large to send a browser. Each is one clear line or a word on the page; a run the
full disk stopped resumes once there is space."""

from __future__ import annotations

import errno
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
import torch

from tests.app_pages import EXPLORE_PAGE, captions, open_page, saved_run
from tests.command_line import EXIT_ERROR, EXIT_USAGE, cli_error
from tests.conftest import make_dataset, small_config
from vaeapp.cli import main, train_command
from vaeapp.config import ModelConfig
from vaeapp.latent import browser_decoder as browser_decoder_module
from vaeapp.latent.browser_decoder import MAX_BROWSER_BYTES, browser_decoder
from vaeapp.model.networks import build_model
from vaeapp.store.catalog import summarise
from vaeapp.store.runs import Run

PAGE = 4096  # tmpfs allocates whole pages


@pytest.mark.parametrize("port", ["99999", "0", "-1", "65536", "http", "8501.5", "1e3"])
def test_a_port_outside_1_to_65535_is_one_usage_line(
    port: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "1 to 65535" in cli_error(["app", "--port", port], capsys, EXIT_USAGE)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MB tmpfs of its own, so that filling it fills nothing else."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], check=True)


def fill(disk: Path) -> Path:
    """Fill the disk to its last page; returns the file that fills it."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as out:
        try:
            while True:
                out.write(b"\0" * PAGE)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


def test_a_disk_full_while_metrics_are_appended_is_one_line_and_the_run_resumes(
    small_disk: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(train_command, "load_data", lambda *_: make_dataset())  # toy data
    run = Run.create(small_disk / "run", small_config(epochs=2))
    with run.lock():  # the lock file exists, so taking it again needs no new page
        pass
    # metrics.jsonl ends at a page's end (blank lines, which readers skip): the next event
    # needs a new page, and the disk has none
    run.metrics_path.write_bytes(b" " * (PAGE - 1) + b"\n")
    filler = fill(small_disk)

    message = cli_error(["train", "--resume", str(run.path), "--quiet"], capsys, EXIT_ERROR)
    assert "No space left on device" in message and "resume" in message
    assert "metrics.jsonl" in message
    assert not run.is_training()

    filler.unlink()
    assert main(["train", "--resume", str(run.path), "--quiet"]) == 0
    assert summarise(run).epochs_done == 2
    assert [e["status"] for e in run.read_metrics() if e["kind"] == "end"][-1] == "finished"


def test_a_decoder_too_large_for_a_browser_is_not_made(tmp_path: Path) -> None:
    with torch.device("meta"):  # the form's largest mlp, without its 600 MB of weights
        huge = build_model(ModelConfig(arch="mlp", latent_dim=2, hidden=(8192, 8192)))
    assert browser_decoder(huge, tmp_path) is None
    small = build_model(ModelConfig(arch="mlp", latent_dim=2, hidden=(32,)))
    exported = browser_decoder(small, tmp_path)
    assert exported is not None and 0 < len(exported) <= MAX_BROWSER_BYTES


@pytest.mark.slow
def test_explore_decodes_on_the_server_where_the_decoder_is_too_large_to_send(
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    run = saved_run("large-decoder", latent_dim=2)  # its own path: no decoder cached for it
    monkeypatch.setattr(browser_decoder_module, "MAX_BROWSER_BYTES", 1024)
    # the page may load the default model too: what it finds under this limit stays here
    request.addfinalizer(st.cache_resource.clear)
    app = open_page(EXPLORE_PAGE, run)
    assert not app.exception
    shown = captions(app)
    assert any("too large to send to the browser" in c for c in shown), shown
    sent = app.get("bidi_component")[0].proto.bytes
    assert len(sent) < 2 * 2**20  # points, codes and images of the sample; no decoder
