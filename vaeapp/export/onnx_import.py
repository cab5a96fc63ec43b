"""`vaeapp import`: a VAE trained anywhere, as a run folder vaeapp explores and scores.

The user's encoder and decoder, exported to ONNX, are read and checked as untrusted
(`store.onnx_graphs`), run once on a batch of two in a child process with a time and a memory
limit, then copied as they are into a new run folder beside a config.json that records what they
are: `arch` "onnx", the latent size and image shape read from the graphs, the likelihood the
user declares (which gives the decoder's outputs their meaning), the data it was trained on and
the command. The folder holds the graphs and config.json alone, and loads wherever a run does
(`runs.Run.load_model`); it is never trained here.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from vaeapp.config import IMPORTED_ARCH, RunConfig
from vaeapp.model.likelihoods import make_likelihood
from vaeapp.store.onnx_graphs import checked_graph, probe, read_graph, signature
from vaeapp.store.runs import DECODER_FILE, ENCODER_FILE, Run


def import_onnx(
    out: Path,
    encoder_path: Path,
    decoder_path: Path,
    likelihood: str,
    data: str,
    posterior: str = "logvar",
    binarize: bool | None = None,
    command: str = "",
) -> Run:
    """The run folder `out` of the graphs at `encoder_path` and `decoder_path`; a VaeappError
    saying what is wrong with them, or with the settings, before anything is written."""
    encoder = read_graph(encoder_path, "encoder", follow_links=True)
    decoder = read_graph(decoder_path, "decoder", follow_links=True)
    settings = {"likelihood": likelihood, "posterior": posterior, "data": data}
    if binarize is not None:
        settings["binarize"] = binarize
    draft = RunConfig.from_settings({**settings, "arch": IMPORTED_ARCH})
    draft.validated()  # the likelihood's name and the rest, before it gives the outputs' count
    outputs_per_channel = make_likelihood(likelihood).params_per_value
    found = signature(
        checked_graph(encoder, "encoder"), checked_graph(decoder, "decoder"), outputs_per_channel
    )
    model = replace(draft.model, latent_dim=found.latent_dim, image_shape=found.image_shape)
    config = replace(draft, model=model, command=command).validated()
    probe(encoder, decoder, found, outputs_per_channel * found.image_shape[0], posterior)
    return Run.create(out, config, {ENCODER_FILE: encoder, DECODER_FILE: decoder})
