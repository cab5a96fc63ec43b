// Messages from Python (vaeapp/latent/map_content.py): "VMAP", the JSON header's length
// (uint32, little endian), the JSON header, then arrays at multiples of 8 bytes. The header's
// `light` part comes every run; its `content` part (points, codes, images, decoder...) comes
// once per browser session and is kept here, by content id, for as long as the page lives.
// Each array is a section named by its hash: a section marked `kept` is not in the message, and
// is taken from a content kept here (another view of the same model shares codes and images).
const TYPES = {
  float64: Float64Array,
  float32: Float32Array,
  int32: Int32Array,
  uint8: Uint8Array,
};
const KEPT = 2; // contents kept: a 70,000-point content holds about 70 MB
const contents = new Map(); // content id -> Promise of the unpacked content, oldest first

/** The per-run values of a message; its content, if it holds one, is unpacked and kept. */
export function readMessage(bytes) {
  // A copy: the bytes arrive as a view at any offset, and typed arrays need aligned offsets.
  const buffer = bytes.slice().buffer;
  if (new TextDecoder().decode(new Uint8Array(buffer, 0, 4)) !== "VMAP") {
    throw new Error("not a latent map message");
  }
  const length = new DataView(buffer).getUint32(4, true);
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 8, length)));
  if (header.content) {
    const id = header.content.id;
    const earlier = [...contents.values()]; // before this one may push the oldest out
    const start = Math.ceil((8 + length) / 8) * 8;
    const promise = unpack(header.content, buffer, start, earlier).then((content) => {
      if (!content && contents.get(id) === promise) contents.delete(id); // asked for again
      return content;
    });
    keep(id, promise);
  }
  return header.light;
}

/** The content with this id, as a promise (of null where a kept section was no longer here),
 * or null when this page never received it. */
export function contentById(id) {
  const found = contents.get(id);
  if (found) keep(id, found); // most recently used last
  return found ?? null;
}

/** Forget every content (a test hook: the maps then ask Python for theirs again). */
export function forgetContents() {
  contents.clear();
}

function keep(id, promise) {
  contents.delete(id);
  contents.set(id, promise);
  while (contents.size > KEPT) contents.delete(contents.keys().next().value);
}

async function unpack(header, buffer, start, earlier) {
  const arrays = {};
  const sections = new Map(); // section id -> its typed array, for the contents that follow
  for (const [name, section] of Object.entries(header.sections)) {
    const values = section.kept
      ? await keptSection(earlier, section.id)
      : await sectionValues(section, buffer, start);
    if (!values) return null;
    arrays[name] = { values, shape: section.shape };
    sections.set(section.id, values);
  }
  const inverse = {};
  for (const [field, value] of Object.entries(header.inverse)) {
    inverse[field] = value?.section ? arrays[value.section].values : value;
  }
  const [n, dim] = arrays.codes.shape;
  const [, ...thumbShape] = arrays.images.shape;
  return {
    id: header.id,
    n,
    dim,
    classes: header.classes,
    xRange: header.x_range,
    yRange: header.y_range,
    codeRanges: header.code_ranges,
    axisTitles: header.axis_titles,
    inverse,
    points: arrays.points.values,
    labels: arrays.labels.values,
    codes: arrays.codes.values,
    imageShape: header.image_shape, // [C, H, W] of the decoder's pictures
    thumbShape, // [C, h, w] of the test images sent (`images`): the pictures', or shrunk
    images: arrays.images.values,
    decoder: arrays.decoder.values,
    decoderId: header.decoder_id, // the same for every content of one model
    covariances: arrays.covariances?.values ?? null,
    sections,
  };
}

async function sectionValues(section, buffer, start) {
  const bytes = new Uint8Array(buffer, start + section.offset, section.length);
  const Type = TYPES[section.dtype];
  const source = section.deflate ? (await inflate(bytes)).buffer : buffer;
  const offset = section.deflate ? 0 : bytes.byteOffset;
  return new Type(source, offset, section.shape.reduce((a, b) => a * b, 1));
}

/** The section with this id from a content this page kept, or null. */
async function keptSection(earlier, id) {
  for (const promise of earlier) {
    const values = (await promise.catch(() => null))?.sections.get(id);
    if (values) return values;
  }
  return null;
}

async function inflate(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
