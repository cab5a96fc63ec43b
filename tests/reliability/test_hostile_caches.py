"""The UMAP cache is a hint: a file under the data folder that anyone could have written, or
removed, while the app runs. One that does not fit the codes it claims to embed (too few rows,
NaN, 1e300, every point at one place or on a line) is never drawn, and is made again; a cache
deleted after it was made is made again; a scratch folder removed under the worker is made
anew. A kept first map (`first_map`) is as much a hint: truncated, changed, of any bytes or with a
field of any JSON, it is not read (or read as what it says, where that fits)."""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tests.app_pages import EXPLORE_PAGE, open_page, saved_run
from tests.test_map_content import content as map_scene_content
from tests.test_umap_embedding import wait_until_done
from vaeapp.data.sources import load_dataset
from vaeapp.latent import first_map
from vaeapp.latent.codes import encode_dataset
from vaeapp.latent.first_map import FirstMap
from vaeapp.latent.map_content import light_values, pack
from vaeapp.latent.umap_embedding import (
    MAX_COORDINATE,
    BackgroundUmap,
    EmbeddingStatus,
    embedding_key,
    embedding_problem,
)
from vaeapp.latent.views import EmbeddingProjection
from vaeapp.paths import cache_dir, runs_dir
from vaeapp.store.runs import Run
from vaeapp.ui import loaders

ROWS = 40
TEST_IMAGES = 1000  # the offline sample's test set: the codes Explore maps
CODES = np.random.default_rng(0).normal(size=(ROWS, 6)).astype(np.float32)
KEY = embedding_key(CODES)
PROPERTY = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

floats = st.floats(allow_nan=True, allow_infinity=True, width=64) | st.sampled_from(
    [1e300, -1e300, 0.0, 1.0]
)
caches = st.one_of(
    hnp.arrays(
        np.float64,
        st.tuples(st.sampled_from([0, 3, ROWS - 1, ROWS, ROWS + 1]), st.just(2)),
        elements=floats,
    ),
    # mostly good layouts, bent: one place, a line, a point pushed out
    st.builds(
        lambda scale, slope, bad, value: _bent(scale, slope, bad, value),
        st.floats(0, 1e4),
        st.floats(-10, 10),
        st.integers(0, ROWS - 1),
        floats,
    ),
    hnp.arrays(
        st.sampled_from([np.int64, np.bool_, np.complex128, np.float32]),
        st.sampled_from([(ROWS, 2), (ROWS,), (ROWS, 3), (ROWS, 2, 1)]),
    ),
)


def _bent(scale: float, slope: float, bad: int, value: float) -> np.ndarray:
    x = np.linspace(-1, 1, ROWS)
    layout = np.stack([x, slope * x + scale * np.sin(7 * x) * 1e-9], axis=1)
    layout[bad, 1] = value
    return layout


def known(service: BackgroundUmap) -> BackgroundUmap:
    """`service`, told that KEY embeds ROWS codes, as a request of them tells it."""
    service._rows[KEY] = ROWS
    return service


@PROPERTY
@given(cache=caches)
def test_a_cache_is_drawn_only_if_it_fits_its_codes(tmp_path: Path, cache: np.ndarray) -> None:
    service = BackgroundUmap(tmp_path)
    np.save(service.path(KEY), cache)
    status = known(service).status(KEY)
    assert status.error is None
    if status.embedding is None:
        assert embedding_problem(cache, ROWS) is not None
        return
    embedding = status.embedding
    assert embedding.shape == (ROWS, 2) and np.isfinite(embedding).all()
    assert np.abs(embedding).max() <= MAX_COORDINATE
    view = EmbeddingProjection(torch.from_numpy(CODES), embedding)  # Delaunay, hull: no Qhull error
    assert np.isfinite(view.inverse(embedding[:3]).numpy()).all()


def hostile_caches(rows: int) -> dict[str, np.ndarray]:
    normal = np.random.default_rng(1).normal
    return {
        "one place": np.ones((rows, 2)),
        "a line": np.stack([np.arange(rows), 2.0 * np.arange(rows)], axis=1),
        "too few rows": normal(size=(rows - 5, 2)),
        "nan": np.full((rows, 2), np.nan),
        "1e300": normal(size=(rows, 2)) * 1e300,
    }


HOSTILE = hostile_caches(ROWS)


@pytest.mark.parametrize("cache", HOSTILE.values(), ids=HOSTILE.keys())
def test_each_hostile_cache_is_refused(cache: np.ndarray) -> None:
    assert embedding_problem(cache, ROWS) is not None


@pytest.mark.slow
def test_a_cache_damaged_or_deleted_while_the_app_runs_is_made_again(tmp_path: Path) -> None:
    service = BackgroundUmap(tmp_path)
    cache = service.path(KEY)
    try:
        np.save(cache, HOSTILE["one place"])
        first = service.request(CODES)
        assert first.embedding is None and first.running_since is not None  # fitted anew
        made = wait_until_done(service, CODES).embedding
        assert made is not None and embedding_problem(made, ROWS) is None

        cache.unlink()  # deleted while the app runs
        assert service.request(CODES).running_since is not None
        again = wait_until_done(service, CODES).embedding
        np.testing.assert_allclose(again, made)

        np.save(cache, HOSTILE["too few rows"])  # damaged while the app runs
        assert service.request(CODES).running_since is not None
        np.testing.assert_allclose(wait_until_done(service, CODES).embedding, made)

        assert service._work is not None
        shutil.rmtree(service._work)  # a temp cleaner takes the worker's scratch folder
        other = CODES[:-1]
        assert service.request(other).running_since is not None
        assert wait_until_done(service, other).embedding.shape == (ROWS - 1, 2)
    finally:
        service.stop()


def _npz() -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, embedding=np.random.default_rng(0).normal(size=(ROWS, 2)))
    return buffer.getvalue()


@pytest.mark.parametrize(
    "data",
    [b"", b"\x93NUMPY garbage", b"PK\x03\x04 no zip", _npz()],
    ids=["empty", "bad header", "zip magic", "npz"],
)
def test_a_cache_that_is_no_npy_file_is_not_read(tmp_path: Path, data: bytes) -> None:
    service = BackgroundUmap(tmp_path)
    service.path(KEY).write_bytes(data)
    assert known(service).status(KEY) == EmbeddingStatus()


@pytest.fixture
def page_cache() -> Iterator[Path]:
    """Where Explore looks for the UMAP of a 3-D saved run's test codes; removed after."""
    run = saved_run("hostile-cache", latent_dim=3)
    model, _ = run.load_model()
    codes, _ = encode_dataset(model, load_dataset("sample").test.images)
    cached = BackgroundUmap(cache_dir()).path(embedding_key(codes.numpy()))
    cached.parent.mkdir(parents=True, exist_ok=True)
    yield cached
    loaders.umap_worker().stop()
    cached.unlink(missing_ok=True)


@pytest.mark.slow
@pytest.mark.parametrize("kind", HOSTILE.keys())
def test_explore_with_a_hostile_cache_shows_pca_while_umap_is_made_again(
    page_cache: Path, kind: str
) -> None:
    np.save(page_cache, hostile_caches(TEST_IMAGES)[kind])
    app = open_page(EXPLORE_PAGE, Run(runs_dir() / "hostile-cache"))
    app.sidebar.radio(key="explore_view").set_value("UMAP").run()
    assert not app.exception
    assert any("Computing UMAP in the background" in info.value for info in app.info)


def a_kept_first_map(tmp_path: Path) -> tuple[Path, FirstMap]:
    run = tmp_path / "run"
    run.mkdir(exist_ok=True)
    (run / "config.json").write_text("{}")
    shown = map_scene_content()
    message = pack(light_values(shown.content_id, key="explore_map", height=460), shown)
    stamps = first_map.stamps_of(run, ("config.json",))
    return tmp_path / "cache", FirstMap(
        str(run), stamps, "a caption", "a source", shown.content_id, message
    )


@PROPERTY
@given(cut=st.integers(0, 10_000), flips=st.lists(st.integers(0, 10**6), max_size=3))
def test_a_kept_first_map_truncated_or_changed_is_not_read(
    tmp_path: Path, cut: int, flips: list[int]
) -> None:
    cache, first = a_kept_first_map(tmp_path)
    first_map.keep(cache, "k", first)
    (path,) = (cache / "first-maps").iterdir()
    kept = path.read_bytes()
    data = bytearray(kept)
    for at in flips:
        data[at % len(data)] ^= 0xFF
    damaged = bytes(data[: len(data) - cut])
    path.write_bytes(damaged)
    assert first_map.read(cache, "k") == (first if damaged == kept else None)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@PROPERTY
@given(
    field=st.sampled_from(["run_path", "stamps", "caption", "help", "content_id"]),
    value=json_values,
)
def test_a_kept_first_map_with_a_field_of_any_json_is_read_only_if_it_fits(
    tmp_path: Path, field: str, value: object
) -> None:
    """A record whose digest holds (written by `keep`) but whose field is anything JSON holds:
    read as a FirstMap of the right kinds, or as none; never an exception."""
    cache, first = a_kept_first_map(tmp_path)
    written = FirstMap(**{**first.__dict__, field: value})
    first_map.keep(cache, "k", written)
    read = first_map.read(cache, "k")
    assert read is None or (read == written and isinstance(value, str))
    if read is not None and field in ("run_path", "content_id"):  # must name the run and message
        assert value == getattr(first, field)


@PROPERTY
@given(data=st.binary(max_size=300))
def test_a_kept_first_map_file_of_any_bytes_is_not_read(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "cache" / "first-maps" / "k.vmap"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    assert first_map.read(tmp_path / "cache", "k") is None


@PROPERTY
@given(named=st.text(), runs=st.text(min_size=1))
def test_any_link_names_a_kept_first_map_that_is_not_there(
    tmp_path: Path, named: str, runs: str
) -> None:
    """A `?run=` of any text (NUL, surrogates, 3,000 characters) is a key, never a path."""
    key = first_map.key_for(named, Path(runs))
    assert len(key) == 32 and key.isalnum()
    assert first_map.read(tmp_path, key) is None
