"""vaeapp's Streamlit app: the pages and their navigation.

`streamlit run app.py` in the repository and `vaeapp app` from an installed package both run
this module's `main`. Explore is the home page: "/" opens it at "/explore", keeping the query
(`?run=NAME`), so both addresses work and a link names the page it shows.
"""

import streamlit as st

from vaeapp.ui.chart_warmup import load_chart_library_early


def main() -> None:
    st.set_page_config(page_title="vaeapp: VAE latent-space explorer", layout="wide")
    with load_chart_library_early():
        import torch

        from vaeapp.ui import compare_page, explore_page, interpolate_page, train_page

    # The app decodes a few images at a time: a pool of op threads only adds latency, worse on
    # a small machine shared with a training process.
    torch.set_num_threads(1)
    explore = st.Page(explore_page.render, title="Explore", icon="🗺️", url_path="explore")
    pages = [
        explore,
        st.Page(train_page.render, title="Train", icon="🏋️", url_path="train"),
        st.Page(compare_page.render, title="Compare", icon="📈", url_path="compare"),
        st.Page(interpolate_page.render, title="Interpolate", icon="🔀", url_path="interpolate"),
    ]

    def home() -> None:
        st.switch_page(explore, query_params=st.query_params.to_dict())

    home_page = st.Page(home, title="Home", url_path="home", default=True, visibility="hidden")
    st.navigation([home_page, *pages]).run()


if __name__ == "__main__":
    main()
