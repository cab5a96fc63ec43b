"""`vaeapp sample | encode | interpolate`: images out of a model and image files into it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from vaeapp.cli.common import (
    path_type,
    write_file,
)
from vaeapp.errors import ConfigError, WriteError
from vaeapp.latent.interpolation import METHODS


def add_sample(p: argparse.ArgumentParser) -> None:
    p.add_argument("--n", type=int, default=64, help="number of samples (default 64)")
    p.add_argument("--temperature", type=float, default=1.0, help="prior standard deviation")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-o", "--output", type=path_type("--output"), default=Path("samples.png"))
    p.set_defaults(handler=cmd_sample)


def add_encode(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "images", type=path_type("IMAGE"), nargs="+", metavar="IMAGE", help="PNG, JPEG, BMP, …"
    )
    p.set_defaults(handler=cmd_encode)


def add_interpolate(p: argparse.ArgumentParser) -> None:
    p.add_argument("first", type=path_type("A"), metavar="A", help="the image to start from")
    p.add_argument("second", type=path_type("B"), metavar="B", help="the image to end on")
    p.add_argument("--steps", type=int, default=10, help="images in the strip, 2-50 (default 10)")
    p.add_argument("--method", choices=METHODS, default="linear", help="(default linear)")
    p.add_argument(
        "-o",
        "--output",
        type=path_type("--output"),
        default=Path("strip.png"),
        help="the strip PNG",
    )
    p.add_argument(
        "--gif", type=path_type("--gif"), help="also write a there-and-back animation here"
    )
    p.add_argument(
        "--frames", type=path_type("--frames"), metavar="DIR", help="also write each image as a PNG"
    )
    p.set_defaults(handler=cmd_interpolate)


def cmd_sample(args: argparse.Namespace) -> int:
    from vaeapp.data.images import grid, png_bytes
    from vaeapp.latent.codes import decode, prior_codes

    if not 1 <= args.n <= 10_000:
        raise ConfigError("--n must be from 1 to 10000")
    if not args.temperature > 0:
        raise ConfigError("--temperature must be > 0")
    model, config = args.run.load_model()
    z = prior_codes(args.n, config.model.latent_dim, args.seed, args.temperature)
    picture = grid(decode(model, z), per_row=max(1, round(args.n**0.5)))
    write_file(args.output, png_bytes(picture))
    print(f"wrote {args.n} prior samples to {args.output}")
    return 0


def cmd_encode(args: argparse.Namespace) -> int:
    from vaeapp.data.images import load_picture
    from vaeapp.latent.codes import encode_dataset

    run = args.run
    model, _ = run.load_model()
    images = torch.stack([load_picture(path, model.image_shape) for path in args.images])
    means, logvars = encode_dataset(model, images)
    stds = torch.exp(0.5 * logvars)
    rows = [
        {"image": str(path), "mean": mean.tolist(), "std": std.tolist()}
        for path, mean, std in zip(args.images, means, stds, strict=True)
    ]
    if args.json:
        print(json.dumps({"run": str(run.path), "images": rows}))
        return 0
    for row in rows:
        print(f"{row['image']}: mean {_numbers(row['mean'])}  std {_numbers(row['std'])}")
    return 0


def _numbers(values: list[float]) -> str:
    return "[" + ", ".join(f"{v:.4f}" for v in values) + "]"


def cmd_interpolate(args: argparse.Namespace) -> int:
    from vaeapp.data.images import load_picture, png_bytes, strip, there_and_back_gif
    from vaeapp.latent.interpolation import interpolate_images

    model, _ = args.run.load_model()
    first, second = (load_picture(path, model.image_shape) for path in (args.first, args.second))
    result = interpolate_images(model, first, second, args.steps, args.method)
    write_file(args.output, png_bytes(strip(result.images)))
    wrote = f"wrote {args.steps} images from {args.first} to {args.second} to {args.output}"
    if args.gif:
        write_file(args.gif, there_and_back_gif(result.images))
        wrote += f" and an animation to {args.gif}"
    if args.frames:
        _write_frames(args.frames, result.images)
        _, height, width = model.image_shape
        wrote += f"; each frame as a {height}x{width} PNG in {args.frames}"
    print(wrote)
    return 0


def _write_frames(folder: Path, images: torch.Tensor) -> None:
    """Each image as `frame-NN.png`, at the model's size, for slides and papers."""
    from vaeapp.data.images import enlarged, png_bytes

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WriteError(f"cannot make {folder}: {exc.strerror or exc}") from None
    for i, image in enumerate(images):
        write_file(folder / f"frame-{i:02d}.png", png_bytes(enlarged(image, 1)))
