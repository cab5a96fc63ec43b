// Uniform grids over 2-D points and triangles: the lookups done on every pointer move (the dot
// under the pointer, the triangle around it, the nearest embedded point) in about a cell's work
// instead of a pass over 70,000 points.

/** A cols x rows lattice of cells over a box, about `cells` cells shaped like the box. */
class Lattice {
  constructor(xMin, xMax, yMin, yMax, cells) {
    const width = Math.max(xMax - xMin, 1e-12);
    const height = Math.max(yMax - yMin, 1e-12);
    this.cols = Math.max(1, Math.round(Math.sqrt((cells * width) / height)));
    this.rows = Math.max(1, Math.round(cells / this.cols));
    this.x0 = xMin;
    this.y0 = yMin;
    this.cellWidth = width / this.cols;
    this.cellHeight = height / this.rows;
  }

  col(x) {
    return Math.min(this.cols - 1, Math.max(0, Math.floor((x - this.x0) / this.cellWidth)));
  }

  row(y) {
    return Math.min(this.rows - 1, Math.max(0, Math.floor((y - this.y0) / this.cellHeight)));
  }

  /** Items per cell in compressed rows: for each item, the cell range its box covers. */
  fill(count, boxOf) {
    const box = [0, 0, 0, 0];
    const starts = new Int32Array(this.cols * this.rows + 1);
    const forEachCell = (item, visit) => {
      boxOf(item, box);
      for (let r = this.row(box[2]); r <= this.row(box[3]); r++) {
        for (let c = this.col(box[0]); c <= this.col(box[1]); c++) visit(r * this.cols + c);
      }
    };
    for (let i = 0; i < count; i++) forEachCell(i, (cell) => starts[cell + 1]++);
    for (let cell = 0; cell < this.cols * this.rows; cell++) starts[cell + 1] += starts[cell];
    const items = new Int32Array(starts[this.cols * this.rows]);
    const next = starts.slice(0, -1);
    for (let i = 0; i < count; i++) {
      forEachCell(i, (cell) => {
        items[next[cell]++] = i;
      });
    }
    this.starts = starts;
    this.items = items;
  }

  forEachInCell(col, row, visit) {
    const cell = row * this.cols + col;
    for (let k = this.starts[cell]; k < this.starts[cell + 1]; k++) visit(this.items[k]);
  }
}

function extent(values, stride, offset, count) {
  let low = Infinity;
  let high = -Infinity;
  for (let i = 0; i < count; i++) {
    const v = values[i * stride + offset];
    if (v < low) low = v;
    if (v > high) high = v;
  }
  return [low, high];
}

/** Points given as interleaved [x0, y0, x1, y1, ...]. */
export class PointGrid {
  constructor(xy) {
    this.xy = xy;
    const count = xy.length / 2;
    const [xMin, xMax] = extent(xy, 2, 0, count);
    const [yMin, yMax] = extent(xy, 2, 1, count);
    this.lattice = new Lattice(xMin, xMax, yMin, yMax, Math.max(1, count / 2));
    this.lattice.fill(count, (i, box) => {
      box[0] = box[1] = xy[2 * i];
      box[2] = box[3] = xy[2 * i + 1];
    });
  }

  /** Every point in the box (and a few beside it), each once. */
  forEachNear(xMin, xMax, yMin, yMax, visit) {
    const { lattice } = this;
    for (let r = lattice.row(yMin); r <= lattice.row(yMax); r++) {
      for (let c = lattice.col(xMin); c <= lattice.col(xMax); c++) {
        lattice.forEachInCell(c, r, visit);
      }
    }
  }

  /** The point nearest to (x, y) in the plane, searching rings of cells outwards. */
  nearest(x, y) {
    const { lattice, xy } = this;
    const col = lattice.col(x);
    const row = lattice.row(y);
    let best = -1;
    let bestSquared = Infinity;
    const consider = (i) => {
      const dx = xy[2 * i] - x;
      const dy = xy[2 * i + 1] - y;
      const squared = dx * dx + dy * dy;
      if (squared < bestSquared) {
        bestSquared = squared;
        best = i;
      }
    };
    for (let ring = 0; ; ring++) {
      const left = col - ring;
      const right = col + ring;
      const bottom = row - ring;
      const top = row + ring;
      for (let r = Math.max(bottom, 0); r <= Math.min(top, lattice.rows - 1); r++) {
        for (let c = Math.max(left, 0); c <= Math.min(right, lattice.cols - 1); c++) {
          if (r === bottom || r === top || c === left || c === right) {
            lattice.forEachInCell(c, r, consider);
          }
        }
      }
      // Unvisited points lie beyond a side of the searched block that is not the grid's edge.
      let beyond = Infinity;
      if (left > 0) beyond = Math.min(beyond, x - (lattice.x0 + left * lattice.cellWidth));
      if (right < lattice.cols - 1) {
        beyond = Math.min(beyond, lattice.x0 + (right + 1) * lattice.cellWidth - x);
      }
      if (bottom > 0) beyond = Math.min(beyond, y - (lattice.y0 + bottom * lattice.cellHeight));
      if (top < lattice.rows - 1) {
        beyond = Math.min(beyond, lattice.y0 + (top + 1) * lattice.cellHeight - y);
      }
      if (beyond === Infinity || (best >= 0 && bestSquared <= beyond * beyond)) return best;
    }
  }
}

/** Triangles over interleaved vertices [x0, y0, ...]; `triangles` holds 3 vertex numbers each. */
export class TriangleGrid {
  constructor(xy, triangles) {
    this.xy = xy;
    this.triangles = triangles;
    const count = triangles.length / 3;
    const vertices = xy.length / 2;
    const [xMin, xMax] = extent(xy, 2, 0, vertices);
    const [yMin, yMax] = extent(xy, 2, 1, vertices);
    this.bounds = [xMin, xMax, yMin, yMax];
    this.lattice = new Lattice(xMin, xMax, yMin, yMax, Math.max(1, count / 2));
    this.lattice.fill(count, (t, box) => {
      box[0] = box[2] = Infinity;
      box[1] = box[3] = -Infinity;
      for (let k = 0; k < 3; k++) {
        const v = triangles[3 * t + k];
        box[0] = Math.min(box[0], xy[2 * v]);
        box[1] = Math.max(box[1], xy[2 * v]);
        box[2] = Math.min(box[2], xy[2 * v + 1]);
        box[3] = Math.max(box[3], xy[2 * v + 1]);
      }
    });
  }

  /**
   * The triangle holding (x, y) and its barycentric weights (written into `weights`), or -1.
   * A point on an edge shared by two triangles gets either: both give the same mix there.
   */
  locate(x, y, weights) {
    const [xMin, xMax, yMin, yMax] = this.bounds;
    if (x < xMin || x > xMax || y < yMin || y > yMax) return -1;
    const { xy, triangles } = this;
    let found = -1;
    this.lattice.forEachInCell(this.lattice.col(x), this.lattice.row(y), (t) => {
      if (found >= 0) return;
      const a = triangles[3 * t];
      const b = triangles[3 * t + 1];
      const c = triangles[3 * t + 2];
      const xc = xy[2 * c];
      const yc = xy[2 * c + 1];
      const det = (xy[2 * b + 1] - yc) * (xy[2 * a] - xc) + (xc - xy[2 * b]) * (xy[2 * a + 1] - yc);
      if (det === 0) return; // a degenerate triangle holds no area
      const wa = ((xy[2 * b + 1] - yc) * (x - xc) + (xc - xy[2 * b]) * (y - yc)) / det;
      const wb = ((yc - xy[2 * a + 1]) * (x - xc) + (xy[2 * a] - xc) * (y - yc)) / det;
      const wc = 1 - wa - wb;
      const tolerance = -1e-12; // points on an edge, give or take rounding
      if (wa >= tolerance && wb >= tolerance && wc >= tolerance) {
        weights[0] = wa;
        weights[1] = wb;
        weights[2] = wc;
        found = t;
      }
    });
    return found;
  }
}
