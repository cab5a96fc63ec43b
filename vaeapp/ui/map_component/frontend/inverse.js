// A map point back to a latent code, as vaeapp/latent.py's views compute it (the description's
// format: vaeapp/inverse_description.py). Computed in float64, written into a Float32Array, as
// the Python views compute in float64 and return float32.
import { PointGrid, TriangleGrid } from "./grid_index.js";

/**
 * A function (x, y, out) that writes the code at map point (x, y) into `out` (Float32Array of
 * the latent size). `base` replaces an axes view's code for the dimensions not shown.
 */
export function inverseOf(description, base) {
  switch (description.kind) {
    case "axes":
      return axesInverse(description, base ?? description.base);
    case "linear":
      return linearInverse(description);
    case "delaunay":
      return delaunayInverse(description);
    default:
      throw new Error(`unknown inverse ${description.kind}`);
  }
}

function axesInverse({ x_dim: xDim, y_dim: yDim }, base) {
  const held = Float32Array.from(base);
  return (x, y, out) => {
    out.set(held);
    out[xDim] = x;
    if (yDim !== null) out[yDim] = y;
  };
}

function linearInverse({ mean, components }) {
  const [first, second] = components;
  return (x, y, out) => {
    for (let d = 0; d < mean.length; d++) out[d] = x * first[d] + y * second[d] + mean[d];
  };
}

function delaunayInverse({ vertices, triangles, codes }) {
  const triangleGrid = new TriangleGrid(vertices, triangles);
  const vertexGrid = new PointGrid(vertices);
  const dim = codes.length / (vertices.length / 2);
  const weights = new Float64Array(3);
  return (x, y, out) => {
    const t = triangleGrid.locate(x, y, weights);
    if (t < 0) {
      const nearest = vertexGrid.nearest(x, y);
      out.set(codes.subarray(nearest * dim, (nearest + 1) * dim));
      return;
    }
    const a = triangles[3 * t] * dim;
    const b = triangles[3 * t + 1] * dim;
    const c = triangles[3 * t + 2] * dim;
    for (let d = 0; d < dim; d++) {
      out[d] = weights[0] * codes[a + d] + weights[1] * codes[b + d] + weights[2] * codes[c + d];
    }
  };
}
