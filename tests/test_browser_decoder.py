"""The browser's decoder, exported once per weights and read back from the cache folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from vaeapp.config import ModelConfig
from vaeapp.latent import onnx_decoder
from vaeapp.latent.browser_decoder import browser_decoder, weights_key
from vaeapp.model.networks import build_model


def small_model(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_model(ModelConfig(arch="mlp", latent_dim=2, hidden=(16,)))


def refuse_exports(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(model: object) -> bytes:
        raise AssertionError("exported again")

    monkeypatch.setattr(onnx_decoder, "decoder_onnx", refuse)


def test_a_second_process_reads_the_export_the_first_one_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = small_model(0)
    first = browser_decoder(model, tmp_path)
    assert first is not None and list((tmp_path / "decoders").iterdir())
    refuse_exports(monkeypatch)
    assert browser_decoder(small_model(0), tmp_path) == first


def test_other_weights_are_another_decoder(tmp_path: Path) -> None:
    one, other = small_model(0), small_model(1)
    assert weights_key(one) != weights_key(other)
    assert browser_decoder(one, tmp_path) != browser_decoder(other, tmp_path)
    with torch.no_grad():
        next(one.decoder.parameters()).view(-1)[0] += 1e-3
    assert weights_key(one) != weights_key(small_model(0))


@pytest.mark.parametrize("damage", ["link", "too large", "folder", "fifo", "truncated", "garbage"])
def test_a_damaged_cache_file_is_made_again(tmp_path: Path, damage: str) -> None:
    model = small_model(0)
    made = browser_decoder(model, tmp_path / "fresh")
    path = tmp_path / "decoders" / f"{weights_key(model)}.onnx"
    path.parent.mkdir()
    if damage == "link":
        (tmp_path / "elsewhere").write_bytes(b"not onnx")
        path.symlink_to(tmp_path / "elsewhere")
    elif damage == "too large":
        with path.open("wb") as out:
            out.truncate(60 * 2**20)
    elif damage == "folder":
        path.mkdir()
    elif damage == "fifo":
        os.mkfifo(path)
    elif damage == "truncated":
        browser_decoder(model, tmp_path)  # kept whole, then cut short
        path.write_bytes(path.read_bytes()[: len(made) // 2])
    else:
        path.write_bytes(bytes(100))
    assert browser_decoder(model, tmp_path) == made
    if damage in ("truncated", "garbage"):  # made again and kept again, whole
        assert browser_decoder(model, tmp_path) == made
