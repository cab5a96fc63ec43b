"""A digit to encode, from an upload, the test set or a drawing, with what the model will see.

The Interpolate page takes two (A and B) and the Explore page one (yours); each gets its widgets'
keys from `prefix` and `name`, and its labels from `noun` ("image A", "your image"). A bad
picture gets its message under the input; the page goes on.
"""

from __future__ import annotations

import numpy as np
import streamlit as st
import torch
from PIL import Image

from vaeapp.data.images import enlarged, model_input
from vaeapp.data.picture_files import UPLOAD_TYPES, read_image
from vaeapp.data.specs import MNIST_SHAPE
from vaeapp.errors import VaeappError
from vaeapp.ui.loaders import load_data
from vaeapp.ui.widgets import literal

UPLOAD, TEST_SET, DRAW = "Upload", "Test set", "Draw"
PREVIEW_SCALE = 5
CANVAS_SIDE = 224


DataChoice = tuple[str, tuple[int, int, int]]  # a data source and the model's image shape


def digit_input(
    prefix: str, name: str, noun: str, source: DataChoice, test_index: int = 0
) -> torch.Tensor | None:
    """One input, chosen by its source, with its preview as the model sees it; None until it
    is usable. `source`: the run's data (for its test images) and its model's image shape."""
    given = digit_or_refusal(prefix, name, noun, source, test_index)
    return None if isinstance(given, VaeappError) else given


def digit_or_refusal(
    prefix: str, name: str, noun: str, source: DataChoice, test_index: int = 0
) -> torch.Tensor | VaeappError | None:
    """`digit_input`, telling a refused input (its error, shown under it) from one not given
    yet (None): a page that waits for it asks for the one, and points at the message of the
    other rather than asking for an image the user has just given."""
    shape = source[1]
    chosen = st.radio(
        f"{noun[:1].upper()}{noun[1:]} from",
        (UPLOAD, TEST_SET, DRAW),
        horizontal=True,
        key=f"{prefix}_source_{name}",
        label_visibility="collapsed",
    )
    try:
        if chosen == UPLOAD:
            image = _uploaded(prefix, name, noun, shape)
        elif chosen == TEST_SET:
            image = _test_image(prefix, name, noun, source, test_index)
        else:
            image = _drawn(prefix, name, shape)
    except VaeappError as error:
        st.error(literal(str(error)), icon=":material/warning:")
        return error
    if image is not None:
        _, height, width = shape
        caption = f"What the model sees ({height}x{width})"
        st.image(enlarged(image, PREVIEW_SCALE), caption=caption)
    return image


def what_it_takes(shape: tuple[int, int, int]) -> str:
    """What an upload becomes for a model of `shape`, in words (`model_input`'s two ways)."""
    if tuple(shape) == MNIST_SHAPE:
        return (
            "one digit, dark on light or light on dark, made into MNIST's form; a phone photo "
            "of one written on paper works"
        )
    colour = "in colour" if shape[0] == 3 else "in grey"
    return f"any picture, resized and centre-cropped to {shape[1]}x{shape[2]} {colour}"


def _uploaded(
    prefix: str, name: str, noun: str, shape: tuple[int, int, int]
) -> torch.Tensor | None:
    upload = st.file_uploader(
        f"Picture for {noun}",
        type=list(UPLOAD_TYPES),
        key=f"{prefix}_upload_{name}",
        help="PNG, JPEG, BMP, WebP, GIF (its first frame) or TIFF, any size up to the upload "
        f"limit: {what_it_takes(shape)}.",
    )
    if upload is None:
        return None
    return _picture_from_bytes(upload.getvalue(), upload.name, shape)


@st.cache_data(max_entries=16, show_spinner="Reading the picture…")
def _picture_from_bytes(data: bytes, name: str, shape: tuple[int, int, int]) -> torch.Tensor:
    return model_input(read_image(data, name), name, shape)


def _test_image(prefix: str, name: str, noun: str, source: DataChoice, index: int) -> torch.Tensor:
    spec = source[0]
    test = load_data(*source).test
    chosen = st.number_input(
        f"Test image used as {noun} (0-{len(test) - 1})",
        min_value=0,
        max_value=len(test) - 1,
        value=min(index, len(test) - 1),
        key=f"{prefix}_test_{name}",
    )
    st.caption(f"Label {int(test.labels[chosen])} in {literal(spec)}'s test split")
    return test.images[chosen]


def _drawn(prefix: str, name: str, shape: tuple[int, int, int]) -> torch.Tensor | None:
    # Imported here: the canvas registers a Streamlit component, which needs a running app.
    from streamlit_drawable_canvas import st_canvas

    st.caption("Draw one digit, large, in the box.")
    canvas = st_canvas(
        stroke_width=16,
        stroke_color="#000000",
        background_color="#ffffff",
        width=CANVAS_SIDE,
        height=CANVAS_SIDE,
        return_image_data=True,
        key=f"{prefix}_canvas_{name}",
    )
    drawn = (canvas.json_data or {}).get("objects")
    if not drawn or canvas.image_data is None:
        return None
    drawing = Image.fromarray(np.asarray(canvas.image_data, dtype=np.uint8))
    return model_input(drawing, "the drawing", shape)
