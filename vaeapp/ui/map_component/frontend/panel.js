// The column beside the map: the decoded picture, the hovered dot's test image and
// reconstruction, the mouse modes, the legend (whose entries hide and show classes), a status.
const SIDE = 28;

/** A new element of `tag` with a class, optionally text, appended to `parent` if given. */
export function element(tag, className, parent, text) {
  const made = document.createElement(tag);
  if (className) made.className = className;
  if (text !== undefined) made.textContent = text;
  parent?.appendChild(made);
  return made;
}

function imageCanvas(className, parent) {
  const canvas = element("canvas", className, parent);
  canvas.width = SIDE;
  canvas.height = SIDE;
  return canvas;
}

/** Grey values (0-255, or 0-1 floats when `unit`) drawn into a 28 x 28 canvas. */
function paint(canvas, grey, unit) {
  const context = canvas.getContext("2d");
  const image = context.createImageData(SIDE, SIDE);
  for (let i = 0; i < SIDE * SIDE; i++) {
    const value = unit ? Math.round(grey[i] * 255) : grey[i];
    image.data[4 * i] = image.data[4 * i + 1] = image.data[4 * i + 2] = value;
    image.data[4 * i + 3] = 255;
  }
  context.putImageData(image, 0, 0);
}

export class Panel {
  /** `actions`: {mode(name), resetView(), clearSelection(), toggleClass(label)}. */
  constructor(parent, actions) {
    this.root = element("div", "panel", parent);
    const decoded = element("figure", "decoded", this.root);
    this.decoded = imageCanvas("big", decoded);
    this.decodedCaption = element("figcaption", "", decoded, "");
    // Until a dot is hovered the thumbnails say so, rather than show two black squares.
    this.thumbs = element("div", "thumbs waiting", this.root);
    const test = element("figure", "", this.thumbs);
    this.test = imageCanvas("thumb test", test);
    element("span", "placeholder", test, "hover a dot");
    element("figcaption", "", test, "test image");
    const recon = element("figure", "", this.thumbs);
    this.reconstruction = imageCanvas("thumb reconstruction", recon);
    element("span", "placeholder", recon, "hover a dot");
    element("figcaption", "", recon, "reconstructed");
    this.dotCaption = element("div", "dot-caption", this.root, "Hover a dot to see its image.");
    const tools = element("div", "tools", this.root);
    this.modes = {};
    for (const [name, label, hint] of [
      ["pan", "Pan", "Drag to pan, wheel to zoom, click to pin"],
      ["lasso", "Lasso", "Drag a lasso round dots to select them (or shift-drag)"],
      ["box", "Box", "Drag a box round dots to select them"],
    ]) {
      const button = element("button", "", tools, label);
      button.title = hint;
      button.onclick = () => actions.mode(name);
      this.modes[name] = button;
    }
    const reset = element("button", "", tools, "Reset");
    reset.title = "Zoom back to all dots and clear the selection (or double-click the map)";
    reset.onclick = () => {
      actions.resetView();
      actions.clearSelection();
    };
    this.legend = element("div", "legend", this.root);
    this.actions = actions;
    this.status = element("div", "status", this.root, "");
  }

  setMode(name) {
    for (const [mode, button] of Object.entries(this.modes)) {
      button.classList.toggle("active", mode === name);
    }
  }

  setClasses(classes, colors, hidden) {
    this.legend.replaceChildren();
    classes.forEach((name, label) => {
      const entry = element("button", "entry", this.legend);
      entry.dataset.label = String(label);
      entry.title = "Click to hide or show this class";
      element("span", "swatch", entry).style.background = colors[label % colors.length];
      element("span", "", entry, name);
      entry.classList.toggle("off", hidden.has(label));
      entry.onclick = () => this.actions.toggleClass(label);
    });
  }

  showDecoded(pixels, caption) {
    paint(this.decoded, pixels, true);
    this.decodedCaption.textContent = caption;
  }

  showDot(index, name, testImage) {
    this.thumbs.classList.remove("waiting");
    paint(this.test, testImage, false);
    this.reconstruction.getContext("2d").clearRect(0, 0, SIDE, SIDE);
    this.dotCaption.textContent = `#${index} · label ${name}`;
  }

  showReconstruction(pixels) {
    paint(this.reconstruction, pixels, true);
  }

  setStatus(text) {
    this.status.textContent = text;
  }
}
