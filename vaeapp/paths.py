"""Where vaeapp keeps data and runs; environment variables override the defaults."""

from __future__ import annotations

import os
from pathlib import Path

ASSETS_DIR = Path(__file__).parent / "assets"


def data_dir() -> Path:
    """Downloaded and cached data sets: $VAEAPP_DATA, else ./data (torchvision's usual root)."""
    return Path(os.environ.get("VAEAPP_DATA", "data"))


def runs_dir() -> Path:
    """Run directories made by the app and listed by its model picker: $VAEAPP_RUNS, else ./runs."""
    return Path(os.environ.get("VAEAPP_RUNS", "runs"))


def cache_dir() -> Path:
    """Results worth keeping between sessions, such as UMAP embeddings: under the data folder."""
    return data_dir() / "cache"
