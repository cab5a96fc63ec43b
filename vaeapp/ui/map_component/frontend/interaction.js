// Pointer input on the plot area, turned into what the map does: hover, click, pan, zoom, and
// drawing a lasso or a box. The WebGL canvas underneath takes no input (pointer-events: none),
// so regl-scatterplot neither pans, selects nor redraws on its own.
const CLICK_SLOP = 4; // pixels a press may move and still be a click
const WHEEL_ZOOM = 0.0015; // zoom factor exp(-deltaY * this) per wheel event

/**
 * `handlers`: hover(px, py, eventTime), leave(), click(px, py), pan(dx, dy, done),
 * zoom(px, py, factor), reset(), drawing(kind, pixels), drawn(kind, pixels);
 * `mode()` says what a drag does: "pan", "lasso" or "box" (shift-drag: a lasso).
 */
export function attachPointer(layer, handlers, mode) {
  let press = null; // {x, y, kind, path, moved}

  const position = (event) => {
    const box = layer.getBoundingClientRect();
    return [event.clientX - box.left, event.clientY - box.top];
  };

  layer.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    const [x, y] = position(event);
    const kind = event.shiftKey ? "lasso" : mode();
    press = { x, y, last: [x, y], kind, path: [[x, y]], moved: false };
    layer.setPointerCapture(event.pointerId);
  });

  layer.addEventListener("pointermove", (event) => {
    const [x, y] = position(event);
    if (!press) {
      handlers.hover(x, y, event.timeStamp);
      return;
    }
    press.moved ||= Math.hypot(x - press.x, y - press.y) > CLICK_SLOP;
    if (!press.moved) return;
    if (press.kind === "pan") {
      handlers.pan(x - press.last[0], y - press.last[1], false);
    } else if (press.kind === "lasso") {
      press.path.push([x, y]);
      handlers.drawing("lasso", press.path);
    } else {
      press.path = corners(press.x, press.y, x, y);
      handlers.drawing("box", press.path);
    }
    press.last = [x, y];
  });

  layer.addEventListener("pointerup", (event) => {
    if (!press) return;
    const ended = press;
    press = null;
    const [x, y] = position(event);
    if (!ended.moved) handlers.click(x, y);
    else if (ended.kind === "pan") handlers.pan(x - ended.last[0], y - ended.last[1], true);
    else handlers.drawn(ended.kind, ended.path);
  });

  layer.addEventListener("pointercancel", () => {
    press = null;
  });
  layer.addEventListener("pointerleave", () => {
    if (!press) handlers.leave();
  });
  layer.addEventListener("dblclick", () => handlers.reset());
  layer.addEventListener(
    "wheel",
    (event) => {
      event.preventDefault();
      const [x, y] = position(event);
      handlers.zoom(x, y, Math.exp(-event.deltaY * WHEEL_ZOOM));
    },
    { passive: false },
  );
}

function corners(x0, y0, x1, y1) {
  return [
    [x0, y0],
    [x1, y0],
    [x1, y1],
    [x0, y1],
  ];
}
