// The ONNX decoder in the browser: ONNX Runtime Web's WASM build, one thread (a Streamlit page is
// not cross-origin isolated, so there is no SharedArrayBuffer for more), loaded from the vendored
// files beside this one: nothing comes from the network. A standalone page (a file, with no
// folder to load from: vaeapp/export/html_page.py) sets the WASM's bytes as vaeappOrtWasm.
import { metrics, record } from "./metrics.js";

let runtime = null;
const sessions = new Map(); // decoder id -> Promise of a Decoder, one per page

function onnxRuntime() {
  runtime ??= import("./vendor/ort.wasm.bundle.min.mjs").then((ort) => {
    ort.env.wasm.numThreads = 1;
    if (globalThis.vaeappOrtWasm) {
      ort.env.wasm.wasmBinary = globalThis.vaeappOrtWasm;
    } else {
      const wasm = new URL("./vendor/ort-wasm-simd-threaded.wasm", import.meta.url).href;
      ort.env.wasm.wasmPaths = { wasm };
    }
    return ort;
  });
  return runtime;
}

// One Identity node: a session of it makes ONNX Runtime fetch, compile and start its WASM.
const IDENTITY_ONNX = "CAcSADo3ChAKAXgSAXkiCElkZW50aXR5EgF3Wg8KAXgSCgoICAESBAoCCAFiDwoBeRIKCggIARIECgIIAUIECgAQDQ==";

/** Start ONNX Runtime's WASM now, so that a map's first decoder loads in a fraction of the
 * time: a fresh page calls this while Python still imports torch. Failing here is not fatal:
 * the map's own decoder reports what fails. */
export function prepareDecoding() {
  if (typeof WebAssembly !== "object") return;
  const model = Uint8Array.from(atob(IDENTITY_ONNX), (c) => c.charCodeAt(0));
  onnxRuntime()
    .then((ort) => ort.InferenceSession.create(model, { executionProviders: ["wasm"] }))
    .catch(() => {});
}

export class Decoder {
  /** The decoder of a content, shared by every content of its model (each view of it, each
   * colouring) and every map showing one; rejects where ORT cannot run. */
  static forContent(content) {
    if (!sessions.has(content.decoderId)) sessions.set(content.decoderId, Decoder.#create(content));
    return sessions.get(content.decoderId);
  }

  static async #create(content) {
    if (typeof WebAssembly !== "object") throw new Error("this browser has no WebAssembly");
    const ort = await onnxRuntime();
    const session = await ort.InferenceSession.create(content.decoder, {
      executionProviders: ["wasm"],
      graphOptimizationLevel: "all",
    });
    return new Decoder(ort, session, content.dim, content.imageShape);
  }

  constructor(ort, session, dim, imageShape) {
    this.ort = ort;
    this.session = session;
    this.dim = dim;
    this.imageShape = imageShape;
  }

  /** Images [count, C * H * W] in [0, 1] for codes [count, dim], each C planes of H x W (the
   * content's `imageShape`); throws where the model's output has another shape. */
  async decode(codes, count) {
    const started = performance.now();
    const z = new this.ort.Tensor("float32", codes, [count, this.dim]);
    const outputs = await this.session.run({ [this.session.inputNames[0]]: z });
    const images = outputs[this.session.outputNames[0]];
    const expected = [count, ...this.imageShape];
    if (images.dims.length !== 4 || images.dims.some((size, axis) => size !== expected[axis])) {
      throw new Error(`the decoder made [${images.dims}], not [${expected}]`);
    }
    metrics.decodes += 1;
    record("decodeMs", performance.now() - started);
    return images.data;
  }
}

/**
 * Runs one job at a time. A job asked for while another runs waits, merged into the job already
 * waiting (by default replacing it): under a moving pointer the latest position is decoded next
 * and stale ones never are.
 */
export class LatestOnly {
  constructor(run, merge = (waiting, job) => job) {
    this.run = run;
    this.merge = merge;
    this.waiting = null;
    this.busy = false;
  }

  request(job) {
    this.waiting = this.waiting ? this.merge(this.waiting, job) : job;
    if (!this.busy) this.#drain();
  }

  async #drain() {
    this.busy = true;
    while (this.waiting) {
      const job = this.waiting;
      this.waiting = null;
      try {
        await this.run(job);
      } catch (error) {
        console.error("latent map: decoding failed", error);
      }
    }
    this.busy = false;
  }
}
