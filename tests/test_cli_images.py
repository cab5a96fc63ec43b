"""`vaeapp encode` and `vaeapp interpolate` on image files made here from real test digits."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from tests.photo_digits import write_photos_of_test_digits
from vaeapp.cli import main
from vaeapp.images import load_digit
from vaeapp.paths import DEFAULT_MODEL_DIR
from vaeapp.runs import Run

RUN = str(DEFAULT_MODEL_DIR)


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return write_photos_of_test_digits(tmp_path_factory.mktemp("photos"))


def test_encode_prints_mean_and_std_per_image_as_json(
    photos: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["encode", RUN, *map(str, photos), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [row["image"] for row in result["images"]] == [str(p) for p in photos]
    model, _ = Run(RUN).load_model()
    with torch.no_grad():
        means, logvars = model.encode(torch.stack([load_digit(p) for p in photos]))
    for row, mean, logvar in zip(result["images"], means, logvars, strict=True):
        assert row["mean"] == pytest.approx(mean.tolist(), abs=1e-5)
        assert row["std"] == pytest.approx(torch.exp(0.5 * logvar).tolist(), abs=1e-5)
        assert all(s > 0 for s in row["std"])


def test_encode_prints_one_line_per_image(
    photos: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["encode", RUN, *map(str, photos)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert all(
        line.startswith(str(p)) and "mean [" in line and "std [" in line
        for p, line in zip(photos, lines, strict=True)
    )


@pytest.mark.parametrize("method", ["linear", "slerp"])
def test_interpolate_writes_the_strip_and_the_gif(
    photos: tuple[Path, Path], tmp_path: Path, method: str, capsys: pytest.CaptureFixture[str]
) -> None:
    strip, gif = tmp_path / "strip.png", tmp_path / "anim.gif"
    argv = ["interpolate", RUN, *map(str, photos), "--steps", "6", "--method", method]
    assert main([*argv, "-o", str(strip), "--gif", str(gif)]) == 0
    assert "wrote 6 images" in capsys.readouterr().out
    assert Image.open(strip).size == (3 * (6 * 30 + 2), 3 * 32)
    assert Image.open(gif).n_frames == 2 * 6 - 2


def bad_files(folder: Path) -> dict[str, tuple[Path, str]]:
    blank = io.BytesIO()
    Image.new("L", (100, 100), 255).save(blank, format="PNG")
    huge = io.BytesIO()
    Image.new("1", (20000, 20000)).save(huge, format="PNG")
    contents = {
        "empty.png": (b"", "empty"),
        "notes.png": (b"not an image at all\n", "not an image"),
        "cut.png": (blank.getvalue()[:70], "damaged"),
        "blank.png": (blank.getvalue(), "blank"),
        "huge.png": (huge.getvalue(), "megapixels"),
    }
    for name, (data, _) in contents.items():
        (folder / name).write_bytes(data)
    files = {name: (folder / name, says) for name, (_, says) in contents.items()}
    return {**files, "missing.png": (folder / "missing.png", "cannot read")}


def test_bad_images_end_with_one_line_and_a_nonzero_exit(
    photos: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, (path, says) in bad_files(tmp_path).items():
        for argv in (["encode", RUN, str(path)], ["interpolate", RUN, str(photos[0]), str(path)]):
            assert (
                main([*argv, "-o", str(tmp_path / "s.png")] if argv[0] == "interpolate" else argv)
                == 1
            ), name
            error = capsys.readouterr().err
            assert error.count("\n") == 1 and error.startswith("vaeapp: error: "), name
            assert says in error and str(path) in error, name


@pytest.mark.parametrize(
    ("option", "says"), [(["--steps", "1"], "steps"), (["--method", "cubic"], "method")]
)
def test_bad_settings_end_with_one_line(
    photos: tuple[Path, Path], option: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["interpolate", RUN, *map(str, photos), *option]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and says in error


def test_the_installed_command_prints_no_traceback(
    photos: tuple[Path, Path], tmp_path: Path
) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(photos[1].read_bytes()[:300])
    done = subprocess.run(
        [sys.executable, "-m", "vaeapp", "interpolate", RUN, str(photos[0]), str(broken)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("vaeapp: error: ") and done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr and not (tmp_path / "strip.png").exists()
