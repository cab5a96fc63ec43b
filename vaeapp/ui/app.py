"""vaeapp's Streamlit app: the pages and their navigation.

`streamlit run app.py` in the repository and `vaeapp app` from an installed package both run
this module's `main`. Explore is the home page: "/" opens it at "/explore", keeping the query
(`?run=NAME`), so both addresses work and a link names the page it shows. A page's module is
imported when the page first runs, and torch with the pages that show a model: a fresh
server's first Explore view is drawn before that (`first_view`), and a server that shows only
the Train page never imports it.
"""

import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import streamlit as st
from PIL import Image

from vaeapp.ui.early_loading import load_browser_libraries_early
from vaeapp.ui.first_view import (
    draw_before_torch,
    drew_first_view,
    kept_first_view,
    note_opening,
)

ICON = Path(__file__).with_name("icon.png")  # a test digit: a favicon that needs no network
PAGES = (  # module in vaeapp.ui, title, material icon
    ("explore_page", "Explore", "scatter_plot"),
    ("train_page", "Train", "model_training"),
    ("compare_page", "Compare", "stacked_line_chart"),
    ("interpolate_page", "Interpolate", "linear_scale"),
)


def main() -> None:
    st.set_page_config(
        page_title="vaeapp: VAE latent-space explorer", page_icon=Image.open(ICON), layout="wide"
    )
    # Material icons come with Streamlit's own font; the favicon is the page icon above, since
    # a page's material icon as favicon would be fetched from a font CDN, and fail offline.
    explore, *others = (
        st.Page(_page(module), title=title, icon=f":material/{icon}:", url_path=title.lower())
        for module, title, icon in PAGES
    )
    pages = [explore, *others]

    def home() -> None:
        st.switch_page(explore, query_params=st.query_params.to_dict())

    home_page = st.Page(home, title="Home", url_path="home", default=True, visibility="hidden")
    st.navigation([home_page, *pages]).run()


def _page(module: str) -> Callable[[], None]:
    """A page that imports its module as it first runs; Explore draws its first view first
    where it can, then runs in full."""

    def run() -> None:
        on_explore = module == "explore_page"
        note_opening(on_explore)
        first = kept_first_view() if on_explore else None
        with load_browser_libraries_early(show=first is None and not drew_first_view()):
            if first is not None and not draw_before_torch(first):
                return  # the browser's turn: the page's imports wait for the next run
            page = _imported(module)
        if first is not None:
            st.rerun()  # the page in full, over the first view
        page.render()

    return run


def _imported(module: str) -> ModuleType:
    page = importlib.import_module(f"vaeapp.ui.{module}")
    if "torch" in sys.modules:  # this page's module, or an earlier page, imported it
        # The app decodes a few images at a time: a pool of op threads only adds latency,
        # worse on a small machine shared with a training process.
        sys.modules["torch"].set_num_threads(1)
    return page


if __name__ == "__main__":
    main()
