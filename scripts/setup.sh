#!/usr/bin/env bash
# Install vaeapp into ./.venv, idempotently. With --test, also what the test suite needs:
# Debian's Chromium (browser tests) and Fashion-MNIST (full-size data), and the test extra.
set -euo pipefail
cd "$(dirname "$0")/.."

extra=""
if [ "${1:-}" = "--test" ]; then
  extra="[test]"
  if ! [ -x /usr/bin/chromium ] || ! [ -d /usr/share/datasets/fashion-mnist ]; then
    sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q chromium dataset-fashion-mnist
  fi
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
# torch first, pinned: these builds lie on this machine's disk; anything looser pulls gigabytes.
.venv/bin/pip install -q --disable-pip-version-check torch==2.14.1 torchvision==0.29.1
.venv/bin/pip install -q --disable-pip-version-check -e ".${extra}"
# umap-learn's numba code compiles here, once, into numba's cache beside it (a minute on a fresh
# machine, seconds when it is there), so that the app's first UMAP view only loads it.
.venv/bin/python -m vaeapp.latent.umap_embedding
