"""UMAP in a background process, cached on disk by a hash of the codes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from testkit.waiting import wait_for
from vaeapp.errors import ConfigError
from vaeapp.latent.umap_embedding import (
    GRAPH,
    LAYOUT,
    NEIGHBOURS,
    BackgroundUmap,
    EmbeddingStatus,
    UmapProgress,
    embedding_key,
)


def two_blobs(n: int = 40, dim: int = 6) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    side = np.arange(n) % 2
    codes = rng.normal(size=(n, dim)) * 0.3 + side[:, None] * 5.0
    return codes.astype(np.float32), side


def test_key_names_exactly_these_codes() -> None:
    codes, _ = two_blobs()
    assert embedding_key(codes) == embedding_key(codes.astype(np.float64))
    changed = codes.copy()
    changed[0, 0] += 1e-3
    assert embedding_key(changed) != embedding_key(codes)
    assert embedding_key(codes[:-1]) != embedding_key(codes)


def test_too_few_codes_are_refused_before_any_work(tmp_path: Path) -> None:
    service = BackgroundUmap(tmp_path)
    with pytest.raises(ConfigError, match="at least 5 codes"):
        service.request(np.zeros((3, 4), dtype=np.float32))
    assert not service.worker_alive


def wait_until_done(service: BackgroundUmap, codes: np.ndarray) -> EmbeddingStatus:
    """The status of the embedding of `codes` once no fit of them is running."""

    def status_when_done() -> EmbeddingStatus | None:
        status = service.request(codes)
        return status if status.running_since is None else None

    return wait_for(status_when_done, "UMAP has finished", timeout_s=300, interval_s=0.5)


@pytest.mark.slow
def test_background_fit_is_cached_on_disk_and_a_failure_is_reported(tmp_path: Path) -> None:
    codes, side = two_blobs()
    service = BackgroundUmap(tmp_path)
    try:
        first = service.request(codes)
        assert first.embedding is None and first.running_since is not None
        assert service.request(codes).running_since == first.running_since
        done = wait_until_done(service, codes)
        broken = codes.copy()
        broken[0, 0] = np.nan
        failed = wait_until_done(service, broken)
    finally:
        service.stop()
    assert failed.embedding is None and "UMAP failed" in (failed.error or "")
    assert done.error is None and done.embedding is not None
    assert done.embedding.shape == (40, 2) and np.isfinite(done.embedding).all()
    centres = [done.embedding[side == s].mean(axis=0) for s in (0, 1)]
    spread = max(done.embedding[side == s].std(axis=0).max() for s in (0, 1))
    assert np.linalg.norm(centres[0] - centres[1]) > 2 * spread

    revisit = BackgroundUmap(tmp_path)
    again = revisit.request(codes)
    np.testing.assert_array_equal(again.embedding, done.embedding)
    assert not revisit.worker_alive


def test_prepare_starts_the_worker_only_when_the_embedding_is_not_on_disk(tmp_path: Path) -> None:
    codes, _ = two_blobs()
    service = BackgroundUmap(tmp_path)
    np.save(service.path(embedding_key(codes)), np.zeros((40, 2)))
    service.prepare(codes)
    assert not service.worker_alive
    try:
        service.prepare(codes[:-1])
        assert service.worker_alive
    finally:
        service.stop()
    assert not service.worker_alive


def test_progress_says_the_stage_and_the_share_of_layout_epochs_done() -> None:
    assert UmapProgress(NEIGHBOURS).fraction is None
    assert UmapProgress(NEIGHBOURS).describe() == NEIGHBOURS
    assert UmapProgress(LAYOUT, 50, 200).fraction == 0.25
    assert UmapProgress(LAYOUT, 50, 200).describe() == f"{LAYOUT}, epoch 50 of 200"


@pytest.mark.slow
def test_the_background_worker_reports_its_progress_on_a_large_fit(tmp_path: Path) -> None:
    codes, _ = two_blobs(n=6000, dim=16)
    service = BackgroundUmap(tmp_path)
    seen: list[UmapProgress] = []

    def done() -> EmbeddingStatus | None:
        status = service.request(codes)
        if status.progress is not None:
            seen.append(status.progress)
        return status if status.running_since is None else None

    try:
        status = wait_for(done, "UMAP has finished", timeout_s=300)
    finally:
        service.stop()
    assert status.embedding is not None and status.embedding.shape == (6000, 2)
    stages = [NEIGHBOURS, GRAPH, LAYOUT]
    order = [stages.index(p.stage) for p in seen]
    assert order == sorted(order) and LAYOUT in {p.stage for p in seen}, seen
    epochs = [p.done for p in seen if p.stage == LAYOUT]
    assert epochs == sorted(epochs) and all(p.total == 200 for p in seen if p.stage == LAYOUT)
