"""vaeapp's Streamlit app: the pages and their navigation.

`streamlit run app.py` in the repository and `vaeapp app` from an installed package both run
this module's `main`. Explore is the home page: "/" opens it at "/explore", keeping the query
(`?run=NAME`), so both addresses work and a link names the page it shows.
"""

from pathlib import Path

import streamlit as st
from PIL import Image

from vaeapp.ui.early_loading import load_browser_libraries_early

ICON = Path(__file__).with_name("icon.png")  # a test digit: a favicon that needs no network


def main() -> None:
    st.set_page_config(
        page_title="vaeapp: VAE latent-space explorer", page_icon=Image.open(ICON), layout="wide"
    )
    with load_browser_libraries_early():
        import torch

        from vaeapp.ui import compare_page, explore_page, interpolate_page, train_page

    # The app decodes a few images at a time: a pool of op threads only adds latency, worse on
    # a small machine shared with a training process.
    torch.set_num_threads(1)
    # Material icons come with Streamlit's own font; the favicon is the page icon above, since
    # a page's material icon as favicon would be fetched from a font CDN, and fail offline.
    explore, *others = (
        st.Page(page.render, title=title, icon=f":material/{icon}:", url_path=title.lower())
        for page, title, icon in (
            (explore_page, "Explore", "scatter_plot"),
            (train_page, "Train", "model_training"),
            (compare_page, "Compare", "stacked_line_chart"),
            (interpolate_page, "Interpolate", "linear_scale"),
        )
    )
    pages = [explore, *others]

    def home() -> None:
        st.switch_page(explore, query_params=st.query_params.to_dict())

    home_page = st.Page(home, title="Home", url_path="home", default=True, visibility="hidden")
    st.navigation([home_page, *pages]).run()


if __name__ == "__main__":
    main()
