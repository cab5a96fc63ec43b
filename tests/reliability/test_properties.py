"""Property-based: whatever JSON a run's config.json or metrics lines hold, whatever bytes a
checkpoint or an image is made of, reading them through the CLI and the model picker ends in a
result or a `VaeappError` (the CLI: exit 1 and one line), nothing else, and no file outside the
run changes."""

from __future__ import annotations

import io
import json
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from tests.conftest import small_config
from vaeapp.cli import main
from vaeapp.data.images import preprocess
from vaeapp.data.picture_files import read_image
from vaeapp.errors import VaeappError
from vaeapp.model.networks import build_model
from vaeapp.store.catalog import DEFAULT_MODEL, summarise
from vaeapp.store.history import MetricsFollower
from vaeapp.store.runs import CHECKPOINT_FILE, CONFIG_FILE, Run
from vaeapp.training import jobs
from vaeapp.ui.widgets import literal

PROPERTY = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = ("epoch", "step", "time", "epochs", "steps_per_epoch", "n_train", "elbo", "recon")
KINDS = st.sampled_from(["start", "step", "epoch", "end", "other"])


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small, valid run with a checkpoint, copied for each example."""
    run = Run.create(tmp_path_factory.mktemp("template") / "run", small_config())
    torch.manual_seed(0)
    model = build_model(small_config().model)
    run.save_checkpoint({"model": model.state_dict()})
    run.append_metrics({"kind": "epoch", "epoch": 1, "time": 1.0, "test_elbo": -200.0})
    return run.path


@contextmanager
def hostile_copy(template: Path) -> Iterator[Run]:
    """A copy of the template beside a folder of bystander files that must not change."""
    with tempfile.TemporaryDirectory() as root:
        bystanders = Path(root) / "bystanders"
        bystanders.mkdir()
        (bystanders / "notes.txt").write_text("mine")
        run = Run(shutil.copytree(template, Path(root) / "runs" / "run"))
        before = _snapshot(Path(root), run.path)
        yield run
        assert _snapshot(Path(root), run.path) == before, "a file outside the run changed"


def _snapshot(root: Path, run: Path) -> dict[str, tuple[int, bytes]]:
    return {
        str(p): (p.stat().st_mtime_ns, p.read_bytes())
        for p in root.rglob("*")
        if p.is_file() and not p.is_relative_to(run)
    }


def read_as_users_do(run: Run, capsys: pytest.CaptureFixture[str]) -> None:
    """The CLI's reading paths and the model picker's; only a VaeappError may end them."""
    with suppress(VaeappError):
        summarise(run)
        jobs.state(run)
        history = MetricsFollower(run).read()
        history.step_curve("elbo")
        history.epoch_curve("test_elbo")
        run.load_model()
    capsys.readouterr()
    code = main(["sample", str(run.path), "--n", "4", "-o", str(run.path / "grid.png")])
    err = capsys.readouterr().err
    assert code == 0 or (code == 1 and err.startswith("vaeapp: error: ") and err.count("\n") == 1)


@PROPERTY
@given(section=st.sampled_from(["", "model", "train"]), key=st.text(max_size=14), value=json_values)
def test_any_json_at_any_key_of_config_json(
    template: Path, capsys: pytest.CaptureFixture[str], section: str, key: str, value: object
) -> None:
    with hostile_copy(template) as run:
        raw = json.loads(run.file(CONFIG_FILE).read_text())
        (raw[section] if section else raw)[key] = value
        run.file(CONFIG_FILE).write_text(json.dumps(raw))
        read_as_users_do(run, capsys)


@PROPERTY
@given(whole=json_values)
def test_any_json_as_the_whole_config_json(
    template: Path, capsys: pytest.CaptureFixture[str], whole: object
) -> None:
    with hostile_copy(template) as run:
        run.file(CONFIG_FILE).write_text(json.dumps(whole))
        read_as_users_do(run, capsys)


@pytest.mark.slow
@PROPERTY
@given(
    lines=st.lists(
        st.fixed_dictionaries({"kind": KINDS}, optional=dict.fromkeys(FIELDS, json_values))
        | json_values,
        min_size=1,
        max_size=6,
    )
)
def test_any_json_as_metrics_lines(
    template: Path, capsys: pytest.CaptureFixture[str], lines: list[object]
) -> None:
    with hostile_copy(template) as run:
        with run.metrics_path.open("a") as metrics:
            for line in lines:
                metrics.write(json.dumps(line) + "\n")
        read_as_users_do(run, capsys)


def mutated(data: bytes, draw: st.DrawFn) -> bytes:
    """`data` with a few bytes flipped, a slice cut out or the end cut off."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, len(out) - 1))
        out[at] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        start = draw(st.integers(0, len(out) - 1))
        del out[start : start + draw(st.integers(1, 4096))]
    if draw(st.booleans()):
        out = out[: draw(st.integers(0, len(out)))]
    return bytes(out)


@pytest.mark.slow
@PROPERTY
@given(draw=st.data())
def test_byte_mutated_checkpoints(
    template: Path, capsys: pytest.CaptureFixture[str], draw: st.DataObject
) -> None:
    with hostile_copy(template) as run:
        original = run.file(CHECKPOINT_FILE).read_bytes()
        run.file(CHECKPOINT_FILE).write_bytes(mutated(original, draw.draw))
        read_as_users_do(run, capsys)


@pytest.fixture(scope="module")
def digit_files() -> list[bytes]:
    """A digit as PNG, JPEG and TIFF."""
    pixels = torch.zeros(56, 56, dtype=torch.uint8)
    pixels[10:46, 24:32] = 255
    picture = Image.fromarray(pixels.numpy())
    encoded = []
    for fmt in ("PNG", "JPEG", "TIFF"):
        out = io.BytesIO()
        picture.save(out, format=fmt)
        encoded.append(out.getvalue())
    return encoded


@pytest.mark.slow
@PROPERTY
@given(draw=st.data())
def test_byte_mutated_images(
    digit_files: list[bytes],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    draw: st.DataObject,
) -> None:
    data = mutated(draw.draw(st.sampled_from(digit_files)), draw.draw)
    with suppress(VaeappError):
        preprocess(read_image(data, "upload"), "upload")
    given_file = tmp_path / "digit.img"
    given_file.write_bytes(data)
    capsys.readouterr()
    code = main(["encode", str(DEFAULT_MODEL.path), str(given_file)])
    err = capsys.readouterr().err
    assert code == 0 or (code == 1 and err.startswith("vaeapp: error: ") and err.count("\n") == 1)


@given(st.text())
def test_any_quoted_text_shows_as_typed_and_makes_no_markdown(text: str) -> None:
    shown = literal(text)
    # CommonMark: a backslash before ASCII punctuation stands for that character alone
    assert re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", shown) == text
    assert re.findall(r"(?<!\\)[!\[\]()<>$`*_]", shown) == []
