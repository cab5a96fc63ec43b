// Timings and test hooks on window.__vaeappMap, read by the benchmarks and browser tests.
//   decodes: decoder runs; decodeMs: their durations; hoverMs: pointer event to thumbnail
//   drawn; hoverDecodeMs: pointer event to decoded picture drawn; firstDrawMs: page start to
//   the first map drawn; frameMs: animation frame intervals while panning; maps: per Streamlit
//   key, the hooks of that map (see LatentMap.hooks).
const KEPT = 5000; // samples per series: enough for a benchmark, bounded for a long session

export const metrics = (window.__vaeappMap ??= {
  decodes: 0,
  decodeMs: [],
  hoverMs: [],
  hoverDecodeMs: [],
  firstDrawMs: null,
  frameMs: [],
  maps: {},
});

export function record(series, value) {
  const values = metrics[series];
  values.push(value);
  if (values.length > KEPT) values.splice(0, values.length - KEPT);
}
