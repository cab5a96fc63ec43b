"""What a user waits for on Explore, in Chromium: `streamlit run app.py` started (a fresh
server) to the map decoding under the pointer (its decoder loaded in the page), median of three
fresh starts (target: at most 5 s); and a UMAP view a second session finds cached (target: at
most 1 s), after a first session fitted it, on a 16-D model of Fashion-MNIST's 10,000 test images:
asked for the moment the map is ready (`umap_cached_s`, the page still drawing the rest), and
by a third session 1.5 s later (`umap_cached_settled_s`).

    python -m benchmarks.first_view

Prints one JSON object. benchmarks/run.py takes the same figures with the rest.
"""

from __future__ import annotations

import json
import statistics
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from benchmarks.explore_timings import first_map_seconds, umap_timings
from benchmarks.run import FASHION_MNIST, model16
from testkit.chromium import launch_chromium
from vaeapp.data.sources import load_dataset


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        sample_dir = workdir / "sample"
        load_dataset("sample", data_dir=sample_dir)
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            starts = [first_map_seconds(browser, sample_dir) for _ in range(3)]
            figures: dict[str, object] = {
                "first_map_s": statistics.median(starts),
                "first_map_s_each": starts,
            }
            if FASHION_MNIST.is_dir():
                umap = umap_timings(browser, model16(workdir), sample_dir, thorough=False)
                figures.update({k: v for k, v in umap.items() if k.startswith("umap_")})
            browser.close()
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
