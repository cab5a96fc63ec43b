// One latent map: the WebGL dots (regl-scatterplot, drawing only), the overlay, the side panel,
// and what ties them: hover decodes the code under the pointer, a click pins it, a lasso or box
// selects dots; pins, selections and the decoder's state go to Python as state values.
import { Decoder, LatestOnly } from "./decoder.js";
import { PointGrid } from "./grid_index.js";
import { attachPointer } from "./interaction.js";
import { inverseOf } from "./inverse.js";
import { metrics, record } from "./metrics.js";
import { drawOverlay, MARGIN } from "./overlay.js";
import { canvasPlanes, element, Panel } from "./panel.js";
import { contentById, forgetContents } from "./payload.js";
import createScatterplot, { createRenderer } from "./vendor/regl-scatterplot.min.mjs";
import { View } from "./view.js";

// Plotly's default colours, which the Plotly map gave the classes.
const PALETTE = [
  "#636EFA", "#EF553B", "#00CC96", "#AB63FA", "#FFA15A",
  "#19D3F3", "#FF6692", "#B6E880", "#FF97FF", "#FECB52",
];
// For more classes than PALETTE holds (a factor's positions or angles, which are ordered): a ramp
// from blue through green to yellow, so that no two share a colour and neighbours look alike.
const RAMP = [[59, 76, 192], [26, 152, 80], [242, 200, 15]];

function classColour(label, count) {
  if (count <= PALETTE.length) return PALETTE[label];
  const at = (label / (count - 1)) * (RAMP.length - 1);
  const low = Math.min(Math.floor(at), RAMP.length - 2);
  const mix = RAMP[low].map((c, i) => Math.round(c + (at - low) * (RAMP[low + 1][i] - c)));
  return `#${mix.map((c) => c.toString(16).padStart(2, "0")).join("")}`;
}
const HOVER_RADIUS = 6; // pixels from a dot's centre that count as on it
const ASK_AGAIN_MS = 3000; // a content asked for and not received is asked for again after this
// What outlives a remount of the same map (same Streamlit key): zoom, hidden classes, mode,
// and how many clicks and selections were sent, so their sequence numbers keep growing.
const memory = new Map();

export class LatentMap {
  constructor(parent) {
    this.root = element("div", "vaeapp-map");
    this.plot = element("div", "plot", this.root);
    this.canvas = element("canvas", "points", this.plot);
    this.overlay = element("canvas", "overlay", this.plot);
    this.layer = element("div", "layer", this.plot);
    for (const part of [this.canvas, this.layer]) {
      Object.assign(part.style, { left: `${MARGIN.left}px`, top: `${MARGIN.top}px` });
    }
    parent.appendChild(this.root);
    this.panel = new Panel(this.root, {
      mode: (name) => this.#setMode(name),
      resetView: () => this.#resetView(),
      clearSelection: () => this.#select("none", [], []),
      toggleClass: (label) => this.#toggleClass(label),
      slide: (dimension, value) => this.#slide(dimension, value),
      release: () => this.#release(),
      find: (text) => this.#find(text),
    });
    attachPointer(this.layer, this.#pointerHandlers(), () => this.memory.mode);
    this.decodes = new LatestOnly(
      (job) => this.#decode(job),
      (waiting, job) => ({
        hover: job.hover ?? waiting.hover,
        slide: job.slide ?? waiting.slide,
        found: job.found ?? waiting.found,
        pin: job.pin ?? waiting.pin,
      }),
    );
    this.resizing = new ResizeObserver(() => this.#resize());
    this.resizing.observe(this.plot);
    this.content = null;
    this.contentId = null;
    this.scatterplot = null;
    this.decoder = null;
    this.pin = null; // {point: [x, y], code: Float32Array | null, index: dot | null, fixed}
    this.pinnedImage = null;
    this.hovered = null; // {point: [x, y], dot: index | null}
    this.sliding = null; // the code a panel slider is changing, until it is released
    this.found = null; // the dot the search box names, ringed
    this.drawing = null;
    this.inverseKey = null;
  }

  /** A render from Streamlit: the per-run values; the content is looked up by its id. */
  update(light, send) {
    this.send = send;
    this.light = light;
    this.memory = memory.get(light.key) ?? {
      contentId: null,
      view: null,
      hidden: new Set(),
      mode: "pan",
      clicks: 0,
      selections: 0,
      reported: null,
      pin: null,
      clickedOn: null, // the content the last click was made on
    };
    memory.set(light.key, this.memory);
    this.memory.clicks = Math.max(this.memory.clicks, light.pin_seq);
    this.memory.selections = Math.max(this.memory.selections, light.selection_seq);
    this.root.style.height = `${light.height}px`;
    this.panel.setMode(this.memory.mode);
    metrics.maps[light.key] = this.hooks();
    if (this.memory.scope !== light.scope) {
      this.memory.scope = light.scope; // another model: its codes owe nothing to the last pin
      this.#setPin(null);
    }
    this.pin ??= this.memory.pin ?? null; // a map mounted again keeps the pin the user saw
    this.#useContent(light.content_id);
    if (this.content) {
      this.#usePythonPin(light);
      this.#refreshInverse();
      this.#drawOverlay();
    }
  }

  destroy() {
    this.resizing.disconnect();
    this.scatterplot?.destroy();
    this.renderer?.destroy();
    // What is still on its way (content being decoded, the decoder loading, a pan's frame)
    // finds no content, view or renderer here and draws nothing: a released renderer has no
    // canvas, and resizing it threw.
    this.scatterplot = this.renderer = null;
    this.content = this.contentId = this.view = null;
    this.root.remove();
    if (metrics.maps[this.light?.key]?.owner === this) delete metrics.maps[this.light.key];
  }

  #useContent(id) {
    if (this.contentId === id) return;
    const found = contentById(id);
    if (!found) {
      this.#askFor(id);
      return;
    }
    this.contentId = id;
    found.then((content) => {
      if (this.contentId !== id) return;
      if (content) {
        this.#show(content);
      } else {
        this.contentId = null; // a section it named had left this page: all of it again
        this.#askFor(id);
      }
    });
  }

  /** This page never got that content (a remount after a reload, a lost message): ask again. */
  #askFor(id) {
    const now = performance.now();
    if (this.asked?.id === id && now - this.asked.at < ASK_AGAIN_MS) return;
    this.asked = { id, at: now };
    this.panel.setStatus("Loading the map…");
    this.send.setTriggerValue("missing", id);
  }

  #show(content) {
    this.content = content;
    this.decoder = null; // the previous content's decoder may take codes of another length
    this.view = new View(content.xRange, content.yRange);
    if (this.memory.contentId === content.id && this.memory.view) {
      this.view.state = this.memory.view;
    } else {
      this.memory.hidden = new Set();
    }
    this.memory.contentId = content.id;
    this.dots = new PointGrid(content.points);
    const classes = content.labels.reduce((most, label) => Math.max(most, label + 1), 0);
    const count = Math.max(classes, content.classes.length);
    this.colors = Array.from({ length: count }, (_, label) => classColour(label, count));
    this.ink = {
      background: this.#themeColour("--st-background-color", "#ffffff"),
      text: this.#themeColour("--st-text-color", "#31333f"),
      border: this.#themeColour("--st-border-color", "#d5d5d9"),
      selection: this.#themeColour("--st-primary-color", "#ff4b4b"),
    };
    this.panel.setClasses(content.classes, this.colors, this.memory.hidden);
    this.panel.setSliders(content.codeRanges);
    this.panel.setShapes(content.imageShape, content.thumbShape);
    this.sliding = null;
    this.found = null;
    // Another model's pin (a click on the 16-D model, now on a 2-D one) is no code here: it
    // goes, and the pin Python sends with this content takes its place.
    if (this.pin?.code && this.pin.code.length !== content.dim) this.#setPin(null);
    this.pinnedImage = null;
    this.#usePythonPin(this.light);
    this.inverseKey = null;
    this.#refreshInverse();
    this.#resize();
    this.#drawDots();
    this.#startDecoder();
  }

  #refreshInverse() {
    const key = JSON.stringify(this.light.base);
    if (this.inverseKey === key) return;
    this.inverseKey = key;
    this.inverse = inverseOf(this.content.inverse, this.light.base);
    if (this.pin && !this.pin.fixed) this.pin.code = null; // a spot's code follows the base
    this.#requestPinDecode();
  }

  #codeAt(x, y) {
    const code = new Float32Array(this.content.dim);
    this.inverse(x, y, code);
    return code;
  }

  #dotCode(index) {
    const { codes, dim } = this.content;
    return codes.slice(index * dim, (index + 1) * dim);
  }

  #testImage(index) {
    return pictureOf(this.content.images, index, this.content.thumbShape);
  }

  // --- drawing ------------------------------------------------------------------------------

  #themeColour(name, fallback) {
    return getComputedStyle(this.root).getPropertyValue(name).trim() || fallback;
  }

  #resize() {
    const width = Math.max(1, this.plot.clientWidth - MARGIN.left - MARGIN.right);
    const height = Math.max(1, this.plot.clientHeight - MARGIN.top - MARGIN.bottom);
    for (const part of [this.canvas, this.layer]) {
      Object.assign(part.style, { width: `${width}px`, height: `${height}px` });
    }
    if (!this.view) return;
    this.view.width = width;
    this.view.height = height;
    this.renderer?.resize(width, height);
    this.scatterplot?.set({ aspectRatio: width / height, width, height });
    this.#applyView();
  }

  async #drawDots() {
    const { content, view } = this;
    this.drawn = false;
    this.scatterplot?.destroy();
    // A renderer of the plot's size: by default one of the window's size draws every frame
    // (offscreen, then copied), which costs 2.5 times as much where WebGL runs in software.
    this.renderer ??= createRenderer({ canvas: document.createElement("canvas") });
    this.renderer.resize(view.width, view.height);
    this.scatterplot = createScatterplot({
      renderer: this.renderer,
      canvas: this.canvas,
      width: view.width,
      height: view.height,
      aspectRatio: view.width / view.height,
      backgroundColor: this.ink.background,
      pointColor: this.colors,
      pointColorActive: this.colors,
      pointColorHover: this.colors,
      colorBy: "valueA",
      pointSize: content.n > 20000 ? 3 : 5,
      pointScaleMode: "constant",
      pointSizeSelected: 2,
      pointOutlineWidth: 1,
      opacity: 0.85,
      opacityInactiveScale: 0.3,
      cameraIsFixed: true,
      deselectOnDblClick: false,
      deselectOnEscape: false,
      actionKeyMap: {},
    });
    const x = new Float32Array(content.n);
    const y = new Float32Array(content.n);
    for (let i = 0; i < content.n; i++) {
      x[i] = view.normalisedX(content.points[2 * i]);
      y[i] = view.normalisedY(content.points[2 * i + 1]);
    }
    this.#applyView();
    await this.scatterplot.draw({ x, y, valueA: content.labels }, { zDataType: "categorical" });
    this.#applyFilter();
    metrics.firstDrawMs ??= performance.now();
    if (this.content === content) this.drawn = true; // newer content may have come meanwhile
    this.#drawOverlay();
  }

  #applyView() {
    if (!this.view) return;
    this.memory.view = this.view.state;
    this.scatterplot?.view(this.view.cameraView(), { preventEvent: true });
    this.#drawOverlay();
  }

  #applyFilter() {
    const { hidden } = this.memory;
    if (!this.scatterplot) return;
    if (hidden.size === 0) {
      this.scatterplot.unfilter({ preventEvent: true });
      return;
    }
    const shown = [];
    this.content.labels.forEach((label, i) => {
      if (!hidden.has(label)) shown.push(i);
    });
    this.scatterplot.filter(shown, { preventEvent: true });
  }

  #drawOverlay() {
    if (!this.content || !this.view) return;
    const { hovered, content } = this;
    const dot = hovered?.dot ?? null;
    const spread = dot !== null && content.covariances;
    drawOverlay(
      this.overlay,
      {
        view: this.view,
        axisTitles: content.axisTitles,
        polylines: this.light.overlays,
        marked: [...this.light.marked, ...(this.found === null ? [] : [this.found])]
          .filter((i) => i < content.n)
          .map((i) => this.#dotPoint(i)),
        pin: this.pin?.point ?? null,
        hover: dot !== null ? this.#dotPoint(dot) : null,
        ellipse: spread
          ? {
              centre: this.#dotPoint(dot),
              covariance: content.covariances.subarray(3 * dot, 3 * dot + 3),
            }
          : null,
        drawing: this.drawing,
      },
      this.ink,
    );
  }

  #dotPoint(index) {
    return [this.content.points[2 * index], this.content.points[2 * index + 1]];
  }

  /** The shown dot nearest to pixel (px, py) within HOVER_RADIUS, or null. */
  #dotAt(px, py) {
    const [x, y] = this.view.toMap(px, py);
    const [perX, perY] = this.view.pixelsPerUnit();
    const { points, labels } = this.content;
    let best = null;
    let bestSquared = HOVER_RADIUS * HOVER_RADIUS;
    const rx = HOVER_RADIUS / perX;
    const ry = HOVER_RADIUS / perY;
    this.dots.forEachNear(x - rx, x + rx, y - ry, y + ry, (i) => {
      if (this.memory.hidden.has(labels[i])) return;
      const dx = (points[2 * i] - x) * perX;
      const dy = (points[2 * i + 1] - y) * perY;
      const squared = dx * dx + dy * dy;
      if (squared <= bestSquared) {
        bestSquared = squared;
        best = i;
      }
    });
    return best;
  }

  // --- pointer ------------------------------------------------------------------------------

  #pointerHandlers() {
    return {
      hover: (px, py, time) => this.#hover(px, py, time),
      leave: () => this.#leave(),
      click: (px, py) => this.#click(px, py),
      pan: (dx, dy, done) => this.#pan(dx, dy, done),
      zoom: (px, py, factor) => {
        if (!this.view) return;
        this.view.zoom(px, py, factor);
        this.#applyView();
      },
      reset: () => this.#resetView(),
      drawing: (kind, pixels) => {
        this.drawing = pixels;
        this.#drawOverlay();
      },
      drawn: (kind, pixels) => this.#drawn(kind, pixels),
    };
  }

  #hover(px, py, time) {
    if (!this.content || !this.view) return;
    const point = this.view.toMap(px, py);
    const dot = this.#dotAt(px, py);
    const shownBefore = this.hovered?.dot ?? null;
    this.hovered = { point, dot };
    if (dot !== null && dot !== shownBefore) {
      const { labels, classes } = this.content;
      const name = classes[labels[dot]] ?? String(labels[dot]);
      this.panel.showDot(dot, name, this.#testImage(dot));
      record("hoverMs", performance.now() - time);
    }
    this.#drawOverlay();
    this.decodes.request({ hover: { point, dot, time }, pin: null });
  }

  #leave() {
    this.hovered = null;
    this.#drawOverlay();
    this.#showPinned();
  }

  #pan(dx, dy, done) {
    if (!this.view) return;
    this.view.pan(dx, dy);
    this.pendingPan = true;
    this.#watchFrames(!done);
    requestAnimationFrame(() => {
      if (!this.pendingPan) return;
      this.pendingPan = false;
      this.#applyView();
    });
  }

  /** While a pan goes on, record the intervals between animation frames (the pan's smoothness). */
  #watchFrames(panning) {
    this.panning = panning;
    if (!panning || this.watching) return;
    this.watching = true;
    let last = performance.now();
    const frame = (now) => {
      if (!this.panning) {
        this.watching = false;
        return;
      }
      record("frameMs", now - last);
      last = now;
      requestAnimationFrame(frame);
    };
    requestAnimationFrame((now) => {
      last = now;
      requestAnimationFrame(frame);
    });
  }

  #resetView() {
    if (!this.view) return;
    this.view.reset();
    this.#applyView();
  }

  #setMode(name) {
    this.memory.mode = name;
    this.panel.setMode(name);
  }

  #toggleClass(label) {
    const { hidden } = this.memory;
    if (hidden.has(label)) hidden.delete(label);
    else hidden.add(label);
    this.panel.setClasses(this.content.classes, this.colors, hidden);
    this.#applyFilter();
  }

  /**
   * The search box: a class name (any case) shows that class alone, as the legend would; a
   * number, or #number (for a class named by a number, "7" is the class and "#7" the dot),
   * rings that dot and shows its test image. Clearing the box shows every class again.
   */
  #find(text) {
    if (!this.content) return;
    const term = text.trim();
    const { classes, labels, n } = this.content;
    const label = term.startsWith("#")
      ? -1
      : classes.findIndex((name) => name.toLowerCase() === term.toLowerCase());
    const index = label < 0 && /^#?\d+$/.test(term) ? Number(term.replace("#", "")) : null;
    const known = term === "" || label >= 0 || (index !== null && index < n);
    this.panel.setSearchNote(known ? "" : `No class or dot "${term}".`);
    if (!known) return;
    // Each search replaces what the last one showed: one class, or all with one dot ringed.
    const others = classes.map((_, other) => other).filter((other) => other !== label);
    this.memory.hidden = new Set(label >= 0 ? others : []);
    this.panel.setClasses(classes, this.colors, this.memory.hidden);
    this.#applyFilter();
    this.found = index;
    if (index !== null) {
      const name = classes[labels[index]] ?? String(labels[index]);
      this.panel.showDot(index, name, this.#testImage(index));
      this.decodes.request({ hover: null, found: index, pin: null });
    }
    this.#drawOverlay();
  }

  /** A click pins the code under the pointer, or a dot's own code, and tells Python. */
  #click(px, py) {
    if (!this.content || !this.view) return;
    const dot = this.#dotAt(px, py);
    const point = dot !== null ? this.#dotPoint(dot) : this.view.toMap(px, py);
    const code = dot !== null ? this.#dotCode(dot) : this.#codeAt(...point);
    this.#setPin({ point, code, index: dot, fixed: dot !== null });
    this.memory.clicks += 1;
    this.memory.clickedOn = this.content.id;
    this.send.setStateValue("pin", {
      seq: this.memory.clicks,
      code: Array.from(code),
      point,
      index: dot,
    });
    this.#drawOverlay();
    this.#requestPinDecode();
  }

  /** The pin, kept with the map's other memory so that a remount (a rerun that moves the map
   * in the page) shows it still. */
  #setPin(pin) {
    this.pin = pin;
    this.memory.pin = pin;
  }

  /**
   * A pin Python sets (sliders, buttons) for the content shown shows once Python has seen
   * every click made on that content: an older run's pin would undo a newer click. A click on
   * other content (another model's) holds back no pin. Without a pin from Python the user's
   * stays.
   */
  #usePythonPin(light) {
    if (!light.pin || light.content_id !== this.content?.id) return;
    if (light.pin_seq < this.memory.clicks && this.memory.clickedOn === light.content_id) return;
    const { point, code } = light.pin;
    const shown = this.pin;
    const same =
      shown?.point &&
      shown.point[0] === point[0] &&
      shown.point[1] === point[1] &&
      (!code || (shown.code && code.every((v, d) => Math.fround(v) === shown.code[d])));
    if (same) return;
    this.#setPin({ point, code: code && Float32Array.from(code), index: null, fixed: Boolean(code) });
    this.pinnedImage = null;
    this.#drawOverlay();
    this.#requestPinDecode();
  }

  #requestPinDecode() {
    if (!this.pin || !this.content) return;
    this.pin.code ??= this.#codeAt(...this.pin.point);
    if (!this.sliding) this.panel.setCode(this.pin.code);
    this.pinnedImage = null;
    this.decodes.request({ hover: null, pin: this.pin });
  }

  /** A panel slider moved: its code decodes here at once, as the pointer's does. */
  #slide(dimension, value) {
    if (!this.content) return;
    this.sliding ??= Float32Array.from(this.pin?.code ?? this.panel.values());
    this.sliding[dimension] = value;
    this.decodes.request({ hover: null, slide: this.sliding.slice(), pin: null });
  }

  /** A panel slider let go: its code is pinned and sent as a click's is, without a point (the
   * page places the cross: projecting codes is the core's). */
  #release() {
    const code = this.sliding;
    if (!code || !this.content) return;
    this.sliding = null;
    this.#setPin({ point: this.pin?.point ?? null, code, index: null, fixed: true });
    this.memory.clicks += 1;
    this.memory.clickedOn = this.content.id;
    this.send.setStateValue("pin", {
      seq: this.memory.clicks,
      code: Array.from(code),
      point: null,
      index: null,
    });
    this.#requestPinDecode();
  }

  #showPinned() {
    if (this.hovered || this.sliding) return;
    if (this.pinnedImage) this.panel.showDecoded(this.pinnedImage, "pinned code");
  }

  // --- selection ----------------------------------------------------------------------------

  #drawn(kind, pixels) {
    this.drawing = null;
    const polygon = pixels.map(([px, py]) => this.view.toMap(px, py));
    this.#select(kind, polygon, this.#inside(polygon));
  }

  /** The shown dots inside a polygon in map coordinates (even-odd rule). */
  #inside(polygon) {
    const xs = polygon.map((p) => p[0]);
    const ys = polygon.map((p) => p[1]);
    const { points, labels } = this.content;
    const found = [];
    const box = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
    this.dots.forEachNear(...box, (i) => {
      if (this.memory.hidden.has(labels[i])) return;
      const x = points[2 * i];
      const y = points[2 * i + 1];
      let inside = false;
      for (let a = 0, b = polygon.length - 1; a < polygon.length; b = a++) {
        const [xa, ya] = polygon[a];
        const [xb, yb] = polygon[b];
        if (ya > y !== yb > y && x < ((xb - xa) * (y - ya)) / (yb - ya) + xa) inside = !inside;
      }
      if (inside) found.push(i);
    });
    return found.sort((a, b) => a - b);
  }

  #select(kind, polygon, indices) {
    if (!this.scatterplot) return;
    if (indices.length) this.scatterplot.select(indices, { preventEvent: true });
    else this.scatterplot.deselect({ preventEvent: true });
    this.memory.selections += 1;
    this.send.setStateValue("selection", {
      seq: this.memory.selections,
      kind,
      indices,
      polygon,
    });
    this.#drawOverlay();
  }

  // --- decoding -----------------------------------------------------------------------------

  #startDecoder() {
    const { content } = this;
    this.decoder = null;
    this.panel.setStatus("Loading the decoder…");
    Decoder.forContent(content).then(
      (decoder) => {
        if (this.content !== content) return;
        this.decoder = decoder;
        this.panel.setStatus("");
        this.#report({ ok: true, error: null });
        this.#requestPinDecode();
        // A first view drawn before the server imported torch: its turn now (vaeapp/ui/first_view.py)
        if (this.light.wake) this.send.setTriggerValue("woken", true);
      },
      (error) => {
        if (this.content !== content) return;
        const reason = String(error.message ?? error);
        this.panel.setStatus(`The browser cannot decode (${reason}): the page decodes clicks.`);
        this.panel.setPictureNote("decoded by the page");
        this.#report({ ok: false, error: reason });
      },
    );
  }

  /** Tell Python when the browser cannot decode, and when it can again after that. Python
   * takes the browser to decode until told otherwise, and each report runs the page again:
   * a report of what it knew cost a view switched just after the map loaded half a second. */
  #report(state) {
    const said = JSON.stringify([this.content.decoderId, state]);
    if (this.memory.reported === said) return;
    const told = this.memory.reported && JSON.parse(this.memory.reported)[1];
    if (state.ok && (!told || told.ok)) return;
    this.memory.reported = said;
    this.send.setStateValue("decoder", state);
  }

  /** What was told Python about this content's decoder, or null: a remounted map's memory
   * may hold the report of another model's decoder. */
  #reportedHere() {
    const said = this.memory.reported;
    return said && JSON.parse(said)[0] === this.content?.decoderId ? said : null;
  }

  /** One decoder run for the latest hover (its point, and its dot's code), the sliders' code,
   * the found dot's code (its reconstruction) and any new pin. */
  async #decode({ hover, slide, found, pin }) {
    const { decoder, content } = this;
    if (!decoder) return;
    const onDot = Boolean(hover) && hover.dot !== null;
    const rows = [
      ...(hover ? [this.#codeAt(...hover.point)] : []),
      ...(onDot ? [this.#dotCode(hover.dot)] : []),
      ...(slide ? [slide] : []),
      ...(found !== undefined ? [this.#dotCode(found)] : []),
      ...(pin ? [pin.code] : []),
    ];
    const codes = new Float32Array(rows.length * content.dim);
    rows.forEach((row, k) => codes.set(row, k * content.dim));
    const images = await decoder.decode(codes, rows.length);
    if (this.content !== content) return;
    const image = (k) => pictureOf(images, k, content.imageShape);
    if (hover && this.hovered) {
      this.panel.showDecoded(image(0), "under the pointer");
      record("hoverDecodeMs", performance.now() - hover.time);
    }
    if (onDot && this.hovered?.dot === hover.dot) this.panel.showReconstruction(image(1));
    const before = Number(Boolean(hover)) + Number(onDot); // the rows above the sliders'
    if (slide && this.sliding) this.panel.showDecoded(image(before), "the sliders' code");
    if (found !== undefined && this.found === found && !this.hovered) {
      this.panel.showReconstruction(image(before + Number(Boolean(slide))));
    }
    if (pin && pin === this.pin) {
      this.pinnedImage = image(rows.length - 1).slice();
      this.#showPinned();
    }
  }

  // --- hooks for tests and benchmarks ---------------------------------------------------------

  hooks() {
    const canvases = {
      decoded: this.panel.decoded,
      test: this.panel.test,
      reconstruction: this.panel.reconstruction,
    };
    const plotBox = () => this.layer.getBoundingClientRect();
    return {
      owner: this,
      ready: () => Boolean(this.drawn && this.content?.id === this.light.content_id),
      decoder: () => (this.decoder ? "ready" : this.#reportedHere()),
      decode: async (codes) => {
        const decoder = await Decoder.forContent(this.content);
        const images = await decoder.decode(Float32Array.from(codes.flat()), codes.length);
        return codes.map((_, k) => Array.from(pictureOf(images, k, decoder.imageShape)));
      },
      inverse: (points) => points.map(([x, y]) => Array.from(this.#codeAt(x, y))),
      toClient: (points) => {
        const box = plotBox();
        return points.map(([x, y]) => {
          const [px, py] = this.view.toPixel(x, y);
          return [box.left + px, box.top + py];
        });
      },
      toMap: ([clientX, clientY]) => {
        const box = plotBox();
        return this.view.toMap(clientX - box.left, clientY - box.top);
      },
      /** A canvas's picture as C planes of 0-255, C the channels of what it shows. */
      pixels: (name) => {
        const shape = name === "test" ? this.content.thumbShape : this.content.imageShape;
        return canvasPlanes(canvases[name], shape[0]);
      },
      pin: () => this.pin && { ...this.pin, code: Array.from(this.pin.code ?? []) },
      clicks: () => this.memory.clicks,
      marked: () => this.light.marked,
      found: () => this.found,
      hidden: () => [...this.memory.hidden].sort((a, b) => a - b),
      /** The code the panel's sliders hold (they show it on their steps). */
      sliders: () => Array.from(this.sliding ?? this.pin?.code ?? this.panel.values()),
      view: () => this.view.state,
      plotBox: () => plotBox().toJSON(),
      /** Drop this page's copy of the content, as a lost message would: the map asks again. */
      /** Drop this page's copies of contents and leave the map as drawn: a next content's
       * kept sections are missing here, as where another map's contents pushed them out. */
      dropContents: () => forgetContents(),
      forgetContent: () => {
        forgetContents();
        this.contentId = null;
        this.drawn = false;
        this.#useContent(this.light.content_id);
      },
    };
  }
}

/** The k-th of pictures of `shape` [C, H, W] laid one after another. */
function pictureOf(images, k, shape) {
  const size = shape.reduce((a, b) => a * b, 1);
  return images.subarray(k * size, (k + 1) * size);
}
