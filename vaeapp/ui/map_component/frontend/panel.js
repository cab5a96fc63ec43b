// The columns beside the map: the decoded picture, the hovered dot's test image and
// reconstruction, the mouse modes, the legend (whose entries hide and show classes), a status;
// and the code as sliders, one per latent dimension, so that picture and code are seen together.
const SLIDER_STEPS = 200; // a slider's steps across its range: fine enough to see a change

/** A new element of `tag` with a class, optionally text, appended to `parent` if given. */
export function element(tag, className, parent, text) {
  const made = document.createElement(tag);
  if (className) made.className = className;
  if (text !== undefined) made.textContent = text;
  parent?.appendChild(made);
  return made;
}

/** A canvas of one pixel per image pixel (the style enlarges it, pixelated) made H x W for
 * pictures of `shape` [C, H, W]; setting a size clears it. */
function fit(canvas, [, height, width]) {
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== height) canvas.height = height;
}

/** C planes of the canvas's size (0-255, or 0-1 floats when `unit`) drawn into it: one plane
 * is grey, three are red, green and blue. */
function paint(canvas, planes, channels, unit) {
  const { width, height } = canvas;
  const context = canvas.getContext("2d");
  const image = context.createImageData(width, height);
  const area = width * height;
  for (let i = 0; i < area; i++) {
    for (let c = 0; c < 3; c++) {
      const value = planes[(channels === 1 ? 0 : c * area) + i];
      image.data[4 * i + c] = unit ? Math.round(value * 255) : value;
    }
    image.data[4 * i + 3] = 255;
  }
  context.putImageData(image, 0, 0);
}

/** What a canvas shows as C planes of 0-255 (the red plane for one channel): what `paint`
 * drew, for tests. */
export function canvasPlanes(canvas, channels) {
  const { width, height } = canvas;
  const data = canvas.getContext("2d").getImageData(0, 0, width, height).data;
  const area = width * height;
  return Array.from({ length: channels * area }, (_, k) => data[4 * (k % area) + Math.floor(k / area)]);
}

export class Panel {
  /** `actions`: {mode(name), resetView(), clearSelection(), toggleClass(label),
   * slide(dimension, value), release(), find(text)}. */
  constructor(parent, actions) {
    this.root = element("div", "panel", parent);
    // Until the decoder has drawn, and a dot is hovered, the pictures say so, rather than show
    // black squares.
    this.decodedFigure = element("figure", "decoded waiting", this.root);
    this.decoded = element("canvas", "big", this.decodedFigure);
    this.decodedNote = element("span", "placeholder", this.decodedFigure, "loading the decoder…");
    this.decodedCaption = element("figcaption", "", this.decodedFigure, "");
    this.thumbs = element("div", "thumbs waiting", this.root);
    const test = element("figure", "", this.thumbs);
    this.test = element("canvas", "thumb test", test);
    element("span", "placeholder", test, "hover a dot");
    element("figcaption", "", test, "test image");
    const recon = element("figure", "", this.thumbs);
    this.reconstruction = element("canvas", "thumb reconstruction", recon);
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
    // The code column: the search box first (the picture's column has no room left for it
    // above the legend), then the sliders.
    this.code = element("div", "code", parent);
    this.search = element("input", "search", this.code);
    Object.assign(this.search, { type: "search", placeholder: "Find a label or #index" });
    this.search.title = "A class name shows only that class; a number (#12) rings that dot";
    this.search.oninput = () => actions.find(this.search.value);
    this.searchNote = element("div", "search-note", this.code, "");
    const title = element("div", "code-title", this.code, "Code");
    title.title = "Drag a slider: the picture decodes as it moves; releasing pins the code";
    this.sliders = element("div", "sliders", this.code);
    this.inputs = [];
    this.rangesKey = null;
    this.imageShape = null;
    this.thumbShape = null;
  }

  /** The decoded pictures' shape [C, H, W], and the test images' (maybe shrunk). */
  setShapes(imageShape, thumbShape) {
    this.imageShape = imageShape;
    this.thumbShape = thumbShape;
    fit(this.decoded, imageShape);
    fit(this.reconstruction, imageShape);
    fit(this.test, thumbShape);
  }

  /** One slider per latent dimension over `ranges` [[low, high], ...] (Python's, per content). */
  setSliders(ranges) {
    const key = JSON.stringify(ranges);
    if (this.rangesKey === key) return;
    this.rangesKey = key;
    this.sliders.replaceChildren();
    this.inputs = ranges.map(([low, high], d) => {
      const row = element("label", "slider", this.sliders);
      element("span", "name", row, `z${d + 1}`);
      const input = element("input", "", row);
      Object.assign(input, { type: "range", min: low, max: high, step: (high - low) / SLIDER_STEPS });
      input.value = (low + high) / 2;
      const shown = element("span", "value", row, Number(input.value).toFixed(2));
      input.oninput = () => {
        shown.textContent = Number(input.value).toFixed(2);
        this.actions.slide(d, Number(input.value));
      };
      input.onchange = () => this.actions.release();
      return { input, shown, low, high };
    });
  }

  /** The sliders at `code`; a range widens to hold a value set elsewhere (a prior draw). */
  setCode(code) {
    this.inputs.forEach(({ input, shown, low, high }, d) => {
      const value = code[d];
      input.min = Math.min(low, value);
      input.max = Math.max(high, value);
      input.value = value;
      shown.textContent = value.toFixed(2);
    });
  }

  /** The code the sliders show. */
  values() {
    return this.inputs.map(({ input }) => Number(input.value));
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
    this.decodedFigure.classList.remove("waiting");
    paint(this.decoded, pixels, this.imageShape[0], true);
    this.decodedCaption.textContent = caption;
  }

  showDot(index, name, testImage) {
    this.thumbs.classList.remove("waiting");
    paint(this.test, testImage, this.thumbShape[0], false);
    const { width, height } = this.reconstruction;
    this.reconstruction.getContext("2d").clearRect(0, 0, width, height);
    this.dotCaption.textContent = `#${index} · label ${name}`;
  }

  showReconstruction(pixels) {
    paint(this.reconstruction, pixels, this.imageShape[0], true);
  }

  /** What the search box found nothing for ("" when it found something). */
  setSearchNote(text) {
    this.searchNote.textContent = text;
  }

  /** What the decoded picture's place says while it has no picture. */
  setPictureNote(text) {
    this.decodedNote.textContent = text;
  }

  setStatus(text) {
    this.status.textContent = text;
  }
}
