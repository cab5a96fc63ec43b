// What is drawn over the WebGL dots on a 2-D canvas: axes with ticks and titles, the lines
// Python passes, the rings of the dots it marks, the pinned cross, the hovered dot's ring and
// 1-sigma ellipse, a lasso or box
// being drawn. Redrawn whole on every change: a few hundred line segments, well under a ms.
import { ticks } from "./view.js";

export const MARGIN = { left: 52, right: 8, top: 8, bottom: 38 };
const TICK = 4;
const ELLIPSE_SEGMENTS = 64;
const RING_RADIUS = 6; // the hovered dot's
const MARKED_RADIUS = 7; // a marked dot's: wider, so that it shows round a hovered one

/**
 * Draw everything onto `canvas` (the whole map: plot area plus margins), in CSS pixels.
 * `scene`: {view, axisTitles, polylines, marked: [[x, y], ...], pin: [x, y] | null,
 * hover: [x, y] | null,
 * ellipse: {centre, covariance: [var_x, cov_xy, var_y]} | null, drawing: [[px, py], ...] | null}.
 */
export function drawOverlay(canvas, scene, colors) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (canvas.width !== Math.round(width * ratio)) canvas.width = Math.round(width * ratio);
  if (canvas.height !== Math.round(height * ratio)) canvas.height = Math.round(height * ratio);
  const context = canvas.getContext("2d");
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  context.clearRect(0, 0, width, height);
  drawAxes(context, scene, colors);
  context.save();
  context.translate(MARGIN.left, MARGIN.top);
  context.beginPath();
  context.rect(0, 0, scene.view.width, scene.view.height);
  context.clip();
  for (const line of scene.polylines) drawPolyline(context, scene.view, line);
  for (const point of scene.marked) {
    drawRing(context, scene.view.toPixel(...point), colors.selection, MARKED_RADIUS);
  }
  if (scene.ellipse) drawEllipse(context, scene.view, scene.ellipse, colors.text);
  if (scene.hover) drawRing(context, scene.view.toPixel(...scene.hover), colors.text);
  if (scene.pin) drawCross(context, scene.view.toPixel(...scene.pin), colors.text);
  if (scene.drawing) drawPath(context, scene.drawing, colors.selection);
  context.restore();
}

function drawAxes(context, { view, axisTitles }, colors) {
  const { left, top } = MARGIN;
  const right = left + view.width;
  const bottom = top + view.height;
  context.strokeStyle = colors.border;
  context.lineWidth = 1;
  context.strokeRect(left + 0.5, top + 0.5, view.width - 1, view.height - 1);
  context.fillStyle = colors.text;
  context.font = "11px sans-serif";
  context.textAlign = "center";
  context.textBaseline = "top";
  drawTicks(context, view.visibleX(), view.width / 80, (value) => {
    const px = left + view.toPixel(value, 0)[0];
    return { tick: [px, bottom, px, bottom + TICK], text: [px, bottom + TICK + 2] };
  });
  context.textAlign = "right";
  context.textBaseline = "middle";
  drawTicks(context, view.visibleY(), view.height / 60, (value) => {
    const py = top + view.toPixel(0, value)[1];
    return { tick: [left - TICK, py, left, py], text: [left - TICK - 2, py] };
  });
  context.font = "12px sans-serif";
  context.textAlign = "center";
  context.textBaseline = "bottom";
  context.fillText(axisTitles[0], (left + right) / 2, bottom + MARGIN.bottom);
  context.save();
  context.translate(12, (top + bottom) / 2);
  context.rotate(-Math.PI / 2);
  context.textBaseline = "middle";
  context.fillText(axisTitles[1], 0, 0);
  context.restore();
}

// One axis's tick marks and labels; `place` puts a value's mark and label on the canvas.
function drawTicks(context, [from, to], count, place) {
  for (const { value, label } of ticks(from, to, Math.max(2, count))) {
    const { tick, text } = place(value);
    line(context, ...tick);
    context.fillText(label, ...text);
  }
}

function line(context, x0, y0, x1, y1) {
  context.beginPath();
  context.moveTo(x0, y0);
  context.lineTo(x1, y1);
  context.stroke();
}

function drawPolyline(context, view, { points, color, width, dashed }) {
  context.setLineDash(dashed ? [6, 4] : []);
  const pixels = points.map(([x, y]) => view.toPixel(x, y));
  drawPath(context, pixels, color, { closed: false, width });
  context.setLineDash([]);
}

function drawPath(context, pixels, color, { closed = true, width = 1.5 } = {}) {
  if (pixels.length < 2) return;
  context.strokeStyle = color;
  context.lineWidth = width;
  context.beginPath();
  context.moveTo(...pixels[0]);
  for (const pixel of pixels.slice(1)) context.lineTo(...pixel);
  if (closed) context.closePath();
  context.stroke();
}

function drawCross(context, [px, py], color) {
  const arm = 8;
  context.lineWidth = 3;
  context.strokeStyle = "white";
  line(context, px - arm, py - arm, px + arm, py + arm);
  line(context, px - arm, py + arm, px + arm, py - arm);
  context.lineWidth = 2;
  context.strokeStyle = color;
  line(context, px - arm, py - arm, px + arm, py + arm);
  line(context, px - arm, py + arm, px + arm, py - arm);
}

function drawRing(context, [px, py], color, radius = RING_RADIUS, width = 1.5) {
  context.lineWidth = width;
  context.strokeStyle = color;
  context.beginPath();
  context.arc(px, py, radius, 0, 2 * Math.PI);
  context.stroke();
}

/** The 1-sigma ellipse of a 2-D Gaussian: the centre plus L (cos t, sin t), L L^T = covariance. */
function drawEllipse(context, view, { centre, covariance }, color) {
  const [a, b, c] = covariance;
  const l11 = Math.sqrt(Math.max(a, 0));
  const l21 = l11 > 0 ? b / l11 : 0;
  const l22 = Math.sqrt(Math.max(c - l21 * l21, 0));
  const pixels = [];
  for (let k = 0; k < ELLIPSE_SEGMENTS; k++) {
    const t = (2 * Math.PI * k) / ELLIPSE_SEGMENTS;
    const x = centre[0] + l11 * Math.cos(t);
    const y = centre[1] + l21 * Math.cos(t) + l22 * Math.sin(t);
    pixels.push(view.toPixel(x, y));
  }
  drawPath(context, pixels, color);
}
