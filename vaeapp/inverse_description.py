"""A view's way back from the map to latent codes, as data, so a browser can compute it too.

`describe_inverse(view)` gives what the latent map's JavaScript needs to reproduce
`view.inverse` (see `vaeapp.latent`), as a dict of JSON values and numpy arrays:

- latent axes: ``{"kind": "axes", "x_dim": int, "y_dim": int | None, "base": [D floats]}``;
  the code is `base` with the map's x (and y) written into those dimensions;
- PCA: ``{"kind": "linear", "mean": [D floats], "components": [[D floats], [D floats]]}``;
  the code is mean + x * components[0] + y * components[1];
- an embedding (UMAP): ``{"kind": "delaunay", "vertices": float64 [N, 2], "triangles": int32
  [T, 3], "codes": float32 [N, D]}``; inside a triangle the code is the barycentric mix of its
  corners' codes, outside every triangle the code of the nearest vertex.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vaeapp.latent import AxesProjection, EmbeddingProjection, PCAProjection, Projection


def describe_inverse(view: Projection) -> dict[str, Any]:
    """What `view.inverse` computes, for a view of one of the three kinds above."""
    if isinstance(view, AxesProjection):
        return {
            "kind": "axes",
            "x_dim": view.x_dim,
            "y_dim": view.y_dim,
            "base": view.base.tolist(),
        }
    if isinstance(view, PCAProjection):
        if view.pca.whiten:
            raise ValueError("a whitened PCA's inverse is not described")
        return {
            "kind": "linear",
            "mean": view.pca.mean_.tolist(),
            "components": view.pca.components_.tolist(),
        }
    if isinstance(view, EmbeddingProjection):
        return {
            "kind": "delaunay",
            "vertices": np.ascontiguousarray(view.embedding, dtype=np.float64),
            "triangles": view.triangulation.simplices.astype(np.int32),
            # the interpolator's float64 copy of the codes, which were float32
            "codes": view.inside.values.astype(np.float32),
        }
    raise TypeError(f"no description of the inverse of a {type(view).__name__}")
