"""Do photos of digits land among their own digit's test points? The issue's "done means" check.

Each test digit of `sample` is made into a phone-photo-like JPEG (testkit/photo_digits.py: dark ink
on unevenly lit, textured, noisy paper, large, off-centre, slightly rotated), preprocessed as an
upload is, and encoded to the posterior mean. Its label is then voted by its k nearest test
points in latent space, leaving out the clean digit it was made from. The same vote for the
clean test digits themselves (leave-one-out) is the ceiling: the model's own separation.

    python -m benchmarks.photo_knn [--run RUN] [--n 1000] [--k 10]   # RUN: digits-16d
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from sklearn.neighbors import NearestNeighbors

from testkit.photo_digits import photo_of_digit
from vaeapp.data.images import preprocess
from vaeapp.data.picture_files import read_image
from vaeapp.data.sources import load_dataset
from vaeapp.latent.codes import encode_dataset
from vaeapp.store.catalog import find


def knn_labels(
    reference: np.ndarray, labels: np.ndarray, queries: np.ndarray, k: int
) -> np.ndarray:
    """Majority label of each query's k nearest reference points, skipping reference i for
    query i (the digit the query was made from)."""
    _, neighbours = NearestNeighbors(n_neighbors=k + 1).fit(reference).kneighbors(queries)
    votes = [[j for j in row if j != i][:k] for i, row in enumerate(neighbours)]
    return np.array([np.bincount(labels[row], minlength=10).argmax() for row in votes])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default="digits-16d", help="a run folder or a model name")
    parser.add_argument("--n", type=int, default=1000, help="test digits to photograph")
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args()

    model, _ = find(args.run).load_model()
    test = load_dataset("sample").test
    codes = encode_dataset(model, test.images)[0].numpy()
    labels = test.labels.numpy()
    photos = [photo_of_digit(test.images[i], seed=i) for i in range(args.n)]
    started = time.perf_counter()
    inputs = torch.stack([preprocess(read_image(photo)) for photo in photos])
    seconds = time.perf_counter() - started
    photo_codes = encode_dataset(model, inputs)[0].numpy()

    truth = labels[: args.n]
    from_photos = knn_labels(codes, labels, photo_codes, args.k)
    from_clean = knn_labels(codes, labels, codes[: args.n], args.k)
    result = {
        "run": args.run,
        "digits": args.n,
        "k": args.k,
        "photo_knn_right": float(np.mean(from_photos == truth)),
        "clean_knn_right": float(np.mean(from_clean == truth)),
        "photo_agrees_with_clean": float(np.mean(from_photos == from_clean)),
        "photo_to_clean_distance_median": float(
            np.median(np.linalg.norm(photo_codes - codes[: args.n], axis=1))
        ),
        "test_codes_spread_std": codes.std(axis=0).round(3).tolist(),
        "preprocess_ms_per_photo": round(1000 * seconds / args.n, 1),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
