"""The CLI on colour images, as a user runs it: a run of `shapes` at a chosen size and its
channels, whose discretised logistic gives bits/dim of 8-bit pixels, and whose pictures (prior
samples, an interpolation between two colour photos) are in colour."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from tests.command_line import run_vaeapp
from vaeapp.store.runs import Run

pytestmark = pytest.mark.slow  # trains


def colour_picture(path: Path, colour: str) -> Path:
    picture = Image.new("RGB", (300, 200), "black")
    ImageDraw.Draw(picture).rectangle((100, 50, 200, 150), fill=colour)
    picture.save(path)
    return path


@pytest.fixture(scope="module")
def colour_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("colour") / "run"
    trained = run_vaeapp(
        "train", "--data", "shapes", "--image-size", "16", "--latent-dim", "4", "--epochs", "1",
        "--quiet", "--out", str(run),
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    return run


def test_a_colour_run_records_its_shape_and_the_discrete_likelihood(colour_run: Path) -> None:
    config = Run(colour_run).read_config()
    assert config.model.image_shape == (3, 16, 16)
    assert config.model.likelihood == "dlogistic" and not config.train.binarize
    assert "as 3x16x16" in config.data_source


def test_its_bound_is_a_log_likelihood_of_8_bit_pixels(colour_run: Path) -> None:
    done = run_vaeapp("evaluate", str(colour_run), "-k", "5", "--limit", "50", "--json")
    result = json.loads(done.stdout)
    assert result["normalised"] and "discrete_log_likelihood" not in result
    assert result["bits_per_dim"] == pytest.approx(
        -result["log_likelihood"] / (3 * 16 * 16 * 0.6931471805599453)
    )
    text = run_vaeapp("evaluate", str(colour_run), "-k", "5", "--limit", "50").stdout
    assert "bits per dimension" in text and "dequant" not in text and "log density" not in text


def test_samples_and_an_interpolation_of_two_photos_are_in_colour(
    colour_run: Path, tmp_path: Path
) -> None:
    assert (
        run_vaeapp("sample", str(colour_run), "--n", "4", "-o", str(tmp_path / "s.png")).returncode
        == 0
    )
    first, second = (
        colour_picture(tmp_path / "a.png", "red"),
        colour_picture(tmp_path / "b.png", "blue"),
    )
    done = run_vaeapp(
        "interpolate", str(colour_run), str(first), str(second), "--steps", "4",
        "-o", str(tmp_path / "strip.png"), "--frames", str(tmp_path / "frames"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "each frame as a 16x16 PNG" in done.stdout
    for made in (tmp_path / "s.png", tmp_path / "strip.png", tmp_path / "frames" / "frame-00.png"):
        with Image.open(io.BytesIO(made.read_bytes())) as picture:
            assert picture.mode == "RGB"
    with Image.open(tmp_path / "frames" / "frame-00.png") as frame:
        assert frame.size == (16, 16)
    encoded = json.loads(run_vaeapp("encode", str(colour_run), str(first), "--json").stdout)
    assert len(encoded["images"][0]["mean"]) == 4
