"""Images in and out: a user's picture made into a model input as MNIST was made, and strips
and animations of decoded images.

MNIST's digits are bright ink on black, fitted into 20x20 keeping their aspect ratio, then put
in a 28x28 field with the ink's centre of mass at the centre. A photo of a digit on paper is
dark ink on light, unevenly lit, noisy and anywhere in the frame, so `preprocess` undoes each of
these before doing what MNIST did.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from vaeapp import files
from vaeapp.data.picture_files import MAX_FILE_BYTES, WORK_SIDE, read_image
from vaeapp.data.specs import MNIST_SHAPE, Shape
from vaeapp.errors import ImageError, UnsafeFileError

CONFORM_CHUNK = 1024  # images converted at a time: the float copies a resize makes stay small
LUMA = (0.299, 0.587, 0.114)  # ITU-R 601, as PIL's convert("L")

FIELD, BOX, CENTRE = 28, 20, 14.0  # MNIST: 28x28 field, 20x20 box, centre of mass at (14, 14)
MIN_CONTRAST = 0.08  # ink fainter than this above the paper is taken for a blank picture
MIN_PIECE = 0.05  # ink pieces below this fraction of the largest one are specks
NOISE_SIGMA = 1 / 300  # of the shorter side: the blur that calms sensor noise and paper grain
LIGHTING_WIDTH = 1 / 3  # of the shorter side: the window wider than any stroke
SHRINKABLE_MODES = ("L", "LA", "RGB", "RGBA")
GREY_MODES = ("1", "L", "LA", "La")
HIGH_BIT_MODES = ("I", "I;16", "I;16L", "I;16B", "I;16N", "F")


def load_picture(path: Path, shape: Shape) -> torch.Tensor:
    """An image file as a model of `shape` sees it (`read_image`, then `model_input`). A FIFO,
    device or folder in its place is refused at once, never waited on or read without end."""
    try:
        data = files.read_bytes(Path(path), MAX_FILE_BYTES, follow_links=True)
    except UnsafeFileError as exc:
        raise ImageError(str(exc)) from None
    except OSError as exc:
        raise ImageError(f"cannot read {path}: {exc.strerror or exc}") from None
    return model_input(read_image(data, str(path)), str(path), shape)


def gray_28(image: Image.Image, name: str = "the image") -> np.ndarray:
    """A picture as it is, in grayscale, resized to 28x28: [28, 28] float32 in [0, 1] (for data
    sets already made like MNIST, which need none of `preprocess`'s cleaning)."""
    if image.mode in HIGH_BIT_MODES:
        return np.asarray(
            _finite_gray(image, name).resize((FIELD, FIELD), Image.Resampling.BILINEAR)
        )
    gray = image.convert("L").resize((FIELD, FIELD), Image.Resampling.BILINEAR)
    return np.asarray(gray, dtype=np.float32) / 255


def picture_tensor(image: Image.Image, name: str = "the image") -> torch.Tensor:
    """A picture as it is, [C, H, W] float32 in [0, 1]: one channel for a grey picture (16-bit
    and floating-point ones stretched as `gray_28` does), else RGB (transparency dropped)."""
    if image.mode in HIGH_BIT_MODES:
        return torch.tensor(np.asarray(_finite_gray(image, name))).unsqueeze(0)
    if image.mode in GREY_MODES:
        return torch.from_numpy(np.asarray(image.convert("L"), dtype=np.float32) / 255)[None]
    rgb = np.asarray(image.convert("RGB"), dtype=np.float32) / 255
    return torch.from_numpy(rgb).permute(2, 0, 1).contiguous()


def preprocess(image: Image.Image, name: str = "the image") -> torch.Tensor:
    """A picture of one digit as the model sees it: [1, 28, 28] in [0, 1], ink bright on black.

    Raises ImageError when no ink stands out from the background (a blank image).
    """
    gray = _composited_gray(image, name)
    if np.median(gray) > 0.5:
        gray = 1.0 - gray
    ink = _ink(gray, name)
    return torch.from_numpy(_centred(_fitted(ink))).unsqueeze(0)


def _composited_gray(image: Image.Image, name: str) -> np.ndarray:
    """Grayscale in [0, 1] at working size, transparent parts turned into background.

    When the opaque pixels are a minority they are the ink, and the background takes the
    opposite tone; otherwise they include the paper, and the background takes its tone.
    """
    if image.mode in HIGH_BIT_MODES:
        scaled = _finite_gray(image, name)
        scaled.thumbnail((WORK_SIDE, WORK_SIDE), Image.Resampling.BOX)
        return np.asarray(scaled, dtype=np.float32)
    rgba = image.convert("RGBA") if image.mode not in SHRINKABLE_MODES else image.copy()
    rgba.thumbnail((WORK_SIDE, WORK_SIDE), Image.Resampling.BOX)
    rgba = rgba.convert("RGBA")
    gray = np.asarray(rgba.convert("L"), dtype=np.float32) / 255
    alpha = np.asarray(rgba.getchannel("A"), dtype=np.float32) / 255
    opaque = alpha > 0.5
    if opaque.all():
        return gray
    if not opaque.any():
        raise ImageError(f"{name} is fully transparent: there is no digit in it")
    if opaque.mean() < 0.5:
        background = 1.0 - round(float(np.average(gray, weights=alpha)))
    else:
        background = float(np.median(gray[opaque]))
    return alpha * gray + (1 - alpha) * background


def _finite_gray(image: Image.Image, name: str) -> Image.Image:
    """A 16-bit or floating-point picture stretched to [0, 1] (mode F); pixels that are not
    numbers (NaN, infinity) are refused: no stretch can place them."""
    values = np.asarray(image.convert("F"), dtype=np.float32)
    if not np.isfinite(values).all():
        raise ImageError(f"{name} has pixels that are not numbers (NaN or infinity)")
    low, span = float(values.min()), float(values.max() - values.min())
    return Image.fromarray((values - low) / (span or 1.0), mode="F")


def _ink(gray: np.ndarray, name: str) -> np.ndarray:
    """Ink in [0, 1] with the background at 0: uneven lighting, paper texture and specks removed.

    The background is a grey opening wider than any stroke (strokes vanish, lighting stays);
    Otsu's threshold on what is left finds the ink, and half of it the ink's soft edges
    (hysteresis); pieces much smaller than the largest are specks.
    """
    from scipy import ndimage  # half a second to import: only uploads need it, training not

    smooth = ndimage.gaussian_filter(gray, sigma=min(gray.shape) * NOISE_SIGMA)
    width = max(3, round(min(gray.shape) * LIGHTING_WIDTH))
    background = ndimage.grey_opening(smooth, size=(width, width))
    residual = smooth - ndimage.uniform_filter(background, size=width)
    residual = np.clip(residual, 0, None)
    strong = float(np.percentile(residual, 99.9))
    if strong < MIN_CONTRAST:
        raise ImageError(f"{name} looks blank: no ink stands out from the background")
    high = otsu_threshold(residual)
    low = high / 2
    pieces, count = ndimage.label(residual > low, structure=np.ones((3, 3)))
    index = np.arange(1, count + 1)
    sizes = ndimage.sum_labels(np.ones_like(residual), pieces, index)
    inked = ndimage.maximum(residual, pieces, index) > high
    kept = np.isin(pieces, index[inked & (sizes >= MIN_PIECE * sizes[inked].max())])
    peak = float(np.percentile(residual[kept & (residual > high)], 50))
    return np.where(kept, np.clip((residual - low) / (peak - low), 0, 1), 0).astype(np.float32)


def otsu_threshold(values: np.ndarray, bins: int = 256) -> float:
    """The level that best splits `values` into two classes (Otsu, 1979): max between-class
    variance."""
    counts, edges = np.histogram(values, bins=bins)
    centres = (edges[:-1] + edges[1:]) / 2
    weight_low = np.cumsum(counts)
    weight_high = weight_low[-1] - weight_low
    sum_low = np.cumsum(counts * centres)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_low = sum_low / weight_low
        mean_high = (sum_low[-1] - sum_low) / weight_high
        between = weight_low * weight_high * (mean_low - mean_high) ** 2
    return float(edges[1:][np.nanargmax(between[:-1])])


def _fitted(ink: np.ndarray) -> np.ndarray:
    """The ink's bounding box, scaled so its longer side is 20 pixels (aspect ratio kept)."""
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    box = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    scale = BOX / max(box.shape)
    size = (max(1, round(box.shape[1] * scale)), max(1, round(box.shape[0] * scale)))
    fitted = Image.fromarray(box).resize(size, Image.Resampling.BILINEAR)
    return np.clip(np.asarray(fitted, dtype=np.float32), 0, 1)


def _centred(box: np.ndarray) -> np.ndarray:
    """`box` pasted into a 28x28 field so that its centre of mass falls on pixel (14, 14)."""
    from scipy import ndimage

    top, left = np.round(CENTRE - np.array(ndimage.center_of_mass(box))).astype(int) + BOX
    margin = np.zeros((FIELD + 2 * BOX, FIELD + 2 * BOX), dtype=np.float32)
    margin[top : top + box.shape[0], left : left + box.shape[1]] = box
    return margin[BOX : BOX + FIELD, BOX : BOX + FIELD]


def enlarged(image: torch.Tensor, scale: int) -> Image.Image:
    """One [C, H, W] image in [0, 1] as a picture, grey for one channel and RGB for three, each
    pixel a scale x scale block."""
    pixels = (image.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    picture = Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels)
    return picture.resize((picture.width * scale, picture.height * scale), Image.Resampling.NEAREST)


def grid(images: torch.Tensor, per_row: int, padding: int = 2, scale: int = 1) -> Image.Image:
    """Images [N, C, H, W] in rows of `per_row` on a grey frame, each pixel scale x scale: the
    layout of torchvision's `make_grid`, without importing torchvision, which takes seconds that
    Explore's first view would wait for."""
    count, channels, height, width = images.shape
    columns = min(per_row, count)
    rows = -(-count // columns)
    cells = torch.full((rows * columns, channels, height, width), 0.5)
    cells[:count] = images.detach().cpu().clamp(0, 1)
    # each cell with the frame above and left of it; the frame's last row and column at the end
    framed = torch.nn.functional.pad(cells, (padding, 0, padding, 0), value=0.5)
    tiled = framed.reshape(rows, columns, channels, height + padding, width + padding)
    tiled = tiled.permute(2, 0, 3, 1, 4).reshape(
        channels, rows * (height + padding), columns * (width + padding)
    )
    return enlarged(torch.nn.functional.pad(tiled, (0, padding, 0, padding), value=0.5), scale)


def strip(images: torch.Tensor, scale: int = 3) -> Image.Image:
    """Images [N, C, H, W] side by side, from first to last, on a grey frame."""
    return grid(images, per_row=len(images), scale=scale)


def png_bytes(picture: Image.Image) -> bytes:
    out = io.BytesIO()
    picture.save(out, format="PNG")
    return out.getvalue()


def there_and_back_gif(images: torch.Tensor, scale: int = 4, frame_ms: int = 100) -> bytes:
    """A looping GIF that plays images [N, C, H, W] forwards then backwards: 2N - 2 frames.

    Under each frame a bar shows how far along the path it is. It also keeps every frame
    distinct, since a GIF writer merges identical neighbours and the count would then vary.
    """
    count = len(images)
    if count < 2 or scale * images.shape[-1] < count:
        raise ValueError("need at least two images, and a width of at least one pixel per image")
    order = [*range(count), *range(count - 2, 0, -1)]
    frames = [_with_progress_bar(enlarged(images[i], scale), i / (count - 1)) for i in order]
    out = io.BytesIO()
    frames[0].save(
        out, format="GIF", save_all=True, append_images=frames[1:], duration=frame_ms, loop=0
    )
    return out.getvalue()


def _with_progress_bar(picture: Image.Image, fraction: float, height: int = 4) -> Image.Image:
    framed = Image.new(picture.mode, (picture.width, picture.height + height))
    framed.paste(picture, (0, 0))
    filled = round(fraction * picture.width)
    grey = 128 if picture.mode == "L" else (128, 128, 128)
    framed.paste(grey, (0, picture.height, filled, picture.height + height))
    return framed


def model_input(image: Image.Image, name: str, shape: Shape) -> torch.Tensor:
    """A picture as a model of `shape` sees it: for MNIST's 1x28x28, a digit made into MNIST's
    form (`preprocess`); else the picture in the model's channels, resized and centre-cropped
    as its data were (`conform`)."""
    if tuple(shape) == MNIST_SHAPE:
        return preprocess(image, name)
    return conform(picture_tensor(image, name)[None], shape)[0]


def conform(images: torch.Tensor, shape: Shape) -> torch.Tensor:
    """Images [N, C, H, W] in [0, 1] made `shape`: grey repeated into RGB or RGB made grey (ITU-R
    601 luma), then the shorter side resized (antialiased) to cover and the middle cropped, as
    torchvision's Resize and CenterCrop do. What already has a part of the shape keeps it exactly.
    """
    from torchvision.transforms.v2 import functional as tvf

    channels, height, width = shape
    old_height, old_width = images.shape[-2:]
    if height * old_width >= width * old_height:  # the height is the side that must fit
        size = [height, int(height * old_width / old_height)]
    else:
        size = [int(width * old_height / old_width), width]
    out = torch.empty((len(images), *shape), dtype=torch.float32)
    for start in range(0, len(images), CONFORM_CHUNK):
        chunk = _channels(images[start : start + CONFORM_CHUNK], channels)
        if (old_height, old_width) != (height, width):
            chunk = tvf.resize(chunk, size, antialias=True)
            chunk = tvf.center_crop(chunk, [height, width]).clamp_(0, 1)
        out[start : start + CONFORM_CHUNK] = chunk
    return out


def _channels(images: torch.Tensor, channels: int) -> torch.Tensor:
    """Grey repeated into RGB, or RGB made grey; luma written as red plus weighted differences,
    so a grey pixel (red = green = blue) comes back exactly as it was."""
    if images.shape[1] == channels:
        return images
    if channels == 3:
        return images.expand(-1, 3, -1, -1)
    red, green, blue = images.unbind(1)
    luma = red + LUMA[1] * (green - red) + LUMA[2] * (blue - red)
    return luma.clamp_(0, 1).unsqueeze(1)
