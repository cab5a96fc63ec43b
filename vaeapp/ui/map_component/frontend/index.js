// The component's entry (Streamlit components v2). Streamlit calls the default export on every
// render of the element, with the same parentElement while the element stays mounted, and calls
// only the last returned cleanup, on unmount: so one LatentMap per parentElement, updated.
import { prepareDecoding } from "./decoder.js";
import { LatentMap } from "./latent_map.js";
import { readMessage } from "./payload.js";

const maps = new WeakMap();

export default function render({ parentElement, data, setStateValue, setTriggerValue }) {
  if (data?.prepare) {
    prepareDecoding(); // an element that shows nothing: see vaeapp/ui/early_loading.py
    return () => {};
  }
  const light = readMessage(data);
  let map = maps.get(parentElement);
  if (!map) {
    map = new LatentMap(parentElement);
    maps.set(parentElement, map);
  }
  map.update(light, { setStateValue, setTriggerValue });
  return () => {
    maps.delete(parentElement);
    map.destroy();
  };
}
