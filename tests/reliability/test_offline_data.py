"""A data set that is not on the machine, and no network: the CLI and the app say where to put the
files and offer the offline `sample`; nothing hangs, nothing fails with a traceback.

The network is cut in this process (every socket connection is refused) and, for the training
job the app starts, through a proxy that refuses: no test here can download anything.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from testkit.waiting import wait_for
from tests.app_pages import EXPLORE_PAGE, TRAIN_PAGE, errors, open_page, open_tab, saved_run
from tests.command_line import cli_error
from vaeapp.paths import runs_dir
from vaeapp.store.catalog import DEFAULT_MODEL
from vaeapp.store.runs import Run
from vaeapp.training import jobs

REFUSING_PROXY = "http://127.0.0.1:9"
HOW_TO_GET_IT = ("Put its four IDX files", "offline source 'sample'")


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[object]:
    """An empty data folder; connections refused here, and in child processes by a proxy that
    refuses. Returns the addresses this process tried to reach."""
    tried: list[object] = []

    def refuse(address: object, *args: object, **kwargs: object) -> None:
        tried.append(address)
        raise OSError("network is off in this test")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", lambda self, address: refuse(address))
    for variable in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.setenv(variable, REFUSING_PROXY)
    for variable in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(variable, "")
    monkeypatch.setenv("VAEAPP_DATA", str(tmp_path / "data"))
    return tried


def says_how_to_get_mnist(message: str, data: Path) -> None:
    for words in (*HOW_TO_GET_IT, str(data / "MNIST" / "raw")):
        assert words in message, words


@pytest.mark.parametrize("download", [True, False], ids=["download refused", "--no-download"])
def test_cli_says_how_to_get_missing_data(
    no_network: list[object], tmp_path: Path, download: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "runs" / "mnist"
    argv = ["train", "--data", "mnist", "--arch", "mlp", "--quiet", "--out", str(out)]
    message = cli_error(argv if download else [*argv, "--no-download"], capsys)
    says_how_to_get_mnist(message, tmp_path / "data")
    assert bool(no_network) == download  # a download was tried, and refused, only if allowed
    assert not out.exists()


@pytest.mark.slow
def test_explore_page_says_how_to_get_missing_data(
    no_network: list[object], tmp_path: Path
) -> None:
    run = saved_run("on-mnist", latent_dim=2, data="mnist")
    app = open_page(EXPLORE_PAGE, run)
    assert not app.exception and no_network
    assert len(app.error) == 1
    says_how_to_get_mnist(errors(app)[0], tmp_path / "data")
    app.button(key="open_default_model").click().run()  # the shipped model, offered, works
    open_tab(app, "KL per dimension")
    assert not app.exception and not app.error and app.get("plotly_chart")
    assert app.sidebar.selectbox(key="model_path").value == str(DEFAULT_MODEL.path)


@pytest.mark.slow
def test_a_job_on_missing_data_fails_with_how_to_get_it_on_the_train_page(
    no_network: list[object], tmp_path: Path
) -> None:
    app = open_page(TRAIN_PAGE)
    app.selectbox(key="train_data").set_value("mnist")
    app.selectbox(key="train_arch").set_value("mlp")
    app.text_input(key="train_name").set_value("on-mnist")
    app.button[0].click().run()
    run = Run(runs_dir() / "on-mnist")
    wait_for(lambda: not jobs.state(run).active, "the job has ended", interval_s=0.2)
    app.run()
    assert not app.exception
    failed = [error for error in errors(app) if error.startswith("Training failed")]
    assert len(failed) == 1
    says_how_to_get_mnist(failed[0], tmp_path / "data")
    assert "Connection refused" in failed[0]  # the job's download met the refusing proxy
