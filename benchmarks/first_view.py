"""What a user waits for on Explore, in Chromium: `streamlit run app.py` started (a fresh
server) to the map decoding under the pointer (its decoder loaded in the page), and to the page
run in full (its sidebar and tabs), median of three fresh starts each way, alternated: with the
decoder's export and the first map an earlier start kept (`first_map_s`, target: at most 5 s;
`page_in_full_s`), and with the cache folder emptied first, as on the first start ever
(`..._nothing_kept_s`). Then a UMAP view a second session finds cached (target: at most 1 s),
after a first session fitted it, on a 16-D model of Fashion-MNIST's 10,000 test images: asked
for the moment the map is ready (`umap_cached_s`, the page still drawing the rest), and by a
third session 1.5 s later (`umap_cached_settled_s`).

    python -m benchmarks.first_view

Prints one JSON object. benchmarks/run.py takes the same figures with the rest.
"""

from __future__ import annotations

import json
import shutil
import statistics
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from benchmarks.explore_timings import first_view_seconds, umap_timings
from benchmarks.run import FASHION_MNIST, model16
from testkit.chromium import launch_chromium
from vaeapp.data.sources import load_dataset

ROUNDS = 3


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        sample_dir = workdir / "sample"
        load_dataset("sample", data_dir=sample_dir)
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            kept, nothing_kept = [], []
            for _ in range(ROUNDS):
                shutil.rmtree(sample_dir / "cache", ignore_errors=True)
                nothing_kept.append(first_view_seconds(browser, sample_dir))
                kept.append(first_view_seconds(browser, sample_dir))
            figures: dict[str, object] = {}
            for suffix, starts in (("", kept), ("_nothing_kept", nothing_kept)):
                figures[f"first_map{suffix}_s"] = statistics.median(s[0] for s in starts)
                figures[f"first_map{suffix}_s_each"] = [round(s[0], 2) for s in starts]
                figures[f"page_in_full{suffix}_s"] = statistics.median(s[1] for s in starts)
            if FASHION_MNIST.is_dir():
                umap = umap_timings(browser, model16(workdir), sample_dir, thorough=False)
                figures.update({k: v for k, v in umap.items() if k.startswith("umap_")})
            browser.close()
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
