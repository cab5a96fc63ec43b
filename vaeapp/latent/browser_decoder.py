"""The decoder a browser runs, kept on disk by the weights it decodes with.

Exporting it imports onnx and runs torch's exporter: 0.6 s or more that a fresh app's first map
waits for, and the same bytes every time for the same weights. So each export is kept under the
cache folder, named by a hash of the model (its architecture and every weight), and read back
by the next process, after its digest (kept in front of it) is checked. A file there is a
hint, as a UMAP cache is: one that cannot be read, is a link, too large, truncated or changed is
made again. The browser checks what it runs (the output's shape), and a
decoder it cannot run makes the page decode on the server.
"""

from __future__ import annotations

import contextlib
import hashlib
from pathlib import Path

import torch

from vaeapp import files
from vaeapp.errors import UnsafeFileError, WriteError
from vaeapp.model.networks import VAE
from vaeapp.model.onnx_networks import OnnxDecoder

# The most a map sends a browser to decode with: a form allows mlp layers of 8192 units, whose
# decoder is about 294 MB, past Streamlit's message limit (200 MB) and slow over any network.
MAX_BROWSER_BYTES = 50 * 2**20
EXPORT_VERSION = "1"  # a new one when the export writes something else for the same weights
DIGEST_BYTES = 16


def browser_decoder(model: VAE, cache: Path) -> bytes | None:
    """The model's decoder as ONNX for a browser (`onnx_decoder.decoder_onnx`), from `cache`
    where an earlier process exported it; None where it is larger than a browser should be
    sent (the weights, nearly all of it, are counted before anything is made). An imported
    model's graph is joined anew: its files name it, not torch weights."""
    weights = sum(p.numel() * p.element_size() for p in model.decoder.parameters())
    if weights > MAX_BROWSER_BYTES:
        return None
    if isinstance(model.decoder, OnnxDecoder):
        return _exported(model)
    path = cache / "decoders" / f"{weights_key(model)}.onnx"
    with contextlib.suppress(OSError, UnsafeFileError):
        kept = files.read_bytes(path, DIGEST_BYTES + MAX_BROWSER_BYTES)
        if kept[:DIGEST_BYTES] == _digest(kept[DIGEST_BYTES:]):
            return kept[DIGEST_BYTES:]
    made = _exported(model)
    if made is not None:
        with contextlib.suppress(OSError, WriteError):  # an unwritable cache only costs time
            path.parent.mkdir(parents=True, exist_ok=True)
            files.write_atomically(path, _digest(made) + made)
    return made


def _digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=DIGEST_BYTES).digest()


def weights_key(model: VAE) -> str:
    """A name for what the decoder computes: the torch version, the model's layers and every
    weight, byte for byte."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{EXPORT_VERSION}|{torch.__version__}|{model!r}|{model.image_shape}".encode())
    for name, tensor in model.state_dict().items():
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
        digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy())
    return digest.hexdigest()


def _exported(model: VAE) -> bytes | None:
    from vaeapp.latent.onnx_decoder import decoder_onnx  # imports onnx: see the module's doc

    exported = decoder_onnx(model)
    return exported if len(exported) <= MAX_BROWSER_BYTES else None
