"""`vaeapp encode` and `vaeapp interpolate` on image files made here from real test digits."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from testkit.image_files import encoded
from tests.command_line import (
    EXIT_ERROR,
    EXIT_USAGE,
    cli_error,
    encode_with_cli,
    process_error,
    run_vaeapp,
)
from vaeapp.cli import main
from vaeapp.data.sources import load_dataset
from vaeapp.latent.codes import encode_dataset
from vaeapp.store.catalog import DEFAULT_MODEL
from vaeapp.store.runs import Run

RUN = str(DEFAULT_MODEL.path)
NEIGHBOURS = 10


@pytest.fixture
def photo_rows(photos: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> list[dict]:
    """`vaeapp encode` of both photos: a row each, in the order given."""
    rows = encode_with_cli(RUN, photos, capsys)
    assert [row["image"] for row in rows] == [str(p) for p in photos]
    return rows


def test_encode_puts_each_photo_among_its_own_digits_on_the_map(photo_rows: list[dict]) -> None:
    model, _ = Run(RUN).load_model()
    test = load_dataset("sample").test
    points, _ = encode_dataset(model, test.images)  # the test points the Explore map shows
    for index, row in enumerate(photo_rows):  # the photos are of test digits 0 (a 7) and 1 (an 8)
        distances = (points - torch.tensor(row["mean"])).norm(dim=1)
        distances[index] = float("inf")  # leave out the very digit the photo was made from
        neighbours = test.labels[distances.argsort()[:NEIGHBOURS]]
        assert neighbours.bincount().argmax() == test.labels[index], neighbours
        assert len(row["std"]) == 2
        assert all(0 < s < 0.5 for s in row["std"]), row  # q(z|x) far narrower than N(0, I)


def test_encode_gives_an_image_the_same_code_alone_or_with_others(
    photos: tuple[Path, Path], photo_rows: list[dict], capsys: pytest.CaptureFixture[str]
) -> None:
    for path, row in zip(photos, photo_rows, strict=True):
        (alone,) = encode_with_cli(RUN, [path], capsys)
        assert alone["mean"] == pytest.approx(row["mean"], abs=1e-5)
        assert alone["std"] == pytest.approx(row["std"], abs=1e-5)


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
    blank = encoded(Image.new("L", (100, 100), 255), "PNG")
    contents = {
        "empty.png": (b"", "empty"),
        "notes.png": (b"not an image at all\n", "not an image"),
        "cut.png": (blank[:70], "damaged"),
        "blank.png": (blank, "blank"),
        "huge.png": (encoded(Image.new("1", (20000, 20000)), "PNG"), "megapixels"),
    }
    for name, (data, _) in contents.items():
        (folder / name).write_bytes(data)
    files = {name: (folder / name, says) for name, (_, says) in contents.items()}
    return {**files, "missing.png": (folder / "missing.png", "cannot read")}


def test_bad_images_end_with_one_line_and_a_nonzero_exit(
    photos: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    strip = tmp_path / "s.png"
    for name, (path, says) in bad_files(tmp_path).items():
        for argv in (
            ["encode", RUN, str(path)],
            ["interpolate", RUN, str(photos[0]), str(path), "-o", str(strip)],
        ):
            error = cli_error(argv, capsys, exit_code=EXIT_ERROR)
            assert says in error and str(path) in error, name
    assert not strip.exists()


@pytest.mark.parametrize(
    ("option", "says", "code"),
    [(["--steps", "1"], "steps", EXIT_ERROR), (["--method", "cubic"], "method", EXIT_USAGE)],
)
def test_bad_settings_end_with_one_line(
    photos: tuple[Path, Path],
    option: list[str],
    says: str,
    code: int,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert says in cli_error(["interpolate", RUN, *map(str, photos), *option], capsys, code)


@pytest.mark.slow
def test_the_installed_command_prints_no_traceback(
    photos: tuple[Path, Path], tmp_path: Path
) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(photos[1].read_bytes()[:300])
    done = run_vaeapp("interpolate", RUN, str(photos[0]), str(broken), timeout=120, cwd=tmp_path)
    process_error(done, exit_code=EXIT_ERROR)
    assert not (tmp_path / "strip.png").exists()
