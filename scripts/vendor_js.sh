#!/usr/bin/env bash
# Vendor the latent map component's JavaScript into vaeapp/ui/map_component/frontend/vendor/:
# pinned npm packages fetched into a temporary folder, regl-scatterplot bundled into one ES
# module, and only the files the browser loads at run time copied, with the licences of every
# package they hold.
#
# The output is committed: installing or running vaeapp needs no Node, and nothing is fetched at
# run time. Run this only to change a version (Node 20 and npm, with access to the npm registry).
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(regl-scatterplot@1.16.0 onnxruntime-web@1.30.0)
ESBUILD=esbuild@0.28.2
DEST=vaeapp/ui/map_component/frontend/vendor

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(
  cd "$work"
  npm init -y >/dev/null
  # --ignore-scripts: no install hooks run; esbuild's binary comes as an optional package.
  npm install --save-exact --no-audit --no-fund --ignore-scripts "${PACKAGES[@]}" >/dev/null
  npm install --save-exact --save-dev --no-audit --no-fund --ignore-scripts "$ESBUILD" >/dev/null
  # The map needs the scatter plot's default export; regl and pub-sub-es go into the bundle.
  node_modules/.bin/esbuild node_modules/regl-scatterplot/dist/regl-scatterplot.esm.js \
    --bundle --format=esm --minify --legal-comments=none --target=es2020 \
    --outfile=regl-scatterplot.min.mjs --log-level=warning
  # Whose code the copied files hold: the two packages and everything they depend on
  # (regl-scatterplot's ES build inlines its dependencies but regl and pub-sub-es, which the
  # bundle adds; ORT's bundle inlines onnxruntime-common).
  npm ls --all --omit=dev --json >tree.json
)

rm -rf "$DEST"
mkdir -p "$DEST/licenses"
cp "$work/regl-scatterplot.min.mjs" "$DEST/"
# ORT's WASM-only bundle (its Emscripten glue inlined) and the one binary it loads: SIMD, run
# with one thread because a Streamlit page is not cross-origin isolated.
cp "$work/node_modules/onnxruntime-web/dist/ort.wasm.bundle.min.mjs" "$DEST/"
cp "$work/node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm" "$DEST/"

node "$(dirname "$0")/vendor_licences.cjs" "$work" "$DEST"
du -sh "$DEST"/*
