"""The Interpolate page: two images in, a walk through the latent space between them out.

Each input is an upload, a test image or a drawing; under it, what the model sees (28x28).
With both, the page shows the images decoded along the path, the path on the latent map, and
downloads of the strip (PNG) and of a there-and-back animation (GIF). A bad input gets its
message under that input; the rest of the page keeps working.
"""

from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from vaeapp.data.images import png_bytes, strip, there_and_back_gif
from vaeapp.errors import VaeappError
from vaeapp.latent.codes import padded_range
from vaeapp.latent.interpolation import (
    MAX_STEPS,
    METHODS,
    MIN_STEPS,
    Interpolation,
    interpolate_images,
)
from vaeapp.store.catalog import INTERPOLATE
from vaeapp.ui.code_maps import path_map_figure
from vaeapp.ui.digit_input import DataChoice, digit_or_refusal, what_it_takes
from vaeapp.ui.explain import what_am_i_looking_at
from vaeapp.ui.loaders import Snapshot, encoded_test_set, load_data, load_model, snapshot
from vaeapp.ui.view_picker import shown_view
from vaeapp.ui.widgets import literal, model_picker, show_error

METHOD_NAMES = {"linear": "Linear", "slerp": "Spherical (slerp)"}


def render() -> None:
    run = model_picker(INTERPOLATE)
    st.title("Interpolate between two images")
    what_am_i_looking_at("Interpolate")
    snap = snapshot(run)
    try:
        model, config = load_model(snap)
    except VaeappError as error:
        show_error(error)
    st.caption(
        f"Upload two pictures ({what_it_takes(model.image_shape)}), pick test images or draw; "
        "each is encoded to the mean of q(z|x), and the path between the two codes is decoded "
        "step by step."
    )
    spec = config.train.data
    inputs = _two_inputs((spec, model.image_shape))
    steps_column, method_column = st.columns(2)
    steps = steps_column.slider("Steps", MIN_STEPS, MAX_STEPS, 10, key="interpolate_steps")
    method = method_column.radio(
        "Method",
        METHODS,
        format_func=METHOD_NAMES.__getitem__,
        horizontal=True,
        key="interpolate_method",
        help="Linear: a straight line. Spherical: the direction turns along a great circle "
        "while the length changes evenly, so the path stays where the prior N(0, I) has mass.",
    )
    refused = [
        side for side, given in zip("AB", inputs, strict=True) if isinstance(given, VaeappError)
    ]
    images = [given for given in inputs if isinstance(given, torch.Tensor)]
    if refused:
        st.info(_refusal_note(refused), icon=":material/arrow_upward:")
        return
    if len(images) < 2:
        st.info("Give both images, A and B, to see the walk between them.")
        return
    first, second = images
    result = interpolate_images(model, first, second, steps, method)
    _show_strip(result)
    _show_path(snap, (spec, model.image_shape), result.codes)


def _two_inputs(data: DataChoice) -> list[torch.Tensor | VaeappError | None]:
    """Images A and B side by side, each an upload, a test image or a drawing (or why not)."""
    inputs = []
    for column, side in zip(st.columns(2), "AB", strict=True):
        with column:
            st.subheader(f"Image {side}")
            inputs.append(
                digit_or_refusal(
                    "interpolate", side, f"image {side}", data, test_index="AB".index(side)
                )
            )
    return inputs


def _refusal_note(refused: list[str]) -> str:
    """Where the walk stops when an input was refused: its message already says why."""
    if len(refused) == 1:
        return f"Image {refused[0]} cannot be used: its message above says why. Give another."
    return "Neither image can be used: the message under each says why. Give others."


def _show_strip(result: Interpolation) -> None:
    st.subheader("From A to B")
    picture = strip(result.images)
    ends, middle = st.columns([1, 5], vertical_alignment="center")
    ends.image(strip(result.images[[0, -1]], scale=4), caption="A and B as the model rebuilds them")
    middle.image(picture, caption=f"{len(result.images)} images decoded along the path")
    st.caption(
        f"The codes of A and B lie {result.distance:.2f} apart in latent space; each posterior "
        f"q(z|x) spreads about {result.spread:.2f} around its mean."
    )
    note = st.container()  # one slot, note or none: the map below keeps its place and zoom
    if not result.morphs:
        note.warning(
            f"A and B are too close to morph visibly: the model decodes both codes to nearly "
            f"the same image (they differ by {result.change * 255:.0f} grey levels on average). "
            "A model with more latent dimensions keeps them apart."
        )
    downloads = (
        ("Download the strip (PNG)", png_bytes(picture), "png"),
        ("Download the animation (GIF, there and back)", there_and_back_gif(result.images), "gif"),
    )
    for column, (label, data, kind) in zip(st.columns(2), downloads, strict=True):
        column.download_button(
            label,
            data,
            file_name=f"interpolation.{kind}",
            mime=f"image/{kind}",
            on_click="ignore",
            key=f"interpolate_{kind}",
        )


def _show_path(snap: Snapshot, source: DataChoice, codes: torch.Tensor) -> None:
    """The path over the test set's codes: on the latent axes up to 2-D, else the PCA plane."""
    st.subheader("The path on the latent map")
    spec = source[0]
    try:
        data = load_data(*source)
        test = encoded_test_set(snap, spec)
    except VaeappError as error:
        st.warning(f"No map: {literal(str(error))}")
        return
    dim = test.shape[1]
    view = shown_view(snap, spec, test)
    points, path = view.points, view.projection.project(codes)
    both = np.vstack([points, path])
    st.caption(
        f"Dots: the {len(points):,} test images of {literal(spec)} at their codes, "
        f"{view.describe(dim)}. Black: the path from A to B."
    )
    figure = path_map_figure(
        points,
        data.test.labels.numpy(),
        data.classes,
        padded_range(both[:, 0]),
        padded_range(both[:, 1]),
        path,
        axis_titles=view.axis_titles,
        revision=snap.key,
    )
    st.plotly_chart(figure, key="interpolate_map")
