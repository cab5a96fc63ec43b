"""A session's first map kept for the next fresh server: read back only while it is whole and its
run's files are those it was made from; and the modules the first view needs import no torch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.app_pages import as_read
from tests.test_map_content import content
from vaeapp.latent import first_map
from vaeapp.latent.first_map import FirstMap
from vaeapp.latent.map_content import light_values, pack
from vaeapp.latent.map_message import header, with_light

FILES = ("config.json", "checkpoint.pt")


def a_run(tmp_path: Path) -> Path:
    run = tmp_path / "runs" / "digits"
    run.mkdir(parents=True)
    for name in FILES:
        (run / name).write_bytes(b"x" * 10)
    return run


def kept_map(run: Path, caption: str = "Each dot: one of 30 test images") -> FirstMap:
    shown = content()
    message = pack(light_values(shown.content_id, key="explore_map", height=460), shown)
    stamps = first_map.stamps_of(run, FILES)
    return FirstMap(str(run), stamps, caption, "sample: 30 digits", shown.content_id, message)


def test_a_kept_map_reads_back_as_kept(tmp_path: Path) -> None:
    first = kept_map(a_run(tmp_path))
    key = first_map.key_for("", tmp_path / "runs")
    assert first_map.read(tmp_path / "cache", key) is None
    first_map.keep(tmp_path / "cache", key, first)
    assert first_map.read(tmp_path / "cache", key) == first
    assert header(first.message)["content"]["id"] == first.content_id


def test_a_kept_map_is_dropped_once_its_run_changes(tmp_path: Path) -> None:
    run = a_run(tmp_path)
    key = first_map.key_for("digits", tmp_path / "runs")
    first_map.keep(tmp_path / "cache", key, kept_map(run))
    (run / "checkpoint.pt").write_bytes(b"a newer epoch")  # training saved another checkpoint
    assert first_map.read(tmp_path / "cache", key) is None
    first_map.keep(tmp_path / "cache", key, kept_map(run))
    (run / "config.json").unlink()
    (run / "config.json").symlink_to(run / "checkpoint.pt")
    assert first_map.read(tmp_path / "cache", key) is None


def test_a_name_is_kept_per_runs_folder_and_no_name_for_any(tmp_path: Path) -> None:
    assert first_map.key_for("", tmp_path / "a") == first_map.key_for("", tmp_path / "b")
    assert first_map.key_for("digits", tmp_path / "a") != first_map.key_for(
        "digits", tmp_path / "b"
    )
    assert first_map.key_for("digits", tmp_path / "a") != first_map.key_for("", tmp_path / "a")


def test_keeping_the_same_map_again_writes_nothing(tmp_path: Path) -> None:
    first = kept_map(a_run(tmp_path))
    first_map.keep(tmp_path / "cache", "k", first)
    (path,) = (tmp_path / "cache" / "first-maps").iterdir()
    written = path.stat().st_mtime_ns
    os.utime(path, ns=(written - 10**9, written - 10**9))
    first_map.keep(tmp_path / "cache", "k", first)
    assert path.stat().st_mtime_ns == written - 10**9
    first_map.keep(tmp_path / "cache", "k", kept_map(Path(first.run_path), caption="another"))
    assert first_map.read(tmp_path / "cache", "k").caption == "another"


def test_an_unwritable_cache_costs_only_the_head_start(tmp_path: Path) -> None:
    (tmp_path / "cache").write_text("a file where the cache folder would be")
    first_map.keep(tmp_path / "cache", "k", kept_map(a_run(tmp_path)))
    assert first_map.read(tmp_path / "cache", "k") is None


def test_the_first_view_imports_no_torch() -> None:
    """The app's entry and what Explore's first view draws with import neither torch nor numpy:
    that is its head start."""
    code = (
        "import sys, vaeapp.ui.app, vaeapp.ui.first_view;"
        "print(sorted({'torch', 'numpy'} & set(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "name", ["../config.json", "a/b", "", ".", "..", "x\0y"], ids=lambda n: repr(n)
)
def test_a_kept_map_naming_a_file_outside_its_run_is_not_read(tmp_path: Path, name: str) -> None:
    run = a_run(tmp_path)
    first = kept_map(run)
    stamps = {**first.stamps, name: (0, 0)}
    first_map.keep(tmp_path / "cache", "k", FirstMap(**{**first.__dict__, "stamps": stamps}))
    assert first_map.read(tmp_path / "cache", "k") is None


def test_a_message_with_other_light_keeps_its_content(tmp_path: Path) -> None:
    first = kept_map(a_run(tmp_path))
    woken = with_light(first.message, wake=True)
    assert header(woken)["light"] == {**header(first.message)["light"], "wake": True}
    assert header(woken)["content"] == header(first.message)["content"]
    assert woken.endswith(content().sections()[1])  # the arrays, byte for byte


FIRST_VIEW = """
import streamlit as st
from pathlib import Path
from vaeapp.latent import first_map
from vaeapp.ui.first_view import draw_before_torch
st.session_state["went_on"] = draw_before_torch(first_map.read(Path({cache!r}), "k"))
"""


def test_the_first_view_draws_the_kept_map_then_lets_the_page_follow(tmp_path: Path) -> None:
    """Its first run draws the page's top and the map, told to say when it decodes, and waits
    for the browser; the next run (the browser's word, a click or the fallback's tick) draws
    the same and goes on to the page."""
    first = kept_map(a_run(tmp_path))
    first_map.keep(tmp_path / "cache", "k", first)
    app = AppTest.from_string(FIRST_VIEW.format(cache=str(tmp_path / "cache")))
    app.run()
    assert not app.exception and app.session_state["went_on"] is False
    assert app.title[0].value == "Explore the latent space"
    assert as_read(app.caption[0].value) == first.caption
    sent = header(app.get("bidi_component")[0].proto.bytes)
    assert sent["light"]["wake"] is True and sent["content"]["id"] == first.content_id
    assert "Loading PyTorch" in app.sidebar.caption[0].value
    app.run()
    assert app.session_state["went_on"] is True
    assert header(app.get("bidi_component")[0].proto.bytes) == sent
