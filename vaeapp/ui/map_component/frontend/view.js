// Where the map looks: map coordinates <-> pixels of the plot area, pan, zoom, and axis ticks.
// Map points are normalised to [-1, 1] over the initial ranges (what the WebGL scatter plot
// draws); the view then scales and shifts them: clip = scale * normalised + shift.

export class View {
  constructor(xRange, yRange) {
    this.xRange = xRange;
    this.yRange = yRange;
    this.width = 1;
    this.height = 1;
    this.reset();
  }

  reset() {
    this.scale = 1;
    this.shiftX = 0;
    this.shiftY = 0;
  }

  get state() {
    return { scale: this.scale, shiftX: this.shiftX, shiftY: this.shiftY };
  }

  set state({ scale, shiftX, shiftY }) {
    Object.assign(this, { scale, shiftX, shiftY });
  }

  normalisedX(x) {
    return (2 * (x - this.xRange[0])) / (this.xRange[1] - this.xRange[0]) - 1;
  }

  normalisedY(y) {
    return (2 * (y - this.yRange[0])) / (this.yRange[1] - this.yRange[0]) - 1;
  }

  /** Pixels from the plot area's top left. */
  toPixel(x, y) {
    const clipX = this.scale * this.normalisedX(x) + this.shiftX;
    const clipY = this.scale * this.normalisedY(y) + this.shiftY;
    return [((clipX + 1) / 2) * this.width, ((1 - clipY) / 2) * this.height];
  }

  toMap(px, py) {
    const normalX = ((2 * px) / this.width - 1 - this.shiftX) / this.scale;
    const normalY = (1 - (2 * py) / this.height - this.shiftY) / this.scale;
    const [x0, x1] = this.xRange;
    const [y0, y1] = this.yRange;
    return [x0 + ((normalX + 1) / 2) * (x1 - x0), y0 + ((normalY + 1) / 2) * (y1 - y0)];
  }

  /** Pixels per map unit along x and y. */
  pixelsPerUnit() {
    return [
      (this.scale * this.width) / (this.xRange[1] - this.xRange[0]),
      (this.scale * this.height) / (this.yRange[1] - this.yRange[0]),
    ];
  }

  pan(dx, dy) {
    this.shiftX += (2 * dx) / this.width;
    this.shiftY -= (2 * dy) / this.height;
  }

  /** Zoom by `factor` keeping the map point under pixel (px, py) where it is. */
  zoom(px, py, factor) {
    const clipX = (2 * px) / this.width - 1;
    const clipY = 1 - (2 * py) / this.height;
    this.shiftX = clipX - factor * (clipX - this.shiftX);
    this.shiftY = clipY - factor * (clipY - this.shiftY);
    this.scale *= factor;
  }

  /**
   * The camera matrix for regl-scatterplot, which draws projection * view * model * point with
   * projection = scale(1 / aspect, 1) and model = scale(aspect, 1) when its data aspect ratio is
   * set to the canvas's (width / height), as the map does.
   */
  cameraView() {
    const aspect = this.width / this.height;
    const s = this.scale;
    const [x, y] = [this.shiftX * aspect, this.shiftY];
    return new Float32Array([s, 0, 0, 0, 0, s, 0, 0, 0, 0, 1, 0, x, y, 0, 1]);
  }

  visibleX() {
    return [this.toMap(0, 0)[0], this.toMap(this.width, 0)[0]];
  }

  visibleY() {
    return [this.toMap(0, this.height)[1], this.toMap(0, 0)[1]];
  }
}

/** About `count` round values (1, 2 or 5 times a power of ten apart) from low to high. */
export function ticks(low, high, count) {
  const rough = (high - low) / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough) ?? 10 * power;
  const values = [];
  for (let v = Math.ceil(low / step) * step; v <= high + step * 1e-9; v += step) {
    values.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  }
  const decimals = Math.max(0, -Math.floor(Math.log10(step)));
  return values.map((value) => ({ value, label: value.toFixed(decimals) }));
}
