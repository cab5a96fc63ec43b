"""Names and paths a user types (a RUN argument, --out, --data, --data-dir, VAEAPP_RUNS, a ?run=
link, the Train form's fields) that no file system call can take: too long for a name or a
path, a NUL byte, thousands of folders, emoji, an unknown ~user. Each ends in one clear line
(the CLI) or a message on the page (the app), never a traceback; and names that hold terminal
escapes print escaped."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from playwright.sync_api import Page
from streamlit.testing.v1 import AppTest

from testkit.app_server import AppServer
from testkit.chromium import wait_for_app
from testkit.train_page import open_train_page
from tests.app_pages import EXPLORE_PAGE, TRAIN_PAGE, errors, following, open_page, warnings
from tests.command_line import EXIT_ERROR, EXIT_USAGE, cli_error
from tests.conftest import small_config
from vaeapp.cli import main
from vaeapp.data.specs import check_spec
from vaeapp.errors import PathError, VaeappError
from vaeapp.model.networks import build_model
from vaeapp.paths import NAME_MAX, PATH_MAX, runs_dir, user_path
from vaeapp.store.catalog import SHIPPED, run_path
from vaeapp.store.runs import Run

PROPERTY = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
HOSTILE = {
    "nul": "run\0name",
    "long name": "y" * (NAME_MAX + 1),
    "long path": "x/" * 3000,
    "deep": "x/" * 1500,
    "emoji": "😀" * 100,
    "unknown user": "~nosuchuser-vaeapp/runs",
    "lone surrogate": "run\udcff\ud800",
    "empty": "",
}
# Open-ended text, with what file systems refuse mixed in: NUL bytes, long names, deep paths.
names = st.one_of(
    st.sampled_from(list(HOSTILE.values())),
    st.text(max_size=40),
    st.builds(
        lambda parts, sep: sep.join(parts),
        st.lists(st.text(min_size=1, max_size=300), min_size=1, max_size=30),
        st.sampled_from(["/", "\0", "😀/"]),
    ),
    st.builds(lambda user, rest: f"~{user}/{rest}", st.text(max_size=20), st.text(max_size=20)),
)


def typeable(text: str) -> bool:
    """Whether a browser can send `text`: it sends UTF-8, which has no lone surrogates."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def refused(text: str) -> bool:
    try:
        user_path(text, "x")
    except PathError:
        return True
    return False


@PROPERTY
@given(text=names)
def test_a_typed_path_is_one_the_file_system_can_take_or_one_line_why(text: str) -> None:
    try:
        path = user_path(text, "--out")
    except PathError as error:
        message = str(error)
        assert message.startswith("--out") and "\n" not in message and "\0" not in message
        assert len(message) < 300
        return
    encoded = os.fsencode(path)
    assert b"\0" not in encoded and 0 < len(encoded) <= PATH_MAX
    assert all(len(part) <= NAME_MAX for part in encoded.split(b"/"))
    assert not str(path).startswith("~")
    os.path.lexists(path)  # the file system takes it: no ValueError, no ENAMETOOLONG


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_each_hostile_path_is_refused(text: str) -> None:
    assert refused(text)


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
@pytest.mark.parametrize(
    "argv",
    [
        ["sample", "{}"],
        ["train", "--out", "{}", "--epochs", "1"],
        ["train", "--resume", "{}"],
        ["evaluate", "default", "--data-dir", "{}"],
        ["sample", "default", "-o", "{}"],
        ["encode", "default", "{}"],
        ["interpolate", "default", "{}", "{}", "--gif", "{}"],
    ],
    ids=lambda argv: " ".join(argv[:3]),
)
def test_every_path_argument_refuses_it_in_one_line(
    argv: list[str], text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    cli_error([arg.replace("{}", text) for arg in argv], capsys, EXIT_USAGE)


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_data_folder_is_refused_in_one_line(
    text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["train", "--data", f"folder:{text}", "--out", str(tmp_path / "r"), "--epochs", "1"]
    message = cli_error(argv, capsys, EXIT_ERROR)
    assert "folder:" in message or text == ""  # "folder:" alone is no source
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_runs_folder_from_the_environment_is_refused_in_one_line(
    text: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if "\0" in text or "\udcff" in text:
        pytest.skip("an environment variable cannot hold a NUL byte or a lone surrogate")
    monkeypatch.setenv("VAEAPP_RUNS", text)
    assert "VAEAPP_RUNS" in cli_error(["models"], capsys, EXIT_ERROR)


@PROPERTY
@given(name=names)
def test_any_run_argument_or_out_is_a_result_or_one_line(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # An existing folder or a shipped model's name would be a real run or a real folder.
    if name in {model.name for model in SHIPPED} or (
        not refused(name) and os.path.lexists(user_path(name, "x"))
    ):
        return
    cli_error(["sample", name, "-o", str(tmp_path / "s.png")], capsys)
    # --epochs 0: nothing trains; a refused --out is refused first, as a usage error
    code = EXIT_USAGE if refused(name) else EXIT_ERROR
    # "--out=NAME": a name that begins with "-" would otherwise read as an option
    message = cli_error(["train", f"--out={name}", "--epochs", "0"], capsys, code)
    assert ("--out" in message) == refused(name)


def test_names_with_terminal_escapes_print_escaped(capsys: pytest.CaptureFixture[str]) -> None:
    name = "evil\x1b[2J\x1b]0;owned\x07\nline"
    run = Run.create(runs_dir() / name, small_config())
    run.save_checkpoint({"model": build_model(small_config().model).state_dict()})
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert "evil\\x1b[2J" in out and "\\nline" in out


# --- the app ---------------------------------------------------------------------------------


# A URL carries no lone surrogate (its bytes are UTF-8), and an empty ?run= is no choice.
LINKS = {key: text for key, text in HOSTILE.items() if key not in {"lone surrogate", "empty"}}


@pytest.mark.slow
@pytest.mark.parametrize("text", LINKS.values(), ids=LINKS.keys())
def test_a_hostile_run_link_opens_the_default_with_a_warning(text: str) -> None:
    app = AppTest.from_string(EXPLORE_PAGE, default_timeout=120)
    app.query_params["run"] = text
    app.run()
    assert not app.exception
    assert any("showing the default" in w for w in warnings(app)), warnings(app)
    assert all(len(w) < 400 for w in warnings(app))  # a 6,000-character link is not repeated


@pytest.mark.slow
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=names.filter(typeable))
def test_the_train_form_says_what_is_wrong_with_a_typed_name(name: str) -> None:
    # The data field's typed folder (accept_new_options) cannot be set through
    # streamlit.testing; the form checks it with data.check_spec, tested below.
    app = open_page(TRAIN_PAGE)
    app.number_input(key="train_epochs").set_value(0)  # so that nothing ever starts
    app.text_input(key="train_name").set_value(name)
    app.button[0].click().run()
    assert not app.exception
    assert following(app, "Epochs") == "error"
    if refused(name):
        assert following(app, "Run name") == "error", errors(app)


@PROPERTY
@given(folder=names)
def test_a_typed_data_folder_is_a_source_or_a_refusal(folder: str) -> None:
    try:
        check_spec(f"folder:{folder}")
    except VaeappError as error:
        # "folder:" alone (the spec is stripped) is no source at all, not a refused folder
        typed = folder.rstrip()
        assert not typed or not refused(typed) or isinstance(error, PathError)


@pytest.mark.slow
@pytest.mark.parametrize("text", ["x/" * 3000, "😀" * 100, "~nosuchuser-vaeapp/runs"])
def test_a_hostile_runs_folder_is_one_message_on_every_page(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAEAPP_RUNS", text)
    for page in (EXPLORE_PAGE, TRAIN_PAGE):
        app = open_page(page)
        assert not app.exception
        assert len(app.error) == 1 and "VAEAPP_RUNS" in errors(app)[0]


@pytest.mark.browser
@pytest.mark.slow
def test_the_train_forms_data_field_refuses_a_hostile_folder_in_chromium(
    page: Page, app_server: AppServer
) -> None:
    # streamlit.testing cannot type a new option into the data field: Chromium can
    open_train_page(page, app_server)
    for folder, says in (
        ("😀" * 100, "longer than 255 bytes"),
        ("~nosuchuser-vaeapp/digits", "no user by that name"),
        ("x/" * 3000, "too long"),
    ):
        field = page.locator(".st-key-train_data input")
        field.fill(f"folder:{folder}")
        field.press("Enter")
        page.get_by_role("button", name="Start training").click()
        wait_for_app(page)
        page.get_by_text(says).first.wait_for(timeout=60_000)
        assert page.get_by_test_id("stException").count() == 0, folder


def test_a_run_name_that_makes_the_path_too_long_is_refused(tmp_path: Path) -> None:
    deep = tmp_path.joinpath(*["a" * 250] * 17)  # each name allowed, the whole path not
    with pytest.raises(PathError, match="too long"):
        run_path(deep, "y" * 90)
