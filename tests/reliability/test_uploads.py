"""Awkward uploads, in the app (the Interpolate page, through streamlit.testing) and in the CLI
(`vaeapp encode`, `vaeapp interpolate`): each gives the digit it shows or a clear message, never
a traceback, and the page keeps working for the next upload."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from tests.app_pages import (
    INTERPOLATE_PAGE,
    SHIPPED_2D,
    open_page,
    path_on_map,
    shows_the_refusal,
    shows_the_strip,
    upload,
)
from tests.command_line import EXIT_ERROR, cli_error
from tests.reliability.hard_uploads import MAKERS, HardUpload, Photos
from vaeapp.cli import main
from vaeapp.data.images import preprocess
from vaeapp.data.picture_files import read_image
from vaeapp.store.catalog import DEFAULT_MODEL
from vaeapp.store.runs import Run

RUN = str(DEFAULT_MODEL.path)


@pytest.fixture(scope="module")
def phone_photos(photo_bytes: tuple[bytes, bytes]) -> Photos:
    return Photos(*photo_bytes)


@pytest.fixture(scope="module")
def codes(phone_photos: Photos) -> torch.Tensor:
    """The shipped model's posterior means of the plain photos of the 7 and the 8: [2, 2]."""
    model, _ = Run(RUN).load_model()
    images = [
        preprocess(read_image(jpeg)) for jpeg in (phone_photos.seven_jpeg, phone_photos.eight_jpeg)
    ]
    with torch.no_grad():
        return model.encode(torch.stack(images))[0]


def assert_is_the_seven(code: torch.Tensor, codes: torch.Tensor, kind: str) -> None:
    """The code is the plain 7's, give or take a third of the way to the 8's."""
    seven, eight = codes
    assert float((code - seven).norm()) < float((eight - seven).norm()) / 3, kind


def test_every_hard_upload_in_the_interpolate_page(
    phone_photos: Photos, codes: torch.Tensor
) -> None:
    app = open_page(INTERPOLATE_PAGE, SHIPPED_2D)
    upload(app, "A", "eight.jpg", phone_photos.eight_jpeg)
    for kind, make in MAKERS.items():
        case = make(phone_photos)
        upload(app, "B", case.name, case.data)  # asserts no exception reached the page
        if case.refused_with:
            shows_the_refusal(app, case.refused_with, kind)  # A's preview stays; no strip
        else:
            shows_the_strip(app, kind)
            assert_is_the_seven(torch.from_numpy(path_on_map(app)[-1]), codes, kind)
    upload(app, "B", "seven.jpg", phone_photos.seven_jpeg)
    shows_the_strip(app)
    assert_is_the_seven(torch.from_numpy(path_on_map(app)[-1]), codes, "the plain photo")


def written(folder: Path, case: HardUpload) -> Path:
    path = folder / case.name
    path.write_bytes(case.data)
    return path


@pytest.mark.parametrize("kind", list(MAKERS))
def test_cli_encode_and_interpolate_give_the_digit_or_one_line(
    kind: str,
    phone_photos: Photos,
    codes: torch.Tensor,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    case = MAKERS[kind](phone_photos)
    given = written(tmp_path, case)
    eight = tmp_path / "eight.jpg"
    eight.write_bytes(phone_photos.eight_jpeg)
    strip = tmp_path / "strip.png"
    encode = ["encode", RUN, str(given), "--json"]
    interpolate = ["interpolate", RUN, str(eight), str(given), "-o", str(strip)]
    if case.refused_with:
        assert case.refused_with in cli_error(encode, capsys, exit_code=EXIT_ERROR)
        assert case.refused_with in cli_error(interpolate, capsys, exit_code=EXIT_ERROR)
        assert not strip.exists()
    else:
        assert main(encode) == 0
        (row,) = json.loads(capsys.readouterr().out)["images"]
        assert_is_the_seven(torch.tensor(row["mean"]), codes, kind)
        assert main(interpolate) == 0 and strip.stat().st_size > 0
