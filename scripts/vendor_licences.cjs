// Used by vendor_js.sh: copy the licence of every package in `npm ls --json`'s tree (tree.json
// in the npm folder) into DEST/licenses, and list name, version and licence in DEST/VERSIONS.
// Usage: node vendor_licences.cjs NPM_FOLDER DEST
const fs = require("fs");
const path = require("path");

const [work, dest] = process.argv.slice(2);
const ortBundle = path.join(work, "node_modules/onnxruntime-web/dist/ort.wasm.bundle.min.mjs");

function packageFolders(dependencies, parent, found) {
  for (const [name, info] of Object.entries(dependencies ?? {})) {
    // npm nests a package under its dependant when versions clash; else it lies at the top
    const nested = path.join(parent, "node_modules", name);
    const folder = fs.existsSync(nested) ? nested : path.join(work, "node_modules", name);
    found.set(`${name}@${info.version}`, folder);
    packageFolders(info.dependencies, folder, found);
  }
  return found;
}

// onnxruntime-web and onnxruntime-common ship no licence file: say what they declare instead.
function declaredLicence(manifest) {
  const banner = fs.readFileSync(ortBundle, "utf8").match(/^\/\*![\s\S]*?\*\//)[0];
  return `${manifest.name} ${manifest.version} ships no licence file.
Its package.json says "license": "${manifest.license}", and onnxruntime-web's bundle begins:

${banner}

Source, licence and third-party notices: ${manifest.repository?.url ?? manifest.homepage}
(LICENSE and ThirdPartyNotices.txt at the repository's root).
`;
}

const tree = JSON.parse(fs.readFileSync(path.join(work, "tree.json"), "utf8"));
const versions = [];
for (const [id, folder] of [...packageFolders(tree.dependencies, work, new Map())].sort()) {
  const manifest = JSON.parse(fs.readFileSync(path.join(folder, "package.json"), "utf8"));
  versions.push(`${manifest.name} ${manifest.version} ${manifest.license}`);
  const target = path.join(dest, "licenses", id.replace("/", "__"));
  const licences = fs.readdirSync(folder).filter((f) => /^(licen[cs]e|notice|copying)/i.test(f));
  for (const file of licences) fs.copyFileSync(path.join(folder, file), `${target}-${file}`);
  if (!licences.length) fs.writeFileSync(`${target}-LICENSE`, declaredLicence(manifest));
}
fs.writeFileSync(path.join(dest, "VERSIONS"), `${versions.join("\n")}\n`);
