// The map outside Streamlit, in a standalone page (vaeapp/export/html_page.py): the page holds
// the packed message Python made (payload.js's format) and ONNX Runtime's WASM, both base64, and
// this calls the component's render as Streamlit would. A pin or a selection renders again with
// it, as the app's rerun does; what needs Python (overlays, neighbours) is absent.
import render from "./index.js";

/** The bytes a page's <script type="application/octet-stream" id=...> holds in base64. */
function embedded(id) {
  const text = document.getElementById(id).textContent.trim();
  if (Uint8Array.fromBase64) return Uint8Array.fromBase64(text);
  const binary = atob(text); // browsers before 2025
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** The JSON header of a message: the per-run values under `light`. */
function header(message) {
  const length = new DataView(message.buffer).getUint32(4, true);
  return JSON.parse(new TextDecoder().decode(message.subarray(8, 8 + length)));
}

/** A message of per-run values alone, as the app's later runs send. */
function lightMessage(light) {
  const json = new TextEncoder().encode(JSON.stringify({ light }));
  const message = new Uint8Array(Math.ceil((8 + json.length) / 8) * 8);
  message.set(new TextEncoder().encode("VMAP"));
  new DataView(message.buffer).setUint32(4, json.length, true);
  message.set(json, 8);
  return message;
}

/** Draw the map into `parentElement` from the page's embedded message and runtime. */
export function showMap(parentElement, messageId, wasmId) {
  globalThis.vaeappOrtWasm = embedded(wasmId); // decoder.js loads ONNX Runtime with these bytes
  const message = embedded(messageId);
  let light = header(message).light;
  const rerun = (data) => render({ parentElement, data, setStateValue, setTriggerValue });
  // A click sends its point, which Python marks again; a code from the sliders comes without
  // one, and the map keeps the pin it made (Python would project the code to place a cross).
  function setStateValue(name, value) {
    if (name === "pin") {
      const pin = value.point && { point: value.point, code: value.code };
      light = { ...light, pin_seq: value.seq, pin };
    } else if (name === "selection") {
      light = { ...light, selection_seq: value.seq };
    } else {
      return;
    }
    setTimeout(() => rerun(lightMessage(light))); // after the event, as a rerun comes
  }
  function setTriggerValue(name) {
    if (name === "missing") setTimeout(() => rerun(message)); // the content again
  }
  rerun(message);
}
